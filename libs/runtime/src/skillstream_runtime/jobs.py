"""Running jobs in the service that owns their kind (the owner side of the job protocol).

The protocol is drawn in :mod:`skillstream_contracts.jobs`. Here:

- the ``JOB_WORK`` work-queue stream and the ``job_kinds`` KV bucket (:mod:`skillstream_runtime.jobkinds`,
  re-exported here);
- :class:`JobWorker` — one durable pull consumer per kind, shared by every replica of the owner, run on the
  runtime's work-queue loop (:mod:`skillstream_runtime.workqueue`): ``max_ack_pending`` =
  ``JobWorkerSettings.concurrency`` caps running jobs of the kind across the fleet; a running job's message is
  kept alive with ``in_progress`` heartbeats, so a crashed process's job is redelivered after ``ack_wait``
  seconds and resumed by whichever replica gets it;
- :class:`JobContext` — what a job handler gets: the dispatch, a cancel flag that follows the job's
  ``JobCancelRequested`` on the ``JOBS`` stream, and ``report_*`` methods that append the owner's own
  events with the job headers the orchestrator follows.

A handler must be resumable (a redelivered job runs again): it reads its own stream to skip the items it
already finished. It ends the job with :meth:`JobContext.report_end`; if it raises, returns without ending the
job, or runs longer than ``JobWorkerSettings.timeout``, the worker ends it as failed with the owner's
``lifecycle_event``. A NATS outage does not end a job: the event store retries its appends and loads until
NATS is back (:mod:`skillstream_runtime.outage`), so the job pauses, bounded by its timeout.

A job ends exactly once: its end has a deterministic event id (a repeat within the stream's duplicate window is
stored once) and :meth:`JobContext.report_end` reads the job's subject first, so a second end (the handler's
and the worker's, or two runs of a redelivered job) is never appended. A dispatch redelivered to the process
already running its job waits for that run instead of starting a second one.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import msgspec
import structlog
from nats.aio.client import Client

from skillstream_contracts.events import Event, Headers, utcnow
from skillstream_contracts.jobs import (
    JOB_WORK_STREAM,
    ItemOutcome,
    JobCancelled,
    JobCancelRequested,
    JobCompleted,
    JobDispatch,
    JobFailed,
    JobKindSpec,
    JobPhase,
    JobReport,
    JobStarted,
    work_subject,
)
from skillstream_contracts.streams import JOBS, StreamDefinition
from skillstream_runtime.eventstore import AbstractEventStore, AppendResult, NewEvent
from skillstream_runtime.jobkinds import (
    ensure_work_stream,
    get_kind,
    list_kinds,
    register_kind,
    work_consumer_name,
)
from skillstream_runtime.outage import through_outage
from skillstream_runtime.workqueue import ACK, Delivery, Outcome, WorkConsumer, consumer_config

log = structlog.get_logger(__name__)

_DISPATCH = msgspec.json.Decoder(JobDispatch)

_ENDED = (JobCompleted, JobFailed, JobCancelled)
_ENDING = (JobPhase.COMPLETED, JobPhase.FAILED, JobPhase.CANCELLED)
_END_IDS = uuid.UUID("5b0f6f3e-2a57-4f0c-9c55-0d6c1f7e4a10")  # namespace of the jobs' end event ids


def end_event_id(job_id: str) -> str:
    """The event id of the event that ends job ``job_id`` (whatever its phase): one per job, so a repeated end
    is stored once (JetStream's duplicate window, the in-memory store's ids)."""
    return uuid.uuid5(_END_IDS, f"{job_id}/end").hex


@dataclass(frozen=True, kw_only=True)
class JobWorkerSettings:
    """``concurrency``: jobs of the kind running at once across every replica (``max_ack_pending``);
    ``ack_wait``: seconds without a heartbeat before a job is handed to another replica (heartbeats go
    every third of it); ``fetch_timeout``: seconds per idle fetch; ``timeout``: seconds a run of a job may
    take, NATS outages included (None: no limit) — its handler sees it as :attr:`JobContext.deadline`, and
    ``timeout_grace`` seconds later the worker cancels a handler still running and ends the job failed."""

    concurrency: int = 1
    ack_wait: float = 30.0
    fetch_timeout: float = 2.0
    timeout: float | None = 6 * 3600.0
    timeout_grace: float = 120.0


LifecycleEvent = Callable[["JobContext", JobPhase, str | None], Event]
"""``(job, phase, reason) -> the owner's event`` for a job the worker ends itself (failed, cancelled)."""


