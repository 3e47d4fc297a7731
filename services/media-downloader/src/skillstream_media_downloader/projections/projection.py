"""The downloads read model: per bulk download, per course and per segment, folded from the ``MEDIA`` stream.

Tables (in the generation schema; readers query the views of the same names in ``media_downloader``):

- ``bulk_downloads`` — one row per job: the request (``BulkDownloadRequested``), the plan's totals
  (``BulkDownloadPlanned``), the end (``BulkDownloadCompleted`` → ``completed`` or ``cancelled``,
  ``BulkDownloadFailed`` → ``failed``; the first end wins), and the segment counters of the job;
- ``course_downloads`` — one row per (job, course): ``CourseQueued``'s fields, the segment counters,
  ``first_started_at`` (the first segment event that left ``queued``), ``last_terminal_at`` and
  ``completed_at`` (``CourseCompleted``); ``state`` is generated: completed | processing | queued;
- ``segment_downloads`` — one row per (job, segment): its state and the latest attempt's details.
  ``bytes`` is the file's size once succeeded or skipped, else the ``.part`` size last reported.

Exactness (media_queries' counting rules): a segment's state follows its latest event —
``SegmentQueued`` → queued (only for a (job, segment) not seen before), ``SegmentDownloadStarted`` →
processing, ``SegmentRetryScheduled`` → retrying, ``SegmentDownloaded`` / ``SegmentSkipped`` /
``SegmentFailed`` → succeeded / skipped / failed — until it is terminal, which it never leaves. Course and bulk
counters change only by the deltas of those transitions, written in the runner's transaction with its
checkpoint, so a second ``SegmentDownloadStarted`` after a crash, a duplicate ``SegmentQueued`` or a repeated
terminal event never counts twice. Each segment row keeps the stream ``sequence`` of its latest event, and an
event at or below it is skipped, so applying old events again changes nothing. A retry-failed job is a new job
id: its segments are new rows. ``bytes_written`` sums ``SegmentDownloaded.size`` (skipped files excluded).

A batch is folded in memory (one read of the touched segment rows) and written with one ``unnest`` upsert
per table and kind of change, whatever its size.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Final, NamedTuple

import asyncpg

from skillstream_contracts.media import (
    MEDIA_EVENTS,
    BulkDownloadCompleted,
    BulkDownloadFailed,
    BulkDownloadPlanned,
    BulkDownloadRequested,
    CourseCompleted,
    CourseQueued,
    SegmentDownloaded,
    SegmentDownloadStarted,
    SegmentFailed,
    SegmentQueued,
    SegmentRetryScheduled,
    SegmentSkipped,
)
from skillstream_contracts.streams import MEDIA
from skillstream_runtime.eventstore import RecordedEvent
from skillstream_runtime.projections import Projection

READ_SCHEMA: Final = "media_downloader"
"""The schema of the views readers query (the service's own schema, migration 0001)."""

COUNTERS: Final = ("queued", "processing", "retrying", "succeeded", "failed", "skipped")
"""Segment states, which are also the counter columns of ``course_downloads`` and ``bulk_downloads``."""
TERMINAL: Final = frozenset({"succeeded", "failed", "skipped"})

_SegmentEvent = (
    SegmentQueued | SegmentDownloadStarted | SegmentRetryScheduled | SegmentDownloaded | SegmentSkipped | SegmentFailed
)
_COUNTER_DDL = ", ".join(f"{c} integer NOT NULL DEFAULT 0" for c in COUNTERS)


def _ddl(schema: str) -> str:
    s = f'"{schema}"'
    return f"""
    CREATE TABLE {s}.bulk_downloads (
        job_id text PRIMARY KEY, requested_by text, quality text, test_mode boolean NOT NULL DEFAULT false,
        requested_at timestamptz, status text NOT NULL DEFAULT 'running', reason text, finished_at timestamptz,
        courses_total integer, segments_total integer, bytes_expected bigint, {_COUNTER_DDL},
        bytes_written bigint NOT NULL DEFAULT 0, first_started_at timestamptz, last_terminal_at timestamptz,
        first_sequence bigint NOT NULL, last_sequence bigint NOT NULL);
    CREATE INDEX ON {s}.bulk_downloads (first_sequence);
    CREATE TABLE {s}.course_downloads (
        job_id text NOT NULL, course_id bigint NOT NULL, title text NOT NULL DEFAULT '',
        directory text NOT NULL DEFAULT '', segment_count integer NOT NULL DEFAULT 0, bytes_expected bigint,
        {_COUNTER_DDL}, bytes_written bigint NOT NULL DEFAULT 0, queued_at timestamptz,
        first_started_at timestamptz, last_terminal_at timestamptz, completed_at timestamptz,
        state text GENERATED ALWAYS AS (CASE WHEN completed_at IS NOT NULL THEN 'completed'
            WHEN first_started_at IS NOT NULL THEN 'processing' ELSE 'queued' END) STORED,
        first_sequence bigint NOT NULL, last_sequence bigint NOT NULL, PRIMARY KEY (job_id, course_id));
    CREATE INDEX ON {s}.course_downloads (course_id, first_sequence);
    CREATE TABLE {s}.segment_downloads (
        job_id text NOT NULL, segment_id bigint NOT NULL, course_id bigint NOT NULL, title text NOT NULL,
        state text NOT NULL, attempts integer NOT NULL, bytes bigint NOT NULL, sha256 text, reason text,
        http_status integer, target_path text, updated_at timestamptz NOT NULL, sequence bigint NOT NULL,
        PRIMARY KEY (job_id, segment_id));
    CREATE INDEX ON {s}.segment_downloads (segment_id, sequence) WHERE state IN ('succeeded', 'skipped');
    CREATE INDEX ON {s}.segment_downloads (job_id, course_id, sequence) WHERE state = 'failed';
    """


Columns = tuple[tuple[str, str], ...]
"""Column names and PostgreSQL types, e.g. ``(("job_id", "text"),)``; the array parameter is ``type[]``."""


def _columns(spec: str) -> Columns:
    """``"job_id text, course_id bigint"`` → ``(("job_id", "text"), ("course_id", "bigint"))``."""
    return tuple((name, kind) for name, kind in (part.split() for part in spec.split(",")))


_JOB: Final = _columns("job_id text")
_COURSE: Final = _columns("job_id text, course_id bigint")
_SEGMENT: Final = _columns(
    "course_id bigint, title text, state text, attempts integer, bytes bigint, sha256 text, reason text,"
    " http_status integer, target_path text, updated_at timestamptz, sequence bigint"
)
_SEQUENCES: Final = _columns("first_sequence bigint, last_sequence bigint")
_REQUEST: Final = _columns("requested_by text, quality text, test_mode boolean, requested_at timestamptz")
_PLAN: Final = _columns("courses_total integer, segments_total integer, bytes_expected bigint")
_END: Final = _columns("status text, reason text, finished_at timestamptz")
_COURSE_QUEUED: Final = _columns(
    "title text, directory text, segment_count integer, bytes_expected bigint, queued_at timestamptz"
)
_COMPLETION: Final = _columns("completed_at timestamptz")
_TALLY: Final = (
    *((c, "integer") for c in COUNTERS),
    *_columns("bytes_written bigint, first_started_at timestamptz, last_terminal_at timestamptz"),
)
_TALLY_SETS: Final = {
    **{c: f"t.{c} + EXCLUDED.{c}" for c in (*COUNTERS, "bytes_written")},
    "first_started_at": "least(t.first_started_at, EXCLUDED.first_started_at)",  # least/greatest skip NULLs
    "last_terminal_at": "greatest(t.last_terminal_at, EXCLUDED.last_terminal_at)",
}
_SEQUENCE_SETS: Final = {
    "first_sequence": "least(t.first_sequence, EXCLUDED.first_sequence)",
    "last_sequence": "greatest(t.last_sequence, EXCLUDED.last_sequence)",
}


class _Segment(NamedTuple):
    """One ``segment_downloads`` row (field order = ``_COURSE``'s job id, segment id, then ``_SEGMENT``), a plain
    tuple so that it is written as it is (a dataclass's ``astuple``/``replace`` took a fifth of a replay)."""

    job_id: str
    segment_id: int
    course_id: int
    title: str
    state: str
    attempts: int
    bytes: int
    sha256: str | None
    reason: str | None
    http_status: int | None
    target_path: str | None
    updated_at: dt.datetime
    sequence: int


def _next(old: _Segment | None, r: RecordedEvent, e: _SegmentEvent) -> _Segment | None:
    """The segment row after ``e`` (the event of ``r``), or None when it changes nothing (module docstring)."""
    at, seq = r.metadata.occurred_at, r.sequence
    if old is not None and (seq <= old.sequence or old.state in TERMINAL or isinstance(e, SegmentQueued)):
        return None
    row = old or _Segment(e.job_id, e.segment_id, e.course_id, "", "queued", 0, 0, None, None, None, None, at, seq)
    attempts = row.attempts
    change: dict[str, Any]
    match e:
        case SegmentQueued():
            change = {"title": e.title, "target_path": e.target_path}
        case SegmentDownloadStarted():
            change = {"state": "processing", "attempts": max(attempts, e.attempt), "bytes": e.resume_from}
        case SegmentRetryScheduled():
            change = {"state": "retrying", "attempts": max(attempts, e.attempt), "bytes": e.partial_bytes}
            change |= {"reason": e.reason, "http_status": e.http_status}
        case SegmentDownloaded():
            change = {"state": "succeeded", "attempts": max(attempts, e.attempts), "reason": None, "http_status": None}
            change |= {"bytes": e.size, "sha256": e.sha256, "target_path": e.target_path}
        case SegmentSkipped():
            change = {"state": "skipped", "reason": e.reason.value}
            change |= {"bytes": e.size, "sha256": e.sha256, "target_path": e.target_path}
        case SegmentFailed():
            change = {"state": "failed", "attempts": max(attempts, e.attempts)}
            change |= {"reason": e.reason, "http_status": e.http_status}
    return row._replace(updated_at=at, sequence=seq, **change)


# the stored row's columns named in _Segment's order, so a row is read by position whatever the table's order
_SEGMENT_COLUMNS: Final = ", ".join(f"s.{name}" for name in _Segment._fields)


@dataclass(slots=True)
class _Tally:
    """The counter deltas of one course or one bulk download in one batch."""

    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTERS, 0))
    bytes_written: int = 0
    first_started_at: dt.datetime | None = None
    last_terminal_at: dt.datetime | None = None
    first_sequence: int = 0
    last_sequence: int = 0

    def move(self, old: _Segment | None, new: _Segment) -> None:
        """Count the transition ``old`` → ``new`` of one segment (``old`` None: the segment is new)."""
        at = new.updated_at
        self.first_sequence = self.first_sequence or new.sequence
        self.last_sequence = new.sequence
        if old is not None and old.state == new.state:
            return  # e.g. a second SegmentDownloadStarted after a crash: nothing to count
        if old is not None:
            self.counts[old.state] -= 1
        self.counts[new.state] += 1
        if new.state != "queued" and (old is None or old.state == "queued"):
            self.first_started_at = min(at, self.first_started_at or at)
        if new.state in TERMINAL:
            self.last_terminal_at = max(at, self.last_terminal_at or at)
        if new.state == "succeeded":
            self.bytes_written += new.bytes

    def row(self, *key: Any) -> tuple[Any, ...]:
        """The ``_TALLY`` columns after ``key``."""
        done = (self.bytes_written, self.first_started_at, self.last_terminal_at)
        return (*key, *self.counts.values(), *done, self.first_sequence, self.last_sequence)


