"""The items half of the progress view: item reports (headers only) of the owning services' streams folded
into ``job_items``, the counters of ``job_progress`` and ``job_groups`` (see
:mod:`skillstream_orchestrator.projections.progress`).

An item's state moves forward: ``queued`` → ``processing`` ⇄ ``retrying`` → a terminal state, never back and
never out of a terminal state, except that ``cancelled`` (given by this view when the owner reports the job's
end while the item had not ended) yields to a real outcome the owner reports later. The owner's end report
also marks the job's counts as final (``report_counted``), so the view may show the end the lifecycle recorded.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import asyncpg

from skillstream_contracts.jobs import ItemOutcome
from skillstream_runtime.eventstore import RecordedEvent

_RANK = {
    ItemOutcome.QUEUED: 0,
    ItemOutcome.PROCESSING: 1,
    ItemOutcome.RETRYING: 1,
    ItemOutcome.SUCCEEDED: 2,
    ItemOutcome.FAILED: 2,
    ItemOutcome.SKIPPED: 2,
    ItemOutcome.CANCELLED: 2,
}
_END_PHASES = frozenset({"completed", "failed", "cancelled"})
_OPEN = ("queued", "processing", "retrying")
_COUNTERS = (*_OPEN, "succeeded", "failed", "skipped", "cancelled")
_ITEM_COLUMNS = ("job_id", "item_key", "state", "grp", "bytes", "reason", "updated_at")
_GROUP_COUNTERS = ("seen", "succeeded", "failed", "skipped")


class _Deltas:
    """Counter changes of one batch, per job and per (job, group)."""

    def __init__(self) -> None:
        self.jobs: dict[str, dict[str, Any]] = defaultdict(
            lambda: {
                **dict.fromkeys(_COUNTERS, 0),
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
            if old in g:
                g[old] -= 1  # a real outcome after "cancelled"
            if new in g:
                g[new] += 1


async def apply_items(conn: asyncpg.Connection, schema: str, events: Sequence[RecordedEvent]) -> set[str]:
    """Fold one batch of an owner's stream (stream order) into the three tables; returns the ids of the jobs
    whose progress document changed."""
    changed = await _count_items(conn, schema, events)
    ended = sorted({r.job_id for e in events if (r := e.metadata.job) is not None and r.phase in _END_PHASES})
    if ended:
        await _end_items(conn, schema, ended)
    return changed | set(ended)


async def _end_items(conn: asyncpg.Connection, schema: str, job_ids: list[str]) -> None:
    """The owner reported the end of ``job_ids``, after their items' events on the same stream: their counts
    are final from here on, and their items that had not ended become ``cancelled``."""
    s = f'"{schema}"'
    await conn.execute(
        f"INSERT INTO {s}.job_progress (job_id, report_counted) SELECT unnest($1::text[]), true"
        " ON CONFLICT (job_id) DO UPDATE SET report_counted = true",
        job_ids,
    )
    await conn.execute(
        f"WITH open AS (SELECT job_id, item_key, state FROM {s}.job_items WHERE job_id = ANY($1)"
        " AND state = ANY($2::text[]) FOR UPDATE),"
        f" moved AS (UPDATE {s}.job_items i SET state = 'cancelled' FROM open o"
        " WHERE i.job_id = o.job_id AND i.item_key = o.item_key RETURNING o.job_id, o.state),"
        " counts AS (SELECT job_id, count(*) FILTER (WHERE state = 'queued') AS q,"
        " count(*) FILTER (WHERE state = 'processing') AS p, count(*) FILTER (WHERE state = 'retrying') AS r,"
        " count(*) AS n FROM moved GROUP BY job_id)"
        f" UPDATE {s}.job_progress j SET queued = j.queued - c.q, processing = j.processing - c.p,"
        " retrying = j.retrying - c.r, cancelled = j.cancelled + c.n FROM counts c WHERE j.job_id = c.job_id",
        job_ids,
        list(_OPEN),
    )


def _moves(old: ItemOutcome, new: ItemOutcome) -> bool:
    """Whether a report of ``new`` moves an item that is ``old``: forward only, never out of a terminal state,
    except that a real outcome reported after the job's end replaces the ``cancelled`` this view gave it."""
    if old is ItemOutcome.CANCELLED:
        return new.is_terminal and new is not ItemOutcome.CANCELLED
    return not old.is_terminal and _RANK[new] >= _RANK[old]


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
        if old is not None and not _moves(old, outcome):
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


def _unnest(types: Sequence[str], first: int) -> str:
    """``unnest($first::t1[], $first+1::t2[], …)``."""
    return "unnest(" + ", ".join(f"${first + i}::{t}[]" for i, t in enumerate(types)) + ")"


def _write_items_sql(schema: str) -> str:
    """One statement for the three tables an items batch changes (data-modifying CTEs: each table once, so no
    row is changed twice in the statement). Parameters in order: the item columns, then the job id, counter
    deltas, bytes, first and last item times of each job, then the group deltas (empty arrays write nothing)."""
    s = f'"{schema}"'
    item_types = ("text", "text", "text", "text", "bigint", "text", "timestamptz")
    job_types = ("text", *["integer"] * len(_COUNTERS), "bigint", "timestamptz", "timestamptz")
    group_types = ("text", "text", *["integer"] * len(_GROUP_COUNTERS))
    jobs_set = ", ".join(f"{c} = j.{c} + EXCLUDED.{c}" for c in (*_COUNTERS, "bytes_done"))
    groups_set = ", ".join(f"{c} = g.{c} + EXCLUDED.{c}" for c in _GROUP_COUNTERS)
    return (
        f"WITH items AS (INSERT INTO {s}.job_items ({', '.join(_ITEM_COLUMNS)})"
        f" SELECT * FROM {_unnest(item_types, 1)} ON CONFLICT (job_id, item_key) DO UPDATE SET"
        " state = EXCLUDED.state, grp = EXCLUDED.grp, bytes = EXCLUDED.bytes, reason = EXCLUDED.reason,"
        " updated_at = EXCLUDED.updated_at),"
        f" jobs AS (INSERT INTO {s}.job_progress AS j (job_id, {', '.join(_COUNTERS)}, bytes_done, first_item_at,"
        f" last_item_at) SELECT * FROM {_unnest(job_types, 1 + len(item_types))}"
        f" ON CONFLICT (job_id) DO UPDATE SET {jobs_set},"
        " first_item_at = LEAST(j.first_item_at, EXCLUDED.first_item_at),"
        " last_item_at = GREATEST(j.last_item_at, EXCLUDED.last_item_at))"
        f" INSERT INTO {s}.job_groups AS g (job_id, grp, {', '.join(_GROUP_COUNTERS)})"
        f" SELECT * FROM {_unnest(group_types, 1 + len(item_types) + len(job_types))}"
        f" ON CONFLICT (job_id, grp) DO UPDATE SET {groups_set}"
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


__all__ = ["apply_items"]