class JobContext:
    """One running job, as its handler sees it.

    ``dispatch``: what the orchestrator sent. ``cancel_requested``: set when the orchestrator appends
    ``JobCancelRequested`` (or ends the job): stop taking new items, let those in flight finish, then call
    :meth:`report_end` with ``JobPhase.CANCELLED``. ``deadline`` (event-loop time, seconds; None: none):
    past it (:attr:`past_deadline`) the handler stops too, ends its unfinished items failed (so a retry of the
    failed items runs them again) and the job failed. The job's own aggregate is ``<stream context>.job.<id>``
    (:attr:`subject`); item events may go to any subject of the owner's stream.
    """

    def __init__(self, dispatch: JobDispatch, store: AbstractEventStore, stream: StreamDefinition) -> None:
        self.dispatch = dispatch
        self.store = store
        self.stream = stream
        self.subject = stream.aggregate_subject("job", dispatch.job_id)
        self.cancel_event = asyncio.Event()
        self.ended: JobPhase | None = None
        self.deadline: float | None = None

    @property
    def job_id(self) -> str:
        return self.dispatch.job_id

    @property
    def cancel_requested(self) -> bool:
        return self.cancel_event.is_set()

    @property
    def past_deadline(self) -> bool:
        return self.deadline is not None and asyncio.get_running_loop().time() >= self.deadline

    def report(self, **fields: Any) -> JobReport:
        """A :class:`JobReport` of this job with ``fields`` (phase, total, item_key, item_outcome, ...)."""
        return JobReport(job_id=self.job_id, **fields)

    def new_event(self, event: Event, report: JobReport | None = None) -> NewEvent:
        """``event`` as a :class:`NewEvent` carrying this job's correlation id and ``report`` (by default one
        that names only this job), for an event the handler appends itself."""
        job = report or JobReport(job_id=self.job_id)
        return NewEvent(event=event, correlation_id=self.dispatch.correlation_id, job=job)

    async def report_phase(
        self,
        event: Event,
        phase: JobPhase,
        *,
        total: int | None = None,
        summary: dict[str, Any] | None = None,
        reason: str | None = None,
    ) -> AppendResult:
        """Append ``event`` to the job's own subject with the ``job_phase`` header (and ``total`` items,
        a small JSON ``summary``, a failure ``reason``). Ending phases set :attr:`ended` and carry the job's
        end event id (:func:`end_event_id`)."""
        new = self.new_event(
            event,
            self.report(
                phase=phase.value,
                total=total,
                summary=None if summary is None else json.dumps(summary, separators=(",", ":")),
                reason=reason,
            ),
        )
        if phase in _ENDING:
            new = NewEvent(
                event=new.event, event_id=end_event_id(self.job_id), correlation_id=new.correlation_id, job=new.job
            )
        result = await self.store.append(self.stream, self.subject, self.job_id, [new])
        if phase in _ENDING:
            self.ended = phase
        return result

    async def report_end(
        self, event: Event, phase: JobPhase, *, summary: dict[str, Any] | None = None, reason: str | None = None
    ) -> AppendResult:
        """End the job: ``phase`` is completed, failed or cancelled. Once only: when the job's subject already
        holds an end of this job (another run ended it), nothing is appended, :attr:`ended` becomes that end's
        phase and the result is that event's, marked ``duplicate``.

        Raises:
            ValueError: ``phase`` does not end a job.
        """
        if phase not in _ENDING:
            raise ValueError(f"{phase} does not end a job")
        for r in await self.store.load(self.stream, self.subject):
            report = r.metadata.job
            if report is not None and report.job_id == self.job_id and report.phase in _ENDING:
                self.ended = JobPhase(report.phase)
                return AppendResult(
                    stream=r.stream, first_sequence=r.sequence, last_sequence=r.sequence, duplicate=True
                )
        return await self.report_phase(event, phase, summary=summary, reason=reason)

    async def report_item(
        self,
        event: Event,
        *,
        subject: str,
        aggregate_id: str,
        item_key: str,
        outcome: ItemOutcome,
        group: str | None = None,
        size_bytes: int | None = None,
        reason: str | None = None,
        expected_last_sequence: int | None = None,
    ) -> AppendResult:
        """Append the owner's ``event`` about one item with the item headers the progress view counts
        (``size_bytes``: the item's size in bytes, counted when it succeeds; ``reason``: why it failed)."""
        new = self.new_event(
            event,
            self.report(
                item_key=item_key, item_outcome=outcome.value, item_group=group, item_bytes=size_bytes, reason=reason
            ),
        )
        return await self.store.append(
            self.stream, subject, aggregate_id, [new], expected_last_sequence=expected_last_sequence
        )


