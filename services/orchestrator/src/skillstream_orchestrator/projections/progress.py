"""The progress view: one progress document per job, folded from the ``JOBS`` stream and from the job
reports (headers only) on the owning services' streams (DESIGN.md, "Progress views").

Tables (in the generation schema; readers use the views in ``orchestrator``):

- ``job_progress`` — one row per job: lifecycle fields from ``JOBS``, item counters, bytes, the first and
  last item times, and ``sequence``: the value of ``orchestrator.progress_seq`` drawn when the row last
  changed. Values are drawn under a transaction-scoped advisory lock, so they follow commit order: once a
  reader sees sequence N it sees every change numbered below N. That is what lets an SSE client resume
  from ``Last-Event-ID`` without missing anything. A rebuild keeps the value of every document it
  reproduces unchanged and numbers the others anew at the swap (:meth:`ProgressProjection.before_swap`);
- ``job_items`` — the latest state of each item (``queued`` → ``processing`` → a terminal state);
- ``job_groups`` — counters per group (course, training package).

Exactness: an item's state moves forward until it is terminal and never leaves a terminal state, and the
counters change only by the deltas of those transitions, in the same transaction as the projection's
checkpoint. A redelivered or repeated item event therefore never counts twice, and every item ends in
exactly one terminal state. After each batch the changed job ids are sent with ``pg_notify`` (delivered on
commit) to the publisher, which streams the new documents to the gateway.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar

import asyncpg

from skillstream_contracts.events import HeadersOnlyRegistry
from skillstream_contracts.jobs import (
    JOB_EVENTS,
    JobCancelled,
    JobCompleted,
    JobFailed,
    JobItemsPlanned,
    JobStatus,
    JobView,
)
from skillstream_orchestrator.domain.job import fold
from skillstream_orchestrator.projections.progress_items import apply_items
from skillstream_runtime.eventstore import RecordedEvent
from skillstream_runtime.projections import Projection

NOTIFY_CHANNEL = "skillstream_job_progress"
"""``pg_notify`` channel: payload = comma-separated ids of jobs whose progress changed."""

_NOTIFY_CHUNK = 200  # job ids per notification (the payload limit is 8,000 bytes)
_LOCK_KEY = 0x5EED_0001  # advisory lock that puts progress sequence values in commit order

_ENDS = (JobCompleted, JobFailed, JobCancelled)
_META = (
    "kind",
    "status",
    "requested_by",
    "retry_of",
    "cancel_requested",
    "total",
    "requested_at",
    "started_at",
    "finished_at",
)


class ProgressProjection(Projection):
    """``orchestrator.job_progress`` / ``job_items`` / ``job_groups``.

    ``report_streams``: the streams whose events carry job item headers (every owning service's stream);
    they are read with a :class:`HeadersOnlyRegistry`, so no other context's schema is needed here.
    """

    name: ClassVar[str] = "job_progress"
    read_schema: ClassVar[str] = "orchestrator"
    tables: ClassVar = ("job_progress", "job_items", "job_groups")

    def __init__(self, report_streams: Iterable[str]) -> None:
        streams = [s for s in dict.fromkeys(report_streams) if s != "JOBS"]
        self.sources = {"JOBS": ("jobs.job.*",), **dict.fromkeys(streams, ())}  # type: ignore[misc]
        self.registries = {"JOBS": JOB_EVENTS, **{s: HeadersOnlyRegistry(s) for s in streams}}  # type: ignore[misc]

    async def create_tables(self, conn: asyncpg.Connection, schema: str) -> None:
        await conn.execute(
            f"""
            CREATE TABLE "{schema}".job_progress (
                job_id           text PRIMARY KEY,
                has_meta         boolean NOT NULL DEFAULT false,
                kind             text NOT NULL DEFAULT '',
                status           text NOT NULL DEFAULT 'requested',
                requested_by     text NOT NULL DEFAULT '',
                retry_of         text,
                cancel_requested boolean NOT NULL DEFAULT false,
                total            integer,
                requested_at     timestamptz,
                started_at       timestamptz,
                finished_at      timestamptz,
                queued           integer NOT NULL DEFAULT 0,
                processing       integer NOT NULL DEFAULT 0,
                retrying         integer NOT NULL DEFAULT 0,
                succeeded        integer NOT NULL DEFAULT 0,
                failed           integer NOT NULL DEFAULT 0,
                skipped          integer NOT NULL DEFAULT 0,
                cancelled        integer NOT NULL DEFAULT 0,
                bytes_done       bigint NOT NULL DEFAULT 0,
                first_item_at    timestamptz,
                last_item_at     timestamptz,
                sequence         bigint NOT NULL DEFAULT 0,
                awaits_report    boolean NOT NULL DEFAULT false,
                report_counted   boolean NOT NULL DEFAULT false
            );
            CREATE INDEX ON "{schema}".job_progress (sequence);
            CREATE TABLE "{schema}".job_items (
                job_id     text NOT NULL,
                item_key   text NOT NULL,
                state      text NOT NULL,
                grp        text,
                bytes      bigint,
                reason     text,
                updated_at timestamptz NOT NULL,
                PRIMARY KEY (job_id, item_key)
            );
            CREATE INDEX ON "{schema}".job_items (job_id, state, updated_at DESC);
            CREATE TABLE "{schema}".job_groups (
                job_id    text NOT NULL,
                grp       text NOT NULL,
                seen      integer NOT NULL DEFAULT 0,
                planned   integer NOT NULL DEFAULT 0,
                succeeded integer NOT NULL DEFAULT 0,
                failed    integer NOT NULL DEFAULT 0,
                skipped   integer NOT NULL DEFAULT 0,
                label     text,
                PRIMARY KEY (job_id, grp)
            );
            """
        )

    async def apply(self, conn: asyncpg.Connection, schema: str, events: Sequence[RecordedEvent]) -> None:
        if events[0].stream == "JOBS":
            changed = await _apply_lifecycle(conn, schema, events)
        else:
            changed = await apply_items(conn, schema, events)
        if changed:
            await _stamp(conn, schema, sorted(changed))

    async def before_swap(self, conn: asyncpg.Connection, old_schema: str, new_schema: str) -> None:
        """Keep the progress sequence of every document a rebuild reproduced unchanged (same row, same groups),
        so a browser's ``Last-Event-ID`` means the same after a replay and nothing is sent again; a document
        that differs takes a new value above every one published, and is published as a change."""
        o, n = f'"{old_schema}"', f'"{new_schema}"'

        def groups(schema: str, alias: str) -> str:
            return (
                f"(SELECT jsonb_agg(to_jsonb(g) ORDER BY g.grp) FROM {schema}.job_groups g"
                f" WHERE g.job_id = {alias}.job_id)"
            )

        await conn.execute(
            f"UPDATE {n}.job_progress n SET sequence = o.sequence FROM {o}.job_progress o WHERE n.job_id = o.job_id"
            " AND (to_jsonb(n) - 'sequence') = (to_jsonb(o) - 'sequence')"
            f" AND {groups(n, 'n')} IS NOT DISTINCT FROM {groups(o, 'o')}"
        )
        differ = await conn.fetch(
            f"SELECT n.job_id FROM {n}.job_progress n LEFT JOIN {o}.job_progress o USING (job_id)"
            " WHERE o.job_id IS NULL OR n.sequence <> o.sequence"
        )
        if differ:
            await _stamp(conn, new_schema, sorted(r["job_id"] for r in differ))


# --- lifecycle (JOBS) -------------------------------------------------------------------------------


async def _apply_lifecycle(conn: asyncpg.Connection, schema: str, events: Sequence[RecordedEvent]) -> set[str]:
    ids = list({e.metadata.aggregate_id for e in events})
    rows = await conn.fetch(
        f'SELECT job_id, {", ".join(_META)} FROM "{schema}".job_progress WHERE job_id = ANY($1) AND has_meta', ids
    )
    views: dict[str, JobView | None] = {r["job_id"]: _meta_view(r) for r in rows}
    planned_groups: list[tuple[str, str, int, str | None]] = []
    awaiting: set[str] = set()
    for e in events:
        job_id = e.metadata.aggregate_id
        new = fold(views.get(job_id), e.event, e.metadata.occurred_at)
        if new is not None:
            views[job_id] = new
        if isinstance(e.event, JobItemsPlanned):
            labels = e.event.group_labels
            planned_groups.extend((job_id, g, n, labels.get(g)) for g, n in e.event.groups.items())
        elif isinstance(e.event, _ENDS) and e.event.reported_on is not None:
            awaiting.add(job_id)
    changed = {j: v for j, v in views.items() if v is not None}
    cols = ", ".join(_META)
    await conn.execute(
        f'INSERT INTO "{schema}".job_progress (job_id, has_meta, {cols}, awaits_report)'
        " SELECT j, true, k, s, r, ro, c, t, ra, sa, fa, j = ANY($11) FROM unnest($1::text[], $2::text[],"
        " $3::text[], $4::text[], $5::text[], $6::boolean[], $7::integer[], $8::timestamptz[], $9::timestamptz[],"
        " $10::timestamptz[]) AS u(j, k, s, r, ro, c, t, ra, sa, fa)"
        f" ON CONFLICT (job_id) DO UPDATE SET has_meta = true, {', '.join(f'{c} = EXCLUDED.{c}' for c in _META)},"
        " awaits_report = job_progress.awaits_report OR EXCLUDED.awaits_report",
        *_columns(changed.values()),
        sorted(awaiting),
    )
    if planned_groups:
        await conn.execute(
            f'INSERT INTO "{schema}".job_groups (job_id, grp, planned, label)'
            " SELECT * FROM unnest($1::text[], $2::text[], $3::integer[], $4::text[])"
            " ON CONFLICT (job_id, grp) DO UPDATE SET planned = EXCLUDED.planned, label = EXCLUDED.label",
            *map(list, zip(*planned_groups, strict=True)),
        )
    return set(changed)


def _meta_view(row: Mapping[str, Any]) -> JobView:
    return JobView(
        job_id=row["job_id"],
        kind=row["kind"],
        status=JobStatus(row["status"]),
        requested_by=row["requested_by"],
        retry_of=row["retry_of"],
        cancel_requested=row["cancel_requested"],
        total_items=row["total"],
        requested_at=row["requested_at"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
    )


def _columns(views: Iterable[JobView]) -> list[list[Any]]:
    cols: list[list[Any]] = [[] for _ in range(10)]
    for v in views:
        values = (
            v.job_id,
            v.kind,
            v.status.value,
            v.requested_by,
            v.retry_of,
            v.cancel_requested,
            v.total_items,
            v.requested_at,
            v.started_at,
            v.finished_at,
        )
        for col, value in zip(cols, values, strict=True):
            col.append(value)
    return cols


async def _stamp(conn: asyncpg.Connection, schema: str, job_ids: list[str]) -> None:
    """Give the changed jobs new progress sequence values, in commit order, and notify the publisher.

    One statement: the advisory lock is a one-row input of the ``UPDATE``, so it is taken before the first
    sequence value is drawn (and held to commit); the notifications are sent on commit whatever their place.
    """
    chunks = [",".join(job_ids[i : i + _NOTIFY_CHUNK]) for i in range(0, len(job_ids), _NOTIFY_CHUNK)]
    await conn.execute(
        "WITH locked AS MATERIALIZED (SELECT pg_advisory_xact_lock($1) AS held),"
        f" stamped AS (UPDATE \"{schema}\".job_progress SET sequence = nextval('orchestrator.progress_seq')"
        " FROM locked WHERE job_id = ANY($2) RETURNING job_id)"
        " SELECT pg_notify($3, chunk) FROM unnest($4::text[]) AS chunk",
        _LOCK_KEY,
        job_ids,
        NOTIFY_CHANNEL,
        chunks,
    )


__all__ = ["NOTIFY_CHANNEL", "ProgressProjection"]