@dataclass(frozen=True)
class _Upsert:
    """One bulk upsert: rows of ``key`` columns, then ``columns``, then (``tracked``) ``first_sequence`` and
    ``last_sequence`` (merged by least/greatest), inserted with one ``unnest`` or merged into the stored row.

    ``sets``: column → ``SET`` expression over ``t`` (the stored row) and ``EXCLUDED``; default: the new value,
    or with ``first_wins`` (a condition on ``t``) the new value only while that condition holds.
    """

    table: str
    key: Columns
    columns: Columns
    sets: Mapping[str, str] | None = None
    first_wins: str | None = None
    tracked: bool = True

    async def __call__(self, conn: asyncpg.Connection, schema: str, rows: Collection[Sequence[Any]]) -> None:
        if not rows:
            return
        cols = (*self.key, *self.columns, *(_SEQUENCES if self.tracked else ()))
        sets = dict(self.sets or {c: f"EXCLUDED.{c}" for c, _ in self.columns})
        if self.first_wins is not None:
            sets = {c: f"CASE WHEN {self.first_wins} THEN {e} ELSE t.{c} END" for c, e in sets.items()}
        if self.tracked:
            sets.update(_SEQUENCE_SETS)
        arrays = ", ".join(f"${i}::{kind}[]" for i, (_, kind) in enumerate(cols, start=1))
        await conn.execute(
            f'INSERT INTO "{schema}".{self.table} AS t ({", ".join(c for c, _ in cols)})'
            f" SELECT * FROM unnest({arrays}) ON CONFLICT ({', '.join(c for c, _ in self.key)})"
            f" DO UPDATE SET {', '.join(f'{c} = {e}' for c, e in sets.items())}",
            *([_pg_safe(v) for v in column] for column in zip(*rows, strict=True)),
        )


