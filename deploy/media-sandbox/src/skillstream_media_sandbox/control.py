"""The control API under ``/_sandbox`` (JSON; for tests and the demo, never part of the CDN's surface).

- ``GET /_sandbox/faults`` → the installed fault set (``script`` = entries not yet used)
- ``PUT /_sandbox/faults`` with a whole :class:`~skillstream_media_sandbox.faults.Faults` document
  (``{}`` = none) → installed and returned; invalid → 400 ``{"error": "invalid_faults", "message",
  "detail"}``
- ``GET /_sandbox/stats`` → :meth:`~skillstream_media_sandbox.stats.Stats.snapshot`;
  ``POST /_sandbox/stats/reset`` → every counter zeroed, the zeroed stats returned
- ``GET /_sandbox/catalogue`` → shape, hostile course ids, layouts built and files hashed so far
- ``PUT /_sandbox/catalogue`` with some :class:`~skillstream_media_sandbox.settings.CatalogueShape` fields
  (the others keep their current value) → a new catalogue; invalid → 400 ``{"error": "invalid_catalogue"}``
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from skillstream_media_sandbox.faults import Faults
from skillstream_media_sandbox.settings import CatalogueShape
from skillstream_media_sandbox.state import SandboxState


def _invalid(kind: str, error: ValidationError | ValueError) -> JSONResponse:
    if isinstance(error, ValidationError):
        detail: Any = error.errors(include_url=False, include_context=False, include_input=False)
        message = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in detail)
    else:
        detail, message = None, str(error)
    return JSONResponse({"error": kind, "message": message, "detail": detail}, status_code=400)


async def _object(request: Request) -> dict[str, Any]:
    """The request body as a JSON object.

    Raises:
        ValueError: not JSON, or not an object.
    """
    try:
        body = json.loads(await request.body() or b"{}")
    except ValueError as e:
        raise ValueError(f"the body is not JSON: {e}") from e
    if not isinstance(body, dict):
        raise ValueError(f"the body must be a JSON object, got {type(body).__name__}")
    return body


def control_routes(state: SandboxState) -> list[Route]:
    """The ``/_sandbox`` routes bound to ``state`` (mount them under ``/_sandbox``)."""

    async def get_faults(_: Request) -> Response:
        return JSONResponse(state.plan.snapshot())

    async def put_faults(request: Request) -> Response:
        try:
            state.install_faults(Faults.model_validate(await _object(request)))
        except (ValidationError, ValueError) as e:
            return _invalid("invalid_faults", e)
        return JSONResponse(state.plan.snapshot())

    async def stats(_: Request) -> Response:
        return JSONResponse(state.stats.snapshot())

    async def reset_stats(_: Request) -> Response:
        state.stats.reset()
        return JSONResponse(state.stats.snapshot())

    async def get_catalogue(_: Request) -> Response:
        return JSONResponse(state.catalogue.describe())

    async def put_catalogue(request: Request) -> Response:
        try:
            changes = await _object(request)
            shape = CatalogueShape.model_validate({**state.catalogue.shape.model_dump(), **changes})
        except (ValidationError, ValueError) as e:
            return _invalid("invalid_catalogue", e)
        state.replace_catalogue(shape)
        return JSONResponse(state.catalogue.describe())

    return [
        Route("/faults", get_faults, methods=["GET"]),
        Route("/faults", put_faults, methods=["PUT"]),
        Route("/stats", stats, methods=["GET"]),
        Route("/stats/reset", reset_stats, methods=["POST"]),
        Route("/catalogue", get_catalogue, methods=["GET"]),
        Route("/catalogue", put_catalogue, methods=["PUT"]),
    ]


__all__ = ["control_routes"]
