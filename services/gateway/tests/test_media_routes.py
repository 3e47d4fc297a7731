"""The media library routes (``/truefire-courses/*``, seed 001) of the real gateway app over a real
NATS server, with stub responders standing in for the media-downloader's queries and the orchestrator's
``request_job``: permissions, each reply mapped to seed 001's shape, the job requested, 404s and validation."""

from __future__ import annotations

import datetime as dt
import json
import secrets
from collections import defaultdict
from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import msgspec
import pytest
import pytest_asyncio
from nats.aio.client import Client
from nats.aio.msg import Msg
from pydantic import SecretStr

from skillstream_contracts.errors import ErrorCode, ErrorReply
from skillstream_contracts.jobs import REQUEST_JOB, JobAccepted, JobStatus, JobView
from skillstream_contracts.media import VideoQuality
from skillstream_contracts.media_queries import (
    BULK_STATUS,
    COURSE_STATUS,
    KIND_BULK_DOWNLOAD,
    LIBRARY_SUMMARY,
    QUEUE_STATUS,
    BulkStatus,
    CourseStatus,
    LibrarySummary,
    QueuedCourse,
    QueueStatus,
    SegmentCounts,
    SegmentFailure,
)
from skillstream_gateway.app import create_app
from skillstream_gateway.settings import GatewaySettings
from skillstream_gateway.tokens import ROLE_PERMISSIONS, mint_token
from skillstream_runtime.endpoints import error_headers

SECRET = secrets.token_urlsafe(48)
PROBLEM = "application/problem+json"
JOB_ID = "0123456789abcdef0123456789abcdef"
ROUTES = (
    ("GET", "/truefire-courses/download-all-courses?test=true"),
    ("POST", "/truefire-courses/download-all-courses"),
    ("GET", "/truefire-courses/bulk-download-status"),
    ("GET", "/truefire-courses/bulk-download-stats"),
    ("GET", "/truefire-courses/bulk-queue-status"),
    ("GET", "/truefire-courses/42/download-status"),
    ("GET", "/truefire-courses/summary"),
)
AT = dt.datetime(2025, 3, 4, 5, 6, 7, tzinfo=dt.UTC)

SUMMARY = LibrarySummary(
    courses=150,
    channels=600,
    segments=12_500,
    estimated_bytes=625_000_000_000,
    quality=VideoQuality.MED,
    downloaded_segments=800,
    source="http://catalogue.test",
)
GUITAR = CourseStatus(
    job_id=JOB_ID,
    course_id=123,
    title="Guitar Fundamentals",
    directory="123-guitar-fundamentals",
    state="processing",
    counts=SegmentCounts(total=55, queued=0, processing=3, retrying=1, succeeded=41, failed=2, skipped=8),
    bytes_written=2_050_000_000,
    bytes_expected=2_750_000_000,
    bytes_per_second=12_500_000.0,
    segments_per_second=0.25,
    eta_seconds=16.0,
    queued_at=AT,
    started_at=AT,
    failures=[
        SegmentFailure(segment_id=9001, course_id=123, title="Lesson 4", reason="HTTP 503", attempts=6, http_status=503)
    ],
)
BLUES = CourseStatus(
    job_id=JOB_ID,
    course_id=124,
    title="Blues Soloing",
    directory="124-blues-soloing",
    state="queued",
    counts=SegmentCounts(total=30, queued=30),
)
BULK = BulkStatus(
    job_id=JOB_ID,
    status="running",
    test_mode=False,
    quality=VideoQuality.HI,
    requested_by="user-admin",
    requested_at=AT,
    courses_total=150,
    courses_queued=105,
    courses_processing=5,
    courses_completed=40,
    counts=SegmentCounts(
        total=12_500, queued=8_400, processing=10, retrying=75, succeeded=3_200, failed=15, skipped=800
    ),
    bytes_written=160_000_000_000,
    bytes_expected=625_000_000_000,
    bytes_per_second=50_000_000.0,
    segments_per_second=1.5,
    eta_seconds=5_650.0,
    courses=[GUITAR, BLUES],
)
QUEUE = QueueStatus(
    pending=8_300,
    in_flight=10,
    max_in_flight=10,
    scheduled_retries=75,
    total_queued=8_485,
    total_failed=15,
    courses=[
        QueuedCourse(
            job_id=JOB_ID,
            course_id=123,
            title="Guitar Fundamentals",
            total_segments=55,
            queued=0,
            processing=3,
            retrying=1,
            failed=2,
        ),
        QueuedCourse(
            job_id=JOB_ID,
            course_id=124,
            title="Blues Soloing",
            total_segments=30,
            queued=30,
            processing=0,
            retrying=0,
            failed=0,
        ),
    ],
)


