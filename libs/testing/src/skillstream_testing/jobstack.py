"""A live job stack for end-to-end tests, the browser test and the benchmarks.

Real processes: the orchestrator and the gateway (:class:`ServiceProcess`, so a test can SIGKILL them), on
a real nats-server and PostgreSQL; the test-only job kind ``test.items`` (:mod:`skillstream_testing.jobkit`)
runs in the test's own event loop with a real :class:`~skillstream_runtime.jobs.JobWorker`.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import nats
from nats.aio.client import Client

from skillstream_contracts.registries import REGISTRIES
from skillstream_gateway.tokens import mint_token
from skillstream_runtime.eventstore import EventStore, ensure_stream
from skillstream_runtime.jobs import JobWorker, JobWorkerSettings, get_kind
from skillstream_testing import jobkit
from skillstream_testing.services import ServiceProcess


@dataclass
class JobStack:
    """Handles on the running stack; ``token(role)`` mints a bearer token the gateway accepts."""

    nats_url: str
    database_url: str
    jwt_secret: str
    nc: Client
    orchestrator: ServiceProcess
    gateway: ServiceProcess
    workers: list[asyncio.Task[None]] = field(default_factory=list)

    def token(self, role: str = "admin", subject: str | None = None, ttl: int = 3600) -> str:
        return mint_token(self.jwt_secret, subject=subject or f"test-{role}", roles=[role], ttl_seconds=ttl)

    def client(self, role: str = "admin", **kw: Any) -> httpx.AsyncClient:
        """An HTTP client of the gateway with a bearer token of ``role``."""
        return httpx.AsyncClient(
            base_url=self.gateway.url, headers={"Authorization": f"Bearer {self.token(role)}"}, timeout=30, **kw
        )

    async def wait_job(
        self, client: httpx.AsyncClient, job_id: str, until: Callable[[dict[str, Any]], bool], within: float = 60
    ) -> dict[str, Any]:
        """Poll ``GET /api/jobs/{id}`` until ``until(detail)`` holds; see :func:`poll_job`."""
        return await poll_job(client, job_id, until, within)


async def poll_job(
    client: httpx.AsyncClient, job_id: str, until: Callable[[dict[str, Any]], bool], within: float
) -> dict[str, Any]:
    """Poll the gateway's ``GET /api/jobs/{id}`` until ``until(detail)`` holds; returns the detail.

    Raises:
        TimeoutError: it did not hold within ``within`` seconds (the message has the last detail).
    """
    deadline = time.monotonic() + within
    detail: dict[str, Any] = {}
    while time.monotonic() < deadline:
        r = await client.get(f"/api/jobs/{job_id}")
        if r.status_code == 200:
            detail = r.json()
            if until(detail):
                return detail
        await asyncio.sleep(0.2)
    raise TimeoutError(f"job {job_id} did not reach the state in {within}s; last: {detail}")


async def terminal_reports(stack: JobStack, job_id: str) -> dict[str, int]:
    """How many terminal item reports the ``TESTWORK`` stream holds per item of ``job_id`` (the owner's own
    record, read back from JetStream: the truth, whatever the worker's process saw before it died)."""
    store = EventStore(stack.nc, {**REGISTRIES, jobkit.TESTWORK.name: jobkit.TEST_EVENTS})
    counts: dict[str, int] = {}
    for e in await store.load(jobkit.TESTWORK, jobkit.TESTWORK.aggregate_subject("job", job_id)):
        if isinstance(e.event, jobkit.ItemReported) and e.event.outcome != "processing":
            counts[e.event.item] = counts.get(e.event.item, 0) + 1
    return counts


def job_ended(detail: dict[str, Any]) -> bool:
    """The job has ended and its progress document says so too."""
    return (
        detail["job"]["status"] in ("completed", "failed", "cancelled")
        and detail["progress"]["status"] == detail["job"]["status"]
    )


async def start_worker(stack: JobStack, *, concurrency: int = 2, ack_wait: float = 3.0) -> asyncio.Task[None]:
    """Start one more ``test.items`` worker (a replica) in this event loop."""
    store = EventStore(stack.nc, {**REGISTRIES, jobkit.TESTWORK.name: jobkit.TEST_EVENTS})
    worker = JobWorker(
        stack.nc,
        store,
        jobkit.SPEC,
        jobkit.TESTWORK,
        jobkit.handler(),
        jobkit.lifecycle_event,
        JobWorkerSettings(concurrency=concurrency, ack_wait=ack_wait, fetch_timeout=0.5),
    )
    task = asyncio.create_task(worker.run())
    stack.workers.append(task)
    while await get_kind(stack.nc, jobkit.KIND) is None:  # registered: the kind can be requested
        if task.done():
            task.result()
        await asyncio.sleep(0.05)
    return task


@contextlib.asynccontextmanager
async def job_stack(
    nats_url: str, database_url: str, tmp_path: Path, *, gateway_env: dict[str, str] | None = None
) -> AsyncIterator[JobStack]:
    """Start orchestrator, gateway and a ``test.items`` worker; stop them all on exit."""
    nc = await nats.connect(nats_url)
    await ensure_stream(nc, jobkit.TESTWORK)
    secret = secrets.token_urlsafe(48)
    common = {"NATS_URL": nats_url, "DATABASE_URL": database_url, "DATA_DIR": str(tmp_path / "data")}
    orchestrator = ServiceProcess(
        "orchestrator",
        {**common, "JOB_REPORT_STREAMS": f'["{jobkit.TESTWORK.name}"]', "PROGRESS_PUBLISH_INTERVAL": "0.05"},
        tmp_path / "orchestrator.log",
    )
    gateway = ServiceProcess(
        "gateway",
        {**common, "JWT_SECRET": secret, "GATEWAY_DEV_LOGIN": "true", **(gateway_env or {})},
        tmp_path / "gateway.log",
    )
    stack = JobStack(
        nats_url=nats_url,
        database_url=database_url,
        jwt_secret=secret,
        nc=nc,
        orchestrator=orchestrator,
        gateway=gateway,
    )
    try:
        await asyncio.gather(asyncio.to_thread(orchestrator.start), asyncio.to_thread(gateway.start))
        await start_worker(stack)
        yield stack
    finally:
        for t in stack.workers:
            t.cancel()
        await asyncio.gather(*stack.workers, return_exceptions=True)
        await asyncio.gather(asyncio.to_thread(gateway.stop), asyncio.to_thread(orchestrator.stop))
        await nc.close()


__all__ = ["JobStack", "job_ended", "job_stack", "poll_job", "start_worker", "terminal_reports"]
