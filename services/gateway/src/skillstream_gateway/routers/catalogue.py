"""The TGA catalogue routes (seed 000's paths; admin only: permission ``catalogue.manage``).

``/api/{training-packages|qualifications|units|skill-sets}/available`` page through the catalogue with each
row's local state (``state``: downloaded, metadata_only — TGA lists no content file —, failed,
not_downloaded; also a filter); ``…/bulk-download`` starts the matching download job through the orchestrator;
``…/download-status/{job_id}`` is that job with its live progress; ``/api/units/{code}/…`` and
``/api/qualifications/{code}/…`` read the parsed content; ``/api/catalogue/stats`` counts what is held, lists
every failed component (code, type, kind, reason) and counts metadata-only ones. Every route is one query or
command over NATS.

Errors (problem documents, :mod:`skillstream_gateway.problems`): 401/403 from the permission check; 422 for a
body or query that fails validation (:mod:`skillstream_gateway.fields`: a control character, a page beyond
``MAX_PAGE``); 404 for a component never downloaded (tga-ingest's ``not_found``) or a ``download-status`` job
that is not a download of that family; 409 for an idempotency key reused with other codes; 503 with
``Retry-After`` when a service or its database does not answer.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Response
from nats.aio.client import Client
from pydantic import BaseModel, Field

from skillstream_contracts.errors import ErrorCode, ErrorReply
from skillstream_contracts.jobs import GET_JOB, REQUEST_JOB, GetJob, JobAccepted, JobDetail, RequestJob
from skillstream_contracts.tga import ComponentType, UsageRecommendation
from skillstream_contracts.tga_queries import (
    CATALOGUE_STATS,
    GET_QUALIFICATION,
    GET_UNIT,
    GET_UNIT_CRITERIA,
    GET_UNIT_ELEMENTS,
    KIND_DOWNLOAD_PACKAGES,
    KIND_DOWNLOAD_QUALIFICATIONS,
    KIND_DOWNLOAD_UNITS,
    LIST_AVAILABLE,
    MAX_PAGE,
    MAX_PAGE_SIZE,
    CataloguePage,
    CatalogueStats,
    GetCatalogueStats,
    GetComponent,
    ListAvailable,
    LocalState,
    QualificationDetail,
    UnitDetail,
    UnitElements,
    UnitPerformanceCriteria,
)
from skillstream_gateway.auth import Authenticator, Principal
from skillstream_gateway.fields import Key, SearchText
from skillstream_gateway.replies import json_response, problem_responses, schema_ref
from skillstream_runtime.endpoints import request
from skillstream_runtime.errors import RequestError

CODE = Path(pattern=r"^[A-Za-z0-9]{3,20}$", description="a TGA national code, e.g. BSBCMM412")
JOB_ID = Path(pattern=r"^[0-9a-f]{32}$", description="job id: 32 hex digits")
REPEATED = schema_ref("JobAccepted", "the idempotency key named a job an earlier request made (created false)")
"""The 200 of a job-starting route repeated with the same idempotency key."""
SCHEMA_TYPES = (
    CataloguePage,
    CatalogueStats,
    UnitDetail,
    UnitElements,
    UnitPerformanceCriteria,
    QualificationDetail,
)

_FAMILIES = (
    ("training-packages", ComponentType.TRAINING_PACKAGE, KIND_DOWNLOAD_PACKAGES, "training packages"),
    ("qualifications", ComponentType.QUALIFICATION, KIND_DOWNLOAD_QUALIFICATIONS, "qualifications"),
    ("units", ComponentType.UNIT, KIND_DOWNLOAD_UNITS, "units of competency"),
    ("skill-sets", ComponentType.SKILL_SET, None, "skill sets"),
)


class BulkDownloadBody(BaseModel):
    """Body of ``POST …/bulk-download``: national codes (1..1000) and an optional idempotency key."""

    codes: list[Annotated[str, Field(pattern=r"^[A-Za-z0-9]{3,20}$")]] = Field(min_length=1, max_length=1000)
    idempotency_key: Key | None = None


def catalogue_router(nc: Client, auth: Authenticator) -> APIRouter:
    """The router; ``nc`` is the gateway's NATS connection."""
    router = APIRouter(tags=["catalogue"])
    Admin = Annotated[Principal, Depends(auth.require("catalogue.manage"))]

    for path, ctype, kind, label in _FAMILIES:
        _available(router, nc, Admin, path, ctype, label)
        if kind is not None:
            _downloads(router, nc, Admin, path, kind, label)

    @router.get(
        "/api/units/{code}/elements",
        responses={200: schema_ref("UnitElements"), **problem_responses(404)},
        summary="Elements of a unit (with their number of performance criteria)",
    )
    async def unit_elements(principal: Admin, code: Annotated[str, CODE]) -> Response:
        return json_response(await request(nc, GET_UNIT_ELEMENTS, GetComponent(code=code), UnitElements))

    @router.get(
        "/api/units/{code}/performance-criteria",
        responses={200: schema_ref("UnitPerformanceCriteria"), **problem_responses(404)},
        summary="Performance criteria of a unit, each linked to its element",
    )
    async def unit_criteria(principal: Admin, code: Annotated[str, CODE]) -> Response:
        reply = await request(nc, GET_UNIT_CRITERIA, GetComponent(code=code), UnitPerformanceCriteria)
        return json_response(reply)

    @router.get(
        "/api/units/{code}/comprehensive",
        responses={200: schema_ref("UnitDetail"), **problem_responses(404)},
        summary="Everything parsed for a unit: elements, criteria, evidence, conditions, foundation skills",
    )
    async def unit_comprehensive(principal: Admin, code: Annotated[str, CODE]) -> Response:
        return json_response(await request(nc, GET_UNIT, GetComponent(code=code), UnitDetail))

    @router.get(
        "/api/qualifications/{code}/comprehensive",
        responses={200: schema_ref("QualificationDetail"), **problem_responses(404)},
        summary="A qualification with its packaging rules and core / elective units",
    )
    async def qualification_comprehensive(principal: Admin, code: Annotated[str, CODE]) -> Response:
        reply = await request(nc, GET_QUALIFICATION, GetComponent(code=code), QualificationDetail)
        return json_response(reply)

    @router.get("/api/catalogue/stats", responses={200: schema_ref("CatalogueStats")}, summary="Catalogue counts")
    async def stats(principal: Admin) -> Response:
        return json_response(await request(nc, CATALOGUE_STATS, GetCatalogueStats(), CatalogueStats))

    return router


