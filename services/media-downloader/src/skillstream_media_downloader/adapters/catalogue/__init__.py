"""The course catalogue adapters: :class:`HttpCatalogue`, for the catalogue's JSON API (media spec §1). Each
implements :class:`~skillstream_media_downloader.domain.catalogue.Catalogue` (the model and the protocol are the
domain's); a TrueFire-database adapter can implement the same protocol later."""

from skillstream_media_downloader.adapters.catalogue.http import HttpCatalogue

__all__ = ["HttpCatalogue"]
