"""The job aggregate: its state folded from the ``JOBS`` stream, and the decisions commands take on it.

Lifecycle (seed 003; ``skillstream_contracts.jobs``)::

    requested → queued → running → completed | failed | cancelled

Rules kept here, in one place, for the command handlers, the reactor and the ``jobs`` read model:

- a job that has ended takes no more lifecycle events (a late report is ignored, never an error);
- cancelling a job that no worker has started ends it at once (``JobCancelRequested`` + ``JobCancelled``);
  a running job gets ``JobCancelRequested`` and its owner stops dispatching items and ends it;
- ``JobStarted`` is accepted from ``requested`` too: the owner may start a job whose ``JobQueued`` append
  was interrupted by a crash of the orchestrator after the dispatch was published.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from skillstream_contracts.events import Event
from skillstream_contracts.jobs import (
    JobCancelled,
    JobCancelRequested,
    JobCompleted,
    JobFailed,
    JobItemsPlanned,
    JobQueued,
    JobRequested,
    JobStarted,
    JobStatus,
    JobView,
)
from skillstream_runtime.eventstore import RecordedEvent

_IDEMPOTENCY_NAMESPACE = uuid.UUID("5f0b7c1e-6a43-4d3e-9a57-1c2b3d4e5f60")


def job_id_for(requested_by: str, idempotency_key: str | None) -> str:
    """A new job id (32 hex digits): derived from ``(requested_by, idempotency_key)`` when a key is given,
    so a repeated request lands on the same aggregate and the append with expected sequence 0 detects it;
    random otherwise."""
    if idempotency_key is None:
        return uuid.uuid4().hex
    return uuid.uuid5(_IDEMPOTENCY_NAMESPACE, f"{requested_by}\x00{idempotency_key}").hex


def event_id_for(job_id: str, what: str) -> str:
    """A deterministic event id for a reaction (``what``, e.g. ``"queued"``), so a reaction repeated after
    a crash is dropped by JetStream's ``Nats-Msg-Id`` dedupe."""
    return uuid.uuid5(_IDEMPOTENCY_NAMESPACE, f"{job_id}\x00{what}").hex


def fold(view: JobView | None, event: Event, at: dt.datetime) -> JobView | None:
    """Apply one ``JOBS`` event (that occurred ``at``) to a job's state; None before ``JobRequested``.

    Returns the new state (the input is not changed), or None when the job has no ``JobRequested`` yet.
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
            requested_at=at,
        )
    if view is None:
        return None
    v = JobView(**{f: getattr(view, f) for f in view.__struct_fields__})
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
    """A job loaded from the event store: its state and the stream sequence of its last event (the
    expected sequence of the next append)."""

    view: JobView
    last_sequence: int

    @property
    def started(self) -> bool:
        return self.view.started_at is not None


def load(events: Iterable[RecordedEvent]) -> Job | None:
    """Fold a job's recorded events (oldest first); None when there are none or no ``JobRequested``."""
    view: JobView | None = None
    last = 0
    for e in events:
        view = fold(view, e.event, e.metadata.occurred_at)
        last = e.sequence
    return None if view is None else Job(view, last)


__all__ = ["Job", "event_id_for", "fold", "job_id_for", "load"]