def _available(router: APIRouter, nc: Client, Admin: Any, path: str, ctype: ComponentType, label: str) -> None:
    async def available(
        principal: Admin,
        search: Annotated[SearchText | None, Query(description="code or title contains")] = None,
        status: UsageRecommendation | None = None,
        training_package: Annotated[str | None, Query(pattern=r"^[A-Za-z0-9]{2,10}$")] = None,
        downloaded: bool | None = None,
        state: Annotated[LocalState | None, Query(description="local state, e.g. metadata_only or failed")] = None,
        page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
        page_size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 50,
    ) -> Response:
        q = ListAvailable(
            component_type=ctype,
            search=search or None,
            status=status,
            training_package=training_package,
            downloaded=downloaded,
            state=state,
            page=page,
            page_size=page_size,
        )
        return json_response(await request(nc, LIST_AVAILABLE, q, CataloguePage))

    router.add_api_route(
        f"/api/{path}/available",
        available,
        methods=["GET"],
        responses={200: schema_ref("CataloguePage")},
        summary=f"Available {label} (TGA catalogue, paginated, with local download state)",
        name=f"{path}_available",
    )


def _downloads(router: APIRouter, nc: Client, Admin: Any, path: str, kind: str, label: str) -> None:
    async def bulk_download(body: BulkDownloadBody, principal: Admin) -> Response:
        codes = list(dict.fromkeys(c.upper() for c in body.codes))
        cmd = RequestJob(
            kind=kind,
            parameters={"codes": codes},
            requested_by=principal.sub,
            idempotency_key=body.idempotency_key,
        )
        accepted = await request(nc, REQUEST_JOB, cmd, JobAccepted)
        response = json_response(accepted, 201 if accepted.created else 200)
        response.headers["Location"] = f"/api/{path}/download-status/{accepted.job.job_id}"
        return response

    async def download_status(principal: Admin, job_id: Annotated[str, JOB_ID]) -> Response:
        detail = await request(nc, GET_JOB, GetJob(job_id=job_id), JobDetail)
        if detail.job.kind != kind:
            raise RequestError(ErrorReply(code=ErrorCode.NOT_FOUND, detail=f"no {label} download job {job_id}"))
        return json_response(detail)

    router.add_api_route(
        f"/api/{path}/bulk-download",
        bulk_download,
        methods=["POST"],
        status_code=201,
        responses={201: schema_ref("JobAccepted"), 200: REPEATED, **problem_responses(409)},
        summary=f"Download {label} as a job (watch it at download-status or on the dashboard)",
        name=f"{path}_bulk_download",
    )
    router.add_api_route(
        f"/api/{path}/download-status/{{job_id}}",
        download_status,
        methods=["GET"],
        responses={200: schema_ref("JobDetail"), **problem_responses(404)},
        summary=f"A {label} download job with its live progress",
        name=f"{path}_download_status",
    )


__all__ = ["SCHEMA_TYPES", "BulkDownloadBody", "catalogue_router"]
