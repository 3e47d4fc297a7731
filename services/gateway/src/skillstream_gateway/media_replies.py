"""Reply bodies of the media library routes (:mod:`skillstream_gateway.routers.media`) and their mapping from
the media-downloader's query replies (``skillstream_contracts.media_queries``).

Seed 001's field names come first, so what polled the original system reads these replies unchanged; ours
follow: exact counts by state (``queued``/``processing``/``retrying``/``succeeded``/``failed``/``skipped``/
``cancelled``), bytes, rates and ETA. The mapping only renames and sums what the service counted: no rule is
decided here.
"""

import datetime as dt
from typing import Any

import msgspec

from skillstream_contracts.jobs import JobView
from skillstream_contracts.media import VideoQuality
from skillstream_contracts.media_queries import (
    BulkStatus,
    CourseStatus,
    GetBulkStatus,
    LibrarySummary,
    QueueStatus,
    SegmentCounts,
    SegmentFailure,
)

PREFIX = "/truefire-courses"
"""Seed 001's path prefix of the media routes."""


def progress_url(job_id: str) -> str:
    """The job's server-sent progress stream (``GET /api/jobs/{job_id}/events``)."""
    return f"/api/jobs/{job_id}/events"


def status_url(job_id: str) -> str:
    """``bulk-download-status`` of one bulk download."""
    return f"{PREFIX}/bulk-download-status?job_id={job_id}"


class SeedSegmentStats(msgspec.Struct, kw_only=True):
    """Seed 001's per-course ``stats``: segments succeeded (``success``), failed and skipped."""

    success: int
    failed: int
    skipped: int


class BulkDownloadTotals(msgspec.Struct, kw_only=True):
    """Seed 001's ``stats`` of a started download; ``total_segments`` is None in test mode (the one course
    is chosen by the job; its total arrives with the job's progress)."""

    total_courses: int
    total_segments: int | None
    courses_queued: int


class BulkDownloadStarted(msgspec.Struct, kw_only=True):
    """Reply of ``download-all-courses`` (202): seed 001's fields, the job, where to follow it."""

    success: bool
    message: str
    job_id: str
    test_mode: bool
    stats: BulkDownloadTotals
    background_processing: bool
    status_url: str
    progress_url: str
    job: JobView


class BulkCourseDetail(msgspec.Struct, kw_only=True):
    """One course of ``bulk-download-status``: seed 001's fields, then ours (``state``: queued, processing or
    completed; ``total_segments`` = ``counts.total``; bytes as in :class:`CourseStatus`)."""

    course_id: int
    course_title: str
    stats: SeedSegmentStats
    is_processing: bool
    state: str
    total_segments: int
    counts: SegmentCounts
    bytes_written: int = 0
    bytes_expected: int | None = None
    eta_seconds: float | None = None


class CourseDownloadStatus(BulkCourseDetail, kw_only=True):
    """Reply of ``{course_id}/download-status``: the course's detail, its rates, times and latest failures."""

    job_id: str
    directory: str
    bytes_per_second: float | None = None
    segments_per_second: float | None = None
    queued_at: dt.datetime | None = None
    started_at: dt.datetime | None = None
    completed_at: dt.datetime | None = None
    failures: list[SegmentFailure] = msgspec.field(default_factory=list)


class BulkTotals(msgspec.Struct, kw_only=True):
    """Seed 001's ``bulk_stats``: ``courses_processed`` = courses started (processing or completed)."""

    courses_processed: int
    courses_completed: int
    total_segments_success: int
    total_segments_failed: int
    total_segments_skipped: int


class BulkDownloadStatus(msgspec.Struct, kw_only=True):
    """Reply of ``bulk-download-status``: seed 001's fields, then the whole :class:`BulkStatus` in ours."""

    job_id: str
    status: str
    bulk_stats: BulkTotals
    processing_courses_count: int
    queued_courses_count: int
    course_details: list[BulkCourseDetail]
    test_mode: bool
    quality: VideoQuality
    requested_by: str
    requested_at: dt.datetime | None
    finished_at: dt.datetime | None
    reason: str | None
    courses_total: int
    courses_offset: int
    courses_limit: int
    counts: SegmentCounts
    bytes_written: int
    bytes_expected: int | None
    bytes_per_second: float | None
    segments_per_second: float | None
    eta_seconds: float | None
    progress_url: str


class BulkDownloadStats(msgspec.Struct, kw_only=True):
    """Reply of ``bulk-download-stats`` (the latest bulk download; zeros and ``job_id`` None before any):
    ``active_courses_count`` = courses not completed (queued or processing)."""

    job_id: str | None
    status: str | None
    real_time_aggregated: SeedSegmentStats
    active_courses_count: int
    total_segments_success: int
    total_segments_failed: int
    total_segments_skipped: int
    counts: SegmentCounts
    bytes_written: int = 0
    bytes_per_second: float | None = None
    segments_per_second: float | None = None
    eta_seconds: float | None = None


class QueueCourse(msgspec.Struct, kw_only=True):
    """A course with work left: ``queued_jobs`` = its segments not yet terminal (queued, processing or waiting
    for a retry: the jobs seed 001's queue table held), ``failed_jobs`` = its failed segments."""

    course_id: int
    course_title: str
    total_segments: int
    queued_jobs: int
    failed_jobs: int
    job_id: str
    queued: int
    processing: int
    retrying: int


class BulkQueueStatus(msgspec.Struct, kw_only=True):
    """Reply of ``bulk-queue-status``: seed 001's fields, then the JetStream work consumer's live state."""

    queued_courses: list[QueueCourse]
    total_queued_jobs: int
    total_failed_jobs: int
    queue_driver: str
    pending: int
    in_flight: int
    max_in_flight: int
    scheduled_retries: int


