"""Read functions behind the media queries (``qry.media.*``) and skip-existing, over the read-model views in
``media_downloader`` (:mod:`skillstream_media_downloader.projections.projection`).

Each function takes an asyncpg connection or pool and a ``schema`` (default ``media_downloader``) and reads
with one statement, so a reply is one consistent snapshot while the projection writes.

Counts (media_queries' counting rules): a download's ``total`` is the larger of the planned number
(``BulkDownloadPlanned.segments``, ``CourseQueued.segment_count``) and the segments seen, and ``queued``
is the rest of it, so segments planned but not yet queued count as queued and ``total`` is the sum of the
states. Courses count the same way against ``BulkDownloadPlanned.courses``.

Rates (``CourseStatus`` docstring): ``segments_per_second`` = terminal segments and
``bytes_per_second`` = ``bytes_written`` over the time from the first segment that left ``queued`` to the
latest terminal one (None while that time is zero); ``eta_seconds`` = segments not terminal / segment rate,
None until a rate is known, 0 once the course is completed or the bulk download has ended.

Errors: invalid paging raises :class:`~skillstream_runtime.errors.CommandRejected` (``invalid_request``),
which the endpoint host replies as 400; PostgreSQL errors (``asyncpg.PostgresError``) propagate.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Final, TypeAlias

import asyncpg
import msgspec

from skillstream_contracts import ErrorCode
from skillstream_contracts.media import VideoQuality
from skillstream_contracts.media_queries import (
    BulkStatus,
    CourseStatus,
    GetBulkStatus,
    GetCourseStatus,
    QueuedCourse,
    SegmentCounts,
    SegmentFailure,
)
from skillstream_media_downloader.projections.projection import READ_SCHEMA
from skillstream_runtime.errors import CommandRejected

Db: TypeAlias = "asyncpg.Connection | asyncpg.Pool"
"""Where to read: a connection (inside the caller's transaction, if any) or a pool."""

MAX_LIMIT: Final = 1000
"""Largest page of courses or failures (media_queries: ``courses_limit`` ≤ 1000, ``limit`` ≤ 1000)."""

_ACTIVE = "(x.processing + x.retrying + x.succeeded + x.failed + x.skipped)"  # segments that left ``queued``
_DONE = "(x.succeeded + x.failed + x.skipped)"


class _Progress(msgspec.Struct, kw_only=True):
    """The counter columns shared by ``bulk_downloads`` and ``course_downloads``."""

    queued: int
    processing: int
    retrying: int
    succeeded: int
    failed: int
    skipped: int
    bytes_written: int
    first_started_at: dt.datetime | None
    last_terminal_at: dt.datetime | None


class _Course(_Progress, kw_only=True):
    """A ``course_downloads`` row (other columns are ignored)."""

    job_id: str
    course_id: int
    title: str
    directory: str
    state: str
    segment_count: int
    bytes_expected: int | None
    queued_at: dt.datetime | None
    completed_at: dt.datetime | None


def _check(name: str, value: int, low: int, high: int | None = MAX_LIMIT) -> None:
    """Reject a page size or offset outside ``low..high`` (``high`` None: no upper bound), naming the field."""
    if value < low or (high is not None and value > high):
        bound = f"in {low}..{high}" if high is not None else f"≥ {low}"
        raise CommandRejected(ErrorCode.INVALID_REQUEST, f"{name} must be {bound} (got {value})")


def _counts(p: _Progress, planned: int | None, *, ended: bool = False) -> SegmentCounts:
    """The counts of a course or a bulk download; once its bulk download has ended (``ended``), the segments
    that had not ended are ``cancelled``."""
    active = p.processing + p.retrying + p.succeeded + p.failed + p.skipped
    total = max(planned or 0, p.queued + active)
    if ended:
        done = p.succeeded + p.failed + p.skipped
        return SegmentCounts(
            total=total, succeeded=p.succeeded, failed=p.failed, skipped=p.skipped, cancelled=total - done
        )
    return SegmentCounts(
        total=total,
        queued=total - active,
        processing=p.processing,
        retrying=p.retrying,
        succeeded=p.succeeded,
        failed=p.failed,
        skipped=p.skipped,
    )


def _rates(p: _Progress, counts: SegmentCounts, *, ended: bool) -> dict[str, float | None]:
    """``bytes_per_second``, ``segments_per_second`` and ``eta_seconds`` (see the module docstring)."""
    done = counts.succeeded + counts.failed + counts.skipped
    elapsed = 0.0
    if p.first_started_at is not None and p.last_terminal_at is not None:
        elapsed = (p.last_terminal_at - p.first_started_at).total_seconds()
    segment_rate = done / elapsed if elapsed > 0 and done else None
    eta = 0.0 if ended else None if segment_rate is None else (counts.total - done) / segment_rate
    return {
        "bytes_per_second": p.bytes_written / elapsed if elapsed > 0 else None,
        "segments_per_second": segment_rate,
        "eta_seconds": eta,
    }


def _course_status(c: _Course, failures: list[SegmentFailure], *, job_ended: bool) -> CourseStatus:
    counts = _counts(c, c.segment_count, ended=job_ended)
    return CourseStatus(
        job_id=c.job_id,
        course_id=c.course_id,
        title=c.title,
        directory=c.directory,
        state=c.state,
        counts=counts,
        bytes_written=c.bytes_written,
        bytes_expected=c.bytes_expected,
        **_rates(c, counts, ended=job_ended or c.state == "completed"),
        queued_at=c.queued_at,
        started_at=c.first_started_at,
        completed_at=c.completed_at,
        failures=failures,
    )


async def bulk_status(db: Db, q: GetBulkStatus, *, schema: str = READ_SCHEMA) -> BulkStatus | None:
    """Bulk download ``q.job_id`` (None: the most recently requested one) with its courses
    ``q.courses_offset`` … ``+ q.courses_limit`` ordered by course id (their ``failures`` are left empty: ask
    :func:`course_status`); None when there is no such bulk download.

    Raises:
        CommandRejected: ``invalid_request`` when ``courses_limit`` is not in 1..1000 or the offset is negative.
    """
    _check("courses_limit", q.courses_limit, 1)
    _check("courses_offset", q.courses_offset, 0, None)
    s = f'"{schema}"'
    which = "true" if q.job_id is None else "b.job_id = $3"
    args: list[Any] = [q.courses_limit, q.courses_offset, *([] if q.job_id is None else [q.job_id])]
    row = await db.fetchrow(
        f"""SELECT b.*, n.courses, n.processing_courses, n.completed_courses, p.page
            FROM {s}.bulk_downloads b
            CROSS JOIN LATERAL (SELECT count(*) AS courses,
                    count(*) FILTER (WHERE state = 'processing') AS processing_courses,
                    count(*) FILTER (WHERE state = 'completed') AS completed_courses
                FROM {s}.course_downloads WHERE job_id = b.job_id) n
            CROSS JOIN LATERAL (SELECT coalesce(jsonb_agg(to_jsonb(x) ORDER BY x.course_id), '[]') AS page
                FROM (SELECT * FROM {s}.course_downloads WHERE job_id = b.job_id
                      ORDER BY course_id LIMIT $1 OFFSET $2) x) p
            WHERE {which} ORDER BY b.first_sequence DESC LIMIT 1""",
        *args,
    )
    if row is None:
        return None
    p = msgspec.convert(dict(row), _Progress)
    ended = row["status"] != "running"
    counts = _counts(p, row["segments_total"], ended=ended)
    courses_total = max(row["courses_total"] or 0, row["courses"])
    page = msgspec.json.decode(row["page"], type=list[_Course])
    return BulkStatus(
        job_id=row["job_id"],
        status=row["status"],
        test_mode=row["test_mode"],
        # a job whose BulkDownloadRequested this read model has not seen (yet): the contract's defaults
        quality=VideoQuality(row["quality"] or VideoQuality.MED),
        requested_by=row["requested_by"] or "",
        requested_at=row["requested_at"],
        finished_at=row["finished_at"],
        reason=row["reason"],
        courses_total=courses_total,
        courses_queued=courses_total - row["processing_courses"] - row["completed_courses"],
        courses_processing=row["processing_courses"],
        courses_completed=row["completed_courses"],
        counts=counts,
        bytes_written=p.bytes_written,
        bytes_expected=row["bytes_expected"],
        **_rates(p, counts, ended=ended),
        courses=[_course_status(c, [], job_ended=ended) for c in page],
    )


async def course_status(db: Db, q: GetCourseStatus, *, schema: str = READ_SCHEMA) -> CourseStatus | None:
    """Course ``q.course_id`` in bulk download ``q.job_id`` (None: the latest bulk download holding it), with
    up to ``q.failure_limit`` failed segments, newest first; None when no bulk download holds the course.

    Raises:
        CommandRejected: ``invalid_request`` when ``failure_limit`` is not in 0..1000 (0: no failures listed).
    """
    _check("failure_limit", q.failure_limit, 0)
    s = f'"{schema}"'
    which = "true" if q.job_id is None else "c.job_id = $3"
    args: list[Any] = [q.course_id, q.failure_limit, *([] if q.job_id is None else [q.job_id])]
    row = await db.fetchrow(
        f"""SELECT c.*, coalesce(b.status, 'running') AS job_status, (
                SELECT coalesce(jsonb_agg(to_jsonb(f) ORDER BY f.sequence DESC), '[]') FROM (
                    SELECT segment_id, course_id, title, reason, attempts, http_status, updated_at AS at, sequence
                    FROM {s}.segment_downloads WHERE job_id = c.job_id AND course_id = c.course_id
                        AND state = 'failed' ORDER BY sequence DESC LIMIT $2) f) AS failures
            FROM {s}.course_downloads c LEFT JOIN {s}.bulk_downloads b ON b.job_id = c.job_id
            WHERE c.course_id = $1 AND {which} ORDER BY c.first_sequence DESC LIMIT 1""",
        *args,
    )
    if row is None:
        return None
    failures = msgspec.json.decode(row["failures"], type=list[SegmentFailure])
    return _course_status(msgspec.convert(dict(row), _Course), failures, job_ended=row["job_status"] != "running")


async def queued_courses(db: Db, limit: int, *, schema: str = READ_SCHEMA) -> tuple[list[QueuedCourse], int, int]:
    """Courses with segments not yet terminal in running bulk downloads (up to ``limit``, oldest download
    first, then by course id), and the queued and failed segment counts over all running bulk downloads.

    Raises:
        CommandRejected: ``invalid_request`` when ``limit`` is not in 1..1000.
    """
    _check("limit", limit, 1)
    s = f'"{schema}"'
    rows = await db.fetch(
        f"""WITH running AS (
                SELECT x.job_id, x.first_sequence, x.failed,
                    greatest(coalesce(x.segments_total, 0), x.queued + {_ACTIVE}) - {_ACTIVE} AS queued
                FROM {s}.bulk_downloads x WHERE x.status = 'running'
            ), courses AS (
                SELECT x.job_id, x.course_id, x.title, x.processing, x.retrying, x.failed,
                    greatest(x.segment_count, x.queued + {_ACTIVE}) AS total_segments, {_ACTIVE} AS active,
                    {_DONE} AS done, r.first_sequence AS job_sequence
                FROM {s}.course_downloads x JOIN running r USING (job_id)
            )
            SELECT t.total_queued, t.total_failed, p.*
            FROM (SELECT coalesce(sum(queued), 0) AS total_queued, coalesce(sum(failed), 0) AS total_failed
                  FROM running) t
            LEFT JOIN LATERAL (SELECT *, total_segments - active AS queued FROM courses
                WHERE total_segments > done ORDER BY job_sequence, course_id LIMIT $1) p ON true
            ORDER BY p.job_sequence, p.course_id""",
        limit,
    )
    fields = QueuedCourse.__struct_fields__
    courses = [QueuedCourse(**{f: r[f] for f in fields}) for r in rows if r["job_id"] is not None]
    return courses, int(rows[0]["total_queued"]), int(rows[0]["total_failed"])


async def downloaded_segments(db: Db, *, schema: str = READ_SCHEMA) -> int:
    """Distinct segments that some bulk download ever downloaded or skipped as complete
    (``LibrarySummary.downloaded_segments``)."""
    count = await db.fetchval(
        f"SELECT count(DISTINCT segment_id) FROM \"{schema}\".segment_downloads WHERE state IN ('succeeded', 'skipped')"
    )
    return int(count)


async def recorded_digest(
    db: Db, segment_id: int, target_path: str, *, schema: str = READ_SCHEMA
) -> tuple[int, str] | None:
    """``(size in bytes, sha256 lowercase hex)`` of the latest ``SegmentDownloaded`` of ``segment_id`` to
    ``target_path`` (relative to the storage root), or None: the recorded digest of skip-existing
    (``SkipReason.RECORDED_DIGEST``). Skips are not records: they only repeat earlier evidence."""
    row = await db.fetchrow(
        f'SELECT bytes, sha256 FROM "{schema}".segment_downloads'
        " WHERE segment_id = $1 AND target_path = $2 AND state = 'succeeded' ORDER BY sequence DESC LIMIT 1",
        segment_id,
        target_path,
    )
    return None if row is None else (int(row["bytes"]), str(row["sha256"]))


__all__ = [
    "MAX_LIMIT",
    "Db",
    "bulk_status",
    "course_status",
    "downloaded_segments",
    "queued_courses",
    "recorded_digest",
]
