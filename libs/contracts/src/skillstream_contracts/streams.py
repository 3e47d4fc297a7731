"""Stream definitions and subject names of every bounded context.

Each context owns one JetStream stream whose subjects are ``<context>.<aggregate>.<id>`` — one subject per
aggregate instance, so ``Nats-Expected-Last-Subject-Sequence`` gives per-aggregate optimistic concurrency.
Commands and queries use ``cmd.<context>.<name>`` and ``qry.<context>.<name>``, which no stream's subject
filter matches, so they are never stored (DESIGN.md, "Event store = JetStream").
"""

from __future__ import annotations

import re
from typing import Final

import msgspec


class StreamDefinition(msgspec.Struct, frozen=True, kw_only=True):
    """The settings of one event stream (DESIGN.md: file storage, no deletes or purges, no max age).

    ``duplicate_window`` is in seconds: a re-sent event id within it is stored once.
    """

    name: str
    context: str
    subjects: tuple[str, ...]
    description: str
    duplicate_window: float = 120.0
    allow_atomic_publish: bool = True

    def aggregate_subject(self, aggregate_type: str, aggregate_id: str) -> str:
        """The subject of one aggregate instance, e.g. ``tga.unit.BSBCMM412``.

        Raises:
            ValueError: ``aggregate_type`` is not a plain lowercase token.
        """
        return aggregate_subject(self.context, aggregate_type, aggregate_id)

    def all_of(self, aggregate_type: str) -> str:
        """The wildcard subject of every instance of an aggregate type, e.g. ``tga.unit.*``."""
        _check_token(aggregate_type)
        return f"{self.context}.{aggregate_type}.*"


_TOKEN = re.compile(r"^[a-z][a-z0-9_-]*$")
# Subject tokens may not contain '.', '*', '>' or whitespace; '%' is escaped so the encoding is reversible.
_UNSAFE = re.compile(r"[.*>%\s\x00-\x1f\x7f]")


def _check_token(token: str) -> None:
    if not _TOKEN.match(token):
        raise ValueError(f"not a plain subject token: {token!r}")


def encode_token(value: str) -> str:
    """Encode an aggregate id as one subject token (reversible percent-encoding of unsafe characters).

    Raises:
        ValueError: ``value`` is empty.
    """
    if not value:
        raise ValueError("an aggregate id may not be empty")
    return _UNSAFE.sub(lambda m: "".join(f"%{b:02X}" for b in m.group().encode()), value)


def decode_token(token: str) -> str:
    """Inverse of :func:`encode_token`."""
    return re.sub(r"(?:%[0-9A-F]{2})+", lambda m: bytes.fromhex(m.group().replace("%", "")).decode(), token)


def aggregate_subject(context: str, aggregate_type: str, aggregate_id: str) -> str:
    """``<context>.<aggregate_type>.<encoded id>``; see :func:`encode_token`."""
    _check_token(context)
    _check_token(aggregate_type)
    return f"{context}.{aggregate_type}.{encode_token(aggregate_id)}"


def command_subject(context: str, name: str) -> str:
    """The request subject of a command, e.g. ``cmd.tga.download-packages``."""
    _check_token(context)
    _check_token(name)
    return f"cmd.{context}.{name}"


def query_subject(context: str, name: str) -> str:
    """The request subject of a query, e.g. ``qry.orchestrator.list-jobs``."""
    _check_token(context)
    _check_token(name)
    return f"qry.{context}.{name}"


def _stream(name: str, context: str, description: str) -> StreamDefinition:
    return StreamDefinition(name=name, context=context, subjects=(f"{context}.>",), description=description)


JOBS: Final = _stream("JOBS", "jobs", "Import orchestration: jobs, their lifecycle, schedules and alerts")
TGA: Final = _stream("TGA", "tga", "training.gov.au catalogue: packages, qualifications, skill sets, units")
MEDIA: Final = _stream("MEDIA", "media", "Course library downloads: courses, channels, video segments")
ADMINISTRATE: Final = _stream(
    "ADMINISTRATE", "administrate", "Administrate sync: course templates, events, sessions, links"
)
TRAINING: Final = _stream(
    "TRAINING", "training", "Training programs: requirements, programs, phases, enrollments, progress"
)

ALL_STREAMS: Final[tuple[StreamDefinition, ...]] = (JOBS, TGA, MEDIA, ADMINISTRATE, TRAINING)
"""Every event stream of Skillstream, one per bounded context."""

SERVICE_STREAMS: Final[dict[str, StreamDefinition]] = {
    "orchestrator": JOBS,
    "tga-ingest": TGA,
    "media-downloader": MEDIA,
    "administrate-sync": ADMINISTRATE,
    "training": TRAINING,
}
"""The stream each service owns (the gateway owns none)."""


__all__ = [
    "ADMINISTRATE",
    "ALL_STREAMS",
    "JOBS",
    "MEDIA",
    "SERVICE_STREAMS",
    "TGA",
    "TRAINING",
    "StreamDefinition",
    "aggregate_subject",
    "command_subject",
    "decode_token",
    "encode_token",
    "query_subject",
]
