"""Command and query handlers of the orchestrator (``cmd.orchestrator.*`` / ``qry.orchestrator.*``).

Commands decide on the job aggregate loaded from the ``JOBS`` stream (never on a read model, which may
lag); queries read the ``orchestrator`` views. Errors reply with typed codes: ``invalid_request`` (unknown
job kind, bad cursor), ``not_found``, ``conflict`` (cancel an ended job, retry a job that has not ended
or has no failed item, an idempotency key reused for a different request).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Any

from skillstream_contracts import ErrorCode
from skillstream_contracts.jobs import (
    CANCEL_JOB,
    GET_JOB,
    LIST_JOB_KINDS,
    LIST_JOBS,
    PROGRESS_SINCE,
    REQUEST_JOB,
    RETRY_FAILED,
    GetJob,
    JobAccepted,
    JobCancelled,
    JobCancelRequested,
    JobDetail,
    JobKindList,
    JobPage,
    JobProgress,
    JobRef,
    JobRequested,
    JobView,
    ListJobKinds,
    ListJobs,
    ProgressPage,
    ProgressSince,
    RequestJob,
    check_kind,
)
from skillstream_contracts.streams import JOBS
from skillstream_orchestrator.domain import Job, event_id_for, fold, job_id_for
from skillstream_orchestrator.progress import failed_items, progress_since, read_progress
from skillstream_orchestrator.projections import row_to_view
from skillstream_orchestrator.reactor import decide_and_append, load_job
from skillstream_runtime.endpoints import Endpoint
from skillstream_runtime.errors import CommandRejected, ConcurrencyError
from skillstream_runtime.eventstore import NewEvent
from skillstream_runtime.host import ServiceContext
from skillstream_runtime.jobs import get_kind, list_kinds

MAX_PAGE = 200


async def request_job(ctx: ServiceContext, cmd: RequestJob) -> JobAccepted:
    """Append ``JobRequested`` (the reactor dispatches it). With an idempotency key the job id is derived
    from (requester, key): a repeat returns the existing job with ``created=False``.

    Raises:
        CommandRejected: ``invalid_request`` for an unknown or malformed kind; ``conflict`` when the key
            was used for a different kind or parameters.
    """
    try:
        check_kind(cmd.kind)
    except ValueError as e:
        raise CommandRejected(ErrorCode.INVALID_REQUEST, str(e)) from e
    if await get_kind(ctx.nc, cmd.kind) is None:
        raise CommandRejected(ErrorCode.INVALID_REQUEST, f"no service runs job kind {cmd.kind!r}")
    return await _new_job(ctx, cmd)


async def _new_job(
    ctx: ServiceContext, cmd: RequestJob, *, retry_of: str | None = None, only_items: list[str] | None = None
) -> JobAccepted:
    job_id = job_id_for(cmd.requested_by, cmd.idempotency_key)
    event = JobRequested(
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
    now = dt.datetime.now(dt.UTC)
    try:
        await ctx.store.append(
            JOBS,
            JOBS.aggregate_subject("job", job_id),
            job_id,
            [NewEvent(event=event, occurred_at=now)],
            expected_last_sequence=0,
        )
    except ConcurrencyError:
        existing = await load_job(ctx, job_id)
        if existing is None:
            raise
        if existing.view.kind != cmd.kind or existing.view.parameters != cmd.parameters:
            raise CommandRejected(ErrorCode.CONFLICT, "this idempotency key was used for a different request") from None
        return JobAccepted(job=existing.view, created=False)
    job = fold(None, event, now)
    assert job is not None
    return JobAccepted(job=job, created=True)


async def _visible_job(ctx: ServiceContext, job_id: str, visible_to: str | None) -> Job:
    job = await load_job(ctx, job_id)
    if job is None or (visible_to is not None and job.view.requested_by != visible_to):
        raise CommandRejected(ErrorCode.NOT_FOUND, f"no job {job_id}")
    return job


async def cancel_job(ctx: ServiceContext, cmd: JobRef) -> JobView:
    """Cancel: a job no worker has started ends at once; a running job is asked to stop (its owner stops
    dispatching items, lets those in flight finish and ends it). Repeating a cancel is harmless.

    Raises:
        CommandRejected: ``not_found``; ``conflict`` when the job has already ended.
    """
    job = await _visible_job(ctx, cmd.job_id, cmd.visible_to)
    if job.view.status.is_terminal:
        raise CommandRejected(ErrorCode.CONFLICT, f"job {cmd.job_id} has already ended ({job.view.status})")

    def decide(j: Job) -> list[NewEvent]:
        if j.view.status.is_terminal or j.view.cancel_requested:
            return []
        events = [NewEvent(event=JobCancelRequested(job_id=cmd.job_id, requested_by=cmd.requested_by))]
        if not j.started:
            events.append(
                NewEvent(
                    event=JobCancelled(job_id=cmd.job_id, summary={"cancelled_before_start": True}),
                    event_id=event_id_for(cmd.job_id, "cancelled-before-start"),
                )
            )
        return events

    after = await decide_and_append(ctx, cmd.job_id, decide)
    assert after is not None  # the job exists: _visible_job found it
    return after.view


async def retry_failed(ctx: ServiceContext, cmd: JobRef) -> JobAccepted:
    """Start a new job of the same kind and parameters for only the failed items of an ended job
    (``retry_of`` links it to the first). Idempotent per (job, requester).

    Raises:
        CommandRejected: ``not_found``; ``conflict`` when the job has not ended or no item failed.
    """
    job = await _visible_job(ctx, cmd.job_id, cmd.visible_to)
    if not job.view.status.is_terminal:
        raise CommandRejected(ErrorCode.CONFLICT, f"job {cmd.job_id} has not ended yet ({job.view.status})")
    assert ctx.pool is not None
    async with ctx.pool.acquire() as conn:
        failed = await failed_items(conn, cmd.job_id)
    if not failed:
        raise CommandRejected(ErrorCode.CONFLICT, f"job {cmd.job_id} has no failed items to retry")
    request = RequestJob(
        kind=job.view.kind,
        parameters=job.view.parameters,
        requested_by=cmd.requested_by,
        priority=job.view.priority,
        idempotency_key=f"retry-failed:{cmd.job_id}",
    )
    return await _new_job(ctx, request, retry_of=cmd.job_id, only_items=failed)


# --- queries ---------------------------------------------------------------------------------------


def _cursor(requested_at: dt.datetime, job_id: str) -> str:
    raw = json.dumps([requested_at.isoformat(), job_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[dt.datetime, str]:
    try:
        at, job_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        return dt.datetime.fromisoformat(at), str(job_id)
    except (ValueError, TypeError) as e:
        raise CommandRejected(ErrorCode.INVALID_REQUEST, "malformed cursor") from e


async def list_jobs(ctx: ServiceContext, q: ListJobs) -> JobPage:
    """Jobs newest first (by requested time, then id), filtered by kind, status and requester."""
    if not 1 <= q.limit <= MAX_PAGE:
        raise CommandRejected(ErrorCode.INVALID_REQUEST, f"limit must be between 1 and {MAX_PAGE}")
    where: list[str] = ["true"]
    args: list[Any] = []
    for column, value in (("kind", q.kind), ("status", q.status), ("requested_by", q.requested_by)):
        if value is not None:
            args.append(str(value))
            where.append(f"{column} = ${len(args)}")
    if q.cursor:
        at, job_id = _decode_cursor(q.cursor)
        args += [at, job_id]
        where.append(f"(requested_at, job_id) < (${len(args) - 1}, ${len(args)})")
    args.append(q.limit + 1)
    assert ctx.pool is not None
    rows = await ctx.pool.fetch(
        f"SELECT * FROM orchestrator.jobs WHERE {' AND '.join(where)}"
        f" ORDER BY requested_at DESC, job_id DESC LIMIT ${len(args)}",
        *args,
    )
    items = [row_to_view(r) for r in rows[: q.limit]]
    more = len(rows) > q.limit
    last = items[-1] if items else None
    next_cursor = _cursor(last.requested_at, last.job_id) if more and last and last.requested_at else None
    return JobPage(items=items, next_cursor=next_cursor)


def _empty_progress(view: JobView) -> JobProgress:
    return JobProgress(
        job_id=view.job_id,
        kind=view.kind,
        status=view.status,
        requested_by=view.requested_by,
        retry_of=view.retry_of,
        cancel_requested=view.cancel_requested,
        total=view.total_items,
        requested_at=view.requested_at,
        started_at=view.started_at,
        finished_at=view.finished_at,
    )


async def get_job(ctx: ServiceContext, q: GetJob) -> JobDetail:
    """One job (from the event store, so a job is found the moment it is requested) and its progress.

    Raises:
        CommandRejected: ``not_found``.
    """
    job = await _visible_job(ctx, q.job_id, q.visible_to)
    assert ctx.pool is not None
    async with ctx.pool.acquire() as conn:
        docs = await read_progress(conn, [q.job_id])
    return JobDetail(job=job.view, progress=docs.get(q.job_id) or _empty_progress(job.view))


async def get_progress_since(ctx: ServiceContext, q: ProgressSince) -> ProgressPage:
    """Progress documents changed after a sequence (see :func:`progress_since`)."""
    if not 1 <= q.limit <= 1000:
        raise CommandRejected(ErrorCode.INVALID_REQUEST, "limit must be between 1 and 1000")
    assert ctx.pool is not None
    async with ctx.pool.acquire() as conn:
        items = await progress_since(
            conn, after_sequence=q.after_sequence, job_id=q.job_id, requested_by=q.requested_by, limit=q.limit
        )
    return ProgressPage(items=items)


async def job_kinds(ctx: ServiceContext, _: ListJobKinds) -> JobKindList:
    """The job kinds registered by the running services."""
    return JobKindList(items=await list_kinds(ctx.nc))


ENDPOINTS = (
    Endpoint(name="request_job", subject=REQUEST_JOB, request_type=RequestJob, handler=request_job),
    Endpoint(name="cancel_job", subject=CANCEL_JOB, request_type=JobRef, handler=cancel_job),
    Endpoint(name="retry_failed", subject=RETRY_FAILED, request_type=JobRef, handler=retry_failed),
    Endpoint(name="list_jobs", subject=LIST_JOBS, request_type=ListJobs, handler=list_jobs),
    Endpoint(name="get_job", subject=GET_JOB, request_type=GetJob, handler=get_job),
    Endpoint(name="progress_since", subject=PROGRESS_SINCE, request_type=ProgressSince, handler=get_progress_since),
    Endpoint(name="list_job_kinds", subject=LIST_JOB_KINDS, request_type=ListJobKinds, handler=job_kinds),
)

__all__ = ["ENDPOINTS"]
