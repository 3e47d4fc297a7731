"""RFC 9457 problem details: every error the gateway returns, and the body size limit.

A problem document is ``{"type": "urn:skillstream:problem:<slug>", "title": str, "status": int, "detail": str,
"instance": <request path>}`` served as ``application/problem+json``, plus ``errors`` (``[{loc, msg, type}]``,
``loc`` a list of path segments) for validation failures and ``correlation_id`` when a service reported one.

:func:`install_problem_handlers` maps, on a FastAPI app:

=====================================  =========================================================================
exception                              problem
=====================================  =========================================================================
:class:`ProblemError`                  its status and slug (raise it from handlers and dependencies)
``HTTPException`` (Starlette/FastAPI)  its status; slug from :data:`STATUS_SLUGS` (404 ``not-found``, 405 …)
``RequestValidationError``             422 ``invalid-request`` with ``errors``
``RequestError`` (NATS reply error)    the reply's status; slug from its ``ErrorCode`` (``unavailable`` → 503)
anything else                          500 ``internal``; the detail is logged, never returned
=====================================  =========================================================================

Every 503 carries ``Retry-After`` (seconds: :data:`RETRY_AFTER_SECONDS`, or what
:func:`install_problem_handlers` was given), whoever raised it. A problem's text is JSON-escaped when it
holds what UTF-8 cannot carry (a lone surrogate echoed from a refused request), so the answer stays a 4xx.

:class:`BodySizeLimitMiddleware` refuses bodies over the limit with 413 ``payload-too-large``: at once when
``Content-Length`` says so, and while reading when a chunked body grows past it.
"""

from __future__ import annotations

import http
import http.client
import json
from collections.abc import Mapping, Sequence
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from skillstream_contracts import ErrorCode
from skillstream_runtime.errors import RequestError

PROBLEM_MEDIA_TYPE = "application/problem+json"
TYPE_PREFIX = "urn:skillstream:problem:"

STATUS_SLUGS: Mapping[int, str] = {
    400: "bad-request",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    406: "not-acceptable",
    409: "conflict",
    410: "gone",
    412: "precondition-failed",
    413: "payload-too-large",
    415: "unsupported-media-type",
    422: "invalid-request",
    428: "precondition-required",
    429: "too-many-requests",
    500: "internal",
    501: "not-implemented",
    502: "bad-gateway",
    503: "unavailable",
    504: "gateway-timeout",
}
"""HTTP status → stable problem slug (other statuses get the kebab-cased reason phrase)."""

CODE_SLUGS: Mapping[ErrorCode, str] = {
    ErrorCode.INVALID_REQUEST: "invalid-request",
    ErrorCode.UNAUTHORIZED: "unauthorized",
    ErrorCode.FORBIDDEN: "forbidden",
    ErrorCode.NOT_FOUND: "not-found",
    ErrorCode.CONFLICT: "conflict",
    ErrorCode.UNAVAILABLE: "unavailable",
    ErrorCode.INTERNAL: "internal",
    # the media-downloader's refusal to download an empty catalogue: to a client, a conflict like any other
    ErrorCode.NOTHING_TO_DOWNLOAD: "conflict",
}
"""Error code of a service's reply → problem slug (the status is the one the service sent)."""

RETRY_AFTER_SECONDS = 5
"""``Retry-After`` of a 503 when nothing else was configured, seconds."""

_TITLES: Mapping[int, str] = {413: "Payload Too Large", 422: "Invalid Request", 500: "Internal Error"}
_INTERNAL_DETAIL = "An internal error occurred; it has been logged."
_log = structlog.get_logger(__name__)


