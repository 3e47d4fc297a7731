"""A live TGA stack for end-to-end tests, the browser test and the benchmark: the TGA sandbox, the
orchestrator, tga-ingest and the gateway, each a real process on a real nats-server and PostgreSQL.

The sandbox serves the real catalogue and XML from ``shared/real-data/tga``; :meth:`TgaStack.set_faults`
switches its faults through its control API (``PUT /_sandbox/faults``).
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from skillstream_gateway.tokens import mint_token
from skillstream_testing.jobstack import job_ended, poll_job
from skillstream_testing.services import ServiceProcess

SERVICE_PATH = "/Deewr.Tga.WebServices/TrainingComponentService.svc/Training"
NO_FAULTS: dict[str, Any] = {
    "latency_ms": 0,
    "soap_fault_codes": [],
    "http_500_codes": [],
    "http_500_every_nth": 0,
    "truncated_files": [],
    "message_too_large_pad_bytes": 0,
}


@dataclass
class TgaStack:
    """Handles on the running processes; ``token(role)`` mints a bearer token the gateway accepts."""

    nats_url: str
    database_url: str
    jwt_secret: str
    sandbox: ServiceProcess
    orchestrator: ServiceProcess
    tga_ingest: ServiceProcess
    gateway: ServiceProcess

    @property
    def gateway_url(self) -> str:
        return self.gateway.url

    @property
    def sandbox_url(self) -> str:
        return self.sandbox.url

    def token(self, role: str = "admin", subject: str | None = None, ttl: int = 3600) -> str:
        return mint_token(self.jwt_secret, subject=subject or f"test-{role}", roles=[role], ttl_seconds=ttl)

    def client(self, role: str = "admin", **kw: Any) -> httpx.AsyncClient:
        """An HTTP client of the gateway with a bearer token of ``role``."""
        return httpx.AsyncClient(
            base_url=self.gateway.url, headers={"Authorization": f"Bearer {self.token(role)}"}, timeout=30, **kw
        )

    async def set_faults(self, **faults: Any) -> dict[str, Any]:
        """Replace the sandbox's faults (keys as its README: ``latency_ms``, ``soap_fault_codes`` …); no
        argument switches every fault off. The control API merges, so every other fault is sent as off."""
        async with httpx.AsyncClient(base_url=self.sandbox.url, timeout=10) as http:
            r = await http.put("/_sandbox/faults", json={**NO_FAULTS, **faults})
            r.raise_for_status()
            return dict(r.json())

    async def sandbox_stats(self) -> dict[str, Any]:
        async with httpx.AsyncClient(base_url=self.sandbox.url, timeout=10) as http:
            r = await http.get("/_sandbox/stats")
            r.raise_for_status()
            return dict(r.json())

    async def wait_job(
        self,
        client: httpx.AsyncClient,
        job_id: str,
        until: Callable[[dict[str, Any]], bool] | None = None,
        within: float = 120,
    ) -> dict[str, Any]:
        """Poll ``GET /api/jobs/{id}`` until ``until(detail)`` holds (default: the job and its progress
        ended); see :func:`~skillstream_testing.jobstack.poll_job`."""
        return await poll_job(client, job_id, until or job_ended, within)

    async def run_job(
        self, client: httpx.AsyncClient, kind: str, parameters: dict[str, Any], within: float = 120
    ) -> dict[str, Any]:
        """Start a job through the gateway and wait for its end; returns the final detail."""
        r = await client.post("/api/jobs", json={"kind": kind, "parameters": parameters})
        assert r.status_code in (200, 201), r.text
        return await self.wait_job(client, r.json()["job"]["job_id"], within=within)


@contextlib.asynccontextmanager
async def tga_stack(
    nats_url: str,
    database_url: str,
    tmp_path: Path,
    *,
    tga_env: dict[str, str] | None = None,
    sandbox_env: dict[str, str] | None = None,
) -> AsyncIterator[TgaStack]:
    """Start the sandbox, orchestrator, tga-ingest and gateway; stop them all on exit. ``tga_env`` adds
    settings to tga-ingest (e.g. ``TGA_RETRY_ATTEMPTS``)."""
    secret = secrets.token_urlsafe(48)
    common = {"NATS_URL": nats_url, "DATABASE_URL": database_url, "DATA_DIR": str(tmp_path / "data")}
    sandbox = ServiceProcess(
        "tga-sandbox", {**(sandbox_env or {})}, tmp_path / "tga-sandbox.log", ready_path="/healthz"
    )
    base = sandbox.url
    orchestrator = ServiceProcess(
        "orchestrator",
        {**common, "JOB_REPORT_STREAMS": '["TGA"]', "PROGRESS_PUBLISH_INTERVAL": "0.05"},
        tmp_path / "orchestrator.log",
    )
    tga = ServiceProcess(
        "tga-ingest",
        {
            **common,
            "TGA_ENVIRONMENT": "local",
            "TGA_ENDPOINT": base + SERVICE_PATH,
            "TGA_FILES_BASE_URL": base,
            "TGA_REQUESTS_PER_SECOND": "500",
            "TGA_MAX_CONCURRENCY": "8",
            "TGA_RETRY_INITIAL_DELAY": "0.05",
            "TGA_RETRY_MAX_DELAY": "0.2",
            "TGA_JOB_ACK_WAIT": "5",
            **(tga_env or {}),
        },
        tmp_path / "tga-ingest.log",
    )
    gateway = ServiceProcess(
        "gateway", {**common, "JWT_SECRET": secret, "GATEWAY_DEV_LOGIN": "true"}, tmp_path / "gateway.log"
    )
    stack = TgaStack(nats_url, database_url, secret, sandbox, orchestrator, tga, gateway)
    procs = (sandbox, orchestrator, tga, gateway)
    try:
        await asyncio.to_thread(sandbox.start)
        await asyncio.gather(*(asyncio.to_thread(p.start) for p in procs[1:]))
        yield stack
    finally:
        await asyncio.gather(*(asyncio.to_thread(p.stop) for p in reversed(procs)))


__all__ = ["SERVICE_PATH", "TgaStack", "tga_stack"]
