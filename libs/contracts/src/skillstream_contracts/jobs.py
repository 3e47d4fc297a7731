"""Jobs: the orchestrator's aggregate, the item outcomes other contexts report, and the progress document.

Lifecycle (seed 003, DESIGN.md "Import orchestration")::

    requested → queued → running → completed | failed | cancelled

A job lives on subject ``jobs.job.<job_id>`` of the ``JOBS`` stream. The service that owns a job's kind
reports each item (a segment, a unit, a row) through its *own* domain events, tagged with the job/item
headers of :class:`~skillstream_contracts.events.EventMetadata` (``item_outcome`` one of
:class:`ItemOutcome`), so the progress projection counts items of any context without decoding them.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

import msgspec

from skillstream_contracts.events import Event, EventRegistry


class JobStatus(enum.StrEnum):
    REQUESTED = "requested"
    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_terminal(self) -> bool:
        return self in (JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED)


class ItemOutcome(enum.StrEnum):
    """What an item event says about one item; every item ends in exactly one terminal outcome."""

    QUEUED = "queued"
    PROCESSING = "processing"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"

    @property
    def is_terminal(self) -> bool:
        return self in (ItemOutcome.SUCCEEDED, ItemOutcome.FAILED, ItemOutcome.SKIPPED)


# --- events (stream JOBS) -------------------------------------------------------------------------


class JobRequested(Event, frozen=True, kw_only=True, tag="jobs.JobRequested"):
    """An operator (or a schedule) asked for a job. ``parameters`` is the kind's own JSON object."""

    job_id: str
    kind: str
    parameters: dict[str, Any] = msgspec.field(default_factory=dict)
    requested_by: str
    priority: int = 0
    idempotency_key: str | None = None
    retry_of: str | None = None
    depends_on: list[str] = msgspec.field(default_factory=list)


class JobQueued(Event, frozen=True, kw_only=True, tag="jobs.JobQueued"):
    """The job was handed to the work queue of its kind."""

    job_id: str
    kind: str


class JobStarted(Event, frozen=True, kw_only=True, tag="jobs.JobStarted"):
    """The owning service started the job; ``total_items`` is None until it knows."""

    job_id: str
    worker: str
    total_items: int | None = None


class JobItemsPlanned(Event, frozen=True, kw_only=True, tag="jobs.JobItemsPlanned"):
    """The owning service knows (more of) the job's items; ``total_items`` is the new total."""

    job_id: str
    total_items: int
    groups: dict[str, int] = msgspec.field(default_factory=dict)


class JobCancelRequested(Event, frozen=True, kw_only=True, tag="jobs.JobCancelRequested"):
    """Stop dispatching new items; items in flight finish."""

    job_id: str
    requested_by: str


class JobCompleted(Event, frozen=True, kw_only=True, tag="jobs.JobCompleted"):
    """The job ended; ``summary`` holds the final counters and the kind's own result fields."""

    job_id: str
    summary: dict[str, Any] = msgspec.field(default_factory=dict)


class JobFailed(Event, frozen=True, kw_only=True, tag="jobs.JobFailed"):
    """The job as a whole failed (not merely some items); ``reason`` is for people."""

    job_id: str
    reason: str
    summary: dict[str, Any] = msgspec.field(default_factory=dict)


class JobCancelled(Event, frozen=True, kw_only=True, tag="jobs.JobCancelled"):
    """The job stopped after a cancel request; in-flight items have finished."""

    job_id: str
    summary: dict[str, Any] = msgspec.field(default_factory=dict)


JOB_EVENTS = EventRegistry(
    "jobs",
    [
        JobRequested,
        JobQueued,
        JobStarted,
        JobItemsPlanned,
        JobCancelRequested,
        JobCompleted,
        JobFailed,
        JobCancelled,
    ],
)
"""The tagged union of the ``JOBS`` stream."""


# --- commands and queries (subjects cmd.orchestrator.* / qry.orchestrator.*) ----------------------


class RequestJob(msgspec.Struct, frozen=True, kw_only=True):
    """Command: start a job. The same ``idempotency_key`` returns the existing job."""

    kind: str
    parameters: dict[str, Any] = msgspec.field(default_factory=dict)
    requested_by: str
    priority: int = 0
    idempotency_key: str | None = None
    depends_on: list[str] = msgspec.field(default_factory=list)


class JobRef(msgspec.Struct, frozen=True, kw_only=True):
    """Command: act on one job (cancel, retry failed items)."""

    job_id: str
    requested_by: str


class ListJobs(msgspec.Struct, frozen=True, kw_only=True):
    """Query: jobs newest first, filtered; ``cursor`` is the opaque value of the previous page."""

    kind: str | None = None
    status: JobStatus | None = None
    requested_by: str | None = None
    limit: int = 50
    cursor: str | None = None


# --- progress document (read model of the progress projection) ------------------------------------


class ItemError(msgspec.Struct, frozen=True, kw_only=True):
    """One failed item and why."""

    item_key: str
    reason: str
    group: str | None = None
    at: dt.datetime | None = None


class GroupProgress(msgspec.Struct, kw_only=True):
    """Counters of one group of items (a course, a training package)."""

    total: int = 0
    succeeded: int = 0
    failed: int = 0
    skipped: int = 0


class JobProgress(msgspec.Struct, kw_only=True):
    """Per-job progress snapshot streamed to browsers.

    Counts are exact (each item counted once in its latest state); ``items_per_second`` and
    ``bytes_per_second`` are over the job's running time; ``eta_seconds`` is None until a rate is known.
    ``sequence`` is the monotonic position used as the SSE ``id``.
    """

    job_id: str
    kind: str
    status: JobStatus
    sequence: int = 0
    total: int | None = None
    queued: int = 0
    processing: int = 0
    succeeded: int = 0
    failed: int = 0
    skipped: int = 0
    percent: float = 0.0
    current_items: list[str] = msgspec.field(default_factory=list)
    items_per_second: float | None = None
    bytes_per_second: float | None = None
    bytes_done: int = 0
    eta_seconds: float | None = None
    last_errors: list[ItemError] = msgspec.field(default_factory=list)
    groups: dict[str, GroupProgress] = msgspec.field(default_factory=dict)
    requested_at: dt.datetime | None = None
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None


__all__ = [
    "JOB_EVENTS",
    "GroupProgress",
    "ItemError",
    "ItemOutcome",
    "JobCancelRequested",
    "JobCancelled",
    "JobCompleted",
    "JobFailed",
    "JobItemsPlanned",
    "JobProgress",
    "JobQueued",
    "JobRef",
    "JobRequested",
    "JobStarted",
    "JobStatus",
    "ListJobs",
    "RequestJob",
]
