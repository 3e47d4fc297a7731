"""The progress view: one progress document per job, folded from the ``JOBS`` stream and from the job
reports (headers only) on the owning services' streams (DESIGN.md, "Progress views").

Tables (in the generation schema; readers use the views in ``orchestrator``):

- ``job_progress`` — one row per job: lifecycle fields from ``JOBS``, item counters, bytes, the first and
  last item times, and ``sequence``: the value of ``orchestrator.progress_seq`` drawn when the row last
  changed. Values are drawn under a transaction-scoped advisory lock, so they follow commit order: once a
  reader sees sequence N it sees every change numbered below N. That is what lets an SSE client resume
  from ``Last-Event-ID`` without missing anything;
- ``job_items`` — the latest state of each item (``queued`` → ``processing`` → a terminal state);
- ``job_groups`` — counters per group (course, training package).

Exactness: an item's state moves forward until it is terminal and never leaves a terminal state, and the
counters change only by the deltas of those transitions, in the same transaction as the projection's
checkpoint. A redelivered or repeated item event therefore never counts twice, and every item ends in
exactly one terminal state. After each batch the changed job ids are sent with ``pg_notify`` (delivered on
commit) to the publisher, which streams the new documents to the gateway.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar

import asyncpg

from skillstream_contracts.events import HeadersOnlyRegistry
from skillstream_contracts.jobs import (
    JOB_EVENTS,
    ItemOutcome,
    JobCancelled,
    JobCompleted,
    JobFailed,
    JobItemsPlanned,
    JobStatus,
    JobView,
)
from skillstream_orchestrator.domain.job import fold
from skillstream_runtime.eventstore import RecordedEvent
from skillstream_runtime.projections import Projection

NOTIFY_CHANNEL = "skillstream_job_progress"
"""``pg_notify`` channel: payload = comma-separated ids of jobs whose progress changed."""

_NOTIFY_CHUNK = 200  # job ids per notification (the payload limit is 8,000 bytes)
_LOCK_KEY = 0x5EED_0001  # advisory lock that puts progress sequence values in commit order

_RANK = {
    ItemOutcome.QUEUED: 0,
    ItemOutcome.PROCESSING: 1,
    ItemOutcome.SUCCEEDED: 2,
    ItemOutcome.FAILED: 2,
    ItemOutcome.SKIPPED: 2,
}
_ENDS = (JobCompleted, JobFailed, JobCancelled)
_END_PHASES = frozenset({"completed", "failed", "cancelled"})
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
                succeeded        integer NOT NULL DEFAULT 0,
                failed           integer NOT NULL DEFAULT 0,
                skipped          integer NOT NULL DEFAULT 0,
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
                PRIMARY KEY (job_id, grp)
            );
            """
        )

    async def apply(self, conn: asyncpg.Connection, schema: str, events: Sequence[RecordedEvent]) -> None:
        if events[0].stream == "JOBS":
            changed = await _apply_lifecycle(conn, schema, events)
        else:
            changed = await _apply_items(conn, schema, events)
        if changed:
            await _stamp(conn, schema, sorted(changed))


# --- lifecycle (JOBS) -------------------------------------------------------------------------------


async def _apply_lifecycle(conn: asyncpg.Connection, schema: str, events: Sequence[RecordedEvent]) -> set[str]:
    ids = list({e.metadata.aggregate_id for e in events})
    rows = await conn.fetch(
        f'SELECT job_id, {", ".join(_META)} FROM "{schema}".job_progress WHERE job_id = ANY($1) AND has_meta', ids
    )
    views: dict[str, JobView | None] = {r["job_id"]: _meta_view(r) for r in rows}
    planned_groups: list[tuple[str, str, int]] = []
    awaiting: set[str] = set()
    for e in events:
        job_id = e.metadata.aggregate_id
        new = fold(views.get(job_id), e.event, e.metadata.occurred_at)
        if new is not None:
            views[job_id] = new
        if isinstance(e.event, JobItemsPlanned):
            planned_groups.extend((job_id, g, n) for g, n in e.event.groups.items())
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
            f'INSERT INTO "{schema}".job_groups (job_id, grp, planned)'
            " SELECT * FROM unnest($1::text[], $2::text[], $3::integer[])"
            " ON CONFLICT (job_id, grp) DO UPDATE SET planned = EXCLUDED.planned",
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


