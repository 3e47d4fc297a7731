"""The dead-letter store of projections: list, retry (re-apply once the cause is fixed), discard.

Rows live in ``skillstream.dead_letters`` (written by :class:`~skillstream_runtime.projections.ProjectionRunner`
after ``max_deliver`` failed deliveries). A retry decodes the stored event, applies it to the projection's
*active* generation and deletes the row in the same transaction, so it is applied at most once. Note that a
retried event lands after events that followed it in the stream: projections whose rows depend on order
should make their handlers idempotent per aggregate (for example "keep the highest stream sequence").
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg

from skillstream_runtime.eventstore import record_event
from skillstream_runtime.projections import Projection, generation_schema


@dataclass(frozen=True, kw_only=True)
class DeadLetter:
    """One dead-lettered event and why it failed."""

    id: int
    projection: str
    generation: int
    stream: str
    stream_sequence: int
    subject: str
    event_type: str | None
    error: str
    attempts: int
    failed_at: dt.datetime


@dataclass(frozen=True, kw_only=True)
class RetryOutcome:
    """Result of retrying one dead letter: ``ok`` and, when not, the new ``error``."""

    id: int
    ok: bool
    error: str | None = None


def _row(r: Mapping[str, Any]) -> DeadLetter:
    return DeadLetter(
        id=r["id"],
        projection=r["projection"],
        generation=r["generation"],
        stream=r["stream"],
        stream_sequence=r["stream_sequence"],
        subject=r["subject"],
        event_type=r["event_type"],
        error=r["error"],
        attempts=r["attempts"],
        failed_at=r["failed_at"],
    )


_COLUMNS = "id, projection, generation, stream, stream_sequence, subject, event_type, error, attempts, failed_at"


async def list_dead_letters(pool: asyncpg.Pool, projection: str | None = None) -> list[DeadLetter]:
    """Dead letters, oldest first, optionally of one projection."""
    rows = await pool.fetch(
        f"SELECT {_COLUMNS} FROM skillstream.dead_letters WHERE ($1::text IS NULL OR projection = $1)"
        " ORDER BY projection, stream, stream_sequence",
        projection,
    )
    return [_row(r) for r in rows]


async def retry_dead_letters(
    pool: asyncpg.Pool, projections: Mapping[str, Projection], ids: Sequence[int] | None = None
) -> list[RetryOutcome]:
    """Re-apply dead letters (all, or those in ``ids``) through their projection's handler.

    Each succeeds or fails on its own: a success deletes the row; a failure keeps it with the new error
    and one more attempt counted.
    """
    rows = await pool.fetch(
        f"SELECT {_COLUMNS}, headers, data FROM skillstream.dead_letters"
        " WHERE ($1::bigint[] IS NULL OR id = ANY($1)) ORDER BY projection, stream, stream_sequence",
        list(ids) if ids is not None else None,
    )
    outcomes: list[RetryOutcome] = []
    for r in rows:
        projection = projections.get(r["projection"])
        if projection is None:
            outcomes.append(RetryOutcome(id=r["id"], ok=False, error=f"unknown projection {r['projection']!r}"))
            continue
        try:
            async with pool.acquire() as conn, conn.transaction():
                active = await conn.fetchval(
                    "SELECT active_generation FROM skillstream.projections WHERE name = $1 FOR SHARE",
                    projection.name,
                )
                recorded = record_event(
                    projection.registries[r["stream"]],
                    r["stream"],
                    r["subject"],
                    r["stream_sequence"],
                    json.loads(r["headers"]),
                    bytes(r["data"]),
                )
                await projection.apply(conn, generation_schema(projection.name, active), [recorded])
                await conn.execute("DELETE FROM skillstream.dead_letters WHERE id = $1", r["id"])
        except Exception as e:  # noqa: BLE001 - any failure keeps the row, with its reason
            error = f"{type(e).__name__}: {e}"
            await pool.execute(
                "UPDATE skillstream.dead_letters SET error = $2, attempts = attempts + 1, failed_at = now()"
                " WHERE id = $1",
                r["id"],
                error,
            )
            outcomes.append(RetryOutcome(id=r["id"], ok=False, error=error))
        else:
            outcomes.append(RetryOutcome(id=r["id"], ok=True))
    return outcomes


async def discard_dead_letters(pool: asyncpg.Pool, ids: Sequence[int]) -> int:
    """Delete dead letters for good; returns how many were deleted."""
    result: str = await pool.execute("DELETE FROM skillstream.dead_letters WHERE id = ANY($1)", list(ids))
    return int(result.split()[-1])


__all__ = ["DeadLetter", "RetryOutcome", "discard_dead_letters", "list_dead_letters", "retry_dead_letters"]
