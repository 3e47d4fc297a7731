"""The units read model: each downloaded unit of competency and its parsed content (``UnitDownloaded``).

Tables (in the generation schema; readers query the views of the same names in ``tga_ingest``):

- ``units`` — one row per unit: the Book variables (code, title, release, usage recommendation), the
  training package, format (pre-2012 / 2012), application, competency field, ``prerequisites`` and
  ``range_statement`` (jsonb lists of strings), the source file (``source_relative_path``, ``source_sha256``,
  ``source_size``, ``source_raw_key``), ``parser_version``, ``downloaded_at`` (when those bytes first came in;
  a re-parse keeps it), ``parsed_at``, and the marks ``superseded_by`` / ``deleted_at``;
- ``unit_elements`` (unit_code, position, number, title) keyed by position: the contract does not promise
  unique element numbers (none of the 32 real units in ``real-data/tga/units`` repeats one, but a parser
  slip would otherwise reject the whole unit);
- ``unit_performance_criteria`` (unit_code, element_position → its element, element_number, position,
  number, text);
- ``unit_critical_aspects`` (pre-2012 Evidence Guide), ``unit_performance_evidence``,
  ``unit_knowledge_evidence``, ``unit_assessment_conditions`` (2012 Assessment Requirements) — each
  (unit_code, position, text);
- ``unit_required_skills``, ``unit_required_knowledge`` (pre-2012 Required Skills and Knowledge, or the
  Evidence Guide's "Underpinning knowledge and skills") — each (unit_code, position, text, items): one row
  per top-level entry (:class:`RequiredItem`), ``items`` its sub-entries as a jsonb list of
  ``{"text": str, "items": [str]}`` (:class:`RequiredSubItem`), ``[]`` when none;
- ``unit_foundation_skills`` (unit_code, position, skill, description).

Positions are 1-based, in document order. A newer ``UnitDownloaded`` (re-download, or re-parse with a higher
``parser_version``) replaces every child row of the unit; one at or below the row's ``last_sequence`` changes
nothing. Sources: seed 000 (the tables), TGA-FORMAT.md §2 (the two unit formats), :class:`UnitDownloaded`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, ClassVar, Final

import asyncpg
import msgspec

from skillstream_contracts.streams import TGA
from skillstream_contracts.tga import TGA_EVENTS, ComponentType, UnitDownloaded
from skillstream_runtime.eventstore import RecordedEvent
from skillstream_runtime.projections import Projection
from skillstream_tga_ingest.projections._readmodel import (
    KEEP_DOWNLOADED_AT,
    MARK_COLUMNS,
    READ_SCHEMA,
    Downloads,
    Marks,
    apply_marks,
    columns,
    delete_children,
    insert_rows,
    upsert,
)

TEXT_LISTS: Final[dict[str, str]] = {
    "critical_aspects": "unit_critical_aspects",
    "required_skills": "unit_required_skills",
    "required_knowledge": "unit_required_knowledge",
    "performance_evidence": "unit_performance_evidence",
    "knowledge_evidence": "unit_knowledge_evidence",
    "assessment_conditions": "unit_assessment_conditions",
}
"""``UnitDownloaded`` list field → its table of (unit_code, position, text, …); the tables of
:data:`REQUIRED_LISTS` add ``items``."""

REQUIRED_LISTS: Final[dict[str, str]] = {
    "required_skills": "unit_required_skills",
    "required_knowledge": "unit_required_knowledge",
}
"""The :data:`TEXT_LISTS` fields whose entries are :class:`RequiredItem`: table (unit_code, position, text,
items); ``text`` is the entry's, ``items`` its sub-entries (jsonb)."""

REQUIRED_ITEM_JSON: Final = "jsonb_build_object('text', x.text, 'items', x.items)"
"""SQL of one row ``x`` of a :data:`REQUIRED_LISTS` table as the JSON of its :class:`RequiredItem`."""