Handler = Callable[[JobContext], Awaitable[None]]


class JobWorker:
    """Runs the jobs of one kind from its durable work consumer until :meth:`stop`."""

    def __init__(
        self,
        nc: Client,
        store: AbstractEventStore,
        spec: JobKindSpec,
        stream: StreamDefinition,
        handler: Handler,
        lifecycle_event: LifecycleEvent,
        settings: JobWorkerSettings | None = None,
    ) -> None:
        self.spec = spec
        self.settings = settings or JobWorkerSettings()
        self._nc = nc
        self._store = store
        self._stream = stream
        self._handler = handler
        self._lifecycle_event = lifecycle_event
        self._log = log.bind(kind=spec.kind)
        self._running: dict[str, asyncio.Future[None]] = {}  # job id → its run in this process

    async def run(self) -> None:
        """Register the kind and its durable work consumer, then run its jobs (at most ``concurrency`` in this
        process too) on the runtime's work-queue loop until cancelled. A cancelled job (shutdown, crash) stays
        unacknowledged and is resumed by another replica after ``ack_wait``."""
        await ensure_work_stream(self._nc, create_only=True)
        await register_kind(self._nc, self.spec)
        durable = work_consumer_name(self.spec.kind)
        config = consumer_config(
            durable,
            filter_subject=work_subject(self.spec.kind),
            max_ack_pending=self.settings.concurrency,
            ack_wait=self.settings.ack_wait,
        )
        # the server's consumer create is create-or-update: a restart with a new concurrency updates it
        await self._nc.jetstream().add_consumer(JOB_WORK_STREAM, config)
        consumer = WorkConsumer(
            stream=JOB_WORK_STREAM,
            durable=durable,
            decode=_DISPATCH.decode,
            handler=self._run_job,
            concurrency=self.settings.concurrency,
            ack_wait=self.settings.ack_wait,
            fetch_timeout=self.settings.fetch_timeout,
        )
        await consumer.run(self._nc)

    async def _run_job(self, dispatch: JobDispatch, _: Delivery) -> Outcome:
        running = self._running.get(dispatch.job_id)
        if running is not None:
            # redelivered (a heartbeat lost in an outage) to the process that runs it: wait for that run
            self._log.info("job already running here, redelivery waits for it", job_id=dispatch.job_id)
            with contextlib.suppress(Exception):
                await asyncio.shield(running)
            return ACK
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._running[dispatch.job_id] = done
        try:
            return await self._run_once(dispatch)
        finally:
            del self._running[dispatch.job_id]
            done.set_result(None)

    async def _run_once(self, dispatch: JobDispatch) -> Outcome:
        job = JobContext(dispatch, self._store, self._stream)
        log_ = self._log.bind(job_id=dispatch.job_id)
        watcher = asyncio.create_task(watch_cancel(self._nc, job.job_id, job.cancel_event))
        try:
            history = await self._store.load(JOBS, JOBS.aggregate_subject("job", dispatch.job_id))
            if any(isinstance(e.event, _ENDED) for e in history):
                log_.info("job already ended, dispatch dropped")
            elif any(isinstance(e.event, JobCancelRequested) for e in history) and not any(
                e.metadata.job_id == dispatch.job_id for e in await self._store.load(self._stream, job.subject)
            ):
                await job.report_end(self._lifecycle_event(job, JobPhase.CANCELLED, None), JobPhase.CANCELLED)
            else:
                started = next((e.metadata.occurred_at for e in history if isinstance(e.event, JobStarted)), None)
                await self._handle(job, log_, started)
        finally:
            watcher.cancel()
        return ACK

    async def _handle(self, job: JobContext, log_: Any, started: dt.datetime | None = None) -> None:
        timeout = self.settings.timeout
        left = None  # seconds left of the timeout, counted from the job's first start (a redelivered job resumes)
        if timeout is not None:
            left = timeout - (0.0 if started is None else max(0.0, (utcnow() - started).total_seconds()))
            job.deadline = asyncio.get_running_loop().time() + left
        limit = asyncio.timeout(None if left is None else max(0.0, left) + self.settings.timeout_grace)
        try:
            async with limit:
                await self._handler(job)
        except TimeoutError as e:
            if not limit.expired():
                await self._fail(job, log_, e)
                return
            reason = f"the job ran longer than its timeout of {timeout:g}s"
            log_.error(reason)
            await job.report_end(self._lifecycle_event(job, JobPhase.FAILED, reason), JobPhase.FAILED, reason=reason)
            return
        except asyncio.CancelledError:
            raise  # process shutting down: the job is redelivered and resumed elsewhere
        except Exception as e:  # noqa: BLE001 - any failure of the handler ends the job failed, once
            await self._fail(job, log_, e)
            return
        if job.ended is None:
            reason = "the job handler returned without ending the job"
            log_.error(reason)
            await job.report_end(self._lifecycle_event(job, JobPhase.FAILED, reason), JobPhase.FAILED, reason=reason)

    async def _fail(self, job: JobContext, log_: Any, error: Exception) -> None:
        log_.exception("job handler failed", exc_info=error)
        if job.ended is not None:
            return  # the handler ended the job before it raised: that end stands
        reason = f"{type(error).__name__}: {error}"
        await job.report_end(self._lifecycle_event(job, JobPhase.FAILED, reason), JobPhase.FAILED, reason=reason)


async def watch_cancel(nc: Client, job_id: str, flag: asyncio.Event) -> None:
    """Set ``flag`` once the job is asked to stop (``JobCancelRequested``, or the orchestrator ends it as
    cancelled or failed); runs until cancelled. Follows the job's subject on ``JOBS`` with an ordered consumer
    (headers only: replays its few events, then live), so it sees a request made before it started."""
    subject = JOBS.aggregate_subject("job", job_id)
    sub = await through_outage(
        lambda: nc.jetstream().subscribe(subject, ordered_consumer=True, headers_only=True), what=f"follow {subject}"
    )
    try:
        async for m in sub.messages:
            kind = (m.headers or {}).get(Headers.EVENT_TYPE, "")
            if kind in ("jobs.JobCancelRequested", "jobs.JobCancelled", "jobs.JobFailed"):
                flag.set()
    finally:
        with contextlib.suppress(Exception):
            await sub.unsubscribe()


__all__ = [
    "Handler",
    "JobContext",
    "JobWorker",
    "JobWorkerSettings",
    "LifecycleEvent",
    "end_event_id",
    "ensure_work_stream",
    "get_kind",
    "list_kinds",
    "register_kind",
    "watch_cancel",
    "work_consumer_name",
]
