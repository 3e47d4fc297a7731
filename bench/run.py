"""``make bench``: throughput of the event store and of projection replay, as ratios against a baseline
measured in the same process on the same servers (these machines are noisy; absolute numbers are not).

1. Append: N single-event appends (``Nats-Msg-Id`` + ``Nats-Expected-Last-Subject-Sequence``), 256 in
   flight, vs raw ``js.publish`` of the same payloads with the same concurrency; and atomic batch appends
   (10 events per aggregate, 64 batches in flight). Rounds alternate on fresh streams after a warm-up;
   medians of 3 rounds. Target ≥ 0.8×.
2. Replay: rebuild the orchestrator's ``jobs`` projection from 100,000 events into PostgreSQL vs a raw
   pull-consumer drain of the same stream with a no-op handler (fetch 1,000, ack each). Target ≥ 0.5×.
3. SSE fan-out (``bench/sse_fanout.py``): 1,000 SSE clients on one gateway process watching a job that
   changes about 20 times a second, on its own real stack (orchestrator and gateway processes); p50/p99
   delay from the progress document's publication on NATS to its arrival at the clients, vs the same with
   one client, and the gateway's memory (VmRSS). Target: p99 < 1 s.

4. TGA (``bench/tga.py``): ``tga-parse``, the AuthorIT parser vs bare ``lxml.etree.fromstring`` over the real
   unit files (target ≥ 0.5×); ``tga-download``, a full-catalogue bulk download from the TGA sandbox
   (components/s, peak memory of tga-ingest).
5. Media (``bench/media.py``): ``media-2k``, 2,000 segments from the media sandbox at concurrency 10 with a fixed
   latency, a bulk download job vs a plain asyncio + httpx loop (target ≥ 0.8×); ``media-100k``, 100,000 small
   segments: wall time vs the floor the cap sets (target ≤ 1.25×) and the downloader's start and peak RSS.

Usage: ``python bench/run.py [append] [replay] [sse] [tga-parse] [tga-download] [media-2k] [media-100k] …``
(no name: all of them)
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import asyncpg
import nats
from media import bench_media_2k, bench_media_100k
from nats.js.api import AckPolicy, ConsumerConfig
from rich.console import Console
from rich.table import Table
from sse_fanout import bench_sse_fanout
from sse_report import LEGEND
from tga import bench_download, bench_parse

from skillstream_contracts.jobs import JOB_EVENTS, JobItemsPlanned, JobQueued, JobRequested, JobStarted
from skillstream_contracts.registries import REGISTRIES
from skillstream_contracts.streams import JOBS, StreamDefinition, aggregate_subject
from skillstream_devstack.embedded import start_nats, start_postgres
from skillstream_orchestrator.projections.jobs import JobsProjection
from skillstream_runtime.eventstore import EventStore, NewEvent, ensure_stream
from skillstream_runtime.generations import active_generation, rebuild
from skillstream_runtime.migrations import migrate_runtime

CONCURRENCY = 256
console = Console()


def _stream(name: str) -> StreamDefinition:
    return StreamDefinition(name=name, context=name.lower(), subjects=(f"{name.lower()}.>",), description="bench")


async def _gather_bounded(coros: list[Any], limit: int = CONCURRENCY) -> None:
    gate = asyncio.Semaphore(limit)

    async def one(c: Any) -> None:
        async with gate:
            await c

    await asyncio.gather(*(one(c) for c in coros))


async def bench_append(nc: Any, n: int, rounds: int = 3) -> list[tuple[str, float, float]]:
    """Alternate baseline and measured rounds on fresh streams; report the median rate of each."""
    js = nc.jetstream()
    store = EventStore(nc, {f"B{k}": JOB_EVENTS for k in range(3 * rounds + 1)})
    events = [NewEvent(event=JobStarted(job_id=f"j{i}", worker="bench", total_items=i)) for i in range(n)]
    payloads = [JOB_EVENTS.encode(e.event) for e in events]
    per = 10
    counter = iter(range(3 * rounds + 1))

    async def fresh() -> StreamDefinition:
        s = _stream(f"B{next(counter)}")
        await ensure_stream(nc, s)
        return s

    async def raw() -> float:
        s = await fresh()
        t0 = time.perf_counter()
        await _gather_bounded([js.publish(f"{s.context}.job.j{i}", payloads[i]) for i in range(n)])
        return n / (time.perf_counter() - t0)

    async def single() -> float:
        s = await fresh()
        t0 = time.perf_counter()
        results = await store.append_many(
            s,
            [(aggregate_subject(s.context, "job", f"j{i}"), f"j{i}", [events[i]], 0) for i in range(n)],
            concurrency=CONCURRENCY,
        )
        rate = n / (time.perf_counter() - t0)
        assert not [r for r in results if isinstance(r, BaseException)], "appends failed"
        return rate

    async def batched() -> float:
        s = await fresh()
        t0 = time.perf_counter()
        results = await store.append_many(
            s,
            [
                (aggregate_subject(s.context, "job", f"j{a}"), f"j{a}", events[a * per : (a + 1) * per], 0)
                for a in range(n // per)
            ],
            concurrency=CONCURRENCY // 4,
        )
        rate = n / (time.perf_counter() - t0)
        assert not [r for r in results if isinstance(r, BaseException)], "batch appends failed"
        return rate

    await raw()  # warm-up: first writes to a new store are slower
    r_raw, r_single, r_batch = [], [], []
    for _ in range(rounds):
        r_raw.append(await raw())
        r_single.append(await single())
        r_batch.append(await batched())
    base = statistics.median(r_raw)
    return [
        ("raw js.publish, 256 in flight (baseline)", base, 1.0),
        (
            "EventStore.append, 1 event, expected seq + msg id",
            statistics.median(r_single),
            statistics.median(r_single) / base,
        ),
        (
            "EventStore.append, atomic batch of 10",
            statistics.median(r_batch),
            statistics.median(r_batch) / base,
        ),
    ]


async def bench_replay(nc: Any, pool: asyncpg.Pool, n: int) -> list[tuple[str, float, float]]:
    await ensure_stream(nc, JOBS)
    store = EventStore(nc, REGISTRIES)
    per_job = 10
    appends = []
    for j in range(n // per_job):
        job = f"job-{j:06d}"
        evs: list[Any] = [
            JobRequested(job_id=job, kind="bench", requested_by="bench"),
            JobQueued(job_id=job, kind="bench"),
            JobStarted(job_id=job, worker="w"),
        ]
        evs += [JobItemsPlanned(job_id=job, total_items=k) for k in range(per_job - len(evs))]
        appends.append((aggregate_subject("jobs", "job", job), job, [NewEvent(event=e) for e in evs], 0))
    results = await store.append_many(JOBS, appends, concurrency=32)
    assert not [r for r in results if isinstance(r, BaseException)]

    js = nc.jetstream()
    await js.add_consumer(
        "JOBS",
        ConsumerConfig(durable_name="bench_drain", ack_policy=AckPolicy.EXPLICIT, max_ack_pending=2000),
    )
    psub = await js.pull_subscribe_bind("bench_drain", stream="JOBS")
    t0 = time.perf_counter()
    seen = 0
    while seen < n:
        for m in await psub.fetch(1000, timeout=5):
            await m.ack()
            seen += 1
    t_raw = time.perf_counter() - t0

    projection = JobsProjection()
    await active_generation(pool, projection)
    t0 = time.perf_counter()
    await rebuild(projection, nc, pool)
    t_ours = time.perf_counter() - t0
    rows = await pool.fetchval("SELECT count(*) FROM orchestrator.jobs")
    assert rows == n // per_job, rows
    return [
        ("raw pull-consumer drain, no-op handler (baseline)", n / t_raw, 1.0),
        ("projection replay into PostgreSQL (jobs read model)", n / t_ours, t_raw / t_ours),
    ]


async def main(
    events: int,
    replay_events: int,
    only: set[str],
    sse_clients: int,
    sse_window: float,
    media_latency: float = 100.0,
    media_segments: int = 100_000,
) -> None:
    if only & {"append", "replay"}:
        with tempfile.TemporaryDirectory() as tmp:
            server = start_nats(Path(tmp) / "nats")
            pg = start_postgres(Path(tmp) / "pg")
            nc = await nats.connect(server.url)
            pool = await asyncpg.create_pool(pg.dsn(), min_size=2, max_size=4)
            try:
                async with pool.acquire() as conn:
                    await migrate_runtime(conn)
                append_rows = await bench_append(nc, events) if "append" in only else []
                replay_rows = await bench_replay(nc, pool, replay_events) if "replay" in only else []
            finally:
                await pool.close()
                await nc.drain()
                server.stop()
                pg.stop()
        table = Table("benchmark", "events/s", "ratio vs baseline", "target", title="Skillstream benchmarks")
        for name, rate, ratio in append_rows:
            table.add_row(name, f"{rate:,.0f}", f"{ratio:.2f}×", "" if ratio == 1.0 else "≥ 0.80×")
        for name, rate, ratio in replay_rows:
            table.add_row(name, f"{rate:,.0f}", f"{ratio:.2f}×", "" if ratio == 1.0 else "≥ 0.50×")
        console.print(table)
    if "sse" in only:
        result = await bench_sse_fanout(clients=sse_clients, window=sse_window)
        table = Table(
            "measure",
            "1 client",
            f"{sse_clients:,} clients",
            "ratio / Δ",
            "target",
            title=f"SSE fan-out: {sse_clients:,} clients, one gateway process, a job changing ~20×/s",
        )
        for row in result.rows():
            table.add_row(*row)
        console.print(table)
        console.print(LEGEND)
        verdict = "[green]PASS[/green]" if result.passed else "[red]FAIL[/red]"
        console.print(
            f"SSE fan-out p99 with {sse_clients:,} clients: {result.p99 * 1000:,.0f} ms (target < 1,000 ms, every "
            f"client connected, none dropped): {verdict}. Clients ran in "
            f"{len(result.measured.client_cpu)} separate processes (httpx + httpx-sse)."
        )

    if "tga-parse" in only:
        table = Table("benchmark", "files/s", "ratio vs baseline", "target", title="TGA parser")
        for name, rate, ratio in bench_parse():
            table.add_row(name, f"{rate:,.0f}", f"{ratio:.2f}×", "" if ratio == 1.0 else "≥ 0.50×")
        console.print(table)
    if "tga-download" in only:
        m = await bench_download()
        console.print(
            f"TGA full-catalogue download (listed {m['listed']}): "
            f"{m['components']:,} components ({m['units_parsed']} units parsed, {m['failed']} failed) in "
            f"{m['seconds']:.1f} s = {m['per_second']:,.0f} components/s; tga-ingest RSS {m['start_rss_mib']:.0f} → "
            f"peak {m['peak_rss_mib']:.0f} MiB"
        )
    if "media-2k" in only:
        table = Table("benchmark", "segments/s", "ratio vs baseline", "target", title="Media download, 2,000 segments")
        for name, rate, ratio in await bench_media_2k(latency_ms=media_latency):
            table.add_row(name, f"{rate:,.1f}", f"{ratio:.2f}×", "" if ratio == 1.0 else "≥ 0.80×")
        console.print(table)
    if "media-100k" in only:
        m = await bench_media_100k(segments=media_segments, latency_ms=media_latency)
        p = m["progress"]
        console.print(
            f"Media bulk download of {m['segments']:,} segments at {media_latency:.0f} ms latency: {m['status']}, "
            f"{p['succeeded']:,} downloaded, {p['failed']} failed, in {m['seconds']:.1f} s; floor set by the cap "
            f"{m['floor']:.1f} s → {m['ratio']:.2f}× (target ≤ 1.25×); media-downloader RSS "
            f"{m['start_rss_mib']:.0f} → peak {m['peak_rss_mib']:.0f} MiB"
        )


BENCHMARKS = ("append", "replay", "sse", "tga-parse", "tga-download", "media-2k", "media-100k")

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "only", nargs="*", metavar="NAME", help=f"benchmarks to run: {', '.join(BENCHMARKS)} (default: all)"
    )
    parser.add_argument("--events", type=int, default=10_000, help="events per append round")
    parser.add_argument("--replay-events", type=int, default=100_000, help="events in the replayed stream")
    parser.add_argument("--sse-clients", type=int, default=1000, help="concurrent SSE clients")
    parser.add_argument("--sse-window", type=float, default=15.0, help="seconds measured with every client on")
    parser.add_argument("--media-latency", type=float, default=100.0, help="CDN latency per request, ms")
    parser.add_argument("--media-segments", type=int, default=100_000, help="segments of the media-100k run")
    args = parser.parse_args()
    if unknown := set(args.only) - set(BENCHMARKS):
        parser.error(f"unknown benchmark {', '.join(sorted(unknown))}; choose from {', '.join(BENCHMARKS)}")
    asyncio.run(
        main(
            args.events,
            args.replay_events,
            set(args.only or BENCHMARKS),
            args.sse_clients,
            args.sse_window,
            args.media_latency,
            args.media_segments,
        )
    )