# --- items (owning services' streams, headers only) -------------------------------------------------


class _Deltas:
    """Counter changes of one batch, per job and per (job, group)."""

    def __init__(self) -> None:
        self.jobs: dict[str, dict[str, Any]] = defaultdict(
            lambda: {
                "queued": 0,
                "processing": 0,
                "succeeded": 0,
                "failed": 0,
                "skipped": 0,
                "bytes": 0,
                "first": None,
                "last": None,
            }
        )
        self.groups: dict[tuple[str, str], dict[str, int]] = defaultdict(
            lambda: {"seen": 0, "succeeded": 0, "failed": 0, "skipped": 0}
        )

    def move(self, job_id: str, group: str | None, old: str | None, new: str, size: int, at: dt.datetime) -> None:
        d = self.jobs[job_id]
        if old is not None:
            d[old] -= 1
        d[new] += 1
        d["first"] = at if d["first"] is None else min(d["first"], at)
        d["last"] = at if d["last"] is None else max(d["last"], at)
        if new == ItemOutcome.SUCCEEDED:
            d["bytes"] += size
        if group is not None:
            g = self.groups[(job_id, group)]
            if old is None:
                g["seen"] += 1
            if new in ("succeeded", "failed", "skipped"):
                g[new] += 1


async def _apply_items(conn: asyncpg.Connection, schema: str, events: Sequence[RecordedEvent]) -> set[str]:
    ended = sorted({r.job_id for e in events if (r := e.metadata.job) is not None and r.phase in _END_PHASES})
    if ended:
        # The owner reports a job's end after its items' events on the same stream: from here on this
        # stream's counts of the job are final, so the view may show the end the lifecycle recorded.
        await conn.execute(
            f'INSERT INTO "{schema}".job_progress (job_id, report_counted) SELECT unnest($1::text[]), true'
            " ON CONFLICT (job_id) DO UPDATE SET report_counted = true",
            ended,
        )
    return set(ended) | await _count_items(conn, schema, events)


async def _count_items(conn: asyncpg.Connection, schema: str, events: Sequence[RecordedEvent]) -> set[str]:
    reports = []
    for e in events:
        r = e.metadata.job
        if r is None or r.item_key is None or r.item_outcome is None:
            continue
        try:
            outcome = ItemOutcome(r.item_outcome)
        except ValueError:
            continue  # an outcome this version does not know: not counted rather than miscounted
        reports.append((r.job_id, r.item_key, outcome, r, e.metadata.occurred_at))
    if not reports:
        return set()
    keys = list({(j, k) for j, k, _, _, _ in reports})
    current: dict[tuple[str, str], dict[str, Any]] = {
        (r["job_id"], r["item_key"]): dict(r)
        for r in await conn.fetch(
            f'SELECT i.job_id, i.item_key, i.state, i.grp, i.bytes, i.reason, i.updated_at FROM "{schema}".job_items i'
            " JOIN unnest($1::text[], $2::text[]) AS k(job_id, item_key) USING (job_id, item_key)",
            [j for j, _ in keys],
            [k for _, k in keys],
        )
    }
    deltas = _Deltas()
    touched: dict[tuple[str, str], dict[str, Any]] = {}
    for job_id, key, outcome, m, at in reports:
        item = current.get((job_id, key))
        old = None if item is None else ItemOutcome(item["state"])
        if old is not None and (old.is_terminal or _RANK[outcome] < _RANK[old]):
            continue  # terminal states are final; a late "queued" never moves an item back
        group = m.item_group if m.item_group is not None else (None if item is None else item["grp"])
        size = m.item_bytes or 0
        deltas.move(job_id, group, None if old is None else old.value, outcome.value, size, at)
        item = {
            "job_id": job_id,
            "item_key": key,
            "state": outcome.value,
            "grp": group,
            "bytes": m.item_bytes if m.item_bytes is not None else (None if item is None else item["bytes"]),
            "reason": m.reason if outcome is ItemOutcome.FAILED else None,
            "updated_at": at,
        }
        current[(job_id, key)] = touched[(job_id, key)] = item
    if not touched:
        return set()
    await _write_items(conn, schema, list(touched.values()), deltas)
    return set(deltas.jobs)