def _seed_stats(counts: SegmentCounts) -> SeedSegmentStats:
    return SeedSegmentStats(success=counts.succeeded, failed=counts.failed, skipped=counts.skipped)


def started_reply(job: JobView, summary: LibrarySummary, test: bool) -> BulkDownloadStarted:
    """``download-all-courses``' reply for the requested ``job``: the summary's counts, or one course in test
    mode (whose segment total the job's progress gives later)."""
    courses = 1 if test else summary.courses
    what = "one course (test mode)" if test else f"{summary.courses} courses, {summary.segments} segments"
    return BulkDownloadStarted(
        success=True,
        message=f"Bulk download queued: {what}. Downloads run in the background.",
        job_id=job.job_id,
        test_mode=test,
        stats=BulkDownloadTotals(
            total_courses=courses, total_segments=None if test else summary.segments, courses_queued=courses
        ),
        background_processing=True,
        status_url=status_url(job.job_id),
        progress_url=progress_url(job.job_id),
        job=job,
    )


def _course_fields(c: CourseStatus) -> dict[str, Any]:
    return {
        "course_id": c.course_id,
        "course_title": c.title,
        "stats": _seed_stats(c.counts),
        "is_processing": c.state == "processing",
        "state": c.state,
        "total_segments": c.counts.total,
        "counts": c.counts,
        "bytes_written": c.bytes_written,
        "bytes_expected": c.bytes_expected,
        "eta_seconds": c.eta_seconds,
    }


def course_status_reply(c: CourseStatus) -> CourseDownloadStatus:
    """``{course_id}/download-status``' reply: the course in seed 001's shape, with its rates, times and
    latest failures."""
    return CourseDownloadStatus(
        **_course_fields(c),
        job_id=c.job_id,
        directory=c.directory,
        bytes_per_second=c.bytes_per_second,
        segments_per_second=c.segments_per_second,
        queued_at=c.queued_at,
        started_at=c.started_at,
        completed_at=c.completed_at,
        failures=c.failures,
    )


def bulk_status_reply(s: BulkStatus, q: GetBulkStatus) -> BulkDownloadStatus:
    """``bulk-download-status``' reply for the page of courses ``q`` asked for."""
    return BulkDownloadStatus(
        job_id=s.job_id,
        status=s.status,
        bulk_stats=BulkTotals(
            courses_processed=s.courses_processing + s.courses_completed,
            courses_completed=s.courses_completed,
            total_segments_success=s.counts.succeeded,
            total_segments_failed=s.counts.failed,
            total_segments_skipped=s.counts.skipped,
        ),
        processing_courses_count=s.courses_processing,
        queued_courses_count=s.courses_queued,
        course_details=[BulkCourseDetail(**_course_fields(c)) for c in s.courses],
        test_mode=s.test_mode,
        quality=s.quality,
        requested_by=s.requested_by,
        requested_at=s.requested_at,
        finished_at=s.finished_at,
        reason=s.reason,
        courses_total=s.courses_total,
        courses_offset=q.courses_offset,
        courses_limit=q.courses_limit,
        counts=s.counts,
        bytes_written=s.bytes_written,
        bytes_expected=s.bytes_expected,
        bytes_per_second=s.bytes_per_second,
        segments_per_second=s.segments_per_second,
        eta_seconds=s.eta_seconds,
        progress_url=progress_url(s.job_id),
    )


def bulk_stats_reply(s: BulkStatus | None) -> BulkDownloadStats:
    """``bulk-download-stats``' reply: the totals of ``s``, or zeros and ``job_id`` None when there is no bulk
    download yet (None)."""
    counts = s.counts if s is not None else SegmentCounts()
    return BulkDownloadStats(
        job_id=s.job_id if s is not None else None,
        status=s.status if s is not None else None,
        real_time_aggregated=_seed_stats(counts),
        active_courses_count=(s.courses_queued + s.courses_processing) if s is not None else 0,
        total_segments_success=counts.succeeded,
        total_segments_failed=counts.failed,
        total_segments_skipped=counts.skipped,
        counts=counts,
        bytes_written=s.bytes_written if s is not None else 0,
        bytes_per_second=s.bytes_per_second if s is not None else None,
        segments_per_second=s.segments_per_second if s is not None else None,
        eta_seconds=s.eta_seconds if s is not None else None,
    )


def queue_reply(q: QueueStatus) -> BulkQueueStatus:
    """``bulk-queue-status``' reply: the courses with work left and the work consumer's live counts."""
    return BulkQueueStatus(
        queued_courses=[
            QueueCourse(
                course_id=c.course_id,
                course_title=c.title,
                total_segments=c.total_segments,
                queued_jobs=c.queued + c.processing + c.retrying,
                failed_jobs=c.failed,
                job_id=c.job_id,
                queued=c.queued,
                processing=c.processing,
                retrying=c.retrying,
            )
            for c in q.courses
        ],
        total_queued_jobs=q.total_queued,
        total_failed_jobs=q.total_failed,
        queue_driver="jetstream",
        pending=q.pending,
        in_flight=q.in_flight,
        max_in_flight=q.max_in_flight,
        scheduled_retries=q.scheduled_retries,
    )


__all__ = [
    "PREFIX",
    "BulkCourseDetail",
    "BulkDownloadStarted",
    "BulkDownloadStats",
    "BulkDownloadStatus",
    "BulkDownloadTotals",
    "BulkQueueStatus",
    "BulkTotals",
    "CourseDownloadStatus",
    "QueueCourse",
    "SeedSegmentStats",
    "bulk_stats_reply",
    "bulk_status_reply",
    "course_status_reply",
    "progress_url",
    "queue_reply",
    "started_reply",
    "status_url",
]