class Stubs:
    """Responders on the services' subjects: each answers its configured reply (a Struct, or an ErrorReply as
    the micro protocol sends it) and records the decoded requests. A subject is subscribed when its first
    reply is set, so the gateway meets "no responders" on the others."""

    def __init__(self, nc: Client) -> None:
        self.nc = nc
        self.replies: dict[str, Any] = {}
        self.seen: dict[str, list[dict[str, Any]]] = defaultdict(list)

    async def answer(self, subject: str, reply: Any) -> None:
        if subject not in self.replies:
            await self.nc.subscribe(subject, cb=self._answer)
            await self.nc.flush()
        self.replies[subject] = reply

    async def _answer(self, msg: Msg) -> None:
        self.seen[msg.subject].append(json.loads(msg.data))
        reply = self.replies[msg.subject]
        headers = error_headers(reply) if isinstance(reply, ErrorReply) else None
        await self.nc.publish(msg.reply, msgspec.json.encode(reply), headers=headers)

    def requests(self) -> int:
        return sum(len(v) for v in self.seen.values())


def _accepted(parameters: dict[str, Any]) -> JobAccepted:
    job = JobView(
        job_id=JOB_ID,
        kind=KIND_BULK_DOWNLOAD,
        status=JobStatus.REQUESTED,
        requested_by="user-admin",
        parameters=parameters,
        requested_at=AT,
    )
    return JobAccepted(job=job, created=True)


def _not_found(what: str) -> ErrorReply:
    return ErrorReply(code=ErrorCode.NOT_FOUND, detail=what)


def token(role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_token(SECRET, subject=f'user-{role}', roles=[role], ttl_seconds=600)}"}


ADMIN = token("admin")


@pytest_asyncio.fixture
async def stubs(nc: Client) -> Stubs:
    return Stubs(nc)


