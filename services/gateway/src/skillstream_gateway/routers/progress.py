"""The server-sent progress routes (``/api/jobs/{job_id}/events``, ``/api/events``): permission ``jobs.view``.

Each message is ``event: progress``, ``id: <sequence>``, ``data: <JobProgress JSON>``; a client reconnecting
with ``Last-Event-ID`` gets the latest snapshot of every job that changed after it (:mod:`skillstream_gateway.sse`
holds the stream itself). A caller without ``jobs.view_all`` sees only its own jobs. Errors (before streaming):
401/403 from the permission check, 404 when the one job does not exist or is not the caller's.
"""

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from nats.aio.client import Client
from sse_starlette import EventSourceResponse, ServerSentEvent

from skillstream_contracts.jobs import GET_JOB, GetJob, JobDetail
from skillstream_gateway.auth import Authenticator, Principal
from skillstream_gateway.routers.jobs import JOB_ID, visible_to
from skillstream_gateway.settings import GatewaySettings
from skillstream_gateway.sse import ProgressHub, progress_events
from skillstream_runtime.endpoints import request


def progress_router(nc: Client, auth: Authenticator, hub: ProgressHub, settings: GatewaySettings) -> APIRouter:
    """The router; ``hub`` relays the progress documents received over ``nc``, ``settings`` paces the streams."""
    router = APIRouter()
    View = Annotated[Principal, Depends(auth.require("jobs.view"))]

    def stream(request_: Request, principal: Principal, job_id: str | None) -> EventSourceResponse:
        try:
            last_id = max(0, int(request_.headers.get("last-event-id") or 0))
        except ValueError:
            # a garbled header from a client is a fresh start, not an error
            last_id = 0
        events = progress_events(
            hub,
            job_id=job_id,
            requested_by=visible_to(principal),
            last_event_id=last_id,
            retry_ms=settings.sse_retry_ms,
            min_interval=settings.sse_min_interval_seconds,
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
        summary="Server-sent progress of one job (resume with Last-Event-ID)",
    )
    async def job_events(request_: Request, principal: View, job_id: Annotated[str, JOB_ID]) -> EventSourceResponse:
        # 404 before streaming when the job does not exist or is not the caller's
        await request(nc, GET_JOB, GetJob(job_id=job_id, visible_to=visible_to(principal)), JobDetail)
        return stream(request_, principal, job_id)

    @router.get(
        "/api/events",
        tags=["progress"],
        response_class=EventSourceResponse,
        summary="Server-sent progress of every job the caller may see (resume with Last-Event-ID)",
    )
    async def all_events(request_: Request, principal: View) -> EventSourceResponse:
        return stream(request_, principal, None)

    return router


__all__ = ["progress_router"]
