"""The catalogue API the downloader's ``HttpCatalogue`` reads (JSON; media-spec §1).

- ``GET /catalogue/v1/courses?page=N&per_page=M`` → ``{"page", "per_page", "total", "pages", "courses":
  [{"id", "title", "segment_count"}]}`` ordered by id; page is 1-based, per_page 1..500 (default 100); a
  page past the end has no courses. A bad page/per_page → 400 ``{"error": "bad_request", "message"}``.
- ``GET /catalogue/v1/courses/{id}`` → the course with channels, segments and files (sizes in bytes,
  SHA-256 of the exact bytes the CDN serves), or 404 ``{"error": "not_found", "message"}``.

A course document is built (and its files hashed) in a worker thread, so a large course never stalls the
CDN's streams.
"""

from __future__ import annotations

import math

import anyio
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from skillstream_media_sandbox.state import SandboxState

MAX_PER_PAGE = 500
DEFAULT_PER_PAGE = 100


def _error(status: int, error: str, message: str) -> JSONResponse:
    return JSONResponse({"error": error, "message": message}, status_code=status)


def _positive(request: Request, name: str, default: int, maximum: int | None = None) -> int:
    """A query parameter as an int in 1..maximum.

    Raises:
        ValueError: not an integer or out of range (the message names the parameter).
    """
    text = request.query_params.get(name)
    if text is None:
        return default
    limit = f"1..{maximum}" if maximum else "≥ 1"
    try:
        value = int(text)
    except ValueError as e:
        raise ValueError(f"{name} must be an integer {limit}, got {text!r}") from e
    if value < 1 or (maximum is not None and value > maximum):
        raise ValueError(f"{name} must be an integer {limit}, got {value}")
    return value


def catalogue_routes(state: SandboxState) -> list[Route]:
    """The ``/catalogue/v1`` routes bound to ``state`` (mount them under ``/catalogue/v1``)."""

    async def courses(request: Request) -> Response:
        state.stats.catalogue_requests += 1
        try:
            page = _positive(request, "page", 1)
            per_page = _positive(request, "per_page", DEFAULT_PER_PAGE, MAX_PER_PAGE)
        except ValueError as e:
            return _error(400, "bad_request", str(e))
        rows = state.catalogue.courses
        chosen = rows[(page - 1) * per_page : page * per_page]
        return JSONResponse(
            {
                "page": page,
                "per_page": per_page,
                "total": len(rows),
                "pages": math.ceil(len(rows) / per_page),
                "courses": [{"id": c.id, "title": c.title, "segment_count": c.segment_count} for c in chosen],
            }
        )

    async def course(request: Request) -> Response:
        state.stats.catalogue_requests += 1
        text = request.path_params["course_id"]
        catalogue = state.catalogue
        document = (
            await anyio.to_thread.run_sync(catalogue.course_document, int(text))
            if text.isascii() and text.isdigit()
            else None
        )
        if document is None:
            return _error(404, "not_found", f"no course with id {text!r}")
        return JSONResponse(document)

    return [
        Route("/courses", courses, methods=["GET"]),
        Route("/courses/{course_id}", course, methods=["GET"]),
    ]


__all__ = ["DEFAULT_PER_PAGE", "MAX_PER_PAGE", "catalogue_routes"]
