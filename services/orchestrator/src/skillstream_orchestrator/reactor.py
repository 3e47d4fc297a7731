"""The orchestrator's reactions: dispatch requested jobs, follow the owners' reports to each job's end.

- **Dispatcher** (durable consumer ``orchestrator_dispatch`` on ``JOBS``): on ``JobRequested`` it publishes a
  :class:`JobDispatch` on ``work.jobs.<kind>`` (``Nats-Msg-Id`` = ``dispatch-<job id>``, so a repeat after
  a crash is dropped by JetStream) and appends ``JobQueued``.
- **Follower** (durable consumer ``orchestrator_follow`` on each report stream): turns the owner's events
  that carry a ``job_phase`` header into ``JobStarted`` / ``JobItemsPlanned`` / ``JobCompleted`` /
  ``JobFailed`` / ``JobCancelled``. Item events are acknowledged unread (the progress view counts them).

Every reaction loads the job, decides with :mod:`skillstream_orchestrator.domain` and appends with the
expected sequence and a deterministic event id, so a redelivered message or a second orchestrator replica
can never apply a reaction twice. A message is acknowledged only after its reaction is stored; a failure
(NATS or the event store unavailable) is retried after ``retry_delay`` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any

import msgspec
import nats.js.errors
import structlog
from nats.aio.msg import Msg
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from skillstream_contracts.events import Event, Headers
from skillstream_contracts.jobs import (
    JOB_WORK_STREAM,
    JobCancelled,
    JobCompleted,
    JobDispatch,
    JobFailed,
    JobItemsPlanned,
    JobPhase,
    JobQueued,
    JobRequested,
    JobStarted,
    JobStatus,
    JobView,
    work_subject,
)
from skillstream_contracts.streams import JOBS
from skillstream_orchestrator.domain import Job, event_id_for, fold, load
from skillstream_runtime.errors import ConcurrencyError
from skillstream_runtime.eventstore import NewEvent
from skillstream_runtime.host import ServiceContext

log = structlog.get_logger(__name__)

_ATTEMPTS = 5  # reload-and-decide rounds on a concurrency conflict


async def load_job(ctx: ServiceContext, job_id: str) -> Job | None:
    """The job aggregate from the ``JOBS`` stream, or None."""
    return load(await ctx.store.load(JOBS, JOBS.aggregate_subject("job", job_id)))


async def decide_and_append(
    ctx: ServiceContext, job_id: str, decide: Callable[[Job], Sequence[NewEvent]]
) -> Job | None:
    """Load the job, ask ``decide`` for events, append them with the expected sequence; on a conflict
    reload and decide again. Returns the job with the decided events applied (None: no such job)."""
    for _ in range(_ATTEMPTS):
        job = await load_job(ctx, job_id)
        if job is None:
            return None
        events = decide(job)
        if not events:
            return job
        try:
            result = await ctx.store.append(
                JOBS, JOBS.aggregate_subject("job", job_id), job_id, events, expected_last_sequence=job.last_sequence
            )
        except ConcurrencyError:
            continue
        view: JobView | None = job.view
        for e in events:
            view = fold(view, e.event, e.occurred_at)
        assert view is not None
        return Job(view, result.last_sequence)
    raise ConcurrencyError(JOBS.aggregate_subject("job", job_id), None, f"still conflicting after {_ATTEMPTS} tries")


def _new(job_id: str, what: str, event: Event, correlation: str | None = None) -> NewEvent:
    return NewEvent(event=event, event_id=event_id_for(job_id, what), correlation_id=correlation)


async def dispatch(ctx: ServiceContext, job_id: str, correlation_id: str | None = None) -> None:
    """Hand a requested job to the work queue of its kind, then record ``JobQueued`` (idempotent)."""
    records = await ctx.store.load(JOBS, JOBS.aggregate_subject("job", job_id))
    job = load(records)
    if job is None or job.view.status is not JobStatus.REQUESTED or not isinstance(records[0].event, JobRequested):
        return
    v = job.view
    only_items = records[0].event.only_items
    body = JobDispatch(
        job_id=job_id,
        kind=v.kind,
        parameters=v.parameters,
        requested_by=v.requested_by,
        retry_of=v.retry_of,
        only_items=only_items,
        correlation_id=correlation_id,
    )
    await ctx.nc.jetstream().publish(
        work_subject(v.kind),
        msgspec.json.encode(body),
        stream=JOB_WORK_STREAM,
        headers={"Nats-Msg-Id": f"dispatch-{job_id}"},
    )

    def decide(j: Job) -> list[NewEvent]:
        if j.view.status is not JobStatus.REQUESTED:
            return []
        return [_new(job_id, "queued", JobQueued(job_id=job_id, kind=j.view.kind), correlation_id)]

    await decide_and_append(ctx, job_id, decide)


def _phase_event(job: Job, phase: JobPhase, headers: dict[str, str], worker: str) -> Event | None:
    v = job.view
    total = headers.get(Headers.JOB_TOTAL)
    summary: dict[str, Any] = {}
    if raw := headers.get(Headers.JOB_SUMMARY):
        with contextlib.suppress(ValueError):
            loaded = json.loads(raw)
            summary = loaded if isinstance(loaded, dict) else {}
    match phase:
        case JobPhase.STARTED if not job.started:
            return JobStarted(job_id=v.job_id, worker=worker, total_items=None if total is None else int(total))
        case JobPhase.PLANNED if total is not None:
            groups = summary.get("groups")
            clean = {str(k): int(n) for k, n in groups.items()} if isinstance(groups, dict) else {}
            return JobItemsPlanned(job_id=v.job_id, total_items=int(total), groups=clean)
        case JobPhase.COMPLETED:
            return JobCompleted(job_id=v.job_id, summary=summary)
        case JobPhase.FAILED:
            reason = headers.get(Headers.JOB_REASON) or "the job failed"
            return JobFailed(job_id=v.job_id, reason=reason, summary=summary)
        case JobPhase.CANCELLED:
            return JobCancelled(job_id=v.job_id, summary=summary)
    return None


async def follow(ctx: ServiceContext, msg: Msg) -> None:
    """Apply one owner report (a message with a ``job_phase`` header) to its job; others are ignored."""
    headers = dict(msg.headers or {})
    job_id, phase_value = headers.get(Headers.JOB_ID), headers.get(Headers.JOB_PHASE)
    if job_id is None or phase_value is None:
        return
    try:
        phase = JobPhase(phase_value)
    except ValueError:
        log.warning("unknown job phase ignored", job_id=job_id, phase=phase_value)
        return
    what = f"{phase.value}:{msg.metadata.stream}:{msg.metadata.sequence.stream}"

    def decide(job: Job) -> list[NewEvent]:
        if job.view.status.is_terminal:
            return []
        event = _phase_event(job, phase, headers, msg.metadata.stream)
        return [] if event is None else [_new(job_id, what, event, headers.get(Headers.CORRELATION_ID))]

    if await decide_and_append(ctx, job_id, decide) is None:
        log.warning("report for an unknown job ignored", job_id=job_id, phase=phase.value)


async def _consume(
    ctx: ServiceContext,
    stream: str,
    durable: str,
    filters: Sequence[str],
    handle: Callable[[Msg], Awaitable[None]],
    *,
    retry_delay: float = 1.0,
) -> None:
    js = ctx.nc.jetstream()
    config = ConsumerConfig(
        durable_name=durable,
        ack_policy=AckPolicy.EXPLICIT,
        deliver_policy=DeliverPolicy.ALL,
        ack_wait=30.0,
        max_deliver=-1,
        max_ack_pending=1000,
        filter_subjects=list(filters) or None,
    )
    while True:
        try:
            await js.add_consumer(stream, config)
            break
        except nats.js.errors.NotFoundError:  # the owner has not created its stream yet
            await asyncio.sleep(retry_delay)
    psub = await js.pull_subscribe_bind(durable, stream=stream)
    bound = log.bind(consumer=durable, stream=stream)
    try:
        while True:
            try:
                msgs = await psub.fetch(200, timeout=2.0)
            except TimeoutError:
                continue
            for m in msgs:
                try:
                    await handle(m)
                except Exception as e:  # noqa: BLE001 - retried after a delay; the reaction is idempotent
                    bound.warning("reaction failed, will retry", error=repr(e), sequence=m.metadata.sequence.stream)
                    await m.nak(delay=retry_delay)
                    continue
                await m.ack()
    finally:
        # cancelled at shutdown: without this, NATS's drain waits out its timeout on the pull inbox
        with contextlib.suppress(Exception):
            await psub.unsubscribe()


def reactor(report_streams: Sequence[str]) -> Callable[[ServiceContext], Coroutine[Any, Any, None]]:
    """The background coroutine running the dispatcher and one follower per report stream."""

    async def run(ctx: ServiceContext) -> None:
        async def on_jobs(m: Msg) -> None:
            headers = m.headers or {}
            if headers.get(Headers.EVENT_TYPE) == "jobs.JobRequested":
                await dispatch(ctx, headers[Headers.AGGREGATE_ID], headers.get(Headers.CORRELATION_ID))

        tasks = [_consume(ctx, JOBS.name, "orchestrator_dispatch", ("jobs.job.*",), on_jobs)]
        for stream in dict.fromkeys(report_streams):
            if stream != JOBS.name:
                tasks.append(_consume(ctx, stream, "orchestrator_follow", (), lambda m: follow(ctx, m)))
        await asyncio.gather(*tasks)

    return run


__all__ = ["decide_and_append", "dispatch", "follow", "load_job", "reactor"]
