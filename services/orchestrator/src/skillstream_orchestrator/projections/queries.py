"""Query handlers of the orchestrator (``qry.orchestrator.*``): the job list, one job, progress changes, kinds.

They read the ``orchestrator`` read models, except :func:`get_job`, which loads the job from the event store
so that a job is found the moment it is requested. Errors reply with typed codes: ``invalid_request`` (a
limit out of range, a malformed cursor), ``not_found``.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Any

import asyncpg

from skillstream_contracts import ErrorCode
from skillstream_contracts.jobs import (
    GetJob,
    JobDetail,
    JobPage,
    JobProgress,
    JobView,
    ListJobs,
    ProgressPage,
    ProgressSince,
)
from skillstream_orchestrator.handlers.commands import visible_job
from skillstream_orchestrator.projections.jobs import row_to_view
from skillstream_orchestrator.projections.progress_reads import progress_since, read_progress
from skillstream_runtime.errors import CommandRejected
from skillstream_runtime.eventstore import AbstractEventStore

MAX_PAGE = 200
"""Most jobs one page of :func:`list_jobs` returns."""
MAX_PROGRESS_PAGE = 1000
"""Most documents one :func:`get_progress_since` reply returns."""


def _cursor(requested_at: dt.datetime, job_id: str) -> str:
    raw = json.dumps([requested_at.isoformat(), job_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[dt.datetime, str]:
    try:
        at, job_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        return dt.datetime.fromisoformat(at), str(job_id)
    except (ValueError, TypeError) as e:
        raise CommandRejected(ErrorCode.INVALID_REQUEST, "malformed cursor") from e


async def list_jobs(pool: asyncpg.Pool, q: ListJobs) -> JobPage:
    """Jobs newest first (by requested time, then id), filtered by kind, status and requester.

    Raises:
        CommandRejected: ``invalid_request`` for a limit outside 1..200 or a malformed cursor.
    """
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
    rows = await pool.fetch(
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


async def get_job(store: AbstractEventStore, pool: asyncpg.Pool, q: GetJob) -> JobDetail:
    """One job (from the event store) and its progress (from the read model; empty until it has some).

    Raises:
        CommandRejected: ``not_found`` (also for a job another requester's ``visible_to`` hides).
    """
    job = (await visible_job(store, q.job_id, q.visible_to)).state
    assert job is not None
    async with pool.acquire() as conn:
        docs = await read_progress(conn, [q.job_id])
    return JobDetail(job=job.view, progress=docs.get(q.job_id) or _empty_progress(job.view))


async def get_progress_since(pool: asyncpg.Pool, q: ProgressSince) -> ProgressPage:
    """Progress documents changed after a sequence (see :func:`progress_since`).

    Raises:
        CommandRejected: ``invalid_request`` for a limit outside 1..1000.
    """
    if not 1 <= q.limit <= MAX_PROGRESS_PAGE:
        raise CommandRejected(ErrorCode.INVALID_REQUEST, f"limit must be between 1 and {MAX_PROGRESS_PAGE}")
    async with pool.acquire() as conn:
        items = await progress_since(
            conn, after_sequence=q.after_sequence, job_id=q.job_id, requested_by=q.requested_by, limit=q.limit
        )
    return ProgressPage(items=items)


__all__ = ["MAX_PAGE", "MAX_PROGRESS_PAGE", "get_job", "get_progress_since", "list_jobs"]
