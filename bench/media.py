"""Media download benchmarks (``make bench`` names ``media-2k`` and ``media-100k``), on a real stack (embedded
NATS and PostgreSQL; media sandbox, orchestrator, media-downloader and gateway as processes).

1. ``media-2k``: 2,000 segments from the sandbox CDN at concurrency 10 with a fixed per-request latency:
   a bulk download job (request to end, through the orchestrator) vs a plain ``asyncio`` + ``httpx`` loop that
   signs each URL and streams the same files to disk with a semaphore of 10. Rounds alternate (baseline,
   Skillstream, …) on fresh directories; ratio = baseline seconds / Skillstream seconds over the medians.
   Target ≥ 0.8×.
2. ``media-100k``: 100,000 small segments over 400 courses at the same cap and latency; the wall time of the
   job against the floor the cap sets (segments × latency / 10; target ≤ 1.25×), and the media-downloader's
   resident memory (VmRSS sampled every 0.5 s) at the start and at its peak (target: flat).
"""

from __future__ import annotations

import asyncio
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from skillstream_contracts.media_queries import KIND_BULK_DOWNLOAD
from skillstream_devstack.embedded import start_nats, start_postgres
from skillstream_media_downloader.adapters.signing import CloudFrontSigner
from skillstream_media_downloader.domain.paths import cdn_url
from skillstream_testing.jobstack import job_ended
from skillstream_testing.mediastack import KEY_PAIR_ID, MediaStack, media_stack

CAP = 10


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


async def _keys(stack: MediaStack) -> list[tuple[str, str]]:
    """(CDN key, relative file path) of every downloadable segment, medium quality."""
    return [
        (s["video"].removeprefix("mp4:") + "_med.mp4", f"{course['id']}/{s['id']}.mp4")
        for course in await stack.courses()
        for channel in course["channels"]
        for s in channel["segments"]
        if s["video"].startswith("mp4:")
    ]


async def _baseline(stack: MediaStack, keys: list[tuple[str, str]], root: Path, lifetime: int = 7200) -> float:
    """The plain loop: sign, GET, stream to a file; ``CAP`` at once. Returns seconds."""
    signer = CloudFrontSigner(KEY_PAIR_ID, (stack.storage_root.parent / "keys" / "cloudfront-private.pem").read_bytes())
    base = stack.sandbox.url + "/cdn"
    gate = asyncio.Semaphore(CAP)
    limits = httpx.Limits(max_connections=CAP, max_keepalive_connections=CAP)

    async def one(client: httpx.AsyncClient, key: str, rel: str) -> None:
        async with gate:
            url = signer.sign(cdn_url(base, key), int(time.time()) + lifetime).url
            target = root / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            async with client.stream("GET", url) as r:
                r.raise_for_status()
                with target.open("wb") as f:
                    async for chunk in r.aiter_raw():
                        f.write(chunk)

    started = time.perf_counter()
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        await asyncio.gather(*(one(client, k, rel) for k, rel in keys))
    return time.perf_counter() - started


async def _job(stack: MediaStack, *, sample_pid: int | None = None) -> dict[str, Any]:
    """Run a bulk download of everything through the gateway; seconds, final progress, peak RSS (KiB)."""
    peak = _rss_kib(sample_pid) if sample_pid else 0
    async with stack.client() as client:
        started = time.perf_counter()
        r = await client.post("/api/jobs", json={"kind": KIND_BULK_DOWNLOAD, "parameters": {}})
        job_id = r.json()["job"]["job_id"]
        while True:
            detail = (await client.get(f"/api/jobs/{job_id}")).json()
            if sample_pid:
                peak = max(peak, _rss_kib(sample_pid))
            if job_ended(detail):
                break
            await asyncio.sleep(0.5)
        seconds = time.perf_counter() - started
    return {"seconds": seconds, "progress": detail["progress"], "status": detail["job"]["status"], "peak": peak}


async def bench_media_2k(latency_ms: float = 100.0, rounds: int = 2) -> list[tuple[str, float, float]]:
    """Rows (name, segments/s, ratio vs the plain loop)."""
    with tempfile.TemporaryDirectory() as tmp:
        server, pg = start_nats(Path(tmp) / "nats"), start_postgres(Path(tmp) / "pg")
        try:
            async with media_stack(server.url, pg.dsn(), Path(tmp) / "stack") as stack:
                await stack.set_catalogue(courses=40, segments=2260, min_bytes=16384, max_bytes=65536, seed=8)
                await stack.set_faults(latency_ms=latency_ms)
                keys = await _keys(stack)
                base, ours = [], []
                for i in range(rounds):
                    plain_root = Path(tmp) / f"plain{i}"
                    base.append(await _baseline(stack, keys, plain_root))
                    shutil.rmtree(plain_root)
                    shutil.rmtree(stack.storage_root, ignore_errors=True)
                    run = await _job(stack)
                    assert run["status"] == "completed", run
                    assert run["progress"]["succeeded"] == len(keys), run
                    ours.append(run["seconds"])
        finally:
            server.stop()
            pg.stop()
    n = len(keys)
    t_base, t_ours = statistics.median(base), statistics.median(ours)
    return [
        (f"plain asyncio + httpx loop, {n:,} segments, {CAP} at once, {latency_ms:.0f} ms (baseline)", n / t_base, 1.0),
        (f"Skillstream bulk download job, {n:,} segments", n / t_ours, t_base / t_ours),
    ]


async def bench_media_100k(segments: int = 100_000, latency_ms: float = 100.0) -> dict[str, Any]:
    """The 100,000-segment run; returns its measures."""
    with tempfile.TemporaryDirectory() as tmp:
        server, pg = start_nats(Path(tmp) / "nats"), start_postgres(Path(tmp) / "pg")
        try:
            async with media_stack(server.url, pg.dsn(), Path(tmp) / "stack") as stack:
                shape = {
                    "courses": 400,
                    "segments": round(segments / 0.878),
                    "min_bytes": 512,
                    "max_bytes": 2048,
                    "seed": 10,
                }
                await stack.set_catalogue(**shape)
                await stack.set_faults(latency_ms=latency_ms)
                proc = stack.downloaders[0].proc
                pid = proc.pid if proc else 0
                start_rss = _rss_kib(pid)
                run = await _job(stack, sample_pid=pid)
        finally:
            server.stop()
            pg.stop()
    downloadable = int(run["progress"]["total"] or 0)  # the catalogue's segments without a video are no items
    floor = downloadable * latency_ms / 1000 / CAP
    return {
        **run,
        "segments": downloadable,
        "floor": floor,
        "ratio": run["seconds"] / floor,
        "start_rss_mib": start_rss / 1024,
        "peak_rss_mib": run["peak"] / 1024,
    }


__all__ = ["bench_media_2k", "bench_media_100k"]