def problem(
    status: int,
    slug: str,
    title: str,
    detail: str,
    instance: str | None = None,
    errors: Sequence[Mapping[str, Any]] | None = None,
    headers: Mapping[str, str] | None = None,
    extensions: Mapping[str, Any] | None = None,
) -> JSONResponse:
    """A problem document response with status ``status`` and ``type`` ``urn:skillstream:problem:<slug>``.

    ``instance`` (the request path) and ``errors`` are included when given; ``extensions`` adds further members
    (RFC 9457 §3.2) without overriding the standard ones. ``headers`` are sent as given.
    """
    body: dict[str, Any] = {**(extensions or {})}
    body.update(type=TYPE_PREFIX + slug, title=title, status=status, detail=detail)
    if instance is not None:
        body["instance"] = instance
    if errors is not None:
        body["errors"] = [dict(e) for e in errors]
    sent = dict(headers or {})
    if status == 503 and not any(k.lower() == "retry-after" for k in sent):
        sent["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return _ProblemResponse(body, status_code=status, headers=sent, media_type=PROBLEM_MEDIA_TYPE)


class _ProblemResponse(JSONResponse):
    """JSON as Starlette writes it, escaped to ASCII when the text holds a lone surrogate (not UTF-8)."""

    def render(self, content: Any) -> bytes:
        try:
            return super().render(content)
        except UnicodeEncodeError:
            return json.dumps(content, ensure_ascii=True, allow_nan=False, separators=(",", ":")).encode("ascii")


def title_for(status: int) -> str:
    """The problem ``title`` for an HTTP status (its reason phrase, stable across Python versions)."""
    if status in _TITLES:
        return _TITLES[status]
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def slug_for(status: int) -> str:
    """The problem slug for an HTTP status: :data:`STATUS_SLUGS`, else the kebab-cased reason phrase."""
    if status in STATUS_SLUGS:
        return STATUS_SLUGS[status]
    return title_for(status).lower().replace(" ", "-").replace("'", "") or "error"


class ProblemError(Exception):
    """Raise from a route or dependency to answer with a problem document.

    ``ProblemError(404, "not-found", "no job 42")``; ``title`` defaults to the status's reason phrase;
    ``errors`` lists ``{loc, msg, type}`` items; ``headers`` are added to the response.
    """

    def __init__(
        self,
        status: int,
        slug: str,
        detail: str,
        *,
        title: str | None = None,
        errors: Sequence[Mapping[str, Any]] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {slug}: {detail}")
        self.status = status
        self.slug = slug
        self.detail = detail
        self.title = title or title_for(status)
        self.errors = errors
        self.headers = headers

    def response(self, instance: str | None = None) -> JSONResponse:
        """This error as a problem response."""
        return problem(self.status, self.slug, self.title, self.detail, instance, self.errors, self.headers)


class BodyTooLargeError(HTTPException):
    """The request body grew past the limit while being read (413)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"The request body exceeds the limit of {limit} bytes.")
        self.limit = limit


def install_problem_handlers(app: FastAPI, *, retry_after_seconds: int = RETRY_AFTER_SECONDS) -> None:
    """Answer every error of ``app`` with a problem document (see the module docstring for the mapping);
    a 503 from a service's reply says ``Retry-After: <retry_after_seconds>``."""
    retry_after = {"Retry-After": str(retry_after_seconds)}

    async def request_error(request: Request, exc: Exception) -> JSONResponse:
        response = await _request_error(request, exc)
        if response.status_code == 503:
            response.headers.update(retry_after)
        return response

    app.add_exception_handler(ProblemError, _problem_error)
    app.add_exception_handler(HTTPException, _http_exception)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(RequestError, request_error)
    app.add_exception_handler(Exception, _unhandled)


async def _problem_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ProblemError)
    return exc.response(request.url.path)


async def _http_exception(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    status = exc.status_code
    detail = str(exc.detail) if exc.detail else ""
    if not detail or detail == http.client.responses.get(status):
        if status == 404:
            detail = f"Nothing at {request.url.path}."
        elif status == 405:
            detail = f"{request.method} is not allowed on {request.url.path}."
        else:
            detail = title_for(status)
    return problem(status, slug_for(status), title_for(status), detail, request.url.path, headers=exc.headers)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": str(e.get("type", "invalid"))}
        for e in exc.errors()
    ]
    if errors:
        first = errors[0]
        detail = f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}"
        if len(errors) > 1:
            detail += f" (and {len(errors) - 1} more)"
    else:
        detail = "The request is not valid."
    return problem(422, "invalid-request", title_for(422), detail, request.url.path, errors)


async def _request_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestError)
    reply = exc.reply
    status = exc.status if 400 <= exc.status <= 599 else reply.code.status
    slug = CODE_SLUGS.get(reply.code, slug_for(status))
    detail = reply.detail
    if reply.code is ErrorCode.INTERNAL or status >= 500:
        _log.warning(
            "service request failed",
            code=str(reply.code),
            status=status,
            detail=reply.detail,
            correlation_id=reply.correlation_id,
            method=request.method,
            path=request.url.path,
        )
        if reply.code is ErrorCode.INTERNAL:
            detail = _INTERNAL_DETAIL
    errors = [
        {
            "loc": e.get("loc", "").split(".") if e.get("loc") else [],
            "msg": e.get("msg", ""),
            "type": e.get("type", slug),
        }
        for e in reply.errors
    ]
    extensions = {"correlation_id": reply.correlation_id} if reply.correlation_id else None
    return problem(status, slug, title_for(status), detail, request.url.path, errors or None, extensions=extensions)


async def _unhandled(request: Request, exc: Exception) -> JSONResponse:
    _log.error("unhandled error", method=request.method, path=request.url.path, exc_info=exc)
    return problem(500, "internal", title_for(500), _INTERNAL_DETAIL, request.url.path)


class BodySizeLimitMiddleware:
    """Pure ASGI middleware refusing request bodies over ``max_body_bytes`` with a 413 problem.

    A ``Content-Length`` over the limit is refused before the application runs (nothing is read); a body
    without one (chunked) is counted as the application reads it, and the read that crosses the limit raises
    :class:`BodyTooLargeError` (an ``HTTPException``, so the problem handlers answer 413; if it escapes the
    application before a response started, this middleware answers). Responses, streaming ones included, pass
    through untouched. ``app.add_middleware(BodySizeLimitMiddleware, max_body_bytes=settings.max_body_bytes)``.
    """

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        if max_body_bytes < 0:
            raise ValueError("max_body_bytes must not be negative")
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.max_body_bytes
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await self._refuse(scope, receive, send, BodyTooLargeError(limit))
            return

        received = 0
        response_started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLargeError(limit)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLargeError as e:
            if response_started:
                raise
            await self._refuse(scope, receive, send, e)

    @staticmethod
    async def _refuse(scope: Scope, receive: Receive, send: Send, error: BodyTooLargeError) -> None:
        path = Request(scope).url.path
        _log.info("request body too large", path=path, limit=error.limit)
        response = problem(413, "payload-too-large", title_for(413), str(error.detail), path)
        await response(scope, receive, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


__all__ = [
    "CODE_SLUGS",
    "PROBLEM_MEDIA_TYPE",
    "RETRY_AFTER_SECONDS",
    "STATUS_SLUGS",
    "TYPE_PREFIX",
    "BodySizeLimitMiddleware",
    "BodyTooLargeError",
    "ProblemError",
    "install_problem_handlers",
    "problem",
    "slug_for",
    "title_for",
]
