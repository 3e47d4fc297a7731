"""The CDN: ``GET``/``HEAD /cdn/{key}`` behind CloudFront-style signed URLs (media-spec §2, §3).

Order of a request: count it in flight → verify the signed URL against the clock *now* (a URL that expires
while its body streams still completes, REFERENCE-OPERATIONS.md §2.2) → ``latency_ms`` → unknown key → 404
``NoSuchKey`` → the fault plan's outcome for the key (403/404/429/500/503 answer here; reset, truncate and
wrong_bytes shape the body) → ``If-Range``/``Range`` → 200, 206 or 416 → the body
(:class:`~skillstream_media_sandbox.delivery.FileBody`) → out of flight.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from email.utils import format_datetime, parsedate_to_datetime

import anyio
from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from skillstream_media_sandbox.catalogue import FileInfo
from skillstream_media_sandbox.content import ByteRange, parse_range
from skillstream_media_sandbox.delivery import BodyMode, FileBody
from skillstream_media_sandbox.errors import AccessDenied, RangeNotSatisfiable
from skillstream_media_sandbox.faults import BODY_FAULTS, Outcome
from skillstream_media_sandbox.signing import error_body, split_query
from skillstream_media_sandbox.state import SandboxState
from skillstream_media_sandbox.stats import Flight

_ERRORS: dict[Outcome, tuple[int, str, str]] = {
    "403": (403, "AccessDenied", "Access denied"),
    "404": (404, "NoSuchKey", "The specified key does not exist."),
    "429": (429, "SlowDown", "Please reduce your request rate."),
    "500": (500, "InternalError", "We encountered an internal error. Please try again."),
    "503": (503, "ServiceUnavailable", "Service is unable to handle request."),
}


def etag(sha256: str, salt: str) -> str:
    """Strong ETag: the first 32 hex digits of the file's SHA-256, or of ``sha256(sha256 + salt)`` when
    ``etag_salt`` is set (so a new salt changes every ETag)."""
    digest = sha256 if not salt else hashlib.sha256((sha256 + salt).encode()).hexdigest()
    return f'"{digest[:32]}"'


def _if_range_holds(value: str, current_etag: str, last_modified: dt.datetime) -> bool:
    """RFC 9110 §13.1.5: a strong ETag must match exactly (weak ones never do); a date must equal
    ``Last-Modified``."""
    value = value.strip()
    if value.startswith(('"', "W/")):
        return value == current_etag
    try:
        return parsedate_to_datetime(value) == last_modified.replace(microsecond=0)
    except (TypeError, ValueError):
        return False


def _xml(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    return Response(
        error_body(code, message), status_code=status, headers={"Content-Type": "text/xml", **(headers or {})}
    )


class Cdn:
    """The ASGI app behind ``/cdn/{key:path}`` (route it with ``methods=["GET", "HEAD"]``)."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        flight = self.state.stats.arrive()
        try:
            response = await self._respond(scope, flight)
            await response(scope, receive, send)
        finally:
            flight.land()

    async def _respond(self, scope: Scope, flight: Flight) -> ASGIApp:
        state, stats = self.state, self.state.stats
        headers = Headers(scope=scope)
        host = headers.get("host") or "{}:{}".format(*scope["server"])
        raw_path = scope.get("raw_path") or scope["path"].encode()
        resource, params = split_query(scope["scheme"], host, raw_path, scope["query_string"])
        denied: AccessDenied | None = None
        try:
            state.verifier.verify(resource, params, time.time())
        except AccessDenied as e:
            denied = e
        plan, catalogue = state.plan, state.catalogue
        if plan.faults.latency_ms:
            stats.fault("latency")
            await anyio.sleep(plan.faults.latency_ms / 1000)
        if denied is not None:
            stats.deny(denied.cause)
            return self._count(_xml(403, denied.code, denied.message))
        key: str = scope["path_params"]["key"]
        info = await anyio.to_thread.run_sync(catalogue.file, key)
        if info is None:
            return self._count(_xml(*_ERRORS["404"]))
        plan = state.plan  # faults may have been replaced while the file was looked up; from here on, no await
        outcome = plan.next_outcome(key)
        if outcome in _ERRORS:
            stats.fault(outcome)
            status, code, message = _ERRORS[outcome]
            extra = {"Retry-After": plan.retry_after(dt.datetime.now(dt.UTC))} if status in (429, 503) else {}
            return self._count(_xml(status, code, message, extra))
        return self._file(scope, headers, info, outcome, catalogue.shape.seed, flight)

    def _file(
        self, scope: Scope, headers: Headers, info: FileInfo, outcome: Outcome, seed: int, flight: Flight
    ) -> ASGIApp:
        state, stats = self.state, self.state.stats
        faults, last_modified = state.plan.faults, state.settings.last_modified
        tag = etag(info.sha256, faults.etag_salt)
        common = {
            "Content-Type": "video/mp4",
            "ETag": tag,
            "Last-Modified": format_datetime(last_modified.astimezone(dt.UTC), usegmt=True),
            "Accept-Ranges": "bytes",
        }
        whole = ByteRange(0, info.size - 1, info.size)
        byte_range: ByteRange | None = None
        wanted = headers.get("range")
        if wanted is not None and faults.ignore_range:
            stats.fault("ignore_range")
        elif wanted is not None and _if_range_holds(headers.get("if-range", tag), tag, last_modified):
            try:
                byte_range = parse_range(wanted, info.size)
            except RangeNotSatisfiable:
                unsatisfiable = {**common, "Content-Type": "text/xml", "Content-Range": f"bytes */{info.size}"}
                return self._count(_xml(416, "InvalidRange", "The requested range is not satisfiable", unsatisfiable))
        status = 200 if byte_range is None else 206
        served = byte_range or whole
        response_headers = [*common.items(), ("Content-Length", str(served.length))]
        if byte_range is not None:
            response_headers.append(("Content-Range", byte_range.content_range()))
        mode: BodyMode = "ok"
        if outcome in BODY_FAULTS and scope["method"] != "HEAD":
            stats.fault(outcome)
            mode = "reset" if outcome == "reset" else "truncate" if outcome == "truncate" else "wrong_bytes"
        if faults.bandwidth_bytes_per_second is not None and scope["method"] != "HEAD":
            stats.fault("bandwidth")
        stats.status(status)
        return FileBody(
            status=status,
            headers=response_headers,
            seed=seed,
            key=info.key,
            byte_range=served,
            mode=mode,
            bandwidth=faults.bandwidth_bytes_per_second,
            stats=stats,
            flight=flight,
        )

    def _count(self, response: Response) -> Response:
        self.state.stats.status(response.status_code)
        return response


__all__ = ["Cdn", "etag"]
