"""The orchestrator's reactions: dispatch requested jobs, follow the owners' reports to each job's end.

- **Dispatcher** (durable consumer ``orchestrator_dispatch`` on ``JOBS``): on ``JobRequested`` it publishes a
  :class:`JobDispatch` on ``work.jobs.<kind>`` (``Nats-Msg-Id`` = ``dispatch-<job id>``, so a repeat after
  a crash is dropped by JetStream) and appends ``JobQueued``.
- **Follower** (durable consumer ``orchestrator_follow`` on the job subjects of each report stream): turns
  the owner's events whose job report has a phase into ``JobStarted`` / ``JobItemsPlanned`` / ``JobCompleted``
  / ``JobFailed`` / ``JobCancelled``. Item events are not read here (the progress view counts them).

Both are process-manager steps on the job decider (:mod:`skillstream_orchestrator.domain.job`): each loads
the job, decides and appends with the expected sequence and a deterministic event id, so a redelivered
message or a second orchestrator replica never applies a reaction twice. The consumer loop (acks, retries
after a failure) is the runtime's (:mod:`skillstream_runtime.reactions`); these handlers take the message's
headers and their dependencies.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

import structlog

from skillstream_contracts.events import Event, Headers
from skillstream_contracts.jobs import JobDispatch, JobPhase, JobReport, JobStatus
from skillstream_orchestrator.domain.job import JOB, ApplyReport, MarkQueued, event_id_for
from skillstream_orchestrator.handlers.commands import load_job
from skillstream_runtime.decider import run_command
from skillstream_runtime.eventstore import AbstractEventStore, NewEvent

log = structlog.get_logger(__name__)


@dataclass(frozen=True, kw_only=True)
class ReactionDeps:
    """The event ``store`` and ``publish_dispatch(dispatch)``: put a job on its kind's work queue
    (idempotent per job: the queue drops a repeated dispatch)."""

    store: AbstractEventStore
    publish_dispatch: Callable[[JobDispatch], Awaitable[None]]


def _envelope(job_id: str, what: str, correlation_id: str | None) -> Callable[[Event], NewEvent]:
    def wrap(event: Event) -> NewEvent:
        return NewEvent(event=event, event_id=event_id_for(job_id, what), correlation_id=correlation_id)

    return wrap


async def dispatch(job_id: str, correlation_id: str | None, deps: ReactionDeps) -> None:
    """Hand a requested job to the work queue of its kind, then record ``JobQueued`` (idempotent: a job that
    is no longer ``requested`` is left alone)."""
    agg = await load_job(deps.store, job_id)
    job = agg.state
    if job is None or job.view.status is not JobStatus.REQUESTED:
        return
    v = job.view
    await deps.publish_dispatch(
        JobDispatch(
            job_id=job_id,
            kind=v.kind,
            parameters=v.parameters,
            requested_by=v.requested_by,
            retry_of=v.retry_of,
            only_items=list(job.only_items),
            correlation_id=correlation_id,
        )
    )
    await run_command(deps.store, JOB, agg, MarkQueued(), envelope=_envelope(job_id, "queued", correlation_id))


async def follow(headers: Mapping[str, str], stream: str, sequence: int, deps: ReactionDeps) -> None:
    """Apply one owner report (an event of ``stream`` at ``sequence`` whose job report has a phase) to its
    job; other events, unknown phases and reports for unknown jobs are ignored (logged)."""
    report = JobReport.from_headers(headers)
    if report is None or report.phase is None:
        return
    try:
        phase = JobPhase(report.phase)
    except ValueError:
        log.warning("unknown job phase ignored", job_id=report.job_id, phase=report.phase)
        return
    agg = await load_job(deps.store, report.job_id)
    if agg.state is None:
        log.warning("report for an unknown job ignored", job_id=report.job_id, phase=phase.value)
        return
    command = ApplyReport(phase=phase, worker=stream, total=report.total, summary=report.summary, reason=report.reason)
    what = f"{phase.value}:{stream}:{sequence}"
    envelope = _envelope(report.job_id, what, headers.get(Headers.CORRELATION_ID))
    await run_command(deps.store, JOB, agg, command, envelope=envelope)


__all__ = ["ReactionDeps", "dispatch", "follow"]
