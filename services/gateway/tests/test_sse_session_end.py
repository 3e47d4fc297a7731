"""An event stream lives no longer than its session: it ends at the token's ``exp`` and when the token is
revoked by signing out. Served by uvicorn over a real socket (an in-memory transport would buffer the stream)
with a real NATS server; progress documents are published straight onto ``progress.jobs.<id>``."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import jwt
import msgspec
import pytest_asyncio
import uvicorn
from nats.aio.client import Client
from pydantic import SecretStr

from skillstream_contracts.jobprogress import JobProgress
from skillstream_contracts.jobreport import JobStatus
from skillstream_contracts.jobs import PROGRESS_SUBJECT_PREFIX
from skillstream_gateway.app import create_app
from skillstream_gateway.auth import CSRF_HEADER, SESSION_COOKIE
from skillstream_gateway.settings import GatewaySettings
from skillstream_gateway.tokens import mint_token

SECRET = secrets.token_urlsafe(48)
PUBLISH_EVERY = 0.05
MAX_SECONDS = 20.0


@dataclass
class Gateway:
    url: str
    stopping: asyncio.Event


@pytest_asyncio.fixture
async def gateway(nc: Client, tmp_path: Path) -> AsyncIterator[Gateway]:
    settings = GatewaySettings(
        jwt_secret=SecretStr(SECRET), data_dir=tmp_path / "gw", sse_min_interval_seconds=0.05, sse_keepalive_seconds=1.0
    )
    stopping = asyncio.Event()
    ctx = SimpleNamespace(nc=nc, definition=SimpleNamespace(version="test"), stopping=stopping)
    server = uvicorn.Server(uvicorn.Config(create_app(ctx, settings), host="127.0.0.1", port=0, log_level="warning"))
    task = asyncio.create_task(server.serve())
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        await asyncio.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield Gateway(f"http://127.0.0.1:{port}", stopping)
    finally:
        stopping.set()
        server.should_exit = True
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(task, 10)


@pytest_asyncio.fixture
async def publishing(nc: Client) -> AsyncIterator[str]:
    """A job whose progress changes every 50 ms for the whole test."""
    job_id = uuid.uuid4().hex

    async def publish() -> None:
        for sequence in range(1, 100_000):
            doc = JobProgress(job_id=job_id, kind="test.items", status=JobStatus.RUNNING, sequence=sequence)
            await nc.publish(f"{PROGRESS_SUBJECT_PREFIX}.{job_id}", msgspec.json.encode(doc))
            await asyncio.sleep(PUBLISH_EVERY)

    task = asyncio.create_task(publish())
    yield job_id
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


@dataclass
class Received:
    lines: list[tuple[float, str]] = field(default_factory=list)
    ended_at: float | None = None

    def progress_after(self, moment: float) -> list[str]:
        return [line for at, line in self.lines if at > moment and line.startswith("event: progress")]

    def progress(self) -> int:
        return sum(1 for _, line in self.lines if line.startswith("event: progress"))


async def read_stream(client: httpx.AsyncClient, received: Received, **kwargs: Any) -> None:
    async with client.stream("GET", "/api/events", **kwargs) as response:
        assert response.status_code == 200, await response.aread()
        async for line in response.aiter_lines():
            received.lines.append((time.time(), line))
    received.ended_at = time.time()


def token(ttl: int) -> str:
    return mint_token(SECRET, subject="dev-admin", roles=["admin"], ttl_seconds=ttl)


async def test_the_stream_ends_at_the_tokens_expiry(gateway: Gateway, publishing: str) -> None:
    short = token(3)
    exp = jwt.decode(short, options={"verify_signature": False})["exp"]
    received = Received()
    async with httpx.AsyncClient(base_url=gateway.url, timeout=MAX_SECONDS) as c:
        reading = asyncio.create_task(read_stream(c, received, headers={"Authorization": f"Bearer {short}"}))
        done, _ = await asyncio.wait({reading}, timeout=exp - time.time() + 4)
        reading.cancel()
    late = received.progress_after(exp + 0.2)
    print(f"progress events: {received.progress()}, after expiry: {len(late)}")
    assert received.progress() >= 5, "the stream delivered while the token was valid"
    assert done, f"the stream was still open 4 s after its token expired ({len(late)} events after expiry)"
    assert not late
    assert received.ended_at is not None
    assert received.ended_at < exp + 1.5
    assert (received.lines[-2][1] if received.lines[-1][1] == "" else received.lines[-1][1]) == ": session expired"


async def test_signing_out_ends_the_open_stream(gateway: Gateway, publishing: str) -> None:
    session = token(600)
    received = Received()
    async with httpx.AsyncClient(base_url=gateway.url, timeout=MAX_SECONDS) as c:
        r = await c.post("/auth/session", headers={"Authorization": f"Bearer {session}"})
        assert r.status_code == 200
        assert c.cookies.get(SESSION_COOKIE) == session
        reading = asyncio.create_task(read_stream(c, received))  # the cookie, as a browser's EventSource
        deadline = time.monotonic() + 10
        while received.progress() < 3:
            assert time.monotonic() < deadline, "no progress on the stream"
            await asyncio.sleep(0.05)
        async with httpx.AsyncClient(
            base_url=gateway.url, timeout=MAX_SECONDS, cookies={SESSION_COOKIE: session}
        ) as other:
            r = await other.delete("/auth/session", headers={CSRF_HEADER: "1"})  # from another tab
        assert r.status_code == 204, r.text
        signed_out = time.time()
        done, _ = await asyncio.wait({reading}, timeout=5)
        reading.cancel()
        assert done, "the stream of a revoked session stayed open"
        assert not received.progress_after(signed_out + 0.5)
        assert any(line == ": session revoked" for _, line in received.lines)
        r = await asyncio.wait_for(c.get("/api/events"), 10)  # a refusal, not a stream
        assert r.status_code == 401
        assert r.json()["type"] == "urn:skillstream:problem:unauthorized"


async def test_a_token_past_its_exp_opens_no_stream(gateway: Gateway) -> None:
    now = int(time.time())
    claims = {"sub": "dev-admin", "roles": ["admin"], "iat": now - 60, "exp": now - 5}
    claims |= {"iss": "skillstream", "aud": "skillstream", "jti": uuid.uuid4().hex}
    stale = jwt.encode(claims, SECRET, algorithm="HS256")  # within the verifier's 30 s clock-skew leeway
    async with httpx.AsyncClient(base_url=gateway.url, timeout=MAX_SECONDS) as c:
        r = await asyncio.wait_for(c.get("/api/events", headers={"Authorization": f"Bearer {stale}"}), 10)
    assert r.status_code == 401
    assert "expired" in r.json()["detail"]
