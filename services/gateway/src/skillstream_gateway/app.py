"""The gateway's FastAPI application: the jobs API, live progress (SSE), sign-in and the dashboard.

No domain logic and no service's tables here: every route turns into one command or query over NATS
(``skillstream_contracts.jobs`` subjects) and relays the reply; a service's typed error becomes a problem
document (:mod:`skillstream_gateway.problems`). Reply bodies are the contracts' msgspec structs, encoded
once; their JSON Schemas are merged into the OpenAPI document so ``/docs`` shows them.
"""

from typing import Annotated, Any

import msgspec
from fastapi import Depends, FastAPI, Header, Path, Query, Request, Response
from pydantic import BaseModel, Field
from sse_starlette import EventSourceResponse, ServerSentEvent

from skillstream_contracts.jobs import (
    CANCEL_JOB,
    GET_JOB,
    LIST_JOB_KINDS,
    LIST_JOBS,
    REQUEST_JOB,
    RETRY_FAILED,
    GetJob,
    JobAccepted,
    JobDetail,
    JobKindList,
    JobPage,
    JobRef,
    JobStatus,
    JobView,
    ListJobKinds,
    ListJobs,
    RequestJob,
)
from skillstream_gateway.auth import Authenticator, Principal, auth_router
from skillstream_gateway.catalogue import SCHEMA_TYPES as CATALOGUE_SCHEMA_TYPES
from skillstream_gateway.catalogue import catalogue_router
from skillstream_gateway.dashboard import dashboard_routes
from skillstream_gateway.media import SCHEMA_TYPES as MEDIA_SCHEMA_TYPES
from skillstream_gateway.media import media_router
from skillstream_gateway.problems import BodySizeLimitMiddleware, install_problem_handlers
from skillstream_gateway.replies import json_response, schema_ref
from skillstream_gateway.settings import GatewaySettings
from skillstream_gateway.sse import ProgressHub, progress_events
from skillstream_runtime.endpoints import request

JOB_ID = Path(pattern=r"^[0-9a-f]{32}$", description="job id: 32 hex digits")
_SCHEMA_TYPES = (JobView, JobDetail, JobPage, JobAccepted, JobKindList, *CATALOGUE_SCHEMA_TYPES, *MEDIA_SCHEMA_TYPES)


class JobRequestBody(BaseModel):
    """Body of ``POST /api/jobs``."""

    kind: str = Field(min_length=1, max_length=100, description="a registered job kind (GET /api/job-kinds)")
    parameters: dict[str, Any] = Field(default_factory=dict, description="the kind's parameters")
    idempotency_key: str | None = Field(default=None, min_length=1, max_length=200)
    priority: int = Field(default=0, ge=-10, le=10)


def _visible_to(principal: Principal) -> str | None:
    """None for callers who may see every job, else their own subject (they see only their jobs)."""
    return None if principal.has("jobs.view_all") else principal.sub