_COUNTERS = ("queued", "processing", "succeeded", "failed", "skipped")
_ITEM_COLUMNS = ("job_id", "item_key", "state", "grp", "bytes", "reason", "updated_at")
_GROUP_COUNTERS = ("seen", "succeeded", "failed", "skipped")


def _write_items_sql(schema: str) -> str:
    """One statement for the three tables an items batch changes (data-modifying CTEs: each table once, so no
    row is changed twice in the statement). Parameters: items $1..$7, job deltas $8..$16, group deltas
    $17..$22 (empty arrays write nothing)."""
    s = f'"{schema}"'
    jobs_set = ", ".join(f"{c} = j.{c} + EXCLUDED.{c}" for c in (*_COUNTERS, "bytes_done"))
    groups_set = ", ".join(f"{c} = g.{c} + EXCLUDED.{c}" for c in _GROUP_COUNTERS)
    return (
        f"WITH items AS (INSERT INTO {s}.job_items ({', '.join(_ITEM_COLUMNS)})"
        " SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::text[],"
        " $7::timestamptz[]) ON CONFLICT (job_id, item_key) DO UPDATE SET"
        " state = EXCLUDED.state, grp = EXCLUDED.grp, bytes = EXCLUDED.bytes, reason = EXCLUDED.reason,"
        " updated_at = EXCLUDED.updated_at),"
        f" jobs AS (INSERT INTO {s}.job_progress AS j (job_id, {', '.join(_COUNTERS)}, bytes_done, first_item_at,"
        " last_item_at) SELECT * FROM unnest($8::text[], $9::integer[], $10::integer[], $11::integer[],"
        " $12::integer[], $13::integer[], $14::bigint[], $15::timestamptz[], $16::timestamptz[])"
        f" ON CONFLICT (job_id) DO UPDATE SET {jobs_set},"
        " first_item_at = LEAST(j.first_item_at, EXCLUDED.first_item_at),"
        " last_item_at = GREATEST(j.last_item_at, EXCLUDED.last_item_at))"
        f" INSERT INTO {s}.job_groups AS g (job_id, grp, {', '.join(_GROUP_COUNTERS)})"
        " SELECT * FROM unnest($17::text[], $18::text[], $19::integer[], $20::integer[], $21::integer[],"
        f" $22::integer[]) ON CONFLICT (job_id, grp) DO UPDATE SET {groups_set}"
    )


async def _write_items(conn: asyncpg.Connection, schema: str, items: list[dict[str, Any]], deltas: _Deltas) -> None:
    jobs = list(deltas.jobs.items())
    groups = list(deltas.groups.items())
    await conn.execute(
        _write_items_sql(schema),
        *[[i[c] for i in items] for c in _ITEM_COLUMNS],
        [j for j, _ in jobs],
        *[[d[c] for _, d in jobs] for c in _COUNTERS],
        [d["bytes"] for _, d in jobs],
        [d["first"] for _, d in jobs],
        [d["last"] for _, d in jobs],
        [j for (j, _), _ in groups],
        [g for (_, g), _ in groups],
        *[[d[c] for _, d in groups] for c in _GROUP_COUNTERS],
    )


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