@pytest_asyncio.fixture
async def client(nc: Client, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = GatewaySettings(jwt_secret=SecretStr(SECRET), data_dir=tmp_path / "gw")
    app = create_app(SimpleNamespace(nc=nc, definition=SimpleNamespace(version="test")), settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw") as c:
        yield c


def assert_problem(r: httpx.Response, status: int, slug: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == PROBLEM
    body: dict[str, Any] = r.json()
    assert body["type"] == f"urn:skillstream:problem:{slug}"
    return body


# --- permissions ------------------------------------------------------------------------------------


def test_media_manage_is_the_admins_alone() -> None:
    assert [role for role, perms in ROLE_PERMISSIONS.items() if "media.manage" in perms] == ["admin"]


async def test_every_route_declares_media_manage(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    ops = {
        (m.upper(), p): op for p, item in paths.items() if p.startswith("/truefire-courses/") for m, op in item.items()
    }
    assert {(m, p.split("?")[0].replace("42", "{course_id}")) for m, p in ROUTES} == set(ops)
    assert {op["x-permission"] for op in ops.values()} == {"media.manage"}


async def test_401_without_a_token_and_403_for_weaker_roles(client: httpx.AsyncClient, stubs: Stubs) -> None:
    for subject in (LIBRARY_SUMMARY, BULK_STATUS, COURSE_STATUS, QUEUE_STATUS):
        await stubs.answer(subject, _not_found("unused"))
    for method, url in ROUTES:
        r = await client.request(method, url)
        assert_problem(r, 401, "unauthorized")
        assert r.headers["www-authenticate"].startswith("Bearer")
        for role in ("training_officer", "member"):
            assert_problem(await client.request(method, url, headers=token(role)), 403, "forbidden")
    assert stubs.requests() == 0  # refused before any service was asked


# --- download-all-courses ------------------------------------------------------------------------------


async def test_test_mode_download_requests_the_job_and_replies_the_seed_shape(
    client: httpx.AsyncClient, stubs: Stubs
) -> None:
    await stubs.answer(LIBRARY_SUMMARY, SUMMARY)
    await stubs.answer(REQUEST_JOB, _accepted({"test_mode": True}))
    r = await client.get("/truefire-courses/download-all-courses?test=true", headers=ADMIN)
    assert r.status_code == 202, r.text
    body = r.json()
    assert body["success"] is True
    assert body["background_processing"] is True
    assert body["job_id"] == JOB_ID
    assert body["test_mode"] is True
    assert body["stats"] == {"total_courses": 1, "total_segments": None, "courses_queued": 1}
    assert body["status_url"] == f"/truefire-courses/bulk-download-status?job_id={JOB_ID}"
    assert body["progress_url"] == f"/api/jobs/{JOB_ID}/events"
    assert r.headers["location"] == body["status_url"]
    assert body["job"]["kind"] == KIND_BULK_DOWNLOAD
    assert "one course" in body["message"]

    assert stubs.seen[LIBRARY_SUMMARY] == [{"quality": None, "for_download": True}]
    assert stubs.seen[REQUEST_JOB] == [
        {
            "kind": KIND_BULK_DOWNLOAD,
            "parameters": {"test_mode": True},
            "requested_by": "user-admin",
            "priority": 0,
            "idempotency_key": None,
            "depends_on": [],
        }
    ]


async def test_post_downloads_every_course_with_the_summary_counts(client: httpx.AsyncClient, stubs: Stubs) -> None:
    await stubs.answer(LIBRARY_SUMMARY, SUMMARY)
    await stubs.answer(REQUEST_JOB, _accepted({"test_mode": False, "quality": "hi"}))
    r = await client.post("/truefire-courses/download-all-courses?test=false&quality=hi", headers=ADMIN)
    assert r.status_code == 202, r.text
    body = r.json()
    stats = {"total_courses": SUMMARY.courses, "total_segments": SUMMARY.segments, "courses_queued": SUMMARY.courses}
    assert body["stats"] == stats
    assert body["test_mode"] is False
    assert f"{SUMMARY.courses} courses" in body["message"]
    assert stubs.seen[LIBRARY_SUMMARY] == [{"quality": "hi", "for_download": True}]
    (cmd,) = stubs.seen[REQUEST_JOB]
    assert cmd["parameters"] == {"test_mode": False, "quality": "hi"}
    assert cmd["idempotency_key"] is None  # every click is a new bulk download


async def test_without_test_it_is_a_full_download(client: httpx.AsyncClient, stubs: Stubs) -> None:
    await stubs.answer(LIBRARY_SUMMARY, SUMMARY)
    await stubs.answer(REQUEST_JOB, _accepted({"test_mode": False}))
    r = await client.get("/truefire-courses/download-all-courses", headers=ADMIN)
    assert r.status_code == 202, r.text
    assert stubs.seen[REQUEST_JOB][0]["parameters"] == {"test_mode": False}


@pytest.mark.parametrize("query", ["test=maybe", "quality=ultra"])
async def test_a_bad_query_is_a_422_and_starts_nothing(client: httpx.AsyncClient, stubs: Stubs, query: str) -> None:
    await stubs.answer(LIBRARY_SUMMARY, SUMMARY)
    await stubs.answer(REQUEST_JOB, _accepted({}))
    r = await client.get(f"/truefire-courses/download-all-courses?{query}", headers=ADMIN)
    body = assert_problem(r, 422, "invalid-request")
    assert body["errors"][0]["loc"] == ["query", query.split("=")[0]]
    assert stubs.requests() == 0


async def test_an_empty_catalogue_is_a_409_and_starts_nothing(client: httpx.AsyncClient, stubs: Stubs) -> None:
    # the media-downloader refuses a download of an empty catalogue with its typed error
    detail = "The catalogue (http://catalogue.test) lists nothing to download."
    await stubs.answer(LIBRARY_SUMMARY, ErrorReply(code=ErrorCode.NOTHING_TO_DOWNLOAD, detail=detail))
    await stubs.answer(REQUEST_JOB, _accepted({}))
    r = await client.post("/truefire-courses/download-all-courses?quality=low", headers=ADMIN)
    assert_problem(r, 409, "conflict")
    assert r.json() == {
        "type": "urn:skillstream:problem:conflict",
        "title": "Conflict",
        "status": 409,
        "detail": detail,
        "instance": "/truefire-courses/download-all-courses",
    }
    assert stubs.seen[LIBRARY_SUMMARY] == [{"quality": "low", "for_download": True}]
    assert stubs.seen[REQUEST_JOB] == []


async def test_an_unknown_job_kind_passes_the_orchestrators_refusal_on(client: httpx.AsyncClient, stubs: Stubs) -> None:
    await stubs.answer(LIBRARY_SUMMARY, SUMMARY)
    await stubs.answer(REQUEST_JOB, ErrorReply(code=ErrorCode.INVALID_REQUEST, detail="unknown job kind"))
    r = await client.get("/truefire-courses/download-all-courses", headers=ADMIN)
    assert assert_problem(r, 400, "invalid-request")["detail"] == "unknown job kind"


# --- status routes ---------------------------------------------------------------------------------


async def test_bulk_download_status_maps_to_the_seed_shape(client: httpx.AsyncClient, stubs: Stubs) -> None:
    await stubs.answer(BULK_STATUS, BULK)
    r = await client.get(
        f"/truefire-courses/bulk-download-status?job_id={JOB_ID}&courses_offset=10&courses_limit=2", headers=ADMIN
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert stubs.seen[BULK_STATUS] == [{"job_id": JOB_ID, "courses_offset": 10, "courses_limit": 2}]
    assert body["job_id"] == BULK.job_id
    assert body["status"] == BULK.status
    assert body["bulk_stats"] == {
        "courses_processed": BULK.courses_processing + BULK.courses_completed,
        "courses_completed": BULK.courses_completed,
        "total_segments_success": BULK.counts.succeeded,
        "total_segments_failed": BULK.counts.failed,
        "total_segments_skipped": BULK.counts.skipped,
    }
    assert body["processing_courses_count"] == BULK.courses_processing
    assert body["queued_courses_count"] == BULK.courses_queued
    seed = [{k: c[k] for k in ("course_id", "course_title", "stats", "is_processing")} for c in body["course_details"]]
    assert seed == [
        {
            "course_id": c.course_id,
            "course_title": c.title,
            "stats": {"success": c.counts.succeeded, "failed": c.counts.failed, "skipped": c.counts.skipped},
            "is_processing": c.state == "processing",
        }
        for c in BULK.courses
    ]
    guitar = body["course_details"][0]
    assert guitar["counts"] == msgspec.to_builtins(GUITAR.counts)
    assert (guitar["state"], guitar["total_segments"], guitar["bytes_written"]) == (
        GUITAR.state,
        GUITAR.counts.total,
        GUITAR.bytes_written,
    )
    assert body["counts"] == msgspec.to_builtins(BULK.counts)
    for key in ("bytes_written", "bytes_expected", "bytes_per_second", "segments_per_second", "eta_seconds"):
        assert body[key] == getattr(BULK, key), key
    assert (body["courses_total"], body["courses_offset"], body["courses_limit"]) == (BULK.courses_total, 10, 2)
    assert body["progress_url"] == f"/api/jobs/{JOB_ID}/events"
    assert (body["test_mode"], body["quality"], body["requested_by"]) == (False, "hi", "user-admin")


async def test_bulk_download_status_is_404_before_any_download(client: httpx.AsyncClient, stubs: Stubs) -> None:
    await stubs.answer(BULK_STATUS, _not_found("no bulk download yet"))
    r = await client.get("/truefire-courses/bulk-download-status", headers=ADMIN)
    assert assert_problem(r, 404, "not-found")["detail"] == "no bulk download yet"
    assert stubs.seen[BULK_STATUS] == [{"job_id": None, "courses_offset": 0, "courses_limit": 100}]


@pytest.mark.parametrize("query", ["job_id=not-a-job", "courses_limit=0", "courses_limit=1001", "courses_offset=-1"])
async def test_bulk_download_status_refuses_a_bad_query(client: httpx.AsyncClient, stubs: Stubs, query: str) -> None:
    await stubs.answer(BULK_STATUS, BULK)
    assert_problem(
        await client.get(f"/truefire-courses/bulk-download-status?{query}", headers=ADMIN), 422, "invalid-request"
    )
    assert stubs.requests() == 0


async def test_bulk_download_stats_are_the_latest_totals(client: httpx.AsyncClient, stubs: Stubs) -> None:
    await stubs.answer(BULK_STATUS, BULK)
    r = await client.get("/truefire-courses/bulk-download-stats", headers=ADMIN)
    assert r.status_code == 200, r.text
    body = r.json()
    assert stubs.seen[BULK_STATUS][0]["job_id"] is None
    c = BULK.counts
    assert body["real_time_aggregated"] == {"success": c.succeeded, "failed": c.failed, "skipped": c.skipped}
    assert body["active_courses_count"] == BULK.courses_queued + BULK.courses_processing
    assert (body["total_segments_success"], body["total_segments_failed"], body["total_segments_skipped"]) == (
        c.succeeded,
        c.failed,
        c.skipped,
    )
    assert (body["job_id"], body["status"], body["bytes_written"]) == (BULK.job_id, BULK.status, BULK.bytes_written)


async def test_bulk_download_stats_are_zero_before_any_download(client: httpx.AsyncClient, stubs: Stubs) -> None:
    await stubs.answer(BULK_STATUS, _not_found("no bulk download yet"))
    r = await client.get("/truefire-courses/bulk-download-stats", headers=ADMIN)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["job_id"] is None
    assert body["active_courses_count"] == 0
    assert body["real_time_aggregated"] == {"success": 0, "failed": 0, "skipped": 0}


async def test_bulk_queue_status_maps_to_the_seed_shape(client: httpx.AsyncClient, stubs: Stubs) -> None:
    await stubs.answer(QUEUE_STATUS, QUEUE)
    r = await client.get("/truefire-courses/bulk-queue-status?limit=5", headers=ADMIN)
    assert r.status_code == 200, r.text
    body = r.json()
    assert stubs.seen[QUEUE_STATUS] == [{"limit": 5}]
    assert body["queued_courses"] == [
        {
            "course_id": q.course_id,
            "course_title": q.title,
            "total_segments": q.total_segments,
            "queued_jobs": q.queued + q.processing + q.retrying,
            "failed_jobs": q.failed,
            "job_id": q.job_id,
            "queued": q.queued,
            "processing": q.processing,
            "retrying": q.retrying,
        }
        for q in QUEUE.courses
    ]
    assert (body["total_queued_jobs"], body["total_failed_jobs"]) == (QUEUE.total_queued, QUEUE.total_failed)
    assert body["queue_driver"] == "jetstream"
    assert (body["pending"], body["in_flight"], body["max_in_flight"], body["scheduled_retries"]) == (
        QUEUE.pending,
        QUEUE.in_flight,
        QUEUE.max_in_flight,
        QUEUE.scheduled_retries,
    )


async def test_course_download_status_and_its_404(client: httpx.AsyncClient, stubs: Stubs) -> None:
    await stubs.answer(COURSE_STATUS, GUITAR)
    r = await client.get(f"/truefire-courses/123/download-status?job_id={JOB_ID}&failure_limit=5", headers=ADMIN)
    assert r.status_code == 200, r.text
    body = r.json()
    assert stubs.seen[COURSE_STATUS] == [{"course_id": 123, "job_id": JOB_ID, "failure_limit": 5}]
    assert (body["course_id"], body["course_title"], body["is_processing"]) == (123, GUITAR.title, True)
    assert body["stats"] == {"success": GUITAR.counts.succeeded, "failed": GUITAR.counts.failed, "skipped": 8}
    assert body["failures"] == msgspec.to_builtins(GUITAR.failures)
    assert (body["directory"], body["job_id"], body["started_at"]) == (GUITAR.directory, JOB_ID, "2025-03-04T05:06:07Z")

    await stubs.answer(COURSE_STATUS, _not_found("course 999 is in no bulk download"))
    assert_problem(await client.get("/truefire-courses/999/download-status", headers=ADMIN), 404, "not-found")
    assert_problem(await client.get("/truefire-courses/abc/download-status", headers=ADMIN), 422, "invalid-request")


async def test_summary_relays_the_library_summary(client: httpx.AsyncClient, stubs: Stubs) -> None:
    await stubs.answer(LIBRARY_SUMMARY, SUMMARY)
    r = await client.get("/truefire-courses/summary?quality=low", headers=ADMIN)
    assert r.status_code == 200, r.text
    assert r.json() == msgspec.to_builtins(SUMMARY)
    assert stubs.seen[LIBRARY_SUMMARY] == [{"quality": "low", "for_download": False}]


async def test_a_service_that_does_not_answer_is_a_503(client: httpx.AsyncClient, stubs: Stubs) -> None:
    # the summary answers, the orchestrator is away: NATS says "no responders" at once, and nothing is started
    await stubs.answer(LIBRARY_SUMMARY, SUMMARY)
    r = await client.get("/truefire-courses/download-all-courses", headers=ADMIN)
    assert_problem(r, 503, "unavailable")
    assert_problem(await client.get("/truefire-courses/bulk-queue-status", headers=ADMIN), 503, "unavailable")
