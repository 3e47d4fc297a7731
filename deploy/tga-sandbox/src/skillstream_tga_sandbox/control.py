"""The control API under ``/_sandbox`` (JSON; for tests and the demo, never part of TGA's surface).

- ``GET /_sandbox/health`` → ``{"status": "ok", "components": {type: count}}``
- ``GET /_sandbox/faults`` → the current :class:`~skillstream_tga_sandbox.settings.Faults`
- ``PUT /_sandbox/faults`` with some Faults fields → merged, the result returned (unknown field → 422)
- ``POST /_sandbox/reset`` → faults as at start, no modifications or deletions, zero counters
- ``GET /_sandbox/stats`` → counters (requests per operation, files served…) and the request log
- ``PUT /_sandbox/modified`` ``{"code", "updated_date"?}`` → sets the component's UpdatedDate (default
  now); 404 for an unknown code
- ``PUT /_sandbox/deleted`` ``{"code", "operation"?, "deleted_date"?}`` → records a deletion
  (``LogicalDelete`` by default; any code, as TGA may report deletions of codes a client never saw)
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from skillstream_tga_sandbox.catalogue import ComponentType
from skillstream_tga_sandbox.settings import Faults
from skillstream_tga_sandbox.state import SandboxState


class _Modified(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str
    updated_date: AwareDatetime | None = None


class _Deleted(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str
    operation: Literal["PhysicalDelete", "LogicalDelete"] = "LogicalDelete"
    deleted_date: AwareDatetime | None = None


def _invalid(error: ValidationError | ValueError) -> JSONResponse:
    detail = error.errors(include_url=False) if isinstance(error, ValidationError) else str(error)
    return JSONResponse({"error": "invalid request", "detail": detail}, status_code=422)


def control_routes(state: SandboxState) -> list[Route]:
    """The ``/_sandbox`` routes bound to ``state`` (mount them under ``/_sandbox``)."""

    async def health(_: Request) -> Response:
        counts = {kind.value: state.catalogue.count(kind) for kind in ComponentType}
        return JSONResponse({"status": "ok", "components": counts})

    async def get_faults(_: Request) -> Response:
        return JSONResponse(state.faults.model_dump())

    async def put_faults(request: Request) -> Response:
        try:
            changes = await request.json()
            if not isinstance(changes, dict):
                raise ValueError("the body must be a JSON object of Faults fields")
            state.faults = Faults.model_validate({**state.faults.model_dump(), **changes})
        except (ValidationError, ValueError) as e:
            return _invalid(e)
        return JSONResponse(state.faults.model_dump())

    async def reset(_: Request) -> Response:
        state.reset()
        return JSONResponse({"reset": True, "faults": state.faults.model_dump()})

    async def stats(_: Request) -> Response:
        return JSONResponse(state.stats())

    async def modified(request: Request) -> Response:
        try:
            body = _Modified.model_validate_json(await request.body())
        except ValidationError as e:
            return _invalid(e)
        code = body.code.strip().upper()
        if state.lookup(code) is None:
            return JSONResponse({"error": f"unknown component {code}"}, status_code=404)
        when = body.updated_date or dt.datetime.now(dt.UTC)
        state.mark_modified(code, when)
        return JSONResponse({"code": code, "updated_date": when.isoformat()})

    async def deleted(request: Request) -> Response:
        try:
            body = _Deleted.model_validate_json(await request.body())
        except ValidationError as e:
            return _invalid(e)
        code = body.code.strip().upper()
        deletion = state.mark_deleted(code, body.operation, body.deleted_date or dt.datetime.now(dt.UTC))
        return JSONResponse(
            {"code": code, "operation": deletion.operation, "deleted_date": deletion.deleted.isoformat()}
        )

    return [
        Route("/health", health, methods=["GET"]),
        Route("/faults", get_faults, methods=["GET"]),
        Route("/faults", put_faults, methods=["PUT"]),
        Route("/reset", reset, methods=["POST"]),
        Route("/stats", stats, methods=["GET"]),
        Route("/modified", modified, methods=["PUT"]),
        Route("/deleted", deleted, methods=["PUT"]),
    ]


__all__ = ["control_routes"]
