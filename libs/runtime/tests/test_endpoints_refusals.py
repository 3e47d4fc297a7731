"""Endpoints on a real nats-server: a request breaking a contract's constraints is refused with
``invalid_request`` before its handler runs (a client that bypasses the gateway included), and a handler
whose database cannot be reached answers ``unavailable`` (503), never ``internal``."""

from __future__ import annotations

from typing import Any

import asyncpg
import msgspec
import pytest
from nats.micro import add_service

from skillstream_contracts import ErrorCode, ErrorReply
from skillstream_contracts.jobs import GetJob, ListJobs, RequestJob
from skillstream_contracts.media_queries import GetBulkStatus
from skillstream_contracts.tga_queries import ListAvailable
from skillstream_runtime.endpoints import Endpoint, is_unavailable, make_micro_handler

SUBJECT = "cmd.refusals.test"


async def _serve(nc: Any, request_type: type[Any], handler: Any) -> Any:
    svc = await add_service(nc, name="refusals", version="0.0.1")
    endpoint = Endpoint(name="ep", subject=SUBJECT, request_type=request_type, handler=handler)
    await svc.add_endpoint(name="ep", subject=SUBJECT, handler=make_micro_handler(endpoint, None))
    return svc


async def _raw(nc: Any, body: bytes) -> tuple[int | None, ErrorReply | None]:
    msg = await nc.request(SUBJECT, body, timeout=5)
    if msg.headers and "Nats-Service-Error-Code" in msg.headers:
        return int(msg.headers["Nats-Service-Error-Code"]), msgspec.json.decode(msg.data, type=ErrorReply)
    return None, None


REFUSED = [
    (RequestJob, {"kind": "tga.sync", "requested_by": "ops", "idempotency_key": "a\u0000b"}),
    (RequestJob, {"kind": "tga.sync", "requested_by": "ops\u0000"}),
    (RequestJob, {"kind": "tga.sync", "requested_by": "ops", "parameters": {"codes": ["BSB\u0000"]}}),
    (RequestJob, {"kind": "tga.sync", "requested_by": "ops", "parameters": {"k\u0001": 1}}),
    (RequestJob, {"kind": "tga.sync", "requested_by": "ops", "parameters": {"n": 2**64}}),
    (RequestJob, {"kind": "tga.sync", "requested_by": "ops", "priority": 2**40}),
    (RequestJob, {"kind": "tga.sync", "requested_by": "x" * 201}),
    (ListJobs, {"kind": "\u0000"}),
    (ListJobs, {"requested_by": "a\u0000"}),
    (GetJob, {"job_id": "a\nb"}),
    (ListAvailable, {"component_type": "unit", "search": "\u0000"}),
    (ListAvailable, {"component_type": "unit", "page": 99999999999999999999}),
    (GetBulkStatus, {"courses_offset": 9223372036854775808}),
]


@pytest.mark.parametrize(("request_type", "body"), REFUSED)
async def test_a_request_breaking_the_constraints_is_refused_before_the_handler(
    nc: Any, request_type: type[Any], body: dict[str, Any]
) -> None:
    called: list[Any] = []

    async def handler(ctx: Any, req: Any) -> None:
        called.append(req)

    svc = await _serve(nc, request_type, handler)
    try:
        status, reply = await _raw(nc, msgspec.json.encode(body))
    finally:
        await svc.stop()
    assert reply is not None
    assert reply.code is ErrorCode.INVALID_REQUEST, reply
    assert status == 400
    assert called == []


async def test_a_valid_request_reaches_the_handler(nc: Any) -> None:
    called: list[Any] = []

    async def handler(ctx: Any, req: Any) -> None:
        called.append(req)

    svc = await _serve(nc, RequestJob, handler)
    body = {"kind": "tga.sync", "requested_by": "ops", "parameters": {"note": "line one\nline two\ttab"}}
    try:
        status, reply = await _raw(nc, msgspec.json.encode(body))
    finally:
        await svc.stop()
    assert (status, reply) == (None, None)
    assert [c.parameters for c in called] == [body["parameters"]]


def _raise(error: BaseException) -> Any:
    async def handler(ctx: Any, req: Any) -> None:
        raise error

    return handler


class _Wrapped(Exception):
    pass


def _wrapped_refusal() -> BaseException:
    try:
        try:
            raise ConnectionRefusedError(111, "Connection refused")
        except OSError as e:
            raise _Wrapped("could not read the read model") from e
    except _Wrapped as outer:
        return outer


UNREACHABLE = [
    asyncpg.exceptions.CannotConnectNowError("the database system is starting up"),
    asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
    asyncpg.exceptions.AdminShutdownError("terminating connection due to administrator command"),
    asyncpg.exceptions.TooManyConnectionsError("sorry, too many clients already"),
    ConnectionRefusedError(111, "Connection refused"),
    FileNotFoundError(2, "No such file or directory: '/tmp/.s.PGSQL.5432'"),
    TimeoutError(),
    _wrapped_refusal(),
]


@pytest.mark.parametrize("error", UNREACHABLE, ids=lambda e: type(e).__name__)
async def test_a_database_that_cannot_be_reached_answers_unavailable(nc: Any, error: BaseException) -> None:
    assert is_unavailable(error)
    svc = await _serve(nc, ListJobs, _raise(error))
    try:
        status, reply = await _raw(nc, b"{}")
    finally:
        await svc.stop()
    assert reply is not None
    assert reply.code is ErrorCode.UNAVAILABLE, reply
    assert status == 503


async def test_a_bug_still_answers_internal(nc: Any) -> None:
    assert not is_unavailable(ZeroDivisionError("x"))
    svc = await _serve(nc, ListJobs, _raise(ZeroDivisionError("secret detail")))
    try:
        status, reply = await _raw(nc, b"{}")
    finally:
        await svc.stop()
    assert reply is not None
    assert reply.code is ErrorCode.INTERNAL
    assert status == 500
    assert "secret" not in reply.detail
