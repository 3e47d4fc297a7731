"""The course library: its model (courses → channels → segments), the :class:`Catalogue` protocol the
downloader reads it through, and :class:`HttpCatalogue`, the adapter for the catalogue's JSON API (media spec
§1). A TrueFire-database adapter can implement the same protocol later."""

from skillstream_media_downloader.adapters.catalogue.http import HttpCatalogue
from skillstream_media_downloader.domain.catalogue import (
    Catalogue,
    Channel,
    Course,
    CoursePage,
    CourseRef,
    FileInfo,
    Segment,
)

__all__ = ["Catalogue", "Channel", "Course", "CoursePage", "CourseRef", "FileInfo", "HttpCatalogue", "Segment"]
