"""The media library routes (seed 001's ``/truefire-courses/*`` paths; admin only: permission ``media.manage``).

Every route is one or two queries or commands over NATS (``skillstream_contracts.media_queries``): the
media-downloader's read model answers the status routes, the orchestrator starts the bulk download job
(kind ``media.bulk-download``). Replies keep seed 001's field names, so what polled the original system reads
this one, and add our exact counts (``queued``/``processing``/``retrying``), bytes, rates and ETA
(:mod:`skillstream_gateway.media_replies`).

Errors (problem documents, :mod:`skillstream_gateway.problems`): 401/403 from the permission check; 422 for a
query that fails validation (``test=maybe``); 404 when there is no such bulk download or course (the
service's ``not_found``); 409 ``conflict`` when the catalogue lists nothing to download (the
media-downloader's ``nothing_to_download``); 503 with ``Retry-After`` when a service or its database does not
answer.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Response
from nats.aio.client import Client

from skillstream_contracts.errors import ErrorCode
from skillstream_contracts.jobs import REQUEST_JOB, JobAccepted, RequestJob
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
)
from skillstream_gateway.auth import Authenticator, Principal
from skillstream_gateway.fields import INT32_MAX
from skillstream_gateway.media_replies import (
    PREFIX,
    BulkDownloadStarted,
    BulkDownloadStats,
    BulkDownloadStatus,
    BulkQueueStatus,
    CourseDownloadStatus,
    bulk_stats_reply,
    bulk_status_reply,
    course_status_reply,
    queue_reply,
    started_reply,
)
from skillstream_gateway.replies import json_response, problem_responses, schema_ref
from skillstream_runtime.endpoints import request
from skillstream_runtime.errors import RequestError

PERMISSION = "media.manage"
JOB_ID_PATTERN = r"^[0-9a-f]{32}$"
MAX_COURSES_PAGE = 1000
"""Largest page of courses a status query may ask for (``GetBulkStatus.courses_limit``)."""
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


def media_router(nc: Client, auth: Authenticator) -> APIRouter:
    """The router; ``nc`` is the gateway's NATS connection."""
    router = APIRouter(tags=["media"])
    Admin = Annotated[Principal, Depends(auth.require(PERMISSION))]
    _download_routes(router, nc, Admin)

    @router.get(
        f"{PREFIX}/bulk-download-status",
        responses={200: schema_ref("BulkDownloadStatus"), **problem_responses(404)},
        summary="One bulk download (default the latest) with a page of its courses",
    )
    async def bulk_download_status(
        principal: Admin,
        job_id: _JOB_ID = None,
        courses_offset: Annotated[int, Query(ge=0, le=INT32_MAX)] = 0,
        courses_limit: Annotated[int, Query(ge=1, le=MAX_COURSES_PAGE)] = 100,
    ) -> Response:
        q = GetBulkStatus(job_id=job_id, courses_offset=courses_offset, courses_limit=courses_limit)
        return json_response(bulk_status_reply(await request(nc, BULK_STATUS, q, BulkStatus), q))

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
            # no bulk download yet: the stats are zeros (job_id None), not a 404
            status = None
        return json_response(bulk_stats_reply(status))

    @router.get(
        f"{PREFIX}/bulk-queue-status",
        responses={200: schema_ref("BulkQueueStatus")},
        summary="The download queue: courses with work left, in flight, scheduled retries",
    )
    async def bulk_queue_status(
        principal: Admin, limit: Annotated[int, Query(ge=1, le=MAX_COURSES_PAGE)] = 100
    ) -> Response:
        return json_response(queue_reply(await request(nc, QUEUE_STATUS, GetQueueStatus(limit=limit), QueueStatus)))

    @router.get(
        f"{PREFIX}/summary",
        responses={200: schema_ref("LibrarySummary")},
        summary="The library: courses, segments, estimated storage, segments downloaded",
    )
    async def library_summary(principal: Admin, quality: _QUALITY = None) -> Response:
        return json_response(await request(nc, LIBRARY_SUMMARY, GetLibrarySummary(quality=quality), LibrarySummary))

    @router.get(
        f"{PREFIX}/{{course_id}}/download-status",
        responses={200: schema_ref("CourseDownloadStatus"), **problem_responses(404)},
        summary="One course in a bulk download (default the latest holding it)",
    )
    async def course_download_status(
        principal: Admin,
        course_id: Annotated[int, Path(ge=0, le=2**63 - 1, description="TrueFire course id")],
        job_id: _JOB_ID = None,
        failure_limit: Annotated[int, Query(ge=0, le=500, description="latest failures listed")] = 50,
    ) -> Response:
        q = GetCourseStatus(course_id=course_id, job_id=job_id, failure_limit=failure_limit)
        return json_response(course_status_reply(await request(nc, COURSE_STATUS, q, CourseStatus)))

    return router


def _download_routes(router: APIRouter, nc: Client, Admin: Any) -> None:
    """``GET`` and ``POST {PREFIX}/download-all-courses`` on ``router`` (``Admin`` = the permission dependency).

    Replies 202 :class:`BulkDownloadStarted` with ``Location`` = its ``status_url``. The media-downloader's
    summary comes first: it refuses an empty catalogue (``nothing_to_download`` → 409 ``conflict``), and its
    counts are the reply's ``stats``.
    """

    async def download_all(principal: Admin, test: _TEST = False, quality: _QUALITY = None) -> Response:
        ask = GetLibrarySummary(quality=quality, for_download=True)
        summary = await request(nc, LIBRARY_SUMMARY, ask, LibrarySummary)
        parameters: dict[str, Any] = {"test_mode": test}
        if quality is not None:
            parameters["quality"] = quality.value
        # no idempotency key: every call starts a new bulk download
        cmd = RequestJob(kind=KIND_BULK_DOWNLOAD, parameters=parameters, requested_by=principal.sub)
        accepted = await request(nc, REQUEST_JOB, cmd, JobAccepted)
        started = started_reply(accepted.job, summary, test)
        response = json_response(started, 202)
        response.headers["Location"] = started.status_url
        return response

    # GET as well as POST: seed 001's clients call it with GET (the SameSite=Strict session cookie keeps other
    # sites from making a signed-in browser send it)
    for method in ("GET", "POST"):
        router.add_api_route(
            f"{PREFIX}/download-all-courses",
            download_all,
            methods=[method],
            status_code=202,
            responses={202: schema_ref("BulkDownloadStarted"), **problem_responses(409)},
            summary="Download every course (or one, ?test=true) as a job; follow it at status_url / progress_url",
            name=f"media_download_all_{method.lower()}",
        )


__all__ = ["JOB_ID_PATTERN", "MAX_COURSES_PAGE", "PERMISSION", "SCHEMA_TYPES", "media_router"]
