"""Reading the ``job_progress`` read model: progress documents, changes since a sequence, failed items.

Rows are written by :class:`~skillstream_orchestrator.projections.progress.ProgressProjection`; a document's
``sequence`` follows commit order, so "changed after N" is complete and ordered.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

import asyncpg

from skillstream_contracts.jobs import GroupProgress, ItemError, JobProgress, JobStatus

CURRENT_ITEMS = 5
"""Items shown as being worked on in a progress document (the most recently started)."""
LAST_ERRORS = 10
"""Failed items shown in a progress document (the most recent)."""


async def read_progress(
    conn: asyncpg.Connection, job_ids: Sequence[str], *, now: dt.datetime | None = None
) -> dict[str, JobProgress]:
    """The progress documents of ``job_ids`` (those that have one), from the ``orchestrator`` views.

    Rates are over the job's running time up to ``now`` (default: the current time) or its end.
    """
    if not job_ids:
        return {}
    ids = list(job_ids)
    rows = await conn.fetch("SELECT * FROM orchestrator.job_progress WHERE job_id = ANY($1)", ids)
    groups: dict[str, dict[str, GroupProgress]] = defaultdict(dict)
    for g in await conn.fetch("SELECT * FROM orchestrator.job_groups WHERE job_id = ANY($1) ORDER BY job_id, grp", ids):
        groups[g["job_id"]][g["grp"]] = GroupProgress(
            label=g["label"],
            total=max(g["seen"], g["planned"]),
            succeeded=g["succeeded"],
            failed=g["failed"],
            skipped=g["skipped"],
        )
    recent = await conn.fetch(
        "SELECT job_id, item_key, state, grp, reason, updated_at FROM ("
        " SELECT *, row_number() OVER (PARTITION BY job_id, state ORDER BY updated_at DESC) AS n"
        " FROM orchestrator.job_items WHERE job_id = ANY($1) AND state IN ('processing', 'failed')"
        f") r WHERE (state = 'processing' AND n <= {CURRENT_ITEMS}) OR (state = 'failed' AND n <= {LAST_ERRORS})"
        " ORDER BY updated_at DESC",
        ids,
    )
    current: dict[str, list[str]] = defaultdict(list)
    errors: dict[str, list[ItemError]] = defaultdict(list)
    for r in recent:
        if r["state"] == "processing":
            current[r["job_id"]].append(r["item_key"])
        else:
            errors[r["job_id"]].append(
                ItemError(item_key=r["item_key"], reason=r["reason"] or "", group=r["grp"], at=r["updated_at"])
            )
    now = now or dt.datetime.now(dt.UTC)
    return {
        r["job_id"]: _document(r, groups[r["job_id"]], current[r["job_id"]], errors[r["job_id"]], now) for r in rows
    }


def _document(
    r: Mapping[str, Any],
    groups: dict[str, GroupProgress],
    current: list[str],
    errors: list[ItemError],
    now: dt.datetime,
) -> JobProgress:
    status = JobStatus(r["status"])
    finished_at = r["finished_at"]
    if status.is_terminal and r["awaits_report"] and not r["report_counted"]:
        # The job has ended but this view has not yet counted the owner's events up to its end report:
        # showing the end now would show final counters that are not final.
        status, finished_at = JobStatus.RUNNING, None
    done = r["succeeded"] + r["failed"] + r["skipped"]
    total = r["total"]
    cancelled = r["cancelled"]
    started = r["processing"] + r["retrying"] + done + cancelled
    queued = r["queued"] if total is None else max(0, total - started)
    if status.is_terminal:
        cancelled, queued = cancelled + queued, 0  # planned items that never started ended with the job
    start = r["started_at"] or r["first_item_at"]
    end = finished_at or (None if not status.is_terminal else r["last_item_at"]) or now
    elapsed = (end - start).total_seconds() if start is not None else 0.0
    rate = done / elapsed if elapsed > 0 and done else None
    byte_rate = r["bytes_done"] / elapsed if elapsed > 0 and r["bytes_done"] else None
    eta = None
    if rate and total is not None and not status.is_terminal:
        eta = max(0, total - done) / rate
    percent = min(100.0, 100.0 * done / total) if total else (100.0 if status is JobStatus.COMPLETED else 0.0)
    return JobProgress(
        job_id=r["job_id"],
        kind=r["kind"],
        status=status,
        sequence=r["sequence"],
        requested_by=r["requested_by"] or None,
        retry_of=r["retry_of"],
        cancel_requested=r["cancel_requested"],
        total=total,
        queued=queued,
        processing=r["processing"],
        retrying=r["retrying"],
        succeeded=r["succeeded"],
        failed=r["failed"],
        skipped=r["skipped"],
        cancelled=cancelled,
        percent=round(percent, 2),
        current_items=[] if status.is_terminal else current,
        items_per_second=None if rate is None else round(rate, 3),
        bytes_per_second=None if byte_rate is None else round(byte_rate, 1),
        bytes_done=r["bytes_done"],
        eta_seconds=None if eta is None else round(eta, 1),
        last_errors=errors,
        groups=groups,
        requested_at=r["requested_at"],
        started_at=r["started_at"],
        finished_at=finished_at,
    )


async def progress_since(
    conn: asyncpg.Connection,
    *,
    after_sequence: int,
    job_id: str | None = None,
    requested_by: str | None = None,
    limit: int = 50,
) -> list[JobProgress]:
    """Progress documents changed after ``after_sequence``, oldest change first (0: the ``limit`` most
    recently changed), optionally of one job or one requester."""
    where = ["has_meta"]
    args: list[Any] = []
    if after_sequence:
        args.append(after_sequence)
        where.append(f"sequence > ${len(args)}")
    if job_id is not None:
        args.append(job_id)
        where.append(f"job_id = ${len(args)}")
    if requested_by is not None:
        args.append(requested_by)
        where.append(f"requested_by = ${len(args)}")
    args.append(limit)
    order = "ASC" if after_sequence else "DESC"
    rows = await conn.fetch(
        f"SELECT job_id, sequence FROM orchestrator.job_progress WHERE {' AND '.join(where)}"
        f" ORDER BY sequence {order} LIMIT ${len(args)}",
        *args,
    )
    ordered = sorted(rows, key=lambda r: r["sequence"])
    docs = await read_progress(conn, [r["job_id"] for r in ordered])
    return [docs[r["job_id"]] for r in ordered if r["job_id"] in docs]


async def items_in(conn: asyncpg.Connection, job_id: str, state: str) -> list[str]:
    """The keys of the job's items whose latest state is ``state`` (an item outcome: ``failed`` for "retry
    failed", ``cancelled`` for "resume"), in key order."""
    rows = await conn.fetch(
        "SELECT item_key FROM orchestrator.job_items WHERE job_id = $1 AND state = $2 ORDER BY item_key", job_id, state
    )
    return [r["item_key"] for r in rows]


async def items_seen(conn: asyncpg.Connection, job_id: str) -> int:
    """How many distinct items of the job its owner has reported (in any state)."""
    return int(await conn.fetchval("SELECT count(*) FROM orchestrator.job_items WHERE job_id = $1", job_id))


__all__ = ["items_in", "items_seen", "progress_since", "read_progress"]
