"""Event store append benchmark (``make bench`` name ``append``): rows (name, events/s, ratio, target)."""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import nats

from skillstream_contracts.jobs import JOB_EVENTS, JobStarted
from skillstream_contracts.streams import StreamDefinition, aggregate_subject
from skillstream_devstack.embedded import start_nats
from skillstream_runtime.concurrency import for_each
from skillstream_runtime.eventstore import EventStore, NewEvent, ensure_stream

CONCURRENCY = 256


def _stream(name: str) -> StreamDefinition:
    return StreamDefinition(name=name, context=name.lower(), subjects=(f"{name.lower()}.>",), description="bench")


async def _gather_bounded(coros: list[Any], limit: int = CONCURRENCY) -> None:
    # ``limit`` workers awaiting the coroutines in turn, as EventStore.append_many runs its appends, so the
    # baseline pays no more scheduling cost than the measured rows.
    await for_each(coros, _awaited, limit)


async def _awaited(coro: Any) -> None:
    await coro


async def bench_append(nc: Any, n: int, rounds: int = 3) -> list[tuple[str, float, float, str]]:
    """Alternate baseline and measured rounds on fresh streams; report the median rate of each.

    Single appends compare with raw publishes, 256 in flight; batches of 10 compare with the same events
    sent as 10 raw publishes per batch, the same number of batches in flight.
    """
    js = nc.jetstream()
    store = EventStore(nc, {f"B{k}": JOB_EVENTS for k in range(4 * rounds + 1)})
    events = [NewEvent(event=JobStarted(job_id=f"j{i}", worker="bench", total_items=i)) for i in range(n)]
    payloads = [JOB_EVENTS.encode(e.event) for e in events]
    per = 10
    counter = iter(range(4 * rounds + 1))

    async def fresh() -> StreamDefinition:
        s = _stream(f"B{next(counter)}")
        await ensure_stream(nc, s)
        return s

    async def raw() -> float:
        s = await fresh()
        t0 = time.perf_counter()
        await _gather_bounded([js.publish(f"{s.context}.job.j{i}", payloads[i]) for i in range(n)])
        return n / (time.perf_counter() - t0)

    async def raw_batches() -> float:
        s = await fresh()

        async def group(a: int) -> None:
            subject = f"{s.context}.job.j{a}"
            await asyncio.gather(*(js.publish(subject, payloads[i]) for i in range(a * per, (a + 1) * per)))

        t0 = time.perf_counter()
        await _gather_bounded([group(a) for a in range(n // per)], CONCURRENCY // 4)
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
    r_raw: list[float] = []
    r_single: list[float] = []
    r_raw10: list[float] = []
    r_batch: list[float] = []
    for _ in range(rounds):
        r_raw.append(await raw())
        r_single.append(await single())
        r_raw10.append(await raw_batches())
        r_batch.append(await batched())
    base, base10 = statistics.median(r_raw), statistics.median(r_raw10)
    single_rate, batch_rate = statistics.median(r_single), statistics.median(r_batch)
    return [
        ("raw js.publish, 256 in flight (baseline)", base, 1.0, ""),
        ("EventStore.append, 1 event, expected seq + msg id", single_rate, single_rate / base, "≥ 0.90×"),
        ("raw js.publish, 10 per batch, 64 batches in flight (baseline)", base10, 1.0, ""),
        ("EventStore.append, atomic batch of 10", batch_rate, batch_rate / base10, "≥ 0.80×"),
    ]


async def _on_server(events: int, *, sync_always: bool) -> list[tuple[str, float, float, str]]:
    with tempfile.TemporaryDirectory() as tmp:
        server = start_nats(Path(tmp) / "nats", sync_always=sync_always)
        try:
            nc = await nats.connect(server.url)
            try:
                return await bench_append(nc, events)
            finally:
                await nc.drain()
        finally:
            server.stop()


async def run_append(events: int) -> list[tuple[str, float, float, str]]:
    """Run :func:`bench_append` on an embedded server with NATS's default sync (the main rows, which measure
    the client and server), then on one that fsyncs every write (rows marked ``fsync always``, which measure the
    disk as much as the code), each row beside its main row. Rows are (name, events/s, ratio vs the row's
    baseline, target)."""
    fast = await _on_server(events, sync_always=False)
    durable = await _on_server(events, sync_always=True)
    rows: list[tuple[str, float, float, str]] = []
    for main_row, (name, rate, ratio, _) in zip(fast, durable, strict=True):
        rows += [main_row, (f"  fsync always: {name}", rate, ratio, "")]
    return rows


__all__ = ["run_append"]
