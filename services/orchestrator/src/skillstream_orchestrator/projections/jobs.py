"""The orchestrator's ``jobs`` read model: one row per job with its lifecycle state (DESIGN.md, jobs).

Folded from the ``JOBS`` stream in batches: the rows of the batch's jobs are read once, the events are
applied in stream order in memory, and the changed rows are written back with one ``unnest`` upsert (one
statement, where an ``executemany`` ran one per row).
Each row keeps ``last_sequence``, so an event at or below it (a dead letter retried late) is ignored. The
lifecycle rules are :func:`skillstream_orchestrator.domain.fold`, shared with the command handlers.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import asyncpg

from skillstream_contracts.jobs import JOB_EVENTS, JobStatus, JobView
from skillstream_orchestrator.domain.job import fold
from skillstream_runtime.eventstore import RecordedEvent
from skillstream_runtime.projections import Projection

_TYPES = {
    "job_id": "text",
    "kind": "text",
    "status": "text",
    "requested_by": "text",
    "priority": "integer",
    "parameters": "jsonb",
    "idempotency_key": "text",
    "retry_of": "text",
    "only_items": "jsonb",
    "requested_at": "timestamptz",
    "queued_at": "timestamptz",
    "started_at": "timestamptz",
    "finished_at": "timestamptz",
    "total_items": "integer",
    "cancel_requested": "boolean",
    "reason": "text",
    "summary": "jsonb",
    "last_sequence": "bigint",
}
"""The columns of ``jobs`` in the order rows are written, with their PostgreSQL types."""
_COLUMNS = tuple(_TYPES)


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
                only_items       jsonb NOT NULL DEFAULT '[]'::jsonb,
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
        rows = await conn.fetch(f'SELECT * FROM "{schema}".jobs WHERE job_id = ANY($1)', ids)
        views: dict[str, tuple[JobView | None, int]] = {r["job_id"]: (row_to_view(r), r["last_sequence"]) for r in rows}
        changed: set[str] = set()
        for e in events:
            view, last = views.get(e.metadata.aggregate_id, (None, 0))
            if e.sequence <= last:
                continue
            new = fold(view, e.event, e.metadata.occurred_at)
            if new is not None:
                views[new.job_id] = (new, e.sequence)
                changed.add(new.job_id)
        if not changed:
            return
        arrays = ", ".join(f"${i}::{kind}[]" for i, kind in enumerate(_TYPES.values(), start=1))
        updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in _COLUMNS[1:])
        rows = [_values(*views[j]) for j in sorted(changed)]  # type: ignore[arg-type]
        await conn.execute(
            f'INSERT INTO "{schema}".jobs ({", ".join(_COLUMNS)}) SELECT * FROM unnest({arrays})'
            f" ON CONFLICT (job_id) DO UPDATE SET {updates}",
            *(list(column) for column in zip(*rows, strict=True)),
        )


def row_to_view(row: Mapping[str, Any]) -> JobView:
    """A ``jobs`` row as a :class:`JobView`."""
    fields = {c: row[c] for c in _COLUMNS if c != "last_sequence"}
    for key in ("parameters", "summary", "only_items"):
        if isinstance(fields[key], str):
            fields[key] = json.loads(fields[key])
    fields["status"] = JobStatus(fields["status"])
    return JobView(**fields)


def _values(view: JobView, last_sequence: int) -> tuple[Any, ...]:
    row = {f: getattr(view, f) for f in view.__struct_fields__}
    row["status"] = view.status.value
    row["parameters"] = json.dumps(view.parameters)
    row["summary"] = json.dumps(view.summary)
    row["only_items"] = json.dumps(view.only_items)
    row["last_sequence"] = last_sequence
    return tuple(row[c] for c in _COLUMNS)


__all__ = ["JobsProjection", "row_to_view"]