_UNITS = columns(
    "code text, title text, release text, training_package text, usage_recommendation text, "
    "format text, application text, competency_field text, prerequisites jsonb, range_statement jsonb, "
    "source_relative_path text, source_sha256 text, source_size bigint, source_raw_key text, "
    "parser_version integer, downloaded_at timestamptz, parsed_at timestamptz, last_sequence bigint"
)
_ELEMENTS = columns("unit_code text, position integer, number text, title text")
_CRITERIA = columns(
    "unit_code text, element_position integer, element_number text, position integer, number text, text text"
)
_TEXT = columns("unit_code text, position integer, text text")
_REQUIRED = columns("unit_code text, position integer, text text, items jsonb")
_FOUNDATION = columns("unit_code text, position integer, skill text, description text")


def _ddl(schema: str) -> str:
    s = f'"{schema}"'
    parent = f"unit_code text NOT NULL REFERENCES {s}.units (code) ON DELETE CASCADE"
    lists = "".join(
        f"CREATE TABLE {s}.{table} ({parent}, position integer NOT NULL, text text NOT NULL,"
        " PRIMARY KEY (unit_code, position));\n"
        for field, table in TEXT_LISTS.items()
        if field not in REQUIRED_LISTS
    )
    lists += "".join(
        f"CREATE TABLE {s}.{table} ({parent}, position integer NOT NULL, text text NOT NULL,"
        " items jsonb NOT NULL, PRIMARY KEY (unit_code, position));\n"
        for table in REQUIRED_LISTS.values()
    )
    return f"""
    CREATE TABLE {s}.units (
        code text PRIMARY KEY, title text NOT NULL, release text NOT NULL, training_package text NOT NULL,
        usage_recommendation text NOT NULL, format text NOT NULL, application text NOT NULL,
        competency_field text, prerequisites jsonb NOT NULL, range_statement jsonb NOT NULL,
        source_relative_path text NOT NULL, source_sha256 text NOT NULL, source_size bigint NOT NULL,
        source_raw_key text NOT NULL, parser_version integer NOT NULL, downloaded_at timestamptz NOT NULL,
        parsed_at timestamptz NOT NULL,{MARK_COLUMNS});
    CREATE INDEX ON {s}.units (training_package);
    CREATE TABLE {s}.unit_elements (
        {parent}, position integer NOT NULL, number text NOT NULL, title text NOT NULL,
        PRIMARY KEY (unit_code, position));
    CREATE TABLE {s}.unit_performance_criteria (
        unit_code text NOT NULL, element_position integer NOT NULL, element_number text NOT NULL,
        position integer NOT NULL, number text NOT NULL, text text NOT NULL,
        PRIMARY KEY (unit_code, element_position, position),
        FOREIGN KEY (unit_code, element_position) REFERENCES {s}.unit_elements (unit_code, position)
            ON DELETE CASCADE);
    {lists}
    CREATE TABLE {s}.unit_foundation_skills (
        {parent}, position integer NOT NULL, skill text NOT NULL, description text NOT NULL,
        PRIMARY KEY (unit_code, position));
    """


class UnitsProjection(Projection):
    """``tga_ingest.units`` and its child tables (module docstring), from ``tga.unit.*`` of ``TGA``."""

    name: ClassVar[str] = "tga_units"
    read_schema: ClassVar[str] = READ_SCHEMA
    sources: ClassVar = {TGA.name: (TGA.all_of(ComponentType.UNIT.value),)}
    tables: ClassVar = (
        "units",
        "unit_elements",
        "unit_performance_criteria",
        *TEXT_LISTS.values(),
        "unit_foundation_skills",
    )
    registries: ClassVar = {TGA.name: TGA_EVENTS}

    async def create_tables(self, conn: asyncpg.Connection, schema: str) -> None:
        await conn.execute(_ddl(schema))

    async def apply(self, conn: asyncpg.Connection, schema: str, events: Sequence[RecordedEvent]) -> None:
        downloads = Downloads()
        marks = Marks()
        for r in events:  # stream order: the newest download per unit wins
            if isinstance(r.event, UnitDownloaded):
                downloads.add(r.event.code, r)
            else:
                marks.add(r)  # parse and download failures leave the last good parse in place
        by_code = {_unit(r).code: _unit(r) for r, _ in downloads}
        rows = [_unit_row(r, at) for r, at in downloads]
        overrides = {"downloaded_at": KEEP_DOWNLOADED_AT}
        keys = await upsert(conn, schema, "units", _UNITS, rows, key=("code",), overrides=overrides, flag_inserted=True)
        if keys:
            replaced = [code for code, inserted in keys if not inserted]
            await _replace_content(conn, schema, replaced, [by_code[code] for code, _ in keys])
        await apply_marks(conn, schema, "units", marks, ComponentType.UNIT)


