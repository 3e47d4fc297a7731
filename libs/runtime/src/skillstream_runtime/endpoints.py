"""Commands and queries over NATS request/reply (``nats.micro``), both sides.

Server side: :class:`Endpoint` binds a subject to a handler ``async (ctx, request) -> response`` where the
request and response are msgspec Structs. The body is decoded strictly, constraints included
(``skillstream_contracts.constraints``): a decode or validation error replies ``invalid_request``.
:class:`CommandRejected` replies its own code, ``ConcurrencyError`` replies ``conflict``, a dependency that
cannot be reached (:func:`is_unavailable`: PostgreSQL down, restarting or refusing connections, a pool
acquire or query timing out, a socket error) replies ``unavailable`` (503, logged as a warning), anything
else ``internal`` (logged with its traceback, not returned). Error replies carry the micro protocol headers
``Nats-Service-Error`` / ``Nats-Service-Error-Code`` and an :class:`ErrorReply` body.

Client side: :func:`request` sends a request and decodes the reply or raises :class:`RequestError`.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import asyncpg
import msgspec
import nats.errors
import structlog
from nats.aio.client import Client
from nats.micro.request import Request
from prometheus_client import Histogram

from skillstream_contracts import ErrorCode, ErrorReply
from skillstream_runtime.errors import CommandRejected, ConcurrencyError, RequestError, raised_from

log = structlog.get_logger(__name__)

CORRELATION_HEADER = "Skillstream-Correlation-Id"
REQUEST_SECONDS = Histogram("skillstream_request_seconds", "Command/query handling time", ["endpoint", "outcome"])

T = TypeVar("T")
Handler = Callable[[Any, Any], Awaitable[Any]]


@dataclass(frozen=True, kw_only=True)
class Endpoint:
    """A command or query: ``name`` (micro endpoint name), ``subject`` (see ``skillstream_contracts.streams``),
    the request Struct type and the handler ``async (ctx, request) -> Struct | None``."""

    name: str
    subject: str
    request_type: type[Any]
    handler: Handler


UNAVAILABLE_ERRORS: tuple[type[BaseException], ...] = (
    asyncpg.PostgresConnectionError,  # ConnectionDoesNotExistError, ConnectionFailureError, rejections …
    asyncpg.exceptions.OperatorInterventionError,  # CannotConnectNowError, AdminShutdownError, query cancelled
    asyncpg.exceptions.InsufficientResourcesError,  # TooManyConnectionsError, disk full, out of memory
    OSError,  # ConnectionRefusedError, a vanished Unix socket, a reset connection
    TimeoutError,  # a pool acquire or a query that timed out (asyncio.TimeoutError is TimeoutError)
)
"""Exceptions that mean a dependency cannot be reached now, not that the request or the code is wrong."""


def is_unavailable(error: BaseException) -> bool:
    """True when ``error``, or an exception it was raised from (``__cause__``/``__context__``, a few links
    deep), is one of :data:`UNAVAILABLE_ERRORS`: the request may succeed later, answer ``unavailable``."""
    return raised_from(error, UNAVAILABLE_ERRORS, implicit=True)


def error_headers(reply: ErrorReply) -> dict[str, str]:
    return {"Nats-Service-Error": reply.detail[:200], "Nats-Service-Error-Code": str(reply.code.status)}


def make_micro_handler(endpoint: Endpoint, ctx: Any) -> Callable[[Request], Awaitable[None]]:
    """Wrap an endpoint as a ``nats.micro`` request handler that never raises."""
    decoder = msgspec.json.Decoder(endpoint.request_type)

    async def handle(req: Request) -> None:
        headers = req.headers or {}
        correlation = headers.get(CORRELATION_HEADER)
        started = time.perf_counter()
        outcome = "ok"
        with structlog.contextvars.bound_contextvars(
            endpoint=endpoint.name, subject=req.subject, correlation_id=correlation
        ):
            try:
                try:
                    request = decoder.decode(req.data)
                except (msgspec.ValidationError, msgspec.DecodeError) as e:
                    raise CommandRejected(ErrorCode.INVALID_REQUEST, str(e)) from e
                result = await endpoint.handler(ctx, request)
                body = b"" if result is None else msgspec.json.encode(result)
                await req.respond(body, headers={CORRELATION_HEADER: correlation} if correlation else None)
            except CommandRejected as e:
                outcome = e.code.value
                await _reply_error(
                    req, ErrorReply(code=e.code, detail=e.detail, errors=e.errors, correlation_id=correlation)
                )
            except ConcurrencyError as e:
                outcome = "conflict"
                await _reply_error(req, ErrorReply(code=ErrorCode.CONFLICT, detail=str(e), correlation_id=correlation))
            except Exception as e:  # noqa: BLE001 - every other failure is answered, typed by _unexpected
                outcome, reply = _unexpected(e, correlation)
                await _reply_error(req, reply)
            finally:
                REQUEST_SECONDS.labels(endpoint.name, outcome).observe(time.perf_counter() - started)

    return handle


def _unexpected(error: Exception, correlation: str | None) -> tuple[str, ErrorReply]:
    """The outcome label and reply for an exception no handler typed: ``unavailable`` when a dependency cannot
    be reached (logged as a warning), else ``internal`` (logged with its traceback; the detail stays here)."""
    if is_unavailable(error):
        log.warning("handler could not reach a dependency", error=repr(error))
        detail = "a dependency of the service is unavailable; retry later"
        return "unavailable", ErrorReply(code=ErrorCode.UNAVAILABLE, detail=detail, correlation_id=correlation)
    log.error("handler failed", exc_info=error)
    detail = "internal error; see the logs"
    return "internal", ErrorReply(code=ErrorCode.INTERNAL, detail=detail, correlation_id=correlation)


async def _reply_error(req: Request, reply: ErrorReply) -> None:
    await req.respond(msgspec.json.encode(reply), headers=error_headers(reply))


async def request(
    nc: Client,
    subject: str,
    body: Any,
    response_type: type[T],
    *,
    timeout: float = 10.0,  # noqa: ASYNC109 - seconds per NATS request, passed to nc.request
    correlation_id: str | None = None,
) -> T:
    """Send a command/query and decode the reply as ``response_type``.

    Raises:
        RequestError: the service replied with an error (``.reply.code`` says which), or no service
            answered (``unavailable``), or the reply did not decode.
    """
    headers = {CORRELATION_HEADER: correlation_id} if correlation_id else None
    try:
        msg = await nc.request(subject, msgspec.json.encode(body), timeout=timeout, headers=headers)
    except nats.errors.NoRespondersError as e:
        raise RequestError(ErrorReply(code=ErrorCode.UNAVAILABLE, detail=f"no service answers {subject}")) from e
    except nats.errors.TimeoutError as e:
        raise RequestError(ErrorReply(code=ErrorCode.UNAVAILABLE, detail=f"{subject} timed out")) from e
    if msg.headers and "Nats-Service-Error-Code" in msg.headers:
        try:
            reply = msgspec.json.decode(msg.data, type=ErrorReply)
        except msgspec.MsgspecError:
            reply = ErrorReply(code=ErrorCode.INTERNAL, detail=msg.headers.get("Nats-Service-Error", "error"))
        raise RequestError(reply, int(msg.headers["Nats-Service-Error-Code"]))
    try:
        return msgspec.json.decode(msg.data, type=response_type)
    except msgspec.MsgspecError as e:
        raise RequestError(ErrorReply(code=ErrorCode.INTERNAL, detail=f"bad reply from {subject}: {e}")) from e


__all__ = [
    "CORRELATION_HEADER",
    "UNAVAILABLE_ERRORS",
    "Endpoint",
    "error_headers",
    "is_unavailable",
    "make_micro_handler",
    "request",
]
