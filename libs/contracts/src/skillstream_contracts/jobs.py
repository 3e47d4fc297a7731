"""Jobs: the orchestrator's aggregate, the item outcomes other contexts report, and the progress document.

Lifecycle (seed 003, DESIGN.md "Import orchestration")::

    requested → queued → running → completed | failed | cancelled

A job lives on subject ``jobs.job.<job_id>`` of the ``JOBS`` stream. The protocol between the orchestrator
and the service that owns a job's kind:

1. the owning service registers its kinds (:class:`JobKindSpec`) in the KV bucket :data:`JOB_KINDS_BUCKET`;
2. the orchestrator appends ``JobRequested``, then publishes a :class:`JobDispatch` on
   :func:`work_subject` ``work.jobs.<kind>`` of the work-queue stream :data:`JOB_WORK_STREAM` and appends
   ``JobQueued``; every replica of the owner pulls from one durable consumer per kind, so a job survives
   the crash of any process and ``max_ack_pending`` caps how many run at once across the fleet;
3. the owner reports through its *own* domain events, whose envelope carries a :class:`JobReport`
   (NATS headers on the wire): ``phase`` (:class:`JobPhase`) on the events that start, plan and end the
   job, ``item_outcome`` (:class:`ItemOutcome`) on the events of each item
   (a segment, a unit, a row). The orchestrator follows the phases to ``JobStarted`` … ``JobCompleted`` and
   its progress projection counts items from the headers alone, whatever the context;
4. the owner watches the job's subject for ``JobCancelRequested`` and then stops taking new items.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Final

import msgspec

from skillstream_contracts.constraints import INT64_MAX, Count, Cursor, Int32, Key, Line, check_json
from skillstream_contracts.events import Event, EventRegistry
from skillstream_contracts.jobprogress import GroupProgress, ItemError, JobProgress
from skillstream_contracts.jobreport import ItemOutcome, JobHeaders, JobPhase, JobReport, JobStatus
from skillstream_contracts.streams import command_subject, query_subject

JOB_WORK_STREAM: Final = "JOB_WORK"
"""The work-queue stream of job dispatches (subjects ``work.jobs.>``); not an event stream."""

JOB_KINDS_BUCKET: Final = "job_kinds"
"""KV bucket of the registered job kinds: key = kind, value = a JSON :class:`JobKindSpec`."""

PROGRESS_SUBJECT_PREFIX: Final = "progress.jobs"
"""Core NATS subject prefix of progress snapshots: ``progress.jobs.<job_id>`` carries a JSON
:class:`JobProgress` each time a job's progress changes (not stored; the read model is the truth)."""

_KIND = re.compile(r"^[a-z][a-z0-9_-]*(\.[a-z][a-z0-9_-]*)*$")

MAX_DEPENDENCIES: Final = 100
"""Most jobs a :class:`RequestJob` may wait for (``depends_on``)."""


def check_kind(kind: str) -> str:
    """Return ``kind`` if it is a valid job kind (dot-separated lowercase tokens, e.g. ``tga.bulk_download``).

    Raises:
        ValueError: it is not.
    """
    if not _KIND.match(kind) or len(kind) > 100:
        raise ValueError(f"invalid job kind {kind!r}: use dot-separated lowercase tokens like 'tga.bulk_download'")
    return kind


def work_subject(kind: str) -> str:
    """The work-queue subject of one job kind: ``work.jobs.<kind>``.

    Raises:
        ValueError: ``kind`` is not a valid job kind.
    """
    return f"work.jobs.{check_kind(kind)}"


def progress_subject(job_id: str) -> str:
    """``progress.jobs.<job_id>`` (job ids are hex, safe as a subject token)."""
    return f"{PROGRESS_SUBJECT_PREFIX}.{job_id}"


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
    only_items: list[str] = msgspec.field(default_factory=list)
    """With ``retry_of``: the item keys to process (the failed items of the first job); empty = all."""


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
    group_labels: dict[str, str] = msgspec.field(default_factory=dict)
    """What people call a group (a course's title for its id); a group without one is shown by its key."""


class JobCancelRequested(Event, frozen=True, kw_only=True, tag="jobs.JobCancelRequested"):
    """Stop dispatching new items; items in flight finish."""

    job_id: str
    requested_by: str