def _pg_safe(value: Any) -> Any:
    """PostgreSQL text cannot hold NUL, which a hostile catalogue title may contain: store U+FFFD instead (the
    event keeps the title as the catalogue sent it)."""
    return value.replace("\x00", "\ufffd") if isinstance(value, str) else value


_REQUESTED: Final = _Upsert("bulk_downloads", _JOB, _REQUEST, first_wins="t.requested_at IS NULL")
_PLANNED: Final = _Upsert("bulk_downloads", _JOB, _PLAN)
_ENDED: Final = _Upsert("bulk_downloads", _JOB, _END, first_wins="t.status = 'running'")
_COURSE_QUEUED_ROWS: Final = _Upsert("course_downloads", _COURSE, _COURSE_QUEUED, first_wins="t.queued_at IS NULL")
_COMPLETED: Final = _Upsert("course_downloads", _COURSE, _COMPLETION, first_wins="t.completed_at IS NULL")
_COURSE_TALLY: Final = _Upsert("course_downloads", _COURSE, _TALLY, _TALLY_SETS)
_BULK_TALLY: Final = _Upsert("bulk_downloads", _JOB, _TALLY, _TALLY_SETS)
_SEGMENTS: Final = _Upsert("segment_downloads", _columns("job_id text, segment_id bigint"), _SEGMENT, tracked=False)


