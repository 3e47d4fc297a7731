"""Riding out a NATS outage: the transient errors, retrying through them, an append that waits for a restarted
server (same port and store) and is stored once, and a job that ends exactly once."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from typing import Any

import nats
import nats.errors
import nats.js.errors
import pytest

from skillstream_contracts.events import utcnow
from skillstream_contracts.jobs import (
    JOB_EVENTS,
    JobCompleted,
    JobDispatch,
    JobFailed,
    JobKindSpec,
    JobPhase,
    JobRequested,
)
from skillstream_contracts.streams import JOBS
from skillstream_devstack.embedded import EmbeddedNats
from skillstream_runtime.errors import AppendError, ConcurrencyError
from skillstream_runtime.eventstore import EventStore, NewEvent, ensure_stream
from skillstream_runtime.jobs import JobContext, JobWorker, JobWorkerSettings, end_event_id
from skillstream_runtime.memorystore import InMemoryEventStore
from skillstream_runtime.outage import OutagePolicy, is_transient, through_outage

FAST = OutagePolicy(timeout=2.0, wait_initial=0.01, wait_max=0.05, wait_jitter=0.0)


@pytest.mark.parametrize(
    "error",
    [
        nats.errors.TimeoutError(),
        nats.errors.NoRespondersError(),
        nats.errors.ConnectionClosedError(),
        nats.errors.ConnectionReconnectingError(),
        nats.js.errors.ServiceUnavailableError(),
    ],
)
def test_errors_of_an_unreachable_server_are_transient(error: Exception) -> None:
    assert is_transient(error)
    translated = AppendError("append failed")
    translated.__cause__ = error
    assert is_transient(translated)


@pytest.mark.parametrize(
    "error", [ValueError("bad"), ConcurrencyError("s", 1, "moved"), nats.js.errors.NotFoundError()]
)
def test_other_errors_are_not_transient(error: Exception) -> None:
    assert not is_transient(error)


async def test_a_request_is_retried_until_it_is_answered() -> None:
    calls = 0

    async def flaky() -> str:
        nonlocal calls
        calls += 1
        if calls < 3:
            raise nats.errors.TimeoutError
        return "ok"

    assert await through_outage(flaky, what="test", policy=FAST) == "ok"
    assert calls == 3


async def test_an_outage_longer_than_the_policy_raises_the_last_error() -> None:
    async def down() -> None:
        raise nats.errors.NoRespondersError

    started = time.monotonic()
    with pytest.raises(nats.errors.NoRespondersError):
        await through_outage(down, what="test", policy=OutagePolicy(timeout=0.3, wait_initial=0.01, wait_max=0.05))
    assert time.monotonic() - started < 2


async def test_an_error_that_is_not_transient_is_not_retried() -> None:
    calls = 0

    async def wrong() -> None:
        nonlocal calls
        calls += 1
        raise ValueError("bad request")

    with pytest.raises(ValueError, match="bad request"):
        await through_outage(wrong, what="test", policy=FAST)
    assert calls == 1


async def test_an_append_waits_for_a_restarted_server_and_is_stored_once(nats_server: EmbeddedNats) -> None:
    nc = await nats.connect(nats_server.url, max_reconnect_attempts=-1, reconnect_time_wait=0.2)
    try:
        await ensure_stream(nc, JOBS)
        store = EventStore(nc, {"JOBS": JOB_EVENTS}, timeout=1.0, outage=OutagePolicy(timeout=60, wait_max=0.5))
        subject = JOBS.aggregate_subject("job", "o1")
        first = NewEvent(event=JobRequested(job_id="o1", kind="test", parameters={}, requested_by="t"))
        await store.append(JOBS, subject, "o1", [first])
        nats_server.kill()
        second = NewEvent(event=JobCompleted(job_id="o1"))
        pending = asyncio.create_task(store.append(JOBS, subject, "o1", [second]))
        await asyncio.sleep(3)  # three request timeouts: the append is still waiting
        assert not pending.done()
        await asyncio.to_thread(nats_server.start)
        result = await asyncio.wait_for(pending, 30)
        again = await store.append(JOBS, subject, "o1", [second])  # the same event id: stored once
        assert again.duplicate
        assert again.last_sequence == result.last_sequence
        events = await store.load(JOBS, subject)
        assert [type(r.event) for r in events] == [JobRequested, JobCompleted]  # the store survived the restart
    finally:
        await nc.close()


def _job(store: InMemoryEventStore, job_id: str = "j1") -> JobContext:
    return JobContext(JobDispatch(job_id=job_id, kind="test", requested_by="t"), store, JOBS)


def _ends(store: InMemoryEventStore, job: JobContext) -> Any:
    async def read() -> list[str | None]:
        return [r.metadata.job.phase for r in await store.load(JOBS, job.subject) if r.metadata.job is not None]

    return read()


async def test_a_job_ends_once_whatever_ends_it_again() -> None:
    store = InMemoryEventStore({"JOBS": JOB_EVENTS})
    job = _job(store)
    stored = await job.report_end(JobCompleted(job_id="j1"), JobPhase.COMPLETED)
    # the worker's failure path, or a second run of a redelivered job, meets the stored end
    other = _job(store)
    again = await other.report_end(JobFailed(job_id="j1", reason="late"), JobPhase.FAILED, reason="late")
    assert again.duplicate
    assert again.last_sequence == stored.last_sequence
    assert other.ended is JobPhase.COMPLETED
    assert await _ends(store, job) == ["completed"]
    records = await store.load(JOBS, job.subject)
    assert records[0].metadata.event_id == end_event_id("j1")


def _worker(store: InMemoryEventStore, handler: Any, timeout: float | None = None) -> JobWorker:
    def lifecycle(job: JobContext, phase: JobPhase, reason: str | None) -> JobFailed:
        return JobFailed(job_id=job.job_id, reason=reason or "")

    spec = JobKindSpec(kind="test", owner="test", stream=JOBS.name, title="Test", description="a test kind")
    return JobWorker(None, store, spec, JOBS, handler, lifecycle, JobWorkerSettings(timeout=timeout, timeout_grace=0.0))  # type: ignore[arg-type]


async def test_a_handler_that_ended_its_job_and_then_raised_keeps_its_end() -> None:
    store = InMemoryEventStore({"JOBS": JOB_EVENTS})

    async def handler(job: JobContext) -> None:
        await job.report_end(JobCompleted(job_id=job.job_id), JobPhase.COMPLETED)
        raise nats.errors.TimeoutError

    job = _job(store)
    await _worker(store, handler)._handle(job, _Log())
    assert await _ends(store, job) == ["completed"]


async def test_a_job_past_its_timeout_ends_failed_once() -> None:
    store = InMemoryEventStore({"JOBS": JOB_EVENTS})

    async def handler(job: JobContext) -> None:
        await asyncio.sleep(60)  # paused, e.g. through a long outage

    job = _job(store)
    await _worker(store, handler, timeout=0.1)._handle(job, _Log())
    records = await store.load(JOBS, job.subject)
    assert [r.metadata.job.phase for r in records if r.metadata.job] == ["failed"]
    assert "timeout of 0.1s" in (records[0].metadata.job.reason or "")  # type: ignore[union-attr]


class _Log:
    def __getattr__(self, name: str) -> Any:
        return lambda *a, **kw: None


async def test_a_redelivered_job_counts_its_timeout_from_its_first_start() -> None:
    store = InMemoryEventStore({"JOBS": JOB_EVENTS})
    seen: list[bool] = []

    async def handler(job: JobContext) -> None:
        seen.append(job.past_deadline)
        await asyncio.sleep(60)

    job = _job(store)
    started = utcnow() - dt.timedelta(seconds=30)  # the first run started before an outage of half a minute
    async with asyncio.timeout(5):
        await _worker(store, handler, timeout=20)._handle(job, _Log(), started)
    assert seen == [True]
    assert await _ends(store, job) == ["failed"]