class JobCompleted(Event, frozen=True, kw_only=True, tag="jobs.JobCompleted"):
    """The job ended; ``summary`` holds the final counters and the kind's own result fields."""

    job_id: str
    summary: dict[str, Any] = msgspec.field(default_factory=dict)
    reported_on: str | None = None
    """The owner's stream whose event reported this end (the progress view shows the end once it has counted
    that stream's events up to it); ``None`` when the orchestrator ended the job itself."""


class JobFailed(Event, frozen=True, kw_only=True, tag="jobs.JobFailed"):
    """The job as a whole failed (not merely some items); ``reason`` is for people."""

    job_id: str
    reason: str
    summary: dict[str, Any] = msgspec.field(default_factory=dict)
    reported_on: str | None = None
    """As on :class:`JobCompleted`."""


class JobCancelled(Event, frozen=True, kw_only=True, tag="jobs.JobCancelled"):
    """The job stopped after a cancel request; in-flight items have finished."""

    job_id: str
    summary: dict[str, Any] = msgspec.field(default_factory=dict)
    reported_on: str | None = None
    """As on :class:`JobCompleted`."""


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


# --- the owner side: kinds and dispatches ---------------------------------------------------------


class JobKindSpec(msgspec.Struct, frozen=True, kw_only=True):
    """A job kind an owning service runs, as registered in :data:`JOB_KINDS_BUCKET`.

    ``parameters`` is a JSON Schema object (``properties`` of type string, integer, number, boolean or
    array of strings, with ``title``/``description``/``default``/``enum``; ``required``) from which the
    dashboard builds its form; ``stream`` is the owner's event stream (where its job reports arrive).
    """

    kind: str
    owner: str
    stream: str
    title: str
    description: str = ""
    parameters: dict[str, Any] = msgspec.field(default_factory=lambda: {"type": "object", "properties": {}})


class JobDispatch(msgspec.Struct, frozen=True, kw_only=True):
    """The work message the orchestrator hands to the owner of ``kind`` (subject :func:`work_subject`)."""

    job_id: str
    kind: str
    parameters: dict[str, Any] = msgspec.field(default_factory=dict)
    requested_by: str
    retry_of: str | None = None
    only_items: list[str] = msgspec.field(default_factory=list)
    correlation_id: str | None = None


# --- commands and queries (subjects cmd.orchestrator.* / qry.orchestrator.*) ----------------------

REQUEST_JOB: Final = command_subject("orchestrator", "request_job")
""":class:`RequestJob` → :class:`JobAccepted`."""
CANCEL_JOB: Final = command_subject("orchestrator", "cancel_job")
""":class:`JobRef` → :class:`JobView` (``conflict`` when the job has ended)."""
RETRY_FAILED: Final = command_subject("orchestrator", "retry_failed")
RESUME_JOB: Final = command_subject("orchestrator", "resume")
""":class:`JobRef` → :class:`JobAccepted` of the new job (``conflict`` unless ended with failed items)."""
LIST_JOBS: Final = query_subject("orchestrator", "list_jobs")
""":class:`ListJobs` → :class:`JobPage`."""
GET_JOB: Final = query_subject("orchestrator", "get_job")
""":class:`GetJob` → :class:`JobDetail`."""
PROGRESS_SINCE: Final = query_subject("orchestrator", "progress_since")
""":class:`ProgressSince` → :class:`ProgressPage`."""
LIST_JOB_KINDS: Final = query_subject("orchestrator", "list_job_kinds")
""":class:`ListJobKinds` → :class:`JobKindList`."""


class RequestJob(msgspec.Struct, frozen=True, kw_only=True):
    """Command: start a job. The same ``idempotency_key`` returns the existing job.

    Text fields follow :mod:`skillstream_contracts.constraints` (``kind`` a job kind of at most 100
    characters, the others :data:`~skillstream_contracts.constraints.Key`), ``parameters`` passes
    :func:`~skillstream_contracts.constraints.check_json`, ``priority`` fits a 32-bit integer and
    ``depends_on`` names at most :data:`MAX_DEPENDENCIES` jobs: anything else is ``invalid_request``.
    """

    kind: Annotated[str, msgspec.Meta(min_length=1, max_length=100, pattern=_KIND.pattern)]
    parameters: dict[str, Any] = msgspec.field(default_factory=dict)
    requested_by: Key
    priority: Int32 = 0
    idempotency_key: Key | None = None
    depends_on: Annotated[list[Key], msgspec.Meta(max_length=MAX_DEPENDENCIES)] = msgspec.field(default_factory=list)

    def __post_init__(self) -> None:
        check_json(self.parameters, "parameters")


