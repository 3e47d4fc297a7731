"""SQL shared by the tga-ingest read models (:mod:`skillstream_tga_ingest.projections.catalogue`,
:mod:`skillstream_tga_ingest.projections.units`): bulk upserts through ``unnest``, replacement of child rows,
and the supersession / deletion marks every component table carries.

Every row keeps ``last_sequence``, the ``TGA`` stream sequence of the newest event its content reflects. An
upsert only overwrites a row whose ``last_sequence`` is lower, so an event applied again (redelivery, a dead
letter retried late) never goes back in time or inserts children twice (DESIGN.md, "Read models"). The
runner hands over the events of one stream in order inside one transaction; callers fold a batch in memory
first (the newest event per key wins), then write each table with one statement.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from skillstream_contracts.tga import ComponentDeleted, ComponentSuperseded, ComponentType, UsageRecommendation
from skillstream_runtime.eventstore import RecordedEvent

READ_SCHEMA = "tga_ingest"
"""The schema of the views readers query (the service's own PostgreSQL schema, migration 0001)."""

# A re-parse of kept bytes (same SHA-256) is not a new download: keep the first time those bytes came in.
KEEP_DOWNLOADED_AT = (
    "CASE WHEN EXCLUDED.source_sha256 IS NOT NULL AND t.source_sha256 = EXCLUDED.source_sha256"
    " THEN t.downloaded_at ELSE EXCLUDED.downloaded_at END"
)
"""``upsert`` override of ``downloaded_at`` for tables with ``source_sha256``."""

Column = tuple[str, str]
"""A column name and its PostgreSQL type, e.g. ``("code", "text")``; the array parameter is ``type[]``."""

MARK_COLUMNS = """
    superseded_by    text,
    is_equivalent    boolean,
    deleted_at       timestamptz,
    delete_operation text,
    last_sequence    bigint NOT NULL"""
"""The columns every component table ends with (DDL fragment): set by ``ComponentSuperseded`` /
``ComponentDeleted`` and kept when the component is downloaded again."""


def columns(spec: str) -> tuple[Column, ...]:
    """``"code text, position integer"`` → ``(("code", "text"), ("position", "integer"))``."""
    return tuple((name, kind) for name, kind in (part.split() for part in spec.split(",")))


def transpose(rows: Sequence[Sequence[Any]], width: int) -> list[list[Any]]:
    """Rows → one list per column (the array parameters of ``unnest``); ``width`` columns even when empty.

    Raises:
        ValueError: a row does not have ``width`` values.
    """
    if any(len(row) != width for row in rows):
        raise ValueError(f"rows of {width} values expected")
    return [list(column) for column in zip(*rows, strict=True)] if rows else [[] for _ in range(width)]


def _unnest(columns: Sequence[Column]) -> str:
    arrays = ", ".join(f"${i}::{kind}[]" for i, (_, kind) in enumerate(columns, start=1))
    names = ", ".join(name for name, _ in columns)
    return f"SELECT * FROM unnest({arrays}) AS u({names})"


async def upsert(
    conn: asyncpg.Connection,
    schema: str,
    table: str,
    columns: Sequence[Column],
    rows: Sequence[Sequence[Any]],
    *,
    key: Sequence[str],
    keep_when_null: Iterable[str] = (),
    overrides: Mapping[str, str] | None = None,
    flag_inserted: bool = False,
) -> list[tuple[Any, ...]]:
    """Insert ``rows`` or overwrite the rows of the same ``key`` whose ``last_sequence`` is lower.

    ``columns`` must include ``last_sequence``. Columns in ``keep_when_null`` keep their stored value when the
    new one is NULL; ``overrides`` maps a column to its own ``SET`` expression (``t`` is the stored row,
    ``EXCLUDED`` the new one). Columns not listed (the marks) are left as they are. Returns the keys of the
    rows actually written, so children are replaced only for those; with ``flag_inserted`` each key is followed
    by True when its row is new (it has no children yet, so there are none to delete).
    """
    if not rows:
        return []
    keep = set(keep_when_null)
    sets = []
    for name, _ in columns:
        if name in key:
            continue
        if overrides and name in overrides:
            sets.append(f"{name} = {overrides[name]}")
        elif name in keep:
            sets.append(f"{name} = coalesce(EXCLUDED.{name}, t.{name})")
        else:
            sets.append(f"{name} = EXCLUDED.{name}")
    names = ", ".join(name for name, _ in columns)
    sql = (
        f'INSERT INTO "{schema}".{table} AS t ({names}) {_unnest(columns)}'
        f" ON CONFLICT ({', '.join(key)}) DO UPDATE SET {', '.join(sets)}"
        " WHERE t.last_sequence < EXCLUDED.last_sequence"
        f" RETURNING {', '.join(key)}{', t.xmax = 0' if flag_inserted else ''}"
    )
    written = await conn.fetch(sql, *transpose(rows, len(columns)))
    return [tuple(r) for r in written]


async def delete_children(
    conn: asyncpg.Connection, schema: str, table: str, parent_column: str, parents: Sequence[str]
) -> None:
    """Delete the rows of ``parents`` from ``table``."""
    if parents:
        await conn.execute(f'DELETE FROM "{schema}".{table} WHERE {parent_column} = ANY($1::text[])', list(parents))


async def insert_rows(
    conn: asyncpg.Connection, schema: str, table: str, columns: Sequence[Column], rows: Sequence[Sequence[Any]]
) -> None:
    """Insert ``rows`` (tuples in ``columns`` order) into ``table`` with one binary ``COPY``.

    ``COPY`` rather than ``INSERT … unnest``: asyncpg encodes array parameters element by element with
    abstract-class checks, which took most of the Python time of a units replay (tens of child rows per unit).
    """
    if rows:
        names = [name for name, _ in columns]
        await conn.copy_records_to_table(table, records=rows, columns=names, schema_name=schema)


async def replace_children(
    conn: asyncpg.Connection,
    schema: str,
    table: str,
    parent_column: str,
    parents: Sequence[str],
    columns: Sequence[Column],
    rows: Sequence[Sequence[Any]],
) -> None:
    """Delete the rows of ``parents`` from ``table`` and insert ``rows`` (whose ``parent_column`` is among
    ``parents``): a re-download replaces a component's lists instead of adding to them."""
    await delete_children(conn, schema, table, parent_column, parents)
    await insert_rows(conn, schema, table, columns, rows)


class Downloads:
    """The newest download event per code of one batch, with ``downloaded_at``: its ``occurred_at``, or the
    earlier one's when it re-parses the same bytes (same ``source.sha256``) — the batch's share of
    :data:`KEEP_DOWNLOADED_AT`."""

    def __init__(self) -> None:
        self.latest: dict[str, tuple[RecordedEvent, Any]] = {}

    def add(self, code: str, recorded: RecordedEvent) -> None:
        at = recorded.metadata.occurred_at
        source = getattr(recorded.event, "source", None)
        previous = self.latest.get(code)
        if previous is not None and source is not None:
            earlier = getattr(previous[0].event, "source", None)
            if earlier is not None and earlier.sha256 == source.sha256:
                at = previous[1]
        self.latest[code] = (recorded, at)

    def __iter__(self) -> Iterator[tuple[RecordedEvent, Any]]:
        return iter(self.latest.values())


@dataclass
class Marks:
    """The newest ``ComponentSuperseded`` / ``ComponentDeleted`` per (component type, code) of one batch."""

    superseded: dict[tuple[ComponentType, str], tuple[int, str | None, bool | None]] = field(default_factory=dict)
    deleted: dict[tuple[ComponentType, str], tuple[int, Any, str]] = field(default_factory=dict)

    def add(self, recorded: RecordedEvent) -> bool:
        """Keep ``recorded`` if it is a mark; False for any other event."""
        match recorded.event:
            case ComponentSuperseded(code=code, component_type=ctype, superseded_by=by, is_equivalent=eq):
                self.superseded[(ctype, code)] = (recorded.sequence, by, eq)
            case ComponentDeleted(code=code, component_type=ctype, deleted_at=at, operation=op):
                self.deleted[(ctype, code)] = (recorded.sequence, at, op.value)
            case _:
                return False
        return True


async def apply_marks(
    conn: asyncpg.Connection, schema: str, table: str, marks: Marks, component_type: ComponentType | None
) -> None:
    """Write ``marks`` to ``table`` (rows that do not exist are not created).

    ``component_type`` None: the table has a ``component_type`` column (the catalogue) and takes the marks
    of every type; otherwise only that type's marks apply, by ``code``. ``superseded_by`` / ``deleted_at``
    are recorded whatever the order; the usage recommendation (and ``is_current`` of the catalogue) changes
    only when the mark is newer than the row's content. Run after the batch's upserts.
    """
    typed = component_type is None
    match_type = " AND t.component_type = u.component_type" if typed else ""
    is_current = ", is_current = CASE WHEN t.last_sequence < u.seq THEN false ELSE t.is_current END" if typed else ""

    def usage(value: UsageRecommendation) -> str:
        newer = f"CASE WHEN t.last_sequence < u.seq THEN '{value.value}' ELSE t.usage_recommendation END"
        return f"usage_recommendation = {newer}"

    def pick(found: Mapping[tuple[ComponentType, str], tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        return [(ct.value, code, *v) for (ct, code), v in found.items() if typed or ct is component_type]

    superseded = pick(marks.superseded)
    if superseded:
        await conn.execute(
            f'UPDATE "{schema}".{table} AS t SET superseded_by = coalesce(u.by, t.superseded_by),'
            f" is_equivalent = coalesce(u.eq, t.is_equivalent), {usage(UsageRecommendation.SUPERSEDED)}{is_current},"
            " last_sequence = greatest(t.last_sequence, u.seq)"
            " FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::boolean[])"
            f" AS u(component_type, code, seq, by, eq) WHERE t.code = u.code{match_type}",
            *transpose(superseded, 5),
        )
    deleted = pick(marks.deleted)
    if deleted:
        await conn.execute(
            f'UPDATE "{schema}".{table} AS t SET deleted_at = u.at, delete_operation = u.op,'
            f" {usage(UsageRecommendation.DELETED)}{is_current}, last_sequence = greatest(t.last_sequence, u.seq)"
            " FROM unnest($1::text[], $2::text[], $3::bigint[], $4::timestamptz[], $5::text[])"
            f" AS u(component_type, code, seq, at, op) WHERE t.code = u.code{match_type}",
            *transpose(deleted, 5),
        )


__all__ = [
    "KEEP_DOWNLOADED_AT",
    "MARK_COLUMNS",
    "READ_SCHEMA",
    "Column",
    "Downloads",
    "Marks",
    "apply_marks",
    "columns",
    "delete_children",
    "insert_rows",
    "replace_children",
    "transpose",
    "upsert",
]
