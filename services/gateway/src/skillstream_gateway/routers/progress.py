"""The server-sent progress routes (``/api/jobs/{job_id}/events``, ``/api/events``): permission ``jobs.view``.

Each message is ``event: progress``, ``id: <sequence>``, ``data: <JobProgress JSON>``; a client reconnecting
with ``Last-Event-ID`` gets the latest snapshot of every job that changed after it (:mod:`skillstream_gateway.sse`
holds the stream itself). A caller without ``jobs.view_all`` sees only its own jobs. Errors (before streaming):
400 ``bad-request`` when ``Last-Event-ID`` is not a sequence (decimal digits, at most 2^63 - 1), 401/403 from
the permission check (and 401 for a token past its ``exp`` that the clock-skew leeway would still accept), 404
when the one job does not exist or is not the caller's.

A stream lives no longer than the session that opened it: it ends at the token's ``exp``, or as soon as the
token is revoked (``DELETE /auth/session`` on any replica), with a last comment ``: session expired`` or
``: session revoked``. The browser reconnects; a fresh session resumes from ``Last-Event-ID``, an ended one
gets 401.
"""

import asyncio
import datetime as dt
import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from nats.aio.client import Client
from sse_starlette import EventSourceResponse, ServerSentEvent

from skillstream_contracts.constraints import INT64_MAX
from skillstream_contracts.jobs import GET_JOB, GetJob, JobDetail
from skillstream_gateway.auth import Authenticator, Principal
from skillstream_gateway.problems import PROBLEM_MEDIA_TYPE, ProblemError
from skillstream_gateway.revocation import RevocationList
from skillstream_gateway.routers.jobs import JOB_ID, visible_to
from skillstream_gateway.sessions import unauthorized
from skillstream_gateway.settings import GatewaySettings
from skillstream_gateway.sse import ProgressHub, progress_events
from skillstream_runtime.endpoints import request

_SEQUENCE = re.compile(r"[0-9]{1,19}")

_EVENT_STREAM = (
    "A `text/event-stream` of progress messages, each `event: progress`, `id: <sequence>` and "
    "`data: <JobProgress JSON>` (schema `#/components/schemas/JobProgress`). `sequence` grows across all jobs; "
    "reconnecting with the header `Last-Event-ID: <sequence>` resumes with the latest snapshot of every job "
    "changed after it, so nothing is missed. Without it the stream opens with a snapshot. The first message is "
    "`retry: <ms>` with the comment `: connected`; `: keep-alive` comments keep idle connections open."
)
_EXAMPLE = 'retry: 2000\n: connected\n\nevent: progress\nid: 42\ndata: {"job_id": "0f3c…e1", "sequence": 42, …}\n\n'
RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": _EVENT_STREAM,
        "content": {"text/event-stream": {"schema": {"type": "string"}, "example": _EXAMPLE}},
    },
    400: {
        "description": "Last-Event-ID is not a sequence (decimal digits, at most 2^63 - 1)",
        "content": {PROBLEM_MEDIA_TYPE: {}},
    },
}
"""The OpenAPI ``responses`` of both routes: the event stream's media type and format, and the refused header."""


def last_event_id(request_: Request) -> int:
    """The ``Last-Event-ID`` header as a sequence; 0 (from the start) when absent or empty.

    Raises:
        ProblemError: 400 ``bad-request``, the header is not decimal digits or exceeds 2^63 - 1.
    """
    value = request_.headers.get("last-event-id", "").strip()
    if not value:
        return 0
    if _SEQUENCE.fullmatch(value) is None or int(value) > INT64_MAX:
        raise ProblemError(
            400,
            "bad-request",
            f"Last-Event-ID must be the id of a received event (a sequence of decimal digits), not {value[:40]!r}.",
        )
    return int(value)


async def session_end(principal: Principal, revocations: RevocationList | None) -> str:
    """Wait until ``principal``'s token expires (``"expired"``) or is revoked (``"revoked"``)."""
    remaining = max(0.0, (principal.expires_at - dt.datetime.now(dt.UTC)).total_seconds())
    if revocations is None or principal.revocation_key is None:
        await asyncio.sleep(remaining)
        return "expired"
    try:
        await asyncio.wait_for(revocations.wait_revoked(principal.revocation_key), remaining)
    except TimeoutError:
        return "expired"
    return "revoked"


def progress_router(nc: Client, auth: Authenticator, hub: ProgressHub, settings: GatewaySettings) -> APIRouter:
    """The router; ``hub`` relays the progress documents received over ``nc``, ``settings`` paces the streams."""
    router = APIRouter()
    View = Annotated[Principal, Depends(auth.require("jobs.view"))]

    def stream(request_: Request, last_id: int, principal: Principal, job_id: str | None) -> EventSourceResponse:
        if principal.expires_at <= dt.datetime.now(dt.UTC):
            # accepted within the clock-skew leeway, but a stream would end at once and the browser loop
            raise unauthorized("The token has expired: sign in again to follow progress.", "token expired")
        revocations = auth.revocation_list(request_)
        events = progress_events(
            hub,
            job_id=job_id,
            requested_by=visible_to(principal),
            last_event_id=last_id,
            retry_ms=settings.sse_retry_ms,
            min_interval=settings.sse_min_interval_seconds,
            session_end=lambda: session_end(principal, revocations),
        )
        return EventSourceResponse(
            events,
            ping=settings.sse_keepalive_seconds,
            ping_message_factory=lambda: ServerSentEvent(comment="keep-alive"),
            # no proxy may buffer or cache a live stream
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    @router.get(
        "/api/jobs/{job_id}/events",
        tags=["progress"],
        response_class=EventSourceResponse,
        responses={
            **RESPONSES,
            404: {"description": "no such job, or not the caller's", "content": {PROBLEM_MEDIA_TYPE: {}}},
        },
        summary="Server-sent progress of one job (resume with Last-Event-ID)",
    )
    async def job_events(request_: Request, principal: View, job_id: Annotated[str, JOB_ID]) -> EventSourceResponse:
        last_id = last_event_id(request_)
        # 404 before streaming when the job does not exist or is not the caller's
        await request(nc, GET_JOB, GetJob(job_id=job_id, visible_to=visible_to(principal)), JobDetail)
        return stream(request_, last_id, principal, job_id)

    @router.get(
        "/api/events",
        tags=["progress"],
        response_class=EventSourceResponse,
        responses=RESPONSES,
        summary="Server-sent progress of every job the caller may see (resume with Last-Event-ID)",
    )
    async def all_events(request_: Request, principal: View) -> EventSourceResponse:
        return stream(request_, last_event_id(request_), principal, None)

    return router


__all__ = ["RESPONSES", "last_event_id", "progress_router", "session_end"]