def create_app(ctx: Any, settings: GatewaySettings | None = None) -> FastAPI:
    """The gateway app for a running service context (``ctx.nc`` is the NATS connection)."""
    settings = settings or GatewaySettings()
    nc = ctx.nc
    auth = Authenticator(settings)
    hub = ProgressHub(nc, getattr(ctx, "stopping", None))
    app = FastAPI(
        title="Skillstream gateway",
        version=ctx.definition.version,
        description="Jobs, live progress and the dashboard. See services/gateway/README.md.",
    )
    app.state.ctx = ctx
    app.state.hub = hub
    install_problem_handlers(app)
    app.add_middleware(BodySizeLimitMiddleware, max_body_bytes=settings.max_body_bytes)
    app.include_router(auth_router(settings, auth))

    View = Annotated[Principal, Depends(auth.require("jobs.view"))]
    Manage = Annotated[Principal, Depends(auth.require("jobs.manage"))]

    @app.get("/api/job-kinds", tags=["jobs"], responses={200: schema_ref("JobKindList")}, summary="Job kinds")
    async def job_kinds(principal: View) -> Response:
        return json_response(await request(nc, LIST_JOB_KINDS, ListJobKinds(), JobKindList))

    @app.post(
        "/api/jobs", tags=["jobs"], status_code=201, responses={201: schema_ref("JobAccepted")}, summary="Start a job"
    )
    async def start_job(
        body: JobRequestBody,
        principal: Manage,
        idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
    ) -> Response:
        cmd = RequestJob(
            kind=body.kind,
            parameters=body.parameters,
            requested_by=principal.sub,
            priority=body.priority,
            idempotency_key=body.idempotency_key or idempotency_key,
        )
        accepted = await request(nc, REQUEST_JOB, cmd, JobAccepted)
        return json_response(accepted, 201 if accepted.created else 200)

    @app.get("/api/jobs", tags=["jobs"], responses={200: schema_ref("JobPage")}, summary="List jobs, newest first")
    async def list_jobs(
        principal: View,
        kind: str | None = None,
        status: JobStatus | None = None,
        requested_by: str | None = None,
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
        cursor: Annotated[str | None, Query(max_length=500)] = None,
    ) -> Response:
        mine = _visible_to(principal)
        if mine is not None:
            requested_by = mine
        q = ListJobs(kind=kind, status=status, requested_by=requested_by, limit=limit, cursor=cursor)
        return json_response(await request(nc, LIST_JOBS, q, JobPage))

    @app.get("/api/jobs/{job_id}", tags=["jobs"], responses={200: schema_ref("JobDetail")}, summary="One job")
    async def get_job(principal: View, job_id: Annotated[str, JOB_ID]) -> Response:
        q = GetJob(job_id=job_id, visible_to=_visible_to(principal))
        return json_response(await request(nc, GET_JOB, q, JobDetail))

    @app.post(
        "/api/jobs/{job_id}/cancel",
        tags=["jobs"],
        status_code=202,
        responses={202: schema_ref("JobView")},
        summary="Cancel a job (items in flight finish)",
    )
    async def cancel_job(principal: Manage, job_id: Annotated[str, JOB_ID]) -> Response:
        cmd = JobRef(job_id=job_id, requested_by=principal.sub, visible_to=_visible_to(principal))
        return json_response(await request(nc, CANCEL_JOB, cmd, JobView), 202)

    @app.post(
        "/api/jobs/{job_id}/retry-failed",
        tags=["jobs"],
        status_code=201,
        responses={201: schema_ref("JobAccepted")},
        summary="Retry the failed items of an ended job as a new job",
    )
    async def retry_failed(principal: Manage, job_id: Annotated[str, JOB_ID]) -> Response:
        cmd = JobRef(job_id=job_id, requested_by=principal.sub, visible_to=_visible_to(principal))
        accepted = await request(nc, RETRY_FAILED, cmd, JobAccepted)
        return json_response(accepted, 201 if accepted.created else 200)

    def _stream(request_: Request, principal: Principal, job_id: str | None) -> EventSourceResponse:
        try:
            last_id = max(0, int(request_.headers.get("last-event-id") or 0))
        except ValueError:
            last_id = 0
        events = progress_events(
            hub,
            job_id=job_id,
            requested_by=_visible_to(principal),
            last_event_id=last_id,
            retry_ms=settings.sse_retry_ms,
            min_interval=settings.sse_min_interval_seconds,
        )
        return EventSourceResponse(
            events,
            ping=settings.sse_keepalive_seconds,
            ping_message_factory=lambda: ServerSentEvent(comment="keep-alive"),
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    @app.get(
        "/api/jobs/{job_id}/events",
        tags=["progress"],
        response_class=EventSourceResponse,
        summary="Server-sent progress of one job (resume with Last-Event-ID)",
    )
    async def job_events(request_: Request, principal: View, job_id: Annotated[str, JOB_ID]) -> EventSourceResponse:
        # 404 before streaming when the job does not exist or is not the caller's
        await request(nc, GET_JOB, GetJob(job_id=job_id, visible_to=_visible_to(principal)), JobDetail)
        return _stream(request_, principal, job_id)

    @app.get(
        "/api/events",
        tags=["progress"],
        response_class=EventSourceResponse,
        summary="Server-sent progress of every job the caller may see (resume with Last-Event-ID)",
    )
    async def all_events(request_: Request, principal: View) -> EventSourceResponse:
        return _stream(request_, principal, None)

    app.include_router(catalogue_router(nc, auth))
    app.include_router(media_router(nc, auth))
    for route in dashboard_routes():
        app.router.routes.append(route)
    auth.install(app)
    _merge_schemas(app)
    return app


def _merge_schemas(app: FastAPI) -> None:
    """Add the contracts' JSON Schemas (msgspec) to the OpenAPI components, so ``$ref``s resolve."""
    generate = app.openapi
    _, components = msgspec.json.schema_components(_SCHEMA_TYPES, ref_template="#/components/schemas/{name}")

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = generate()
            schema.setdefault("components", {}).setdefault("schemas", {}).update(components)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


__all__ = ["JobRequestBody", "create_app"]