def _put(rows: dict[Any, tuple[Any, ...]], key: Any, values: tuple[Any, ...], seq: int, *, first_wins: bool) -> None:
    """Keep ``values`` for ``key`` (the first or the latest, as the table's rule says) followed by the key's first
    and latest sequence in this batch — the same result as applying the events one batch each."""
    old = rows.get(key)
    if old is None:
        rows[key] = (*values, seq, seq)
    else:
        rows[key] = (*(old[:-2] if first_wins else values), old[-2], seq)


@dataclass
class _Batch:
    """One ``apply`` call's events by table: the first request, end, course queued and course completion of a
    key win (a repeat changes nothing but ``last_sequence``), the latest plan wins; segment events are kept in
    stream order."""

    requested: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    planned: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    ended: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    courses: dict[tuple[str, int], tuple[Any, ...]] = field(default_factory=dict)
    completed: dict[tuple[str, int], tuple[Any, ...]] = field(default_factory=dict)
    segments: list[tuple[RecordedEvent, _SegmentEvent]] = field(default_factory=list)

    def add(self, r: RecordedEvent) -> None:
        at, seq = r.metadata.occurred_at, r.sequence
        if isinstance(r.event, _SegmentEvent):
            self.segments.append((r, r.event))
            return
        match r.event:
            case BulkDownloadRequested() as e:
                request = (e.job_id, e.requested_by, e.quality.value, e.test_mode, at)
                _put(self.requested, e.job_id, request, seq, first_wins=True)
            case BulkDownloadPlanned() as e:
                plan = (e.job_id, e.courses, e.segments, e.total_bytes)
                _put(self.planned, e.job_id, plan, seq, first_wins=False)
            case BulkDownloadCompleted() as e:
                end = (e.job_id, "cancelled" if e.cancelled else "completed", None, at)
                _put(self.ended, e.job_id, end, seq, first_wins=True)
            case BulkDownloadFailed() as e:
                _put(self.ended, e.job_id, (e.job_id, "failed", e.reason, at), seq, first_wins=True)
            case CourseQueued() as e:
                key = (e.job_id, e.course_id)
                course = (*key, e.title, e.directory, e.segment_count, e.total_bytes, at)
                _put(self.courses, key, course, seq, first_wins=True)
            case CourseCompleted() as e:
                key = (e.job_id, e.course_id)
                _put(self.completed, key, (*key, at), seq, first_wins=True)


