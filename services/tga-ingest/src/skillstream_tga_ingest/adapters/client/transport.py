"""HTTP for the TGA client: politeness limits, retries, a streamed size cap and release file downloads.

- Politeness: at most ``max_concurrency`` requests in flight (``asyncio.Semaphore``) and at most
  ``requests_per_second`` started per second (``aiolimiter.AsyncLimiter``, spaced evenly: TGA publishes no rate
  limit and third-party notes suggest ~250 ms between calls, TGA-FORMAT.md §1.4).
- Retries (``stamina``, exponential backoff with jitter, ``retry_*`` settings): HTTP 5xx without a SOAP fault,
  429 (waiting ``Retry-After`` when sent), connect/read errors, timeouts, unreadable or truncated bodies — every
  :class:`~skillstream_tga_ingest.adapters.client.errors.TgaError` whose ``transient`` is set. SOAP faults (validation,
  security, others) are answers, never retried.
- Size cap: a body is streamed and reading stops past the limit (``max_reply_bytes`` for SOAP replies,
  ``max_file_bytes`` for files), so an oversized answer never sits whole in memory.
- Logs are structlog lines bound to ``operation`` and ``code``; request bodies (the SOAP envelope holds the
  password) are never logged.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import NamedTuple, TypeVar

import httpx
import stamina
import structlog
from aiolimiter import AsyncLimiter

from skillstream_tga_ingest.adapters.client.errors import (
    TgaAuthError,
    TgaError,
    TgaFileError,
    TgaMessageTooLarge,
    TgaTransportError,
)
from skillstream_tga_ingest.adapters.client.settings import TgaSettings

T = TypeVar("T")
_log = structlog.get_logger(__name__)


class _OverLimit(Exception):
    def __init__(self, received: int) -> None:
        self.received = received


class Reply(NamedTuple):
    """One HTTP answer read whole: status, body (at most the limit asked for), headers."""

    status: int
    body: bytes
    headers: httpx.Headers
    declared: int | None  # Content-Length of an unencoded body


def _retry_after(headers: httpx.Headers) -> float | None:
    value = headers.get("Retry-After", "").strip()
    return float(value) if value.replace(".", "", 1).isdigit() else None  # HTTP-date form: use our backoff


class PoliteHttp:
    """One ``httpx.AsyncClient`` (``transport`` replaces its network transport, e.g. ``httpx.MockTransport``)
    behind the concurrency and rate limits, with the retry policy of the module docstring."""

    def __init__(self, settings: TgaSettings, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._settings = settings
        self._http = httpx.AsyncClient(
            transport=transport,
            timeout=httpx.Timeout(settings.timeout_seconds),
            headers={"User-Agent": "skillstream-tga-ingest"},
        )
        self._slots = asyncio.Semaphore(settings.max_concurrency)
        self._rate = AsyncLimiter(1, 1.0 / settings.requests_per_second)

    async def aclose(self) -> None:
        """Close the HTTP connections."""
        await self._http.aclose()

    async def download(self, url: str, relative_path: str, *, expected_size: int | None) -> bytes:
        """GET a release file at ``url`` (redirects followed), retried; ``relative_path`` names it in errors.

        Raises:
            TgaFileError: declared or served size over ``max_file_bytes``, 404 or other 4xx, body shorter than
                its Content-Length or than ``expected_size`` (truncated: retried first) or longer than
                ``expected_size``.
            TgaTransportError: 5xx / 429 / network / timeout after the retries.
        """
        limit = self._settings.max_file_bytes
        if expected_size is not None and expected_size > limit:
            raise TgaFileError(
                f"declared size {expected_size} B is over max_file_bytes {limit}", component=relative_path
            )

        async def once() -> bytes:
            reply = await self.exchange("GET", url, "download", relative_path, limit, follow_redirects=True)
            if reply.status == 200:
                return _check_file(reply, relative_path, expected_size)
            raise_for_status(reply, "download", relative_path)
            raise TgaFileError(f"HTTP {reply.status}", component=relative_path)

        return await self.retrying(once)

    async def retrying(self, once: Callable[[], Awaitable[T]]) -> T:
        """``once()`` until it succeeds, raises a non-transient error or the ``retry_*`` settings run out; the
        error raised carries ``attempts``."""
        s = self._settings
        attempts = 0
        try:
            async for attempt in stamina.retry_context(
                on=self._retry_hook,
                attempts=s.retry_attempts,
                timeout=None,
                wait_initial=s.retry_initial_delay,
                wait_max=s.retry_max_delay,
                wait_jitter=s.retry_initial_delay,
            ):
                with attempt:
                    attempts += 1
                    return await once()
        except TgaError as exc:
            exc.attempts = attempts
            raise
        raise AssertionError("stamina ended without a result or an error")  # pragma: no cover

    def _retry_hook(self, exc: Exception) -> bool | float:
        if not isinstance(exc, TgaError) or not exc.transient:
            return False
        _log.warning("tga request failed (transient)", operation=exc.operation, code=exc.component, why=exc.reason)
        if isinstance(exc, TgaTransportError) and exc.retry_after is not None:
            return min(exc.retry_after, self._settings.retry_after_max)
        return True

    async def exchange(
        self,
        method: str,
        url: str,
        operation: str,
        component: str | None,
        limit: int,
        *,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
        follow_redirects: bool = False,
    ) -> Reply:
        """One request with the body streamed up to ``limit`` bytes, inside the concurrency and rate limits.

        Raises:
            TgaMessageTooLarge: (``download``: TgaFileError) the body is over ``limit``.
            TgaTransportError: (transient; ``download``: TgaFileError) timeout, network error, body shorter
                than its Content-Length.
        """
        log = _log.bind(operation=operation, code=component)
        async with self._slots, self._rate:
            try:
                async with self._http.stream(
                    method, url, content=content, headers=headers, follow_redirects=follow_redirects
                ) as response:
                    raw_length = response.headers.get("Content-Length", "")
                    declared = int(raw_length) if raw_length.isdigit() else None
                    if declared is not None and declared > limit and response.status_code == 200:
                        raise _OverLimit(declared)
                    body = bytearray()
                    async for piece in response.aiter_bytes():
                        body += piece
                        if len(body) > limit:
                            raise _OverLimit(len(body))
                    if response.headers.get("Content-Encoding", "identity") != "identity":
                        declared = None  # Content-Length counts encoded bytes; h11 checks those itself
                    reply = Reply(response.status_code, bytes(body), response.headers, declared)
            except _OverLimit as exc:
                if operation == "download":
                    raise TgaFileError(f"file over max_file_bytes {limit}", component=component) from None
                reason = f"reply over max_reply_bytes {limit}"
                raise TgaMessageTooLarge(
                    reason, operation=operation, component=component, limit=limit, received=exc.received
                ) from None
            except httpx.TimeoutException as exc:
                reason = f"timed out ({type(exc).__name__})"
                raise TgaTransportError(reason, operation=operation, component=component, transient=True) from exc
            except httpx.RemoteProtocolError as exc:
                if operation == "download":
                    raise TgaFileError(f"truncated ({exc})", component=component, transient=True) from exc
                reason = f"connection broke ({exc})"
                raise TgaTransportError(reason, operation=operation, component=component, transient=True) from exc
            except httpx.TransportError as exc:
                reason = f"network error {type(exc).__name__} ({exc})"
                raise TgaTransportError(reason, operation=operation, component=component, transient=True) from exc
        log.debug("tga reply", status=reply.status, size=len(reply.body))
        if reply.declared is not None and len(reply.body) < reply.declared:
            reason = f"body truncated: {len(reply.body)} of {reply.declared} B (Content-Length)"
            if operation == "download":
                raise TgaFileError(reason, component=component, transient=True)
            raise TgaTransportError(reason, operation=operation, component=component, transient=True)
        return reply


def raise_for_status(reply: Reply, operation: str, component: str | None) -> None:
    """Raise the error an HTTP status other than 200 means: 401/403 auth, 429/5xx transient (with
    ``Retry-After`` seconds), 404 of a download a missing file; other statuses are left to the caller."""
    status = reply.status
    if status in {401, 403}:
        raise TgaAuthError(f"credentials refused (HTTP {status})", operation=operation, component=component)
    if status == 429 or status >= 500:
        retry_after = _retry_after(reply.headers)
        raise TgaTransportError(
            f"HTTP {status}",
            operation=operation,
            component=component,
            status=status,
            transient=True,
            retry_after=retry_after,
        )
    if status == 404 and operation == "download":
        raise TgaFileError("not found (HTTP 404)", component=component)


def _check_file(reply: Reply, relative_path: str, expected_size: int | None) -> bytes:
    size = len(reply.body)
    if expected_size is not None and size < expected_size:
        reason = f"truncated: {size} of {expected_size} B (ReleaseFile Size)"
        raise TgaFileError(reason, component=relative_path, transient=True)
    if expected_size is not None and size > expected_size:
        raise TgaFileError(f"{size} B, ReleaseFile Size says {expected_size}", component=relative_path)
    return reply.body


__all__ = ["PoliteHttp", "Reply", "raise_for_status"]
