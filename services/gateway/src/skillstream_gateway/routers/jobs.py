"""The jobs routes (``/api/job-kinds``, ``/api/jobs…``): permission ``jobs.view`` to read, ``jobs.manage`` to act.

Every route is one command or query to the orchestrator (``skillstream_contracts.jobs`` subjects) whose reply
is relayed. A caller without ``jobs.view_all`` sees only the jobs it requested: the orchestrator answers
``not_found`` (404) for the others. Errors: 401/403 from the permission check, 422 for a body or query that
fails validation (text with a control character or too long, parameters that break
:data:`~skillstream_gateway.fields.JsonObject`, a number out of bounds: nothing reaches the orchestrator), the
orchestrator's typed errors as problem documents (400 unknown kind, 404, 409 ended job or reused idempotency
key), 503 with ``Retry-After`` when it or its database does not answer.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query, Response
from nats.aio.client import Client
from pydantic import BaseModel, Field

from skillstream_contracts.jobs import (
    CANCEL_JOB,
    GET_JOB,
    LIST_JOB_KINDS,
    LIST_JOBS,
    REQUEST_JOB,
    RESUME_JOB,
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
from skillstream_gateway.auth import Authenticator, Principal
from skillstream_gateway.fields import CursorText, JsonObject, Key, KindText
from skillstream_gateway.replies import json_response, problem_responses, schema_ref
from skillstream_runtime.endpoints import request

JOB_ID = Path(pattern=r"^[0-9a-f]{32}$", description="job id: 32 hex digits")
SCHEMA_TYPES = (JobView, JobDetail, JobPage, JobAccepted, JobKindList)
"""The reply bodies, for the OpenAPI components."""
REPEATED = schema_ref("JobAccepted", "an earlier request made the job already (created false)")
"""The 200 of a job-starting route repeated (the same idempotency key, the same retry)."""


class JobRequestBody(BaseModel):
    """Body of ``POST /api/jobs``."""

    kind: KindText = Field(description="a registered job kind (GET /api/job-kinds)")
    parameters: JsonObject = Field(
        default_factory=dict,
        description="the kind's parameters: keys and strings without control characters (tab and line breaks "
        "allowed in strings), integers within 64 bits, nested at most 16 deep",
    )
    idempotency_key: Key | None = None
    priority: int = Field(default=0, ge=-10, le=10)


def visible_to(principal: Principal) -> str | None:
    """None for callers who may see every job, else their own subject (they see only their jobs)."""
    return None if principal.has("jobs.view_all") else principal.sub


def jobs_router(nc: Client, auth: Authenticator) -> APIRouter:
    """The router; ``nc`` is the gateway's NATS connection."""
    router = APIRouter()
    View = Annotated[Principal, Depends(auth.require("jobs.view"))]
    Manage = Annotated[Principal, Depends(auth.require("jobs.manage"))]

    @router.get("/api/job-kinds", tags=["jobs"], responses={200: schema_ref("JobKindList")}, summary="Job kinds")
    async def job_kinds(principal: View) -> Response:
        return json_response(await request(nc, LIST_JOB_KINDS, ListJobKinds(), JobKindList))

    @router.post(
        "/api/jobs",
        tags=["jobs"],
        status_code=201,
        responses={201: schema_ref("JobAccepted"), 200: REPEATED, **problem_responses(409)},
        summary="Start a job",
    )
    async def start_job(
        body: JobRequestBody,
        principal: Manage,
        idempotency_key: Annotated[Key | None, Header()] = None,
    ) -> Response:
        cmd = RequestJob(
            kind=body.kind,
            parameters=body.parameters,
            requested_by=principal.sub,
            priority=body.priority,
            idempotency_key=body.idempotency_key or idempotency_key,
        )
        accepted = await request(nc, REQUEST_JOB, cmd, JobAccepted)
        # 200 rather than 201 when the idempotency key named a job that already existed
        return json_response(accepted, 201 if accepted.created else 200)

    @router.get("/api/jobs", tags=["jobs"], responses={200: schema_ref("JobPage")}, summary="List jobs, newest first")
    async def list_jobs(
        principal: View,
        kind: KindText | None = None,
        status: JobStatus | None = None,
        requested_by: Key | None = None,
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
        cursor: Annotated[CursorText | None, Query(description="next_cursor of the previous page")] = None,
    ) -> Response:
        mine = visible_to(principal)
        if mine is not None:
            requested_by = mine
        q = ListJobs(kind=kind, status=status, requested_by=requested_by, limit=limit, cursor=cursor)
        return json_response(await request(nc, LIST_JOBS, q, JobPage))

    @router.get(
        "/api/jobs/{job_id}",
        tags=["jobs"],
        responses={200: schema_ref("JobDetail"), **problem_responses(404)},
        summary="One job",
    )
    async def get_job(principal: View, job_id: Annotated[str, JOB_ID]) -> Response:
        q = GetJob(job_id=job_id, visible_to=visible_to(principal))
        return json_response(await request(nc, GET_JOB, q, JobDetail))

    @router.post(
        "/api/jobs/{job_id}/cancel",
        tags=["jobs"],
        status_code=202,
        responses={202: schema_ref("JobView"), **problem_responses(404, 409)},
        summary="Cancel a job (items in flight finish)",
    )
    async def cancel_job(principal: Manage, job_id: Annotated[str, JOB_ID]) -> Response:
        cmd = JobRef(job_id=job_id, requested_by=principal.sub, visible_to=visible_to(principal))
        return json_response(await request(nc, CANCEL_JOB, cmd, JobView), 202)

    _run_again_routes(router, nc, Manage)
    return router


def _run_again_routes(router: APIRouter, nc: Client, manage: Any) -> None:
    """``retry-failed`` and ``resume``: a new job for some items of an ended job (201; 200 when the same
    request made it before)."""
    actions = (
        ("retry-failed", RETRY_FAILED, "Retry the failed items of an ended job as a new job"),
        ("resume", RESUME_JOB, "Run the items a cancelled or failed job had not ended as a new job"),
    )
    for action, subject, summary in actions:
        router.post(
            f"/api/jobs/{{job_id}}/{action}",
            tags=["jobs"],
            status_code=201,
            responses={201: schema_ref("JobAccepted"), 200: REPEATED, **problem_responses(404, 409)},
            summary=summary,
            name=action.replace("-", "_"),
        )(_run_again(nc, manage, subject))


def _run_again(nc: Client, manage: Any, subject: str) -> Any:
    async def run_again(principal: manage, job_id: Annotated[str, JOB_ID]) -> Response:
        cmd = JobRef(job_id=job_id, requested_by=principal.sub, visible_to=visible_to(principal))
        accepted = await request(nc, subject, cmd, JobAccepted)
        return json_response(accepted, 201 if accepted.created else 200)

    return run_again


__all__ = ["JOB_ID", "SCHEMA_TYPES", "JobRequestBody", "jobs_router", "visible_to"]
