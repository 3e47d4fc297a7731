"""A service stops within ``SHUTDOWN_GRACE`` on SIGTERM, whatever state its connections are in.

Real service processes on a real nats-server and PostgreSQL: the NATS server is killed first (a drain then
has nobody to talk to), then the service gets SIGTERM and must be gone within the grace plus a small margin
for the interpreter's own exit. The stubborn test service adds a task that ignores cancellation and one
that holds the event loop for seconds at a time.
"""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

import pytest

from skillstream_contracts.media_queries import KIND_BULK_DOWNLOAD
from skillstream_devstack.embedded import EmbeddedNats
from skillstream_testing.jobstack import poll_job
from skillstream_testing.mediastack import media_stack
from skillstream_testing.services import ServiceProcess

GRACE = 3.0  # SHUTDOWN_GRACE given to the services, seconds
MARGIN = 1.5  # seconds allowed beyond it: process exit, and this test's polling


def _start(name: str, nats: EmbeddedNats, database_url: str, tmp_path: Path, **env: str) -> ServiceProcess:
    module = "skillstream_testing.stubborn" if name == "stubborn" else None
    common = {"NATS_URL": nats.url, "DATABASE_URL": database_url, "DATA_DIR": str(tmp_path / "data")}
    service = ServiceProcess(
        name, {**common, "SHUTDOWN_GRACE": str(GRACE), **env}, tmp_path / f"{name}.log", module=module
    )
    return service.start()


def _stop_timed(service: ServiceProcess, *, second_signal_after: float | None = None) -> tuple[int | None, float]:
    """SIGTERM (and another one ``second_signal_after`` seconds later); the exit status and the seconds it
    took, or None when it still ran after 3 × :data:`GRACE`."""
    assert service.proc is not None
    started = time.monotonic()
    service.proc.send_signal(signal.SIGTERM)
    second_sent = second_signal_after is None
    while time.monotonic() - started < 3 * GRACE:
        if service.proc.poll() is not None:
            return service.proc.returncode, time.monotonic() - started
        if not second_sent and time.monotonic() - started >= (second_signal_after or 0):
            service.proc.send_signal(signal.SIGTERM)
            second_sent = True
        time.sleep(0.02)
    service.kill()
    return None, time.monotonic() - started


def _nats_gone(nats: EmbeddedNats, service: ServiceProcess) -> None:
    """Kill the NATS server and give the service a moment to notice (it starts reconnecting)."""
    nats.kill()
    deadline = time.monotonic() + 5
    while "nats: encountered error" not in service.output() and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(0.5)


@pytest.mark.timeout(90)
@pytest.mark.parametrize("name", ["orchestrator", "gateway"])
def test_a_service_without_nats_stops_within_the_grace(
    name: str, nats_server: EmbeddedNats, database_url: str, tmp_path: Path
) -> None:
    service = _start(name, nats_server, database_url, tmp_path, JWT_SECRET="x" * 48)
    _nats_gone(nats_server, service)
    code, took = _stop_timed(service)
    assert code == 0, service.output()
    assert took < GRACE + MARGIN, service.output()
    assert "service stopped" in service.output()


@pytest.mark.timeout(90)
def test_a_task_that_ignores_cancellation_cannot_hold_the_stop_up(
    nats_server: EmbeddedNats, database_url: str, tmp_path: Path
) -> None:
    service = _start("stubborn", nats_server, database_url, tmp_path)
    _nats_gone(nats_server, service)
    code, took = _stop_timed(service)
    assert code is not None, f"still running after {3 * GRACE}s:\n{service.output()}"
    assert took < GRACE + MARGIN, service.output()


@pytest.mark.timeout(90)
def test_a_busy_event_loop_cannot_hold_the_stop_up(
    nats_server: EmbeddedNats, database_url: str, tmp_path: Path
) -> None:
    # The loop is held 2.5 s at a time: a signal that waited for it would leave too little of the grace.
    service = _start("stubborn", nats_server, database_url, tmp_path, STUBBORN_BLOCK_SECONDS="2.5")
    _nats_gone(nats_server, service)
    code, took = _stop_timed(service)
    assert code is not None, f"still running after {3 * GRACE}s:\n{service.output()}"
    assert took < GRACE + MARGIN, service.output()


@pytest.mark.timeout(90)
def test_a_second_signal_stops_at_once(nats_server: EmbeddedNats, database_url: str, tmp_path: Path) -> None:
    service = _start("stubborn", nats_server, database_url, tmp_path)
    code, took = _stop_timed(service, second_signal_after=0.3)
    assert code == 1, service.output()
    assert took < 1.5, service.output()
    assert "service stopping now: a second signal" in service.output()


@pytest.mark.timeout(240)
async def test_a_downloader_whose_nats_died_mid_download_stops_within_the_grace(
    nats_server: EmbeddedNats, database_url: str, tmp_path: Path
) -> None:
    async with media_stack(nats_server.url, database_url, tmp_path, media_env={"SHUTDOWN_GRACE": str(GRACE)}) as stack:
        await stack.set_catalogue(courses=12, segments=400, min_bytes=65536, max_bytes=262144, seed=3, hostile=False)
        await stack.set_faults(latency_ms=20, bandwidth_bytes_per_second=200_000)
        async with stack.client() as client:
            r = await client.post("/api/jobs", json={"kind": KIND_BULK_DOWNLOAD, "parameters": {}})
            assert r.status_code in (200, 201), r.text
            job_id = r.json()["job"]["job_id"]
            await poll_job(client, job_id, lambda d: d["progress"]["succeeded"] >= 20, 120)
        nats_server.kill()
        # The downloads in flight end and their appends to the vanished server time out together (10 s later),
        # each logging its traceback: the moment the service used to stop hearing SIGTERM.
        await asyncio.sleep(11)
        downloader = stack.downloaders[0]
        code, took = await asyncio.to_thread(_stop_timed, downloader)
        assert code is not None, f"still running after {3 * GRACE}s:\n{downloader.output()[-5000:]}"
        assert took < GRACE + MARGIN, downloader.output()[-5000:]
