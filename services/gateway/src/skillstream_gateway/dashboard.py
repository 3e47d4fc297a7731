"""The administrator's dashboard shell: ``/`` and ``/static/{path}``.

These routes are **public and carry no data**: they serve the same static HTML, JavaScript, CSS and icon files
to everyone. Everything the dashboard shows comes through the authenticated ``/api`` routes and the
``/auth`` sign-in routes, called by the browser with the ``skillstream_session`` cookie (and the
``X-Skillstream-CSRF`` header on unsafe methods).

The files live in the package (``skillstream_gateway/static``) and are read with :mod:`importlib.resources`,
so they are served the same from a source checkout and from an installed wheel. No front-end build step, no
external resources: the page's Content-Security-Policy allows nothing but this origin (no inline scripts or
styles). Responses carry ``Cache-Control: no-cache`` and an ``ETag`` so a browser revalidates cheaply and an
upgraded gateway is picked up at once. None of these routes appears in the OpenAPI document.

Mount with ``app.router.routes.extend(dashboard_routes())``.
"""

from __future__ import annotations

import hashlib
import json
from importlib import resources
from importlib.resources.abc import Traversable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

STATIC_PACKAGE = "skillstream_gateway"
STATIC_DIR = "static"
INDEX = "index.html"

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
"""Only this origin; no inline script or style, no plugins, not framable."""

CONTENT_TYPES: dict[str, str] = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".json": "application/json",
    ".txt": "text/plain; charset=utf-8",
    ".woff2": "font/woff2",
}
"""The only file types served; anything else under ``static/`` is a 404."""

_SECURITY_HEADERS: dict[str, str] = {
    "Cache-Control": "no-cache",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


def _static_root() -> Traversable:
    return resources.files(STATIC_PACKAGE).joinpath(STATIC_DIR)


def _resolve(path: str) -> Traversable | None:
    """The static file for a request path, or None; refuses traversal, hidden files and unknown types."""
    parts = path.split("/")
    if not path or any(not part or part.startswith(".") or "\\" in part or "\x00" in part for part in parts):
        return None
    if _suffix(parts[-1]) not in CONTENT_TYPES:
        return None
    node = _static_root()
    for part in parts:
        node = node.joinpath(part)
    return node if node.is_file() else None


def _suffix(name: str) -> str:
    dot = name.rfind(".")
    return name[dot:].lower() if dot > 0 else ""


def _file_response(request: Request, node: Traversable) -> Response:
    body = node.read_bytes()
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    content_type = CONTENT_TYPES[_suffix(node.name)]
    headers = dict(_SECURITY_HEADERS)
    headers["ETag"] = etag
    if content_type.startswith("text/html"):
        headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    if etag in {tag.strip() for tag in request.headers.get("if-none-match", "").split(",")}:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=content_type, headers=headers)


def _not_found(request: Request) -> Response:
    body = json.dumps(
        {
            "type": "urn:skillstream:problem:not-found",
            "title": "Not found",
            "status": 404,
            "detail": "No such dashboard file.",
            "instance": request.url.path,
        }
    )
    return Response(body, status_code=404, media_type="application/problem+json", headers={"Cache-Control": "no-cache"})


async def index(request: Request) -> Response:
    """The dashboard's single HTML page (client-side routes live in the URL fragment)."""
    node = _resolve(INDEX)
    if node is None:  # pragma: no cover - the file ships with the package
        return _not_found(request)
    return _file_response(request, node)


async def static_file(request: Request) -> Response:
    """A file of the dashboard (JavaScript modules, CSS, icon)."""
    node = _resolve(str(request.path_params["path"]))
    if node is None:
        return _not_found(request)
    return _file_response(request, node)


def dashboard_routes() -> list[BaseRoute]:
    """``GET /`` (the page) and ``GET /static/{path}`` (its files): public, no data, not in OpenAPI."""
    return [
        Route("/", index, methods=["GET", "HEAD"], name="dashboard", include_in_schema=False),
        Route(
            "/static/{path:path}",
            static_file,
            methods=["GET", "HEAD"],
            name="dashboard_static",
            include_in_schema=False,
        ),
    ]


__all__ = ["CONTENT_SECURITY_POLICY", "dashboard_routes"]
