"""The media library routes (seed 001's ``/truefire-courses/*`` paths; admin only: permission ``media.manage``).

Every route is one or two queries or commands over NATS (``skillstream_contracts.media_queries``): the
media-downloader's read model answers the status routes, the orchestrator starts the bulk download job
(kind ``media.bulk-download``). Replies keep seed 001's field names, so what polled the original system reads
this one, and add our exact counts (``queued``/``processing``/``retrying``), bytes, rates and ETA.

Errors (problem documents, :mod:`skillstream_gateway.problems`): 401/403 from the permission check; 422 for a
query that fails validation (``test=maybe``); 404 when there is no such bulk download or course (the
service's ``not_found``); 409 when the catalogue lists nothing to download; 503 when a service does not answer.
"""

import datetime as dt
from typing import Annotated, Any

import msgspec
from fastapi import APIRouter, Depends, Path, Query, Response
from nats.aio.client import Client

from skillstream_contracts.errors import ErrorCode
from skillstream_contracts.jobs import REQUEST_JOB, JobAccepted, JobView, RequestJob
from skillstream_contracts.media import VideoQuality
from skillstream_contracts.media_queries import (
    BULK_STATUS,
    COURSE_STATUS,
    KIND_BULK_DOWNLOAD,
    LIBRARY_SUMMARY,
    QUEUE_STATUS,
    BulkStatus,
    CourseStatus,
    GetBulkStatus,
    GetCourseStatus,
    GetLibrarySummary,
    GetQueueStatus,
    LibrarySummary,
    QueueStatus,
    SegmentCounts,
    SegmentFailure,
)
from skillstream_gateway.auth import Authenticator, Principal
from skillstream_gateway.problems import ProblemError
from skillstream_gateway.replies import json_response, schema_ref
from skillstream_runtime.endpoints import request
from skillstream_runtime.errors import RequestError

PREFIX = "/truefire-courses"
PERMISSION = "media.manage"
JOB_ID_PATTERN = r"^[0-9a-f]{32}$"
MAX_COURSES_PAGE = 1000
"""Largest page of courses a status query may ask for (``GetBulkStatus.courses_limit``)."""


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


SCHEMA_TYPES = (
    BulkDownloadStarted,
    BulkDownloadStatus,
    BulkDownloadStats,
    BulkQueueStatus,
    CourseDownloadStatus,
    LibrarySummary,
)
"""The reply bodies, for the OpenAPI components."""

_JOB_ID = Annotated[
    str | None, Query(pattern=JOB_ID_PATTERN, description="a bulk download's job id; default the latest")
]
_TEST = Annotated[bool, Query(description="test mode: download one course (seed 001's ?test=true)")]
_QUALITY = Annotated[VideoQuality | None, Query(description="file variant; default the service's setting")]


def progress_url(job_id: str) -> str:
    """The job's server-sent progress stream (``GET /api/jobs/{job_id}/events``)."""
    return f"/api/jobs/{job_id}/events"


def status_url(job_id: str) -> str:
    """``bulk-download-status`` of one bulk download."""
    return f"{PREFIX}/bulk-download-status?job_id={job_id}"


