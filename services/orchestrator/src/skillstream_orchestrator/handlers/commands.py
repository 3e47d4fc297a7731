"""Command handlers of the orchestrator (``cmd.orchestrator.*``): request, cancel, retry and resume a job.

Each runs a command against the job decider (:data:`skillstream_orchestrator.domain.job.JOB`) on the
aggregate loaded from the ``JOBS`` stream, never on a read model, which may lag. The job rules' refusals
become typed replies: ``invalid_request`` (unknown job kind), ``not_found``, ``conflict`` (cancel an ended
job, retry or resume a job that has not ended or has nothing to run again, an idempotency key reused for
another request).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from skillstream_contracts import ErrorCode
from skillstream_contracts.events import Event, new_event_id, utcnow
from skillstream_contracts.jobs import (
    JobAccepted,
    JobCancelled,
    JobRef,
    JobRequested,
    JobStatus,
    JobView,
    RequestJob,
    check_kind,
)
from skillstream_contracts.streams import JOBS
from skillstream_orchestrator.domain.job import (
    JOB,
    Cancel,
    IdempotencyConflict,
    Job,
    JobAlreadyEnded,
    NoSuchJob,
    Request,
    event_id_for,
    job_id_for,
)
from skillstream_runtime.decider import Aggregate, execute, load_aggregate, run_command
from skillstream_runtime.errors import CommandRejected
from skillstream_runtime.eventstore import AbstractEventStore, NewEvent


@dataclass(frozen=True, kw_only=True)
class CommandDeps:
    """What the command handlers need: the event ``store``, ``kind_registered(kind)`` (is a service running
    that job kind), ``items_in(job_id, state)`` (the keys of an ended job's items whose final state is
    ``state``) and ``items_seen(job_id)`` (how many of its items its owner reported), both from the progress
    view, and a ``clock`` (timezone-aware UTC)."""

    store: AbstractEventStore
    kind_registered: Callable[[str], Awaitable[bool]]
    items_in: Callable[[str, str], Awaitable[list[str]]]
    items_seen: Callable[[str], Awaitable[int]]
    clock: Callable[[], dt.datetime] = utcnow


def job_subject(job_id: str) -> str:
    """``jobs.job.<job_id>``: the job aggregate's subject."""
    return JOBS.aggregate_subject("job", job_id)


async def load_job(store: AbstractEventStore, job_id: str) -> Aggregate[Job | None]:
    """The job aggregate as stored now (``state`` None: never requested)."""
    return await load_aggregate(store, JOB, JOBS, job_subject(job_id), job_id)


async def request_job(cmd: RequestJob, deps: CommandDeps) -> JobAccepted:
    """Append ``JobRequested`` (the dispatcher hands it to the kind's work queue). With an idempotency key the
    job id is derived from (requester, key): a repeat returns the existing job with ``created=False``.

    Raises:
        CommandRejected: ``invalid_request`` for an unknown or malformed kind; ``conflict`` when the key
            was used for a different kind or parameters.
    """
    try:
        check_kind(cmd.kind)
    except ValueError as e:
        raise CommandRejected(ErrorCode.INVALID_REQUEST, str(e)) from e
    if not await deps.kind_registered(cmd.kind):
        raise CommandRejected(ErrorCode.INVALID_REQUEST, f"no service runs job kind {cmd.kind!r}")
    return await _new_job(cmd, deps)


async def _new_job(
    cmd: RequestJob, deps: CommandDeps, *, retry_of: str | None = None, only_items: list[str] | None = None
) -> JobAccepted:
    job_id = job_id_for(cmd.requested_by, cmd.idempotency_key)
    requested = JobRequested(
        job_id=job_id,
        kind=cmd.kind,
        parameters=cmd.parameters,
        requested_by=cmd.requested_by,
        priority=cmd.priority,
        idempotency_key=cmd.idempotency_key,
        retry_of=retry_of,
        depends_on=cmd.depends_on,
        only_items=only_items or [],
    )
    now = deps.clock()

    def at_now(event: Event) -> NewEvent:
        return NewEvent(event=event, occurred_at=now)

    try:
        done = await execute(deps.store, JOB, JOBS, job_subject(job_id), job_id, Request(requested), envelope=at_now)
    except IdempotencyConflict as e:
        raise CommandRejected(ErrorCode.CONFLICT, str(e)) from e
    job = done.aggregate.state
    assert job is not None  # Request always leaves a job behind
    return JobAccepted(job=job.view, created=bool(done.events))


async def visible_job(store: AbstractEventStore, job_id: str, visible_to: str | None) -> Aggregate[Job | None]:
    """The job aggregate, if it exists and ``visible_to`` (a requester; None: anyone) may see it.

    Raises:
        CommandRejected: ``not_found`` otherwise (a hidden job is indistinguishable from a missing one).
    """
    agg = await load_job(store, job_id)
    if agg.state is None or (visible_to is not None and agg.state.view.requested_by != visible_to):
        raise CommandRejected(ErrorCode.NOT_FOUND, f"no job {job_id}")
    return agg


