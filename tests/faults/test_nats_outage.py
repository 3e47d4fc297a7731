"""NATS outages during a job, end to end: the nats-server is killed and started again on the same port and store
(``sync_interval: always``: every acknowledged event survives) while a media bulk download plans and downloads,
and while a TGA package download runs. A job pauses through an outage and goes on; it never fails for it.

What is checked is read back from the streams themselves: every item of the job has exactly one terminal item
report, the job has exactly one ending phase, and the job's progress agrees with the media bulk status.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import nats
import pytest

from skillstream_contracts.events import Headers
from skillstream_contracts.media_queries import KIND_BULK_DOWNLOAD
from skillstream_contracts.streams import MEDIA, TGA, StreamDefinition
from skillstream_contracts.tga_queries import KIND_DOWNLOAD_PACKAGES
from skillstream_devstack.embedded import EmbeddedNats
from skillstream_testing.jobstack import job_ended
from skillstream_testing.mediastack import media_stack
from skillstream_testing.tgastack import tga_stack

pytestmark = pytest.mark.slow

OUTAGE = 15.0  # seconds the nats-server stays down
_TERMINAL = frozenset({"succeeded", "failed", "skipped"})
_ENDING = frozenset({"completed", "failed", "cancelled"})


async def _detail(client: httpx.AsyncClient, job_id: str) -> dict[str, Any] | None:
    """The job's detail, or None while the gateway cannot answer (NATS is down)."""
    try:
        r = await client.get(f"/api/jobs/{job_id}", timeout=5)
    except httpx.HTTPError:
        return None
    return dict(r.json()) if r.status_code == 200 else None


async def _wait(
    client: httpx.AsyncClient, job_id: str, until: Callable[[dict[str, Any]], bool], within: float
) -> dict[str, Any]:
    deadline = time.monotonic() + within
    last: dict[str, Any] | None = None
    while time.monotonic() < deadline:
        detail = await _detail(client, job_id)
        if detail is not None:
            last = detail
            if until(detail):
                return detail
        await asyncio.sleep(0.2)
    raise TimeoutError(f"job {job_id} did not reach the state in {within}s; last: {last}")


async def _outage(server: EmbeddedNats, seconds: float = OUTAGE) -> None:
    """Kill the nats-server (as a crash would), keep it down ``seconds``, start it again on its port and store."""
    await asyncio.to_thread(server.kill)
    await asyncio.sleep(seconds)
    await asyncio.to_thread(server.start)


Reports = tuple[Counter[str], dict[str, list[str]]]


async def _job_reports(nats_url: str, stream: StreamDefinition, job_id: str) -> Reports:
    """The job's ending phases on ``stream`` (phase → count) and its items' terminal outcomes (key → outcomes),
    read from the stored events' headers."""
    nc = await nats.connect(nats_url)
    phases: Counter[str] = Counter()
    items: defaultdict[str, list[str]] = defaultdict(list)
    try:
        js = nc.jetstream()
        last = (await js.stream_info(stream.name)).state.last_seq
        sub = await js.subscribe(f"{stream.context}.>", ordered_consumer=True, headers_only=True)
        try:
            seen = 0
            deadline = time.monotonic() + 60
            while seen < last and time.monotonic() < deadline:
                msg = await sub.next_msg(timeout=10)
                seen = msg.metadata.sequence.stream
                h = msg.headers or {}
                if h.get(Headers.JOB_ID) != job_id:
                    continue
                if (phase := h.get(Headers.JOB_PHASE)) in _ENDING:
                    phases[phase] += 1
                if (outcome := h.get(Headers.ITEM_OUTCOME)) in _TERMINAL:
                    items[h[Headers.ITEM_KEY]].append(outcome)
            assert seen >= last, f"read {seen} of {last} events"
        finally:
            await sub.unsubscribe()
    finally:
        await nc.close()
    return phases, dict(items)


async def test_a_bulk_download_pauses_through_nats_outages_and_completes(
    nats_server: EmbeddedNats, database_url: str, tmp_path: Path
) -> None:
    async with media_stack(nats_server.url, database_url, tmp_path) as stack:
        await stack.set_catalogue(courses=3, segments=150, min_bytes=4096, max_bytes=8192, seed=7, hostile=False)
        videos = len(await stack.videos())
        await stack.set_faults(latency_ms=400)  # ten downloads in flight: the job takes some seconds
        async with stack.client() as client:
            r = await client.post("/api/jobs", json={"kind": KIND_BULK_DOWNLOAD, "parameters": {}})
            assert r.status_code == 201, r.text
            job_id = r.json()["job"]["job_id"]
            await _wait(client, job_id, lambda d: d["job"]["started_at"] is not None, 30)
            await _outage(nats_server)  # while the job surveys, plans and queues
            await _wait(client, job_id, lambda d: d["progress"]["succeeded"] >= 20, 90)
            await _outage(nats_server)  # while segments download
            detail = await _wait(client, job_id, job_ended, 90)
            progress = detail["progress"]
            assert detail["job"]["status"] == "completed", detail["job"]
            assert progress["total"] == videos
            assert (progress["queued"], progress["processing"], progress["retrying"]) == (0, 0, 0)
            assert progress["succeeded"] + progress["skipped"] == videos, progress
            status = (
                (await client.get("/truefire-courses/bulk-download-status", params={"job_id": job_id}))
                .raise_for_status()
                .json()
            )
            counts = status["counts"]
            for key in ("queued", "processing", "retrying", "succeeded", "failed", "skipped"):
                assert counts[key] == progress[key], (key, counts, progress)
        phases, items = await _job_reports(stack.nats_url, MEDIA, job_id)
        assert phases == Counter({"completed": 1}), phases
        assert len(items) == videos
        assert {k: v for k, v in items.items() if len(v) != 1} == {}
        files = stack.files()
        assert not [f for f in files if ".part" in f.name]
        assert len(files) == videos  # one file per segment, none written twice under another name


# When the outage starts: as soon as the job runs (the package is being read and its components planned), or
# once the components are being downloaded.
WHEN = {
    "planning": lambda d: d["job"]["status"] == "running",
    "downloading": lambda d: d["progress"]["succeeded"] >= 10,
}


@pytest.mark.parametrize("when", sorted(WHEN))
async def test_a_package_download_pauses_through_a_nats_outage_and_completes(
    nats_server: EmbeddedNats, database_url: str, tmp_path: Path, when: str
) -> None:
    async with tga_stack(nats_server.url, database_url, tmp_path) as stack:
        await stack.set_faults(latency_ms=30)
        async with stack.client() as client:
            r = await client.post("/api/jobs", json={"kind": KIND_DOWNLOAD_PACKAGES, "parameters": {"codes": ["BSB"]}})
            assert r.status_code in (200, 201), r.text
            job_id = r.json()["job"]["job_id"]
            await _wait(client, job_id, WHEN[when], 60)
            await _outage(nats_server)
            detail = await _wait(client, job_id, job_ended, 120)
            progress = detail["progress"]
            assert detail["job"]["status"] == "completed", detail["job"]
            assert progress["failed"] == 0, progress["last_errors"]
            assert progress["succeeded"] == progress["total"] > 10
            assert (progress["queued"], progress["processing"], progress["retrying"]) == (0, 0, 0)
        phases, items = await _job_reports(stack.nats_url, TGA, job_id)
        assert phases == Counter({"completed": 1}), phases
        assert len(items) == progress["total"]
        assert {k: v for k, v in items.items() if len(v) != 1} == {}
