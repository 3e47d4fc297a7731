"""The TGA catalogue read model: what TGA lists, what was downloaded, and each component's local state.

Tables (in the generation schema; readers query the views of the same names in ``tga_ingest``):

- ``catalogue`` — one row per (component type, code) TGA listed (``CatalogueRefreshed`` entries, XSD
  ``TrainingComponentSummary``), the newest listing winning; ``training_package`` is kept from a search
  filtered to one package;
- ``catalogue_refreshes`` — per component type and scope (``training_package`` ``''`` = every package) the
  last *completed* refresh: ``refreshed_at`` is the ``occurred_at`` of its last page;
- ``training_packages`` + ``package_components`` (``PackageDownloaded``: the latest release's components);
- ``qualifications`` + ``qualification_units`` (``QualificationDownloaded``: core units first, then electives
  with their stated group);
- ``skillsets`` + ``skillset_units`` (``SkillSetDownloaded``);
- ``component_state`` — per (component type, code) whether it is downloaded and processed, and the latest
  failure (rules in :mod:`skillstream_tga_ingest.projections.component_state`): ``failure_kind`` is a
  :class:`~skillstream_contracts.tga.ParseFailure` value for a refused file or ``download`` for
  ``ComponentDownloadFailed``; a later success clears it. ``metadata_only`` is why a component holds
  details only (TGA lists no content file for its release), None once downloaded with content.

A download replaces the component's child rows; ``ComponentSuperseded`` / ``ComponentDeleted`` set
``superseded_by`` / ``deleted_at`` and the usage recommendation. Units and their parsed content are
:class:`~skillstream_tga_ingest.projections.units.UnitsProjection`'s; ``projections.PROJECTIONS`` holds both.
Source of the rules: seed 000 (the admin bulk download: which components are "already downloaded and
processed") and the event docs in :mod:`skillstream_contracts.tga`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, ClassVar

import asyncpg

from skillstream_contracts.streams import TGA
from skillstream_contracts.tga import (
    TGA_EVENTS,
    CatalogueEntry,
    CatalogueRefreshed,
    ComponentType,
    PackageDownloaded,
    QualificationDownloaded,
    SkillSetDownloaded,
    SourceFile,
)
from skillstream_runtime.eventstore import RecordedEvent
from skillstream_runtime.projections import Projection
from skillstream_tga_ingest.projections._readmodel import (
    KEEP_DOWNLOADED_AT,
    MARK_COLUMNS,
    READ_SCHEMA,
    Column,
    Downloads,
    Marks,
    apply_marks,
    columns,
    replace_children,
    upsert,
)
from skillstream_tga_ingest.projections.component_state import write_component_state

COMPONENT_SUBJECTS = tuple(TGA.all_of(t.value) for t in ComponentType)
"""``tga.training_package.*`` … ``tga.unit.*``: job bookkeeping on ``tga.job.*`` is not read."""


_CATALOGUE = columns(
    "component_type text, code text, title text, usage_recommendation text, is_current boolean, "
    "updated_at timestamptz, training_package text, refresh_id text, listed_at timestamptz, "
    "last_sequence bigint"
)
_REFRESHES = columns(
    "component_type text, training_package text, refresh_id text, refreshed_at timestamptz, "
    "page_count integer, total integer, modified_since timestamptz, last_sequence bigint"
)
_PACKAGES = columns(
    "code text, title text, usage_recommendation text, release text, release_date date, "
    "downloaded_at timestamptz, last_sequence bigint"
)
_PACKAGE_COMPONENTS = columns("package_code text, component_type text, component_code text, position integer")
_QUALIFICATIONS = columns(
    "code text, title text, release text, training_package text, usage_recommendation text, "
    "aqf_level text, description text, entry_requirements text, packaging_rules text, "
    "total_units integer, source_relative_path text, source_sha256 text, source_size bigint, "
    "source_raw_key text, downloaded_at timestamptz, last_sequence bigint"
)
_QUALIFICATION_UNITS = columns(
    "qualification_code text, position integer, unit_code text, core boolean, group_name text"
)
_SKILLSETS = columns(
    "code text, title text, release text, training_package text, usage_recommendation text, "
    "source_relative_path text, source_sha256 text, source_size bigint, source_raw_key text, "
    "downloaded_at timestamptz, last_sequence bigint"
)
_SKILLSET_UNITS = columns("skillset_code text, position integer, unit_code text")


def _ddl(schema: str) -> str:
    s = f'"{schema}"'
    return f"""
    CREATE TABLE {s}.catalogue (
        component_type text NOT NULL, code text NOT NULL, title text NOT NULL,
        usage_recommendation text NOT NULL, is_current boolean NOT NULL, updated_at timestamptz,
        training_package text, refresh_id text NOT NULL, listed_at timestamptz NOT NULL,{MARK_COLUMNS},
        PRIMARY KEY (component_type, code));
    CREATE INDEX ON {s}.catalogue (component_type, training_package);
    CREATE TABLE {s}.catalogue_refreshes (
        component_type text NOT NULL, training_package text NOT NULL, refresh_id text NOT NULL,
        refreshed_at timestamptz NOT NULL, page_count integer NOT NULL, total integer NOT NULL,
        modified_since timestamptz, last_sequence bigint NOT NULL,
        PRIMARY KEY (component_type, training_package));
    CREATE TABLE {s}.training_packages (
        code text PRIMARY KEY, title text NOT NULL, usage_recommendation text NOT NULL, release text,
        release_date date, downloaded_at timestamptz NOT NULL,{MARK_COLUMNS});
    CREATE TABLE {s}.package_components (
        package_code text NOT NULL REFERENCES {s}.training_packages (code) ON DELETE CASCADE,
        component_type text NOT NULL, component_code text NOT NULL, position integer NOT NULL,
        PRIMARY KEY (package_code, component_type, component_code));
    CREATE INDEX ON {s}.package_components (component_type, component_code);
    CREATE TABLE {s}.qualifications (
        code text PRIMARY KEY, title text NOT NULL, release text NOT NULL, training_package text NOT NULL,
        usage_recommendation text NOT NULL, aqf_level text, description text NOT NULL,
        entry_requirements text NOT NULL, packaging_rules text NOT NULL, total_units integer,
        source_relative_path text, source_sha256 text, source_size bigint, source_raw_key text,
        downloaded_at timestamptz NOT NULL,{MARK_COLUMNS});
    CREATE TABLE {s}.qualification_units (
        qualification_code text NOT NULL REFERENCES {s}.qualifications (code) ON DELETE CASCADE,
        position integer NOT NULL, unit_code text NOT NULL, core boolean NOT NULL, group_name text,
        PRIMARY KEY (qualification_code, position));
    CREATE INDEX ON {s}.qualification_units (unit_code);
    CREATE TABLE {s}.skillsets (
        code text PRIMARY KEY, title text NOT NULL, release text NOT NULL, training_package text NOT NULL,
        usage_recommendation text NOT NULL, source_relative_path text, source_sha256 text, source_size bigint,
        source_raw_key text, downloaded_at timestamptz NOT NULL,{MARK_COLUMNS});
    CREATE TABLE {s}.skillset_units (
        skillset_code text NOT NULL REFERENCES {s}.skillsets (code) ON DELETE CASCADE,
        position integer NOT NULL, unit_code text NOT NULL, PRIMARY KEY (skillset_code, position));
    CREATE TABLE {s}.component_state (
        component_type text NOT NULL, code text NOT NULL, downloaded boolean NOT NULL,
        processed boolean NOT NULL, downloaded_at timestamptz, source_sha256 text, failure text,
        failure_kind text, failed_at timestamptz, last_sequence bigint NOT NULL, metadata_only text,
        PRIMARY KEY (component_type, code));
    CREATE INDEX ON {s}.component_state (failure_kind) WHERE failure IS NOT NULL;
    """


class CatalogueProjection(Projection):
    """``tga_ingest.catalogue`` and the tables listed in the module docstring, from the ``TGA`` stream."""

    name: ClassVar[str] = "tga_catalogue"
    read_schema: ClassVar[str] = READ_SCHEMA
    sources: ClassVar = {TGA.name: (TGA.all_of("catalogue"), *COMPONENT_SUBJECTS)}
    tables: ClassVar = (
        "catalogue",
        "catalogue_refreshes",
        "training_packages",
        "package_components",
        "qualifications",
        "qualification_units",
        "skillsets",
        "skillset_units",
        "component_state",
    )
    registries: ClassVar = {TGA.name: TGA_EVENTS}

    async def create_tables(self, conn: asyncpg.Connection, schema: str) -> None:
        await conn.execute(_ddl(schema))

    async def apply(self, conn: asyncpg.Connection, schema: str, events: Sequence[RecordedEvent]) -> None:
        listed: dict[tuple[str, str], tuple[Any, ...]] = {}
        refreshes: dict[tuple[str, str], tuple[Any, ...]] = {}
        packages, qualifications, skillsets = Downloads(), Downloads(), Downloads()
        marks = Marks()
        for r in events:  # stream order: the newest event per key wins
            match r.event:
                case CatalogueRefreshed() as page:
                    for entry in page.entries:
                        listed[(entry.component_type.value, entry.code)] = _listing(r, page, entry)
                    if page.page_number >= page.page_count:  # the page that ends the refresh
                        scope = page.training_package or ""
                        refreshes[(page.component_type.value, scope)] = _refresh(r, page, scope)
                case PackageDownloaded(code=code):
                    packages.add(code, r)
                case QualificationDownloaded(code=code):
                    qualifications.add(code, r)
                case SkillSetDownloaded(code=code):
                    skillsets.add(code, r)
                case _:
                    marks.add(r)
        await upsert(
            conn,
            schema,
            "catalogue",
            _CATALOGUE,
            list(listed.values()),
            key=("component_type", "code"),
            keep_when_null=("training_package",),
        )
        await upsert(
            conn,
            schema,
            "catalogue_refreshes",
            _REFRESHES,
            list(refreshes.values()),
            key=("component_type", "training_package"),
        )
        await _write_packages(conn, schema, packages)
        await _write_qualifications(conn, schema, qualifications)
        await _write_skillsets(conn, schema, skillsets)
        await apply_marks(conn, schema, "catalogue", marks, None)
        await apply_marks(conn, schema, "training_packages", marks, ComponentType.TRAINING_PACKAGE)
        await apply_marks(conn, schema, "qualifications", marks, ComponentType.QUALIFICATION)
        await apply_marks(conn, schema, "skillsets", marks, ComponentType.SKILL_SET)
        await write_component_state(conn, schema, events)


def _listing(r: RecordedEvent, page: CatalogueRefreshed, entry: CatalogueEntry) -> tuple[Any, ...]:
    return (
        entry.component_type.value,
        entry.code,
        entry.title,
        entry.usage_recommendation.value,
        entry.is_current,
        entry.updated_at,
        page.training_package,
        page.refresh_id,
        r.metadata.occurred_at,
        r.sequence,
    )


def _refresh(r: RecordedEvent, page: CatalogueRefreshed, scope: str) -> tuple[Any, ...]:
    return (
        page.component_type.value,
        scope,
        page.refresh_id,
        r.metadata.occurred_at,
        page.page_count,
        page.total,
        page.modified_since,
        r.sequence,
    )


def _source(source: SourceFile | None) -> tuple[Any, ...]:
    if source is None:
        return (None, None, None, None)
    return (source.relative_path, source.sha256, source.size, source.raw_key)


async def _write_packages(conn: asyncpg.Connection, schema: str, downloads: Downloads) -> None:
    by_code: dict[str, PackageDownloaded] = {}
    rows = []
    for r, downloaded_at in downloads:
        e = r.event
        assert isinstance(e, PackageDownloaded)
        by_code[e.code] = e
        rows.append(
            (
                e.code,
                e.title,
                e.usage_recommendation.value,
                e.release,
                e.release_date,
                downloaded_at,
                r.sequence,
            )
        )
    written = [k[0] for k in await upsert(conn, schema, "training_packages", _PACKAGES, rows, key=("code",))]
    children: list[tuple[Any, ...]] = []
    for code in written:
        e = by_code[code]
        listed = (
            [(ComponentType.QUALIFICATION, c) for c in e.qualification_codes]
            + [(ComponentType.SKILL_SET, c) for c in e.skill_set_codes]
            + [(ComponentType.UNIT, c) for c in e.unit_codes]
        )
        for position, (ctype, c) in enumerate(dict.fromkeys(listed), start=1):
            children.append((code, ctype.value, c, position))
    await replace_children(conn, schema, "package_components", "package_code", written, _PACKAGE_COMPONENTS, children)


def qualification_units(e: QualificationDownloaded) -> list[tuple[str, bool, str | None]]:
    """``(unit code, core, group)`` rows in reading order: the core units, then the electives.

    Electives follow ``elective_units`` (document order), except that the stated groups are listed together,
    each in full and in their stated order, where the first grouped elective comes up. A unit that several
    groups list appears once per group (RII30920 states 500 group memberships for its 194 electives).
    """
    grouped = {c for codes in e.elective_groups.values() for c in codes}
    groups = [(c, False, group) for group, codes in e.elective_groups.items() for c in dict.fromkeys(codes)]
    rows: list[tuple[str, bool, str | None]] = [(c, True, None) for c in dict.fromkeys(e.core_units)]
    for c in dict.fromkeys(e.elective_units):
        if c not in grouped:
            rows.append((c, False, None))
        elif groups:
            rows.extend(groups)
            groups = []
    return [*rows, *groups]


async def _write_components(
    conn: asyncpg.Connection,
    schema: str,
    downloads: Downloads,
    *,
    table: str,
    row_columns: Sequence[Column],
    fields: Callable[[Any], tuple[Any, ...]],
    units_table: str,
    parent_column: str,
    units_columns: Sequence[Column],
    units: Callable[[Any], Iterable[tuple[Any, ...]]],
) -> None:
    """Upsert the rows of downloaded qualifications or skill sets (``fields`` of each event, then its source
    file, downloaded time and stream sequence; the first download time is kept) and replace the units of the
    rows written, numbered from 1 in ``units`` order."""
    by_code: dict[str, Any] = {}
    rows = []
    for r, downloaded_at in downloads:
        e = r.event
        assert isinstance(e, QualificationDownloaded | SkillSetDownloaded)
        by_code[e.code] = e
        rows.append((*fields(e), *_source(e.source), downloaded_at, r.sequence))
    keys = await upsert(
        conn, schema, table, row_columns, rows, key=("code",), overrides={"downloaded_at": KEEP_DOWNLOADED_AT}
    )
    written = [k[0] for k in keys]
    children = [
        (code, position, *unit) for code in written for position, unit in enumerate(units(by_code[code]), start=1)
    ]
    await replace_children(conn, schema, units_table, parent_column, written, units_columns, children)


def _qualification_fields(e: QualificationDownloaded) -> tuple[Any, ...]:
    return (
        e.code,
        e.title,
        e.release,
        e.training_package,
        e.usage_recommendation.value,
        e.aqf_level,
        e.description,
        e.entry_requirements,
        e.packaging_rules,
        e.total_units,
    )


def _skillset_fields(e: SkillSetDownloaded) -> tuple[Any, ...]:
    return (e.code, e.title, e.release, e.training_package, e.usage_recommendation.value)


async def _write_qualifications(conn: asyncpg.Connection, schema: str, downloads: Downloads) -> None:
    await _write_components(
        conn,
        schema,
        downloads,
        table="qualifications",
        row_columns=_QUALIFICATIONS,
        fields=_qualification_fields,
        units_table="qualification_units",
        parent_column="qualification_code",
        units_columns=_QUALIFICATION_UNITS,
        units=qualification_units,
    )


async def _write_skillsets(conn: asyncpg.Connection, schema: str, downloads: Downloads) -> None:
    await _write_components(
        conn,
        schema,
        downloads,
        table="skillsets",
        row_columns=_SKILLSETS,
        fields=_skillset_fields,
        units_table="skillset_units",
        parent_column="skillset_code",
        units_columns=_SKILLSET_UNITS,
        units=lambda e: ((unit,) for unit in dict.fromkeys(e.unit_codes)),
    )


__all__ = [
    "COMPONENT_SUBJECTS",
    "READ_SCHEMA",
    "CatalogueProjection",
    "qualification_units",
]
