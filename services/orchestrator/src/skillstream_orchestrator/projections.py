"""The orchestrator's ``jobs`` read model: one row per job with its lifecycle state (DESIGN.md, jobs).

Folded from the ``JOBS`` stream in batches: the rows of the batch's jobs are read once, the events are
applied in stream order in memory, and the changed rows are written back with one ``executemany``.
Each row keeps ``last_sequence``, so an event at or below it (a dead letter retried late) is ignored.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, ClassVar

import asyncpg

from skillstream_contracts.jobs import (
    JOB_EVENTS,
    JobCancelled,
    JobCancelRequested,
    JobCompleted,
    JobFailed,
    JobItemsPlanned,
    JobQueued,
    JobRequested,
    JobStarted,
    JobStatus,
)
from skillstream_runtime.eventstore import RecordedEvent
from skillstream_runtime.projections import Projection

_COLUMNS = (
    "job_id",
    "kind",
    "status",
    "requested_by",
    "priority",
    "parameters",
    "idempotency_key",
    "retry_of",
    "requested_at",
    "queued_at",
    "started_at",
    "finished_at",
    "total_items",
    "cancel_requested",
    "reason",
    "summary",
    "last_sequence",
)


class JobsProjection(Projection):
    """``orchestrator.jobs``: the job list the gateway pages through."""

    name: ClassVar[str] = "jobs"
    read_schema: ClassVar[str] = "orchestrator"
    sources: ClassVar = {"JOBS": ("jobs.job.*",)}
    tables: ClassVar = ("jobs",)
    registries: ClassVar = {"JOBS": JOB_EVENTS}

    async def create_tables(self, conn: asyncpg.Connection, schema: str) -> None:
        await conn.execute(
            f"""
            CREATE TABLE "{schema}".jobs (
                job_id           text PRIMARY KEY,
                kind             text NOT NULL,
                status           text NOT NULL,
                requested_by     text NOT NULL,
                priority         integer NOT NULL DEFAULT 0,
                parameters       jsonb NOT NULL DEFAULT '{{}}'::jsonb,
                idempotency_key  text,
                retry_of         text,
                requested_at     timestamptz NOT NULL,
                queued_at        timestamptz,
                started_at       timestamptz,
                finished_at      timestamptz,
                total_items      integer,
                cancel_requested boolean NOT NULL DEFAULT false,
                reason           text,
                summary          jsonb NOT NULL DEFAULT '{{}}'::jsonb,
                last_sequence    bigint NOT NULL
            );
            CREATE INDEX ON "{schema}".jobs (requested_at DESC);
            CREATE INDEX ON "{schema}".jobs (kind, status);
            CREATE UNIQUE INDEX ON "{schema}".jobs (idempotency_key) WHERE idempotency_key IS NOT NULL;
            """
        )

    async def apply(self, conn: asyncpg.Connection, schema: str, events: Sequence[RecordedEvent]) -> None:
        ids = list({e.metadata.aggregate_id for e in events})
        rows = {
            r["job_id"]: dict(r) for r in await conn.fetch(f'SELECT * FROM "{schema}".jobs WHERE job_id = ANY($1)', ids)
        }
        changed: set[str] = set()
        for e in events:
            row = rows.get(e.metadata.aggregate_id)
            if row is not None and e.sequence <= row["last_sequence"]:
                continue
            row = _fold(row, e)
            if row is not None:
                rows[row["job_id"]] = row
                changed.add(row["job_id"])
        if not changed:
            return
        placeholders = ", ".join(f"${i}" for i in range(1, len(_COLUMNS) + 1))
        updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in _COLUMNS[1:])
        await conn.executemany(
            f'INSERT INTO "{schema}".jobs ({", ".join(_COLUMNS)}) VALUES ({placeholders})'
            f" ON CONFLICT (job_id) DO UPDATE SET {updates}",
            [_values(rows[j]) for j in sorted(changed)],
        )


def _values(row: dict[str, Any]) -> tuple[Any, ...]:
    out = dict(row)
    for key in ("parameters", "summary"):
        if not isinstance(out[key], str):
            out[key] = json.dumps(out[key])
    return tuple(out[c] for c in _COLUMNS)


def _fold(row: dict[str, Any] | None, e: RecordedEvent) -> dict[str, Any] | None:
    """Apply one event to a job row (None: the job has no row yet). Returns the new row, or None when an
    event arrives for a job whose ``JobRequested`` is missing (nothing to show)."""
    ev, at = e.event, e.metadata.occurred_at
    if isinstance(ev, JobRequested):
        return {
            "job_id": ev.job_id,
            "kind": ev.kind,
            "status": JobStatus.REQUESTED.value,
            "requested_by": ev.requested_by,
            "priority": ev.priority,
            "parameters": ev.parameters,
            "idempotency_key": ev.idempotency_key,
            "retry_of": ev.retry_of,
            "requested_at": at,
            "queued_at": None,
            "started_at": None,
            "finished_at": None,
            "total_items": None,
            "cancel_requested": False,
            "reason": None,
            "summary": {},
            "last_sequence": e.sequence,
        }
    if row is None:
        return None
    row = {**row, "last_sequence": e.sequence}
    match ev:
        case JobQueued():
            row.update(status=JobStatus.QUEUED.value, queued_at=at)
        case JobStarted(total_items=total):
            row.update(status=JobStatus.RUNNING.value, started_at=at)
            if total is not None:
                row["total_items"] = total
        case JobItemsPlanned(total_items=total):
            row["total_items"] = total
        case JobCancelRequested():
            row["cancel_requested"] = True
        case JobCompleted(summary=summary):
            row.update(status=JobStatus.COMPLETED.value, finished_at=at, summary=summary)
        case JobFailed(reason=reason, summary=summary):
            row.update(status=JobStatus.FAILED.value, finished_at=at, reason=reason, summary=summary)
        case JobCancelled(summary=summary):
            row.update(status=JobStatus.CANCELLED.value, finished_at=at, summary=summary)
    return row


__all__ = ["JobsProjection"]
