"""The course library as the downloader sees it: courses → channels → segments (TrueFire's model, seed 001;
JSON shapes of the media spec §1). Decoding validates ids (positive), sizes (bytes, >= 0) and SHA-256 digests
(64 lowercase hex) so a malformed catalogue fails with msgspec's message naming the JSON path; unknown fields
are ignored so the catalogue can grow.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Protocol

import msgspec

from skillstream_media_downloader.domain.paths import VIDEO_PREFIX

PositiveInt = Annotated[int, msgspec.Meta(gt=0)]
ByteCount = Annotated[int, msgspec.Meta(ge=0)]
Count = Annotated[int, msgspec.Meta(ge=0)]
Sha256Hex = Annotated[str, msgspec.Meta(pattern="^[0-9a-f]{64}$")]


class FileInfo(msgspec.Struct, frozen=True, kw_only=True):
    """One file variant of a segment: ``size`` in bytes and ``sha256`` (lowercase hex) of the exact bytes."""

    size: ByteCount
    sha256: Sha256Hex


class Segment(msgspec.Struct, frozen=True, kw_only=True):
    """A lesson segment. ``video`` is ``mp4:<folder>/<name>`` for a video ("" for a tab sheet or text page);
    ``files`` maps a quality (``low``/``med``/``hi``) to its file."""

    id: PositiveInt
    title: str
    video: str = ""
    files: dict[str, FileInfo] = msgspec.field(default_factory=dict)

    @property
    def downloadable(self) -> bool:
        """A video to download: ``video`` is ``mp4:`` followed by a path (TrueFire's ``LIKE 'mp4:_%'``)."""
        return self.video.startswith(VIDEO_PREFIX) and len(self.video) > len(VIDEO_PREFIX)


class Channel(msgspec.Struct, frozen=True, kw_only=True):
    """A chapter of a course, holding its segments in order."""

    id: PositiveInt
    title: str
    segments: tuple[Segment, ...] = ()


class Course(msgspec.Struct, frozen=True, kw_only=True):
    """A course with its channels."""

    id: PositiveInt
    title: str
    channels: tuple[Channel, ...] = ()

    def downloadable_segments(self) -> list[tuple[Channel, Segment]]:
        """``(channel, segment)`` for every downloadable segment, in catalogue order."""
        return [(c, s) for c in self.channels for s in c.segments if s.downloadable]


class CourseRef(msgspec.Struct, frozen=True, kw_only=True):
    """A course in the course list; ``segment_count`` counts all its segments, with or without video."""

    id: PositiveInt
    title: str
    segment_count: Count = 0


class CoursePage(msgspec.Struct, frozen=True, kw_only=True):
    """One page of ``GET /courses``: ``page`` is 1-based, ``pages`` the page count for ``per_page``."""

    page: PositiveInt
    per_page: PositiveInt
    total: Count
    pages: Count
    courses: tuple[CourseRef, ...] = ()


class Catalogue(Protocol):
    """Where the course library comes from: the sandbox/HTTP catalogue now, TrueFire's database later.

    Implementations raise :class:`~skillstream_media_downloader.errors.CatalogueError` naming the source and
    why (unreachable after retries, course not found, malformed data).
    """

    def courses(self) -> AsyncIterator[CourseRef]:
        """Every course, ordered by id, each once."""
        ...

    async def course(self, course_id: int) -> Course:
        """One course with its channels and segments."""
        ...


__all__ = ["Catalogue", "Channel", "Course", "CoursePage", "CourseRef", "FileInfo", "Segment"]
