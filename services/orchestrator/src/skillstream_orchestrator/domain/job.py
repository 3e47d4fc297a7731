"""The job aggregate as a decider: its state folded from the ``JOBS`` stream, and the decisions commands take.

Lifecycle (seed 003; ``skillstream_contracts.jobs``)::

    requested → queued → running → completed | failed | cancelled

Rules kept here, in one place, for the command handlers, the reactions and the ``jobs`` read model:

- a job that has ended takes no more lifecycle events (a late report is ignored, never an error);
- a request repeated with the same idempotency key lands on the same job and decides nothing; the same key
  with another kind or other parameters is refused (:class:`IdempotencyConflict`);
- cancelling a job that no worker has started ends it at once (``JobCancelRequested`` + ``JobCancelled``);
  a running job gets ``JobCancelRequested`` and its owner stops dispatching items and ends it; cancelling an
  ended job is refused (:class:`JobAlreadyEnded`), cancelling twice decides nothing;
- ``JobStarted`` is accepted from ``requested`` too: the owner may start a job whose ``JobQueued`` append
  was interrupted by a crash of the orchestrator after the dispatch was published.

Errors (all :class:`JobRuleError`)::

    JobRuleError
    ├── NoSuchJob             the command needs a job that was never requested
    ├── JobAlreadyEnded       cancel on a job that has ended
    └── IdempotencyConflict   an idempotency key reused for a different request
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import msgspec

from skillstream_contracts.events import Event
from skillstream_contracts.jobs import (
    JobCancelled,
    JobCancelRequested,
    JobCompleted,
    JobFailed,
    JobItemsPlanned,
    JobPhase,
    JobQueued,
    JobRequested,
    JobStarted,
    JobStatus,
    JobView,
)
from skillstream_runtime.decider import Decider
from skillstream_runtime.eventstore import RecordedEvent

_IDEMPOTENCY_NAMESPACE = uuid.UUID("5f0b7c1e-6a43-4d3e-9a57-1c2b3d4e5f60")


class JobRuleError(Exception):
    """A command the job's rules refuse (see the module docstring)."""


class NoSuchJob(JobRuleError):
    """The job was never requested."""


class JobAlreadyEnded(JobRuleError):
    """The job has ended; ``status`` says how."""

    def __init__(self, job_id: str, status: JobStatus) -> None:
        super().__init__(f"job {job_id} has already ended ({status})")
        self.status = status


class IdempotencyConflict(JobRuleError):
    """The idempotency key was used for a different kind or parameters."""


def job_id_for(requested_by: str, idempotency_key: str | None) -> str:
    """A new job id (32 hex digits): derived from ``(requested_by, idempotency_key)`` when a key is given,
    so a repeated request lands on the same aggregate; random otherwise."""
    if idempotency_key is None:
        return uuid.uuid4().hex
    return uuid.uuid5(_IDEMPOTENCY_NAMESPACE, f"{requested_by}\x00{idempotency_key}").hex


def event_id_for(job_id: str, what: str) -> str:
    """A deterministic event id for a reaction (``what``, e.g. ``"queued"``), so a reaction repeated after
    a crash is dropped by JetStream's ``Nats-Msg-Id`` dedupe."""
    return uuid.uuid5(_IDEMPOTENCY_NAMESPACE, f"{job_id}\x00{what}").hex


def fold(view: JobView | None, event: Event, at: dt.datetime) -> JobView | None:
    """Apply one ``JOBS`` event (that occurred ``at``) to a job's view; None before ``JobRequested``.

    Returns the new view (the input is not changed), or None when the job has no ``JobRequested`` yet.
    Shared by the decider and the ``jobs`` read model.
    """
    if isinstance(event, JobRequested):
        return JobView(
            job_id=event.job_id,
            kind=event.kind,
            status=JobStatus.REQUESTED,
            requested_by=event.requested_by,
            parameters=event.parameters,
            priority=event.priority,
            idempotency_key=event.idempotency_key,
            retry_of=event.retry_of,
            only_items=list(event.only_items),
            requested_at=at,
        )
    if view is None:
        return None
    v = msgspec.structs.replace(view)
    if v.status.is_terminal:
        return v
    match event:
        case JobQueued():
            if v.status is JobStatus.REQUESTED:
                v.status, v.queued_at = JobStatus.QUEUED, at
        case JobStarted(total_items=total):
            v.status, v.started_at = JobStatus.RUNNING, at
            if total is not None:
                v.total_items = total
        case JobItemsPlanned(total_items=total):
            v.total_items = total
        case JobCancelRequested():
            v.cancel_requested = True
        case JobCompleted(summary=summary):
            v.status, v.finished_at, v.summary = JobStatus.COMPLETED, at, summary
        case JobFailed(reason=reason, summary=summary):
            v.status, v.finished_at, v.reason, v.summary = JobStatus.FAILED, at, reason, summary
        case JobCancelled(summary=summary):
            v.status, v.finished_at, v.summary = JobStatus.CANCELLED, at, summary
    return v