def media_router(nc: Client, auth: Authenticator) -> APIRouter:
    """The router; ``nc`` is the gateway's NATS connection."""
    router = APIRouter(tags=["media"])
    Admin = Annotated[Principal, Depends(auth.require(PERMISSION))]

    async def download_all(principal: Admin, test: _TEST = False, quality: _QUALITY = None) -> Response:
        summary = await request(nc, LIBRARY_SUMMARY, GetLibrarySummary(quality=quality), LibrarySummary)
        if summary.courses == 0 or summary.segments == 0:
            # refuse rather than start a job with nothing to do (seed 001 queued an empty run)
            raise ProblemError(
                409, "conflict", f"The catalogue ({summary.source or 'media'}) lists nothing to download."
            )
        parameters: dict[str, Any] = {"test_mode": test}
        if quality is not None:
            parameters["quality"] = quality.value
        cmd = RequestJob(kind=KIND_BULK_DOWNLOAD, parameters=parameters, requested_by=principal.sub)
        accepted = await request(nc, REQUEST_JOB, cmd, JobAccepted)
        started = _started(accepted.job, summary, test)
        response = json_response(started, 202)
        response.headers["Location"] = started.status_url
        return response

    for method in ("GET", "POST"):
        router.add_api_route(
            f"{PREFIX}/download-all-courses",
            download_all,
            methods=[method],
            status_code=202,
            responses={202: schema_ref("BulkDownloadStarted")},
            summary="Download every course (or one, ?test=true) as a job; follow it at status_url / progress_url",
            name=f"media_download_all_{method.lower()}",
        )

    @router.get(
        f"{PREFIX}/bulk-download-status",
        responses={200: schema_ref("BulkDownloadStatus")},
        summary="One bulk download (default the latest) with a page of its courses",
    )
    async def bulk_download_status(
        principal: Admin,
        job_id: _JOB_ID = None,
        courses_offset: Annotated[int, Query(ge=0)] = 0,
        courses_limit: Annotated[int, Query(ge=1, le=MAX_COURSES_PAGE)] = 100,
    ) -> Response:
        q = GetBulkStatus(job_id=job_id, courses_offset=courses_offset, courses_limit=courses_limit)
        return json_response(_bulk_status(await request(nc, BULK_STATUS, q, BulkStatus), q))

    @router.get(
        f"{PREFIX}/bulk-download-stats",
        responses={200: schema_ref("BulkDownloadStats")},
        summary="Segment totals of the latest bulk download",
    )
    async def bulk_download_stats(principal: Admin) -> Response:
        try:
            # one course is the smallest page the query takes; only the totals are used
            status = await request(nc, BULK_STATUS, GetBulkStatus(courses_limit=1), BulkStatus)
        except RequestError as e:
            if e.code is not ErrorCode.NOT_FOUND:
                raise
            status = None
        return json_response(_bulk_stats(status))

    @router.get(
        f"{PREFIX}/bulk-queue-status",
        responses={200: schema_ref("BulkQueueStatus")},
        summary="The download queue: courses with work left, in flight, scheduled retries",
    )
    async def bulk_queue_status(
        principal: Admin, limit: Annotated[int, Query(ge=1, le=MAX_COURSES_PAGE)] = 100
    ) -> Response:
        return json_response(_queue(await request(nc, QUEUE_STATUS, GetQueueStatus(limit=limit), QueueStatus)))

    @router.get(
        f"{PREFIX}/summary",
        responses={200: schema_ref("LibrarySummary")},
        summary="The library: courses, segments, estimated storage, segments downloaded",
    )
    async def library_summary(principal: Admin, quality: _QUALITY = None) -> Response:
        return json_response(await request(nc, LIBRARY_SUMMARY, GetLibrarySummary(quality=quality), LibrarySummary))

    @router.get(
        f"{PREFIX}/{{course_id}}/download-status",
        responses={200: schema_ref("CourseDownloadStatus")},
        summary="One course in a bulk download (default the latest holding it)",
    )
    async def course_download_status(
        principal: Admin,
        course_id: Annotated[int, Path(ge=0, le=2**63 - 1, description="TrueFire course id")],
        job_id: _JOB_ID = None,
        failure_limit: Annotated[int, Query(ge=0, le=500, description="latest failures listed")] = 50,
    ) -> Response:
        q = GetCourseStatus(course_id=course_id, job_id=job_id, failure_limit=failure_limit)
        return json_response(_course_status(await request(nc, COURSE_STATUS, q, CourseStatus)))

    return router


def _seed_stats(counts: SegmentCounts) -> SeedSegmentStats:
    return SeedSegmentStats(success=counts.succeeded, failed=counts.failed, skipped=counts.skipped)


def _started(job: JobView, summary: LibrarySummary, test: bool) -> BulkDownloadStarted:
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


def _course_status(c: CourseStatus) -> CourseDownloadStatus:
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


def _bulk_status(s: BulkStatus, q: GetBulkStatus) -> BulkDownloadStatus:
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


def _bulk_stats(s: BulkStatus | None) -> BulkDownloadStats:
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


def _queue(q: QueueStatus) -> BulkQueueStatus:
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
    "PERMISSION",
    "PREFIX",
    "SCHEMA_TYPES",
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
    "media_router",
    "progress_url",
    "status_url",
]
