"""The service host against real NATS and PostgreSQL: typed replies, replicas sharing a queue group,
health/readiness/metrics, migrations at start-up, graceful stop."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import msgspec
import pytest
from pydantic import SecretStr

from skillstream_contracts import ErrorCode
from skillstream_contracts.streams import TRAINING, command_subject
from skillstream_runtime.endpoints import Endpoint, request
from skillstream_runtime.errors import CommandRejected, ConcurrencyError, RequestError
from skillstream_runtime.host import ServiceDefinition, health_app, start_service, stop_service
from skillstream_runtime.settings import Settings


class Greet(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    mode: str = "ok"


class Greeting(msgspec.Struct, frozen=True, kw_only=True):
    text: str
    replica: str


def make_definition(replica: str, migrations: Path) -> ServiceDefinition:
    async def greet(ctx: Any, req: Greet) -> Greeting:
        if req.mode == "reject":
            raise CommandRejected(ErrorCode.NOT_FOUND, f"no member called {req.name}")
        if req.mode == "conflict":
            raise ConcurrencyError("training.program.x", 3)
        if req.mode == "bug":
            raise ZeroDivisionError("secret detail")
        return Greeting(text=f"hello {req.name}", replica=replica)

    return ServiceDefinition(
        name="greeter",
        description="test service",
        stream=TRAINING,
        migrations=migrations,
        endpoints=[
            Endpoint(name="greet", subject=command_subject("greeter", "greet"), request_type=Greet, handler=greet)
        ],
    )


@pytest.fixture
def migrations(tmp_path: Path) -> Path:
    d = tmp_path / "migrations"
    d.mkdir()
    (d / "0001_schema.sql").write_text("CREATE SCHEMA IF NOT EXISTS greeter; CREATE TABLE greeter.t (x int);")
    return d


async def test_endpoints_replicas_health_and_graceful_stop(
    nats_url: str, database_url: str, nc: Any, migrations: Path
) -> None:
    settings = Settings(nats_url=nats_url, database_url=SecretStr(database_url), shutdown_grace=5)
    a = await start_service(make_definition("a", migrations), settings)
    b = await start_service(make_definition("b", migrations), settings)
    try:
        subject = command_subject("greeter", "greet")
        replies = await asyncio.gather(*(request(nc, subject, Greet(name=f"n{i}"), Greeting) for i in range(60)))
        assert all(r.text.startswith("hello n") for r in replies)
        by_replica = Counter(r.replica for r in replies)
        assert set(by_replica) == {"a", "b"}, by_replica  # one queue group: both replicas take requests

        with pytest.raises(RequestError) as rejected:
            await request(nc, subject, Greet(name="zed", mode="reject"), Greeting)
        assert rejected.value.code is ErrorCode.NOT_FOUND
        assert rejected.value.status == 404
        with pytest.raises(RequestError) as conflict:
            await request(nc, subject, Greet(name="x", mode="conflict"), Greeting)
        assert conflict.value.code is ErrorCode.CONFLICT
        with pytest.raises(RequestError) as bug:
            await request(nc, subject, Greet(name="x", mode="bug"), Greeting)
        assert bug.value.code is ErrorCode.INTERNAL
        assert "secret" not in bug.value.reply.detail
        with pytest.raises(RequestError) as invalid:
            await request(nc, subject, {"nom": "x"}, Greeting)
        assert invalid.value.code is ErrorCode.INVALID_REQUEST
        assert "name" in invalid.value.reply.detail

        # Migrations ran once although two replicas started.
        conn = await asyncpg.connect(database_url)
        try:
            applied = await conn.fetch("SELECT component, version FROM skillstream.schema_migrations")
        finally:
            await conn.close()
        assert ("greeter", 1) in {tuple(r) for r in applied}

        transport = httpx.ASGITransport(app=health_app(a))
        async with httpx.AsyncClient(transport=transport, base_url="http://svc") as http:
            assert (await http.get("/healthz")).json()["status"] == "ok"
            ready = await http.get("/readyz")
            assert ready.status_code == 200
            assert ready.json()["checks"] == {
                "nats": True,
                "postgres": True,
                "workers": True,
            }
            metrics = (await http.get("/metrics")).text
            assert 'skillstream_request_seconds_count{endpoint="greet",outcome="ok"}' in metrics
    finally:
        await stop_service(a)
    # After a graceful stop the other replica still answers every request.
    replies = await asyncio.gather(
        *(request(nc, command_subject("greeter", "greet"), Greet(name="y"), Greeting) for _ in range(10))
    )
    assert {r.replica for r in replies} == {"b"}
    await stop_service(b)
    with pytest.raises(RequestError) as gone:
        await request(nc, command_subject("greeter", "greet"), Greet(name="y"), Greeting, timeout=1)
    assert gone.value.code is ErrorCode.UNAVAILABLE
