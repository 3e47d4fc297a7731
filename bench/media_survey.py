"""Media survey benchmark: the media-downloader's memory while a bulk download surveys and queues a library,
with no download happening, for a small and a large library (default 100,000 and 1,000,000 segments).

Each size runs on its own real stack (embedded NATS and PostgreSQL; media sandbox, orchestrator,
media-downloader and gateway as processes). The catalogue keeps its course size (about 250 segments per course,
as ``media-100k``'s 400 courses) and grows by courses, as a library does. Downloads are held back rather than
switched off: one download slot (``MEDIA_CONCURRENCY=1``) and a CDN latency of 10 minutes (the sandbox's
maximum) with a longer HTTP timeout, so at most one segment is ever in flight and no retry is scheduled.

The run ends when every planned course holds its ``CourseQueued`` (appended after the course's segment events
and work messages), plus ``settle`` seconds for the job's outcome fold to read the stream's tail. The
downloader's VmRSS is sampled every 0.5 s from the job's request to the end.

NATS runs with its default periodic sync (``sync_always=False``), not fsync on every write: this is a memory
benchmark, and fsyncing a million appends and a million work messages would make the large run take hours
on this machine's disk without changing what the downloader holds. Even so, on two shared cores 100,000
segments take about 2.5 minutes and 1,000,000 about 18 (6 of them surveying 4,000 courses): pass a smaller
``large`` for a quicker run.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

import nats

from skillstream_contracts.media import BulkDownloadPlanned
from skillstream_contracts.media_queries import KIND_BULK_DOWNLOAD
from skillstream_contracts.registries import REGISTRIES
from skillstream_contracts.streams import MEDIA
from skillstream_devstack.embedded import start_nats, start_postgres
from skillstream_media_downloader.adapters.workqueue import WORK_STREAM
from skillstream_runtime.eventstore import EventStore
from skillstream_testing.mediastack import MediaStack, media_stack

SEGMENTS_PER_COURSE = 250
DOWNLOADABLE = 0.878  # share of the sandbox catalogue's segments that have a video (media-100k's shape)
HELD_BACK = {"MEDIA_CONCURRENCY": "1", "MEDIA_HTTP_TIMEOUT": "3600"}
SAMPLE = 0.5  # seconds between RSS samples


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


async def _queued(stack: MediaStack, job_id: str, pid: int, limit: float) -> dict[str, Any]:
    """Poll until every planned course is queued; seconds from the request, planned counts, peak RSS (KiB)."""
    nc = await nats.connect(stack.nats_url)
    peak, started = _rss_kib(pid), time.perf_counter()
    try:
        js, store = nc.jetstream(), EventStore(nc, REGISTRIES)
        planned: BulkDownloadPlanned | None = None
        while time.perf_counter() - started < limit:
            peak = max(peak, _rss_kib(pid))
            if planned is None:
                events = [r.event for r in await store.load(MEDIA, MEDIA.aggregate_subject("job", job_id))]
                planned = next((e for e in events if isinstance(e, BulkDownloadPlanned)), None)
            else:
                info = await js.stream_info(MEDIA.name, subjects_filter="media.course.>")
                if len(info.state.subjects or {}) >= planned.courses:
                    break
            await asyncio.sleep(SAMPLE)
        else:
            raise TimeoutError(f"not every course was queued within {limit:.0f} s")
        seconds = time.perf_counter() - started
        assert planned is not None
        work = (await js.stream_info(WORK_STREAM)).state.messages
        return {
            "seconds": seconds,
            "courses": planned.courses,
            "segments": planned.segments,
            "work": work,
            "peak": peak,
        }
    finally:
        await nc.close()


async def _one(segments: int, settle: float, limit: float) -> dict[str, Any]:
    """One size on a fresh stack: survey and queue ``segments`` downloadable segments."""
    with tempfile.TemporaryDirectory() as tmp:
        server, pg = start_nats(Path(tmp) / "nats", sync_always=False), start_postgres(Path(tmp) / "pg")
        try:
            async with media_stack(server.url, pg.dsn(), Path(tmp) / "stack", media_env=HELD_BACK) as stack:
                shape = {
                    "courses": max(1, round(segments / SEGMENTS_PER_COURSE)),
                    "segments": round(segments / DOWNLOADABLE),
                    "min_bytes": 512,
                    "max_bytes": 2048,
                    "seed": 10,
                }
                await stack.set_catalogue(**shape)
                await stack.set_faults(latency_ms=600_000)
                proc = stack.downloaders[0].proc
                pid = proc.pid if proc else 0
                start_rss = _rss_kib(pid)
                async with stack.client() as client:
                    r = await client.post("/api/jobs", json={"kind": KIND_BULK_DOWNLOAD, "parameters": {}})
                    job_id = r.json()["job"]["job_id"]
                run = await _queued(stack, job_id, pid, limit)
                peak, until = run.pop("peak"), time.perf_counter() + settle
                while time.perf_counter() < until:
                    peak = max(peak, _rss_kib(pid))
                    await asyncio.sleep(SAMPLE)
        finally:
            server.stop()
            pg.stop()
    return {**run, "start_rss_mib": start_rss / 1024, "peak_rss_mib": peak / 1024}


async def bench_media_survey(
    small: int = 100_000, large: int = 1_000_000, *, settle: float = 10.0, limit: float = 1800.0
) -> dict[str, Any]:
    """Survey and queue a ``small`` then a ``large`` library (downloadable segments; no download happens).

    Returns ``{"small": run, "large": run, "growth_mib": float}``: each run has ``segments`` (planned items),
    ``courses``, ``work`` (``MEDIA_WORK`` messages at the end), ``seconds`` (request to every course queued),
    ``start_rss_mib`` and ``peak_rss_mib`` (the downloader's VmRSS in MiB); ``growth_mib`` is the large run's
    peak minus the small run's peak.

    Raises:
        TimeoutError: a run did not queue every course within ``limit`` seconds.
    """
    small_run = await _one(small, settle, limit)
    large_run = await _one(large, settle, limit)
    return {
        "small": small_run,
        "large": large_run,
        "growth_mib": large_run["peak_rss_mib"] - small_run["peak_rss_mib"],
    }


async def _main() -> None:
    import sys

    sizes = [int(a) for a in sys.argv[1:]] or [100_000]
    for n in sizes:
        print(n, await _one(n, 10.0, 1800.0), flush=True)


if __name__ == "__main__":
    asyncio.run(_main())


__all__ = ["bench_media_survey"]
