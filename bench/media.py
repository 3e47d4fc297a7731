"""Media download benchmarks (``make bench`` names ``media-2k`` and ``media-100k``), on a real stack (embedded
NATS and PostgreSQL; media sandbox, orchestrator, media-downloader and gateway as processes).

1. ``media-2k``: 2,000 segments (16–64 KiB) from the sandbox CDN at concurrency 10, at each CDN latency given
   (default 100 ms and 20 ms per request): a bulk download job (request to end, through the gateway and the
   orchestrator) vs a plain ``asyncio`` + ``httpx`` loop that signs each URL and streams the same files to
   disk with a semaphore of 10. Rounds alternate (baseline, Skillstream, …) on fresh directories; ratio =
   baseline seconds / Skillstream seconds over the medians. Target ≥ 0.8× at each latency.
2. ``media-100k``: 100,000 small segments (0.5–2 KiB) over 400 courses at the same cap and 100 ms latency:
   the job's wall time against the floor the cap sets (segments × latency / 10). Target ≤ 1.05×.

Both measure, over the Skillstream jobs only (:mod:`media_measure`): CPU per segment of every process of the
stack (nats-server, PostgreSQL's postmaster and backends, orchestrator, media-downloader, gateway; target
≤ 4 ms summed) and of the sandbox apart (it stands in for the CDN); NATS messages per segment, in + out at
the server and per client connection (target ≤ 12); RSS and PSS of each process group at the start and at
the peak.
"""

from __future__ import annotations

import asyncio
import shutil
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from media_measure import Group, Measures, StackMeter

from skillstream_contracts.media_queries import KIND_BULK_DOWNLOAD
from skillstream_devstack.embedded import EmbeddedNats, EmbeddedPostgres, start_nats, start_postgres
from skillstream_media_downloader.adapters.signing import CloudFrontSigner
from skillstream_media_downloader.domain.paths import cdn_url
from skillstream_testing.jobstack import job_ended
from skillstream_testing.mediastack import KEY_PAIR_ID, MediaStack, media_stack

CAP = 10
DOWNLOADABLE_2K, DOWNLOADABLE_100K = 0.885, 0.878
"""About this share of each catalogue's segments has a video (the rest are no download items)."""
SANDBOX = "media sandbox (CDN stand-in)"
POLL_SLOW, POLL_FAST = 0.5, 0.05
"""Seconds between job status polls: fast once 95 % of the items are done, so the end is timed closely
without the polls themselves (a NATS request and reply each) weighing on the per-segment counts."""


@dataclass
class LatencyResult:
    """``media-2k`` at one CDN latency: medians in seconds, and the jobs' measures summed over the rounds."""

    latency_ms: float
    segments: int
    baseline: float
    ours: float
    measures: Measures = field(default_factory=Measures)

    def rows(self) -> list[tuple[str, float, float]]:
        """(name, segments/s, ratio vs the plain loop): the baseline row, then the job's."""
        n = self.segments
        return [
            (f"plain asyncio + httpx loop, {n:,} segments, {CAP} at once (baseline)", n / self.baseline, 1.0),
            (f"Skillstream bulk download job, {n:,} segments", n / self.ours, self.baseline / self.ours),
        ]


def _groups(server: EmbeddedNats, pg: EmbeddedPostgres, stack: MediaStack) -> list[Group]:
    """Every process group of the stack, the sandbox last (not ours)."""

    def pid(p: subprocess.Popen[bytes] | None) -> int:
        assert p is not None, "started"
        return p.pid

    named = [("orchestrator", stack.orchestrator)]
    named += [(f"media-downloader {i}", d) for i, d in enumerate(stack.downloaders)]
    named += [("gateway", stack.gateway)]
    return [
        Group("nats-server", pid(server.process)),
        Group("PostgreSQL (postmaster + backends)", pid(pg.process)),
        *(Group(name, pid(s.proc)) for name, s in named),
        Group(SANDBOX, pid(stack.sandbox.proc), ours=False),
    ]


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


