"""Composition root of the media-downloader service: everything it runs is wired here, nowhere else."""

from __future__ import annotations

from importlib.resources import files

from skillstream_contracts.streams import MEDIA
from skillstream_runtime.host import ServiceDefinition

NAME = "media-downloader"
DESCRIPTION = "Media downloader: bulk download of the course library from a signed-URL CDN"


def definition() -> ServiceDefinition:
    """The media-downloader service: owns the ``MEDIA`` stream and the ``media_downloader`` PostgreSQL schema."""
    return ServiceDefinition(
        name=NAME,
        description=DESCRIPTION,
        default_http_port=8103,
        stream=MEDIA,
        migrations=files("skillstream_media_downloader") / "migrations",
    )