def _unit(r: RecordedEvent) -> UnitDownloaded:
    assert isinstance(r.event, UnitDownloaded)
    return r.event


def _unit_row(r: RecordedEvent, downloaded_at: Any) -> tuple[Any, ...]:
    e = _unit(r)
    return (
        e.code,
        e.title,
        e.release,
        e.training_package,
        e.usage_recommendation.value,
        e.format.value,
        e.application,
        e.competency_field,
        json.dumps(e.prerequisites),
        json.dumps(e.range_statement),
        e.source.relative_path,
        e.source.sha256,
        e.source.size,
        e.source.raw_key,
        e.parser_version,
        downloaded_at,
        r.metadata.occurred_at,
        r.sequence,
    )


async def _replace_content(
    conn: asyncpg.Connection, schema: str, replaced: list[str], units: list[UnitDownloaded]
) -> None:
    """Write the child rows of ``units``, deleting first those of the ``replaced`` codes (units stored before
    this batch; a new unit has none): criteria before elements, and insert elements before criteria (the
    criteria's foreign key)."""
    elements: list[tuple[str, int, str, str]] = []
    criteria: list[tuple[str, int, str, int, str, str]] = []
    foundation: list[tuple[str, int, str, str]] = []
    texts: dict[str, list[tuple[str, int, str]]] = {field: [] for field in TEXT_LISTS if field not in REQUIRED_LISTS}
    required: dict[str, list[tuple[str, int, str, str]]] = {field: [] for field in REQUIRED_LISTS}
    for u in units:
        for ep, element in enumerate(u.elements, start=1):
            elements.append((u.code, ep, element.number, element.title))
            criteria.extend(
                (u.code, ep, element.number, p, pc.number, pc.text)
                for p, pc in enumerate(element.performance_criteria, start=1)
            )
        foundation.extend((u.code, p, f.skill, f.description) for p, f in enumerate(u.foundation_skills, start=1))
        for field, rows in texts.items():
            rows.extend((u.code, p, text) for p, text in enumerate(getattr(u, field), start=1))
        for field, entries in required.items():
            entries.extend(
                (u.code, p, item.text, msgspec.json.encode(item.items).decode())
                for p, item in enumerate(getattr(u, field), start=1)
            )
    tables = (
        "unit_performance_criteria",
        "unit_elements",
        *TEXT_LISTS.values(),
        "unit_foundation_skills",
    )
    for table in tables:
        await delete_children(conn, schema, table, "unit_code", replaced)
    await insert_rows(conn, schema, "unit_elements", _ELEMENTS, elements)
    await insert_rows(conn, schema, "unit_performance_criteria", _CRITERIA, criteria)
    for field, rows in texts.items():
        await insert_rows(conn, schema, TEXT_LISTS[field], _TEXT, rows)
    for field, table in REQUIRED_LISTS.items():
        await insert_rows(conn, schema, table, _REQUIRED, required[field])
    await insert_rows(conn, schema, "unit_foundation_skills", _FOUNDATION, foundation)


__all__ = ["REQUIRED_ITEM_JSON", "REQUIRED_LISTS", "TEXT_LISTS", "UnitsProjection"]