async def cancel_job(cmd: JobRef, deps: CommandDeps) -> JobView:
    """Cancel: a job no worker has started ends at once; a running job is asked to stop (its owner stops
    dispatching items, lets those in flight finish and ends it). Repeating a cancel is harmless.

    Raises:
        CommandRejected: ``not_found``; ``conflict`` when the job has already ended.
    """
    agg = await visible_job(deps.store, cmd.job_id, cmd.visible_to)

    def envelope(event: Event) -> NewEvent:
        # the cancel of an unstarted job ends it with a deterministic id: two cancels racing end it once
        own_id = event_id_for(cmd.job_id, "cancelled-before-start") if isinstance(event, JobCancelled) else None
        return NewEvent(event=event, event_id=own_id or new_event_id(), occurred_at=deps.clock())

    try:
        done = await run_command(deps.store, JOB, agg, Cancel(cmd.requested_by), envelope=envelope)
    except JobAlreadyEnded as e:
        raise CommandRejected(ErrorCode.CONFLICT, str(e)) from e
    except NoSuchJob as e:
        raise CommandRejected(ErrorCode.NOT_FOUND, f"no job {cmd.job_id}") from e
    assert done.aggregate.state is not None
    return done.aggregate.state.view


async def retry_failed(cmd: JobRef, deps: CommandDeps) -> JobAccepted:
    """Start a new job of the same kind and parameters for only the failed items of an ended job
    (``retry_of`` links it to the first). Idempotent per (job, requester).

    Raises:
        CommandRejected: ``not_found``; ``conflict`` when the job has not ended or no item failed.
    """
    view = await _ended_job(cmd, deps)
    failed = await deps.items_in(cmd.job_id, "failed")
    if not failed:
        raise CommandRejected(ErrorCode.CONFLICT, f"job {cmd.job_id} has no failed items to run again")
    return await _run_again(cmd, deps, view, failed, "retry-failed")


async def resume_job(cmd: JobRef, deps: CommandDeps) -> JobAccepted:
    """Start a new job of the same kind and parameters for the items a cancelled or failed job had not ended
    when it ended (``retry_of`` links it to the first). Idempotent per (job, requester).

    When the owner reported every planned item, the new job runs only the ``cancelled`` ones. When some
    planned items were never reported (a bulk download cancelled before it queued every course), their keys
    are unknown here: the new job runs the whole request again and the owner skips the work already done (a
    verified file, a component already at its release).

    Raises:
        CommandRejected: ``not_found``; ``conflict`` when the job has not ended, completed, or left nothing.
    """
    view = await _ended_job(cmd, deps)
    if view.status is JobStatus.COMPLETED:
        raise CommandRejected(ErrorCode.CONFLICT, f"job {cmd.job_id} completed: nothing to resume")
    if (view.total_items or 0) > await deps.items_seen(cmd.job_id):
        return await _run_again(cmd, deps, view, [], "resume")  # every item again: some keys are unknown
    cancelled = await deps.items_in(cmd.job_id, "cancelled")
    if not cancelled:
        raise CommandRejected(ErrorCode.CONFLICT, f"job {cmd.job_id} has no cancelled items to run again")
    return await _run_again(cmd, deps, view, cancelled, "resume")


async def _ended_job(cmd: JobRef, deps: CommandDeps) -> JobView:
    """The view of ``cmd``'s job, loaded once from ``JOBS``.

    Raises:
        CommandRejected: ``not_found`` (or not the caller's); ``conflict`` when it has not ended.
    """
    agg = await visible_job(deps.store, cmd.job_id, cmd.visible_to)
    assert agg.state is not None
    view = agg.state.view
    if not view.status.is_terminal:
        raise CommandRejected(ErrorCode.CONFLICT, f"job {cmd.job_id} has not ended yet ({view.status})")
    return view


async def _run_again(cmd: JobRef, deps: CommandDeps, view: JobView, items: list[str], what: str) -> JobAccepted:
    """A new job of ``view``'s kind and parameters for ``items`` (empty: its whole request), idempotent per
    (``what``, job, requester)."""
    request = RequestJob(
        kind=view.kind,
        parameters=view.parameters,
        requested_by=cmd.requested_by,
        priority=view.priority,
        idempotency_key=f"{what}:{cmd.job_id}",
    )
    return await _new_job(request, deps, retry_of=cmd.job_id, only_items=items)


__all__ = [
    "CommandDeps",
    "cancel_job",
    "job_subject",
    "load_job",
    "resume_job",
    "retry_failed",
    "visible_job",
]
