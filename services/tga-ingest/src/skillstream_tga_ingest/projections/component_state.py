"""``component_state``: per (component type, code) what is held locally — downloaded (the bytes or the
details were kept), processed (parsed into the read models) — and the latest failure (seed 000: "whether it's
already in the database", "downloaded and processed"; a malformed file is a ``UnitParseFailed`` event).

Rules, in stream order per component: a download event (``PackageDownloaded``, ``QualificationDownloaded``,
``SkillSetDownloaded``, ``UnitDownloaded``) sets downloaded and processed and clears the failure, except a
qualification or skill set downloaded without a content file (``source`` None): that one is downloaded but
not processed, and ``metadata_only`` holds why (the event's ``metadata_only_reason``, else
:data:`UNSTATED_METADATA_ONLY`) until a download with content clears it;
``UnitParseFailed`` clears processed and records the failure (downloaded when its ``source`` says the bytes
were kept); ``ComponentDownloadFailed`` records the failure and leaves the rest. ``downloaded_at`` is when the
bytes first came in: a re-parse of the same bytes (same SHA-256) keeps it. The batch's rows are read once,
folded in memory and written with one upsert.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import NamedTuple

import asyncpg

from skillstream_contracts.tga import (
    ComponentDownloadFailed,
    ComponentType,
    PackageDownloaded,
    QualificationDownloaded,
    SkillSetDownloaded,
    SourceFile,
    UnitDownloaded,
    UnitParseFailed,
)
from skillstream_contracts.tga_queries import DOWNLOAD_FAILURE as TGA_DOWNLOAD_FAILURE
from skillstream_runtime.eventstore import RecordedEvent
from skillstream_tga_ingest.projections._readmodel import columns, upsert

DOWNLOAD_FAILURE = TGA_DOWNLOAD_FAILURE
"""``component_state.failure_kind`` of a ``ComponentDownloadFailed`` (parse failures store their
:class:`~skillstream_contracts.tga.ParseFailure` value)."""
UNSTATED_METADATA_ONLY = "TGA lists no content file for this release"
"""``component_state.metadata_only`` of a metadata-only download whose event states no reason (written before
events carried one)."""

_STATE = columns(
    "component_type text, code text, downloaded boolean, processed boolean, downloaded_at timestamptz, "
    "source_sha256 text, failure text, failure_kind text, failed_at timestamptz, last_sequence bigint, "
    "metadata_only text"
)


class _State(NamedTuple):
    component_type: str
    code: str
    downloaded: bool
    processed: bool
    downloaded_at: dt.datetime | None
    source_sha256: str | None
    failure: str | None
    failure_kind: str | None
    failed_at: dt.datetime | None
    last_sequence: int
    metadata_only: str | None


def _state_key(r: RecordedEvent) -> tuple[str, str] | None:
    match r.event:
        case PackageDownloaded(code=code):
            return (ComponentType.TRAINING_PACKAGE.value, code)
        case QualificationDownloaded(code=code):
            return (ComponentType.QUALIFICATION.value, code)
        case SkillSetDownloaded(code=code):
            return (ComponentType.SKILL_SET.value, code)
        case UnitDownloaded(code=code):
            return (ComponentType.UNIT.value, code)
        case (
            UnitParseFailed(code=code, component_type=ctype) | ComponentDownloadFailed(code=code, component_type=ctype)
        ):
            return (ctype.value, code)
    return None


def _next_state(old: _State | None, key: tuple[str, str], r: RecordedEvent) -> _State:
    at, seq = r.metadata.occurred_at, r.sequence
    downloaded = old.downloaded if old else False
    processed = old.processed if old else False
    downloaded_at = old.downloaded_at if old else None
    sha = old.source_sha256 if old else None
    source: SourceFile | None = getattr(r.event, "source", None)
    if source is not None or not isinstance(r.event, UnitParseFailed | ComponentDownloadFailed):
        # New bytes (or details) came in; a re-parse of the same bytes keeps the first download time.
        fresh = source is None or source.sha256 != sha or downloaded_at is None
        downloaded, downloaded_at = True, (at if fresh else downloaded_at)
        sha = source.sha256 if source is not None else sha
    bare = old.metadata_only if old else None
    match r.event:
        case UnitParseFailed(reason=reason, failure=failure):
            return _State(*key, downloaded, False, downloaded_at, sha, reason, failure.value, at, seq, bare)
        case ComponentDownloadFailed(reason=reason):
            return _State(*key, downloaded, processed, downloaded_at, sha, reason, DOWNLOAD_FAILURE, at, seq, bare)
        case (
            QualificationDownloaded(source=None, metadata_only_reason=why)
            | SkillSetDownloaded(source=None, metadata_only_reason=why)
        ):
            return _State(*key, True, False, downloaded_at, sha, None, None, None, seq, why or UNSTATED_METADATA_ONLY)
    return _State(*key, True, True, downloaded_at, sha, None, None, None, seq, None)


async def write_component_state(conn: asyncpg.Connection, schema: str, events: Sequence[RecordedEvent]) -> None:
    """Fold ``events`` (one batch, stream order) into ``component_state`` of ``schema``; events at or below a
    row's ``last_sequence`` are skipped (see the module docstring for the rules)."""
    touched = [(k, r) for r in events if (k := _state_key(r)) is not None]
    if not touched:
        return
    types, codes = zip(*{k for k, _ in touched}, strict=True)
    stored = await conn.fetch(
        f'SELECT s.* FROM "{schema}".component_state s JOIN unnest($1::text[], $2::text[]) AS u(t, c)'
        " ON s.component_type = u.t AND s.code = u.c",
        list(types),
        list(codes),
    )
    states: dict[tuple[str, str], _State] = {
        (row["component_type"], row["code"]): _State(*(row[name] for name, _ in _STATE)) for row in stored
    }
    changed: set[tuple[str, str]] = set()
    for key, r in touched:
        old = states.get(key)
        if old is not None and r.sequence <= old.last_sequence:
            continue  # already reflected (an event applied again)
        states[key] = _next_state(old, key, r)
        changed.add(key)
    await upsert(
        conn, schema, "component_state", _STATE, [states[k] for k in sorted(changed)], key=("component_type", "code")
    )


__all__ = ["DOWNLOAD_FAILURE", "UNSTATED_METADATA_ONLY", "write_component_state"]