class DownloadsProjection(Projection):
    """``media_downloader.bulk_downloads`` / ``course_downloads`` / ``segment_downloads`` from ``MEDIA``."""

    name: ClassVar[str] = "media_downloads"
    read_schema: ClassVar[str] = READ_SCHEMA
    sources: ClassVar = {MEDIA.name: (MEDIA.all_of("job"), MEDIA.all_of("course"), MEDIA.all_of("segment"))}
    tables: ClassVar = ("bulk_downloads", "course_downloads", "segment_downloads")
    registries: ClassVar = {MEDIA.name: MEDIA_EVENTS}

    async def create_tables(self, conn: asyncpg.Connection, schema: str) -> None:
        await conn.execute(_ddl(schema))

    async def apply(self, conn: asyncpg.Connection, schema: str, events: Sequence[RecordedEvent]) -> None:
        b = _Batch()
        for r in events:
            b.add(r)
        await _REQUESTED(conn, schema, b.requested.values())
        await _PLANNED(conn, schema, b.planned.values())
        await _COURSE_QUEUED_ROWS(conn, schema, b.courses.values())
        await _apply_segments(conn, schema, b.segments)
        await _COMPLETED(conn, schema, b.completed.values())
        await _ENDED(conn, schema, b.ended.values())


async def _apply_segments(
    conn: asyncpg.Connection, schema: str, events: Sequence[tuple[RecordedEvent, _SegmentEvent]]
) -> None:
    """Fold the segment events over the stored rows they touch and write the rows and the counter deltas."""
    if not events:
        return
    keys = list({(e.job_id, e.segment_id) for _, e in events})
    stored = await conn.fetch(
        f'SELECT {_SEGMENT_COLUMNS} FROM "{schema}".segment_downloads s'
        " JOIN unnest($1::text[], $2::bigint[]) AS u(job_id, segment_id) USING (job_id, segment_id)",
        [j for j, _ in keys],
        [s for _, s in keys],
    )
    rows = {(r[0], r[1]): _Segment(*r) for r in stored}  # selected in _Segment's field order
    changed: set[tuple[str, int]] = set()
    courses: defaultdict[tuple[str, int], _Tally] = defaultdict(_Tally)
    jobs: defaultdict[str, _Tally] = defaultdict(_Tally)
    for r, e in events:
        key = (e.job_id, e.segment_id)
        old = rows.get(key)
        new = _next(old, r, e)
        if new is None:
            continue
        rows[key] = new
        changed.add(key)
        courses[(new.job_id, new.course_id)].move(old, new)
        jobs[new.job_id].move(old, new)
    await _SEGMENTS(conn, schema, [rows[k] for k in sorted(changed)])
    await _COURSE_TALLY(conn, schema, [t.row(*k) for k, t in courses.items()])
    await _BULK_TALLY(conn, schema, [t.row(k) for k, t in jobs.items()])


__all__ = ["COUNTERS", "READ_SCHEMA", "TERMINAL", "DownloadsProjection"]