@dataclass(frozen=True)
class Job:
    """A job's state: its ``view`` and the item keys its request limited it to (``only_items``: a retry of
    the failed items of an earlier job; empty = all items)."""

    view: JobView
    only_items: tuple[str, ...] = ()

    @property
    def started(self) -> bool:
        return self.view.started_at is not None


def evolve(state: Job | None, r: RecordedEvent) -> Job | None:
    """Fold one recorded ``JOBS`` event into the job's state."""
    view = fold(None if state is None else state.view, r.event, r.metadata.occurred_at)
    if view is None:
        return None
    if isinstance(r.event, JobRequested):
        return Job(view, tuple(r.event.only_items))
    return Job(view, () if state is None else state.only_items)


# --- commands ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    """Request the job ``requested`` describes (its id already derived with :func:`job_id_for`)."""

    requested: JobRequested


@dataclass(frozen=True)
class Cancel:
    requested_by: str


@dataclass(frozen=True)
class MarkQueued:
    """The dispatch of the job was published on its kind's work queue."""


@dataclass(frozen=True)
class ApplyReport:
    """The owner reported ``phase`` of the job from stream ``worker`` (``total`` items, a JSON ``summary``
    as text, a failure ``reason``), read from the owner's event's job report."""

    phase: JobPhase
    worker: str
    total: int | None = None
    summary: str | None = None
    reason: str | None = None


Command = Request | Cancel | MarkQueued | ApplyReport


def _summary(raw: str | None) -> dict[str, Any]:
    if not raw:
        return {}
    try:
        loaded = json.loads(raw)
    except ValueError:
        return {}  # a summary this version cannot read is dropped, the phase still counts
    return loaded if isinstance(loaded, dict) else {}


def _report(job: Job, cmd: ApplyReport) -> Event | None:
    v = job.view
    summary = _summary(cmd.summary)
    match cmd.phase:
        case JobPhase.STARTED if not job.started:
            return JobStarted(job_id=v.job_id, worker=cmd.worker, total_items=cmd.total)
        case JobPhase.PLANNED if cmd.total is not None:
            groups = summary.get("groups")
            clean = {str(k): int(n) for k, n in groups.items()} if isinstance(groups, dict) else {}
            labels = summary.get("group_labels")
            named = {str(k): str(t) for k, t in labels.items()} if isinstance(labels, dict) else {}
            return JobItemsPlanned(job_id=v.job_id, total_items=cmd.total, groups=clean, group_labels=named)
        case JobPhase.COMPLETED:
            return JobCompleted(job_id=v.job_id, summary=summary, reported_on=cmd.worker)
        case JobPhase.FAILED:
            return JobFailed(
                job_id=v.job_id, reason=cmd.reason or "the job failed", summary=summary, reported_on=cmd.worker
            )
        case JobPhase.CANCELLED:
            return JobCancelled(job_id=v.job_id, summary=summary, reported_on=cmd.worker)
    return None


def _request(cmd: Request, state: Job | None) -> Sequence[Event]:
    if state is None:
        return [cmd.requested]
    if state.view.kind != cmd.requested.kind or state.view.parameters != cmd.requested.parameters:
        raise IdempotencyConflict("this idempotency key was used for a different request")
    return []


def _cancel(cmd: Cancel, job: Job) -> Sequence[Event]:
    v = job.view
    if v.status.is_terminal:
        raise JobAlreadyEnded(v.job_id, v.status)
    if v.cancel_requested:
        return []
    events: list[Event] = [JobCancelRequested(job_id=v.job_id, requested_by=cmd.requested_by)]
    if not job.started:
        events.append(JobCancelled(job_id=v.job_id, summary={"cancelled_before_start": True}))
    return events


def decide(cmd: Command, state: Job | None) -> Sequence[Event]:
    """The events ``cmd`` causes on the job (none: nothing to do).

    Raises:
        NoSuchJob: a command other than :class:`Request` on a job never requested.
        JobAlreadyEnded: :class:`Cancel` on an ended job.
        IdempotencyConflict: :class:`Request` on an existing job with another kind or parameters.
    """
    if isinstance(cmd, Request):
        return _request(cmd, state)
    if state is None:
        raise NoSuchJob("no such job")
    if isinstance(cmd, Cancel):
        return _cancel(cmd, state)
    if state.view.status.is_terminal:
        return []  # a late report or a repeated dispatch: the job's end is final
    if isinstance(cmd, MarkQueued):
        if state.view.status is not JobStatus.REQUESTED:
            return []
        return [JobQueued(job_id=state.view.job_id, kind=state.view.kind)]
    event = _report(state, cmd)
    return [] if event is None else [event]


JOB: Decider[Command, Job | None] = Decider(initial_state=None, evolve=evolve, decide=decide)
"""The job decider (subject ``jobs.job.<job_id>`` of the ``JOBS`` stream)."""


__all__ = [
    "JOB",
    "ApplyReport",
    "Cancel",
    "Command",
    "IdempotencyConflict",
    "Job",
    "JobAlreadyEnded",
    "JobRuleError",
    "MarkQueued",
    "NoSuchJob",
    "Request",
    "decide",
    "event_id_for",
    "evolve",
    "fold",
    "job_id_for",
]