class JobRef(msgspec.Struct, frozen=True, kw_only=True):
    """Command: act on one job (cancel, retry failed items). ``visible_to``: when set, a job requested by
    someone else answers ``not_found`` (callers without ``jobs.view_all``)."""

    job_id: Key
    requested_by: Key
    visible_to: Key | None = None


class GetJob(msgspec.Struct, frozen=True, kw_only=True):
    """Query: one job with its progress; ``visible_to`` as in :class:`JobRef`."""

    job_id: Key
    visible_to: Key | None = None


class ListJobs(msgspec.Struct, frozen=True, kw_only=True):
    """Query: jobs newest first, filtered; ``cursor`` is the opaque value of the previous page."""

    kind: Line | None = None
    status: JobStatus | None = None
    requested_by: Line | None = None
    limit: Count = msgspec.field(default=50)
    cursor: Cursor | None = None


class ProgressSince(msgspec.Struct, frozen=True, kw_only=True):
    """Query: the latest progress of jobs whose progress ``sequence`` is above ``after_sequence``
    (0 = the ``limit`` most recently changed), oldest change first; ``job_id`` narrows it to one job,
    ``requested_by`` to one requester's jobs."""

    after_sequence: Annotated[int, msgspec.Meta(ge=0, le=INT64_MAX)] = 0
    job_id: Key | None = None
    requested_by: Key | None = None
    limit: Count = 50


class ListJobKinds(msgspec.Struct, frozen=True, kw_only=True):
    """Query: the registered job kinds."""


class JobView(msgspec.Struct, kw_only=True):
    """One job as the read model holds it (the gateway's ``Job``)."""

    job_id: str
    kind: str
    status: JobStatus
    requested_by: str
    parameters: dict[str, Any] = msgspec.field(default_factory=dict)
    priority: int = 0
    idempotency_key: str | None = None
    retry_of: str | None = None
    only_items: list[str] = msgspec.field(default_factory=list)
    """The item keys this job runs (a retry of failed items, a resumed run); empty: every item its
    ``parameters`` name."""
    requested_at: dt.datetime | None = None
    queued_at: dt.datetime | None = None
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    total_items: int | None = None
    cancel_requested: bool = False
    reason: str | None = None
    summary: dict[str, Any] = msgspec.field(default_factory=dict)


class JobPage(msgspec.Struct, kw_only=True):
    """Reply of :class:`ListJobs`: ``next_cursor`` is None on the last page."""

    items: list[JobView]
    next_cursor: str | None = None


class JobAccepted(msgspec.Struct, kw_only=True):
    """Reply of :class:`RequestJob`: ``created`` is False when an earlier request with the same idempotency
    key made the job."""

    job: JobView
    created: bool


class JobDetail(msgspec.Struct, kw_only=True):
    """Reply of :class:`GetJob`."""

    job: JobView
    progress: JobProgress


class ProgressPage(msgspec.Struct, kw_only=True):
    """Reply of :class:`ProgressSince`."""

    items: list[JobProgress]


class JobKindList(msgspec.Struct, kw_only=True):
    """Reply of :class:`ListJobKinds`."""

    items: list[JobKindSpec]


__all__ = [
    "CANCEL_JOB",
    "GET_JOB",
    "JOB_EVENTS",
    "JOB_KINDS_BUCKET",
    "JOB_WORK_STREAM",
    "LIST_JOBS",
    "LIST_JOB_KINDS",
    "MAX_DEPENDENCIES",
    "PROGRESS_SINCE",
    "PROGRESS_SUBJECT_PREFIX",
    "REQUEST_JOB",
    "RESUME_JOB",
    "RETRY_FAILED",
    "GetJob",
    "GroupProgress",
    "ItemError",
    "ItemOutcome",
    "JobAccepted",
    "JobCancelRequested",
    "JobCancelled",
    "JobCompleted",
    "JobDetail",
    "JobDispatch",
    "JobFailed",
    "JobHeaders",
    "JobItemsPlanned",
    "JobKindList",
    "JobKindSpec",
    "JobPage",
    "JobPhase",
    "JobProgress",
    "JobQueued",
    "JobRef",
    "JobReport",
    "JobRequested",
    "JobStarted",
    "JobStatus",
    "JobView",
    "ListJobKinds",
    "ListJobs",
    "ProgressPage",
    "ProgressSince",
    "RequestJob",
    "check_kind",
    "progress_subject",
    "work_subject",
]