async def _job(stack: MediaStack, meter: StackMeter) -> tuple[Measures, str, dict[str, int]]:
    """Run a bulk download of everything through the gateway, measured; (measures, job status, progress)."""
    async with stack.client() as client, meter.job() as m:
        started = time.perf_counter()
        r = await client.post("/api/jobs", json={"kind": KIND_BULK_DOWNLOAD, "parameters": {}})
        job_id = r.json()["job"]["job_id"]
        while True:
            detail = (await client.get(f"/api/jobs/{job_id}")).json()
            m.polls += 1
            if job_ended(detail):
                break
            p = detail["progress"]
            done = (p.get("succeeded") or 0) + (p.get("failed") or 0)
            await asyncio.sleep(POLL_FAST if p.get("total") and done >= 0.95 * p["total"] else POLL_SLOW)
        m.seconds = time.perf_counter() - started
        m.segments = int(detail["progress"]["succeeded"] or 0)
    return m, detail["job"]["status"], detail["progress"]


async def _latency_rounds(
    stack: MediaStack, meter: StackMeter, tmp: Path, latency_ms: float, rounds: int
) -> LatencyResult:
    """Alternating baseline and job rounds at one latency."""
    await stack.set_faults(latency_ms=latency_ms)
    keys = await _keys(stack)
    base, ours, measures = [], [], Measures()
    for i in range(rounds):
        plain_root = tmp / f"plain-{latency_ms:g}-{i}"
        base.append(await _baseline(stack, keys, plain_root))
        shutil.rmtree(plain_root)
        shutil.rmtree(stack.storage_root, ignore_errors=True)
        m, status, progress = await _job(stack, meter)
        assert status == "completed", (status, progress)
        assert progress["succeeded"] == len(keys), progress
        ours.append(m.seconds)
        measures.add(m)
    return LatencyResult(latency_ms, len(keys), statistics.median(base), statistics.median(ours), measures)


async def bench_media_2k(
    latencies_ms: tuple[float, ...] = (100.0, 20.0), rounds: int = 2, segments: int = 2000
) -> list[LatencyResult]:
    """``media-2k`` at each latency in turn, on one stack (about ``segments`` downloadable segments)."""
    with tempfile.TemporaryDirectory() as tmp:
        server, pg = start_nats(Path(tmp) / "nats"), start_postgres(Path(tmp) / "pg")
        try:
            async with media_stack(server.url, pg.dsn(), Path(tmp) / "stack") as stack:
                shape = {"min_bytes": 16384, "max_bytes": 65536, "seed": 8}
                courses = max(1, round(segments / 50))
                await stack.set_catalogue(courses=courses, segments=round(segments / DOWNLOADABLE_2K), **shape)
                meter = StackMeter(_groups(server, pg, stack), server.monitor_url)
                return [await _latency_rounds(stack, meter, Path(tmp), lat, rounds) for lat in latencies_ms]
        finally:
            server.stop()
            pg.stop()


@dataclass
class BulkResult:
    """``media-100k``: the job's measures, status and progress, and the floor the cap sets (seconds)."""

    latency_ms: float
    measures: Measures
    status: str
    progress: dict[str, int]
    floor: float

    @property
    def ratio(self) -> float:
        return self.measures.seconds / self.floor


async def bench_media_100k(segments: int = 100_000, latency_ms: float = 100.0) -> BulkResult:
    """The 100,000-segment run (about ``segments`` downloadable segments over 400 courses)."""
    with tempfile.TemporaryDirectory() as tmp:
        server, pg = start_nats(Path(tmp) / "nats"), start_postgres(Path(tmp) / "pg")
        try:
            async with media_stack(server.url, pg.dsn(), Path(tmp) / "stack") as stack:
                shape = {"courses": 400, "segments": round(segments / DOWNLOADABLE_100K), "seed": 10}
                await stack.set_catalogue(min_bytes=512, max_bytes=2048, **shape)
                await stack.set_faults(latency_ms=latency_ms)
                meter = StackMeter(_groups(server, pg, stack), server.monitor_url)
                m, status, progress = await _job(stack, meter)
        finally:
            server.stop()
            pg.stop()
    downloadable = int(progress["total"] or 0)  # the catalogue's segments without a video are no items
    return BulkResult(latency_ms, m, status, progress, downloadable * latency_ms / 1000 / CAP)


__all__ = ["SANDBOX", "BulkResult", "LatencyResult", "bench_media_2k", "bench_media_100k"]
