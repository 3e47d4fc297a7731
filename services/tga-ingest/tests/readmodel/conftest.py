"""Fixtures of the read-model tests: the real ``TGA`` stream on a real NATS server, both projections on a real
PostgreSQL, and events built from the real files in ``real-data/tga`` (parsed by the service's own parser).

``tga`` is a :class:`ReadModel`: ``append`` events as the service appends them (one subject per component),
``catch_up`` runs both projections until nothing is pending, ``snapshot`` reads every view.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
import msgspec
import pytest

from skillstream_contracts.events import Event
from skillstream_contracts.streams import TGA
from skillstream_contracts.tga import (
    TGA_EVENTS,
    CatalogueEntry,
    CatalogueRefreshed,
    ComponentType,
    QualificationDownloaded,
    SourceFile,
    UnitDownloaded,
    UsageRecommendation,
)
from skillstream_runtime.eventstore import EventStore, NewEvent, ensure_stream
from skillstream_runtime.generations import active_generation, rebuild
from skillstream_runtime.migrations import migrate_runtime
from skillstream_runtime.projections import ProjectionRunner, RunnerSettings
from skillstream_runtime.realdata import real_data
from skillstream_tga_ingest.parser import PARSER_VERSION, parse_qualification, parse_unit
from skillstream_tga_ingest.projections import PROJECTIONS

SETTINGS = RunnerSettings(batch_size=50, fetch_timeout=0.2, max_deliver=2, backoff_initial=0.01, backoff_max=0.05)
T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)

# TGA ReleaseFile.RelativePath of the unit files, from real-data/tga/SOURCES.md §1 ("TGA RelativePath").
UNIT_PATHS = {
    "BSBCMM412": "BSB/BSBCMM412_Complete_R2.xml",
    "CPCCBC4047A": "CPC08/CPCCBC4047A_R1.xml",
    "RIICOM201E": "RII/RIICOM201E_Complete_R1.xml",
    "CHCCDE024": "CHC/CHCCDE024_Complete_R1.xml",
}


@dataclass(frozen=True)
class VetQualification:
    """One row of ``catalogue/vet_qualifications.sql.gz`` (GovHack 2016 dump of TGA qualifications)."""

    package: str
    code: str
    title: str


_SQL_STRING = r"'((?:[^'\\]|\\.|'')*)'"
_ROW = re.compile(rf"^\(\d+, {_SQL_STRING}, {_SQL_STRING}, {_SQL_STRING}, ", re.MULTILINE)


class RealTga:
    """Events built from the real files in ``real-data/tga``, as the service builds them."""

    t0 = T0

    @staticmethod
    def source_of(data: bytes, relative_path: str) -> SourceFile:
        """The ``SourceFile`` the downloader records for ``data`` (raw key = SHA-256, as ``rawstore.raw_key``)."""
        digest = hashlib.sha256(data).hexdigest()
        return SourceFile(relative_path=relative_path, size=len(data), sha256=digest, raw_key=digest)

    @staticmethod
    def unit_file(code: str) -> bytes:
        return real_data("tga", "units", f"{code}_XML.xml").read_bytes()

    @staticmethod
    def unit_downloaded(code: str, package: str, **changes: Any) -> UnitDownloaded:
        """``UnitDownloaded`` of a real unit file, as ``ingest.ComponentDownloader.parse`` builds it."""
        data = RealTga.unit_file(code)
        parsed = parse_unit(data)
        fields = msgspec.structs.asdict(parsed)
        event = UnitDownloaded(
            **fields,
            training_package=package,
            source=RealTga.source_of(data, UNIT_PATHS[code]),
            parser_version=PARSER_VERSION,
        )
        return msgspec.structs.replace(event, **changes)

    @staticmethod
    def qualification_downloaded(code: str, package: str) -> QualificationDownloaded:
        """``QualificationDownloaded`` of a real qualification file; the path follows TGA-FORMAT.md §1.5
        (``{PKG}/{CODE}_R{n}.xml``)."""
        data = real_data("tga", "qualifications", f"{code}_XML.xml").read_bytes()
        q = parse_qualification(data)
        return QualificationDownloaded(
            **msgspec.structs.asdict(q),
            training_package=package,
            source=RealTga.source_of(data, f"{package}/{code}_R{q.release}.xml"),
        )

    @staticmethod
    def vet_qualifications() -> list[VetQualification]:
        """All 3,688 rows (3,539 distinct codes: some are listed under two package versions), in dump order."""
        text = gzip.decompress(real_data("tga", "catalogue", "vet_qualifications.sql.gz").read_bytes()).decode()
        unquote = lambda s: re.sub(r"''|\\(.)", lambda m: m.group(1) or "'", s)  # noqa: E731 - MySQL string escapes
        return [VetQualification(unquote(p), unquote(c), unquote(t)) for p, c, t in _ROW.findall(text)]

    @staticmethod
    def training_packages() -> list[dict[str, str]]:
        """The 59 training packages of ``catalogue/data.txt`` (TGA sandbox, 2019)."""
        packages: list[dict[str, str]] = json.loads(real_data("tga", "catalogue", "data.txt").read_text())[
            "trainingpackage"
        ]
        return packages

    @staticmethod
    def refresh_pages(
        refresh_id: str, ctype: ComponentType, entries: Sequence[CatalogueEntry], page_size: int
    ) -> list[CatalogueRefreshed]:
        """A refresh as the client appends it: one ``CatalogueRefreshed`` per TGA Search page."""
        pages = [entries[i : i + page_size] for i in range(0, len(entries), page_size)]
        return [
            CatalogueRefreshed(
                refresh_id=refresh_id,
                component_type=ctype,
                page_number=n,
                page_count=len(pages),
                total=len(entries),
                entries=list(page),
            )
            for n, page in enumerate(pages, start=1)
        ]

    @staticmethod
    def qualification_entries() -> list[CatalogueEntry]:
        return [
            CatalogueEntry(code=q.code, title=q.title, component_type=ComponentType.QUALIFICATION)
            for q in RealTga.vet_qualifications()
        ]

    @staticmethod
    def package_entries() -> list[CatalogueEntry]:
        return [
            CatalogueEntry(
                code=p["code"],
                title=p["title"],
                component_type=ComponentType.TRAINING_PACKAGE,
                usage_recommendation=UsageRecommendation(p["usage_recommendation"].lower()),
            )
            for p in RealTga.training_packages()
        ]


class ReadModel:
    """The TGA stream and the tga-ingest read models of one test."""

    def __init__(self, nc: Any, pool: asyncpg.Pool) -> None:
        self.nc = nc
        self.pool = pool
        self.store = EventStore(nc, {TGA.name: TGA_EVENTS})

    async def append(self, aggregate: str, code: str, *events: Event, at: dt.datetime = T0) -> int:
        """Append ``events`` on ``tga.<aggregate>.<code>`` with ``occurred_at`` = ``at``; returns the last
        stream sequence."""
        news = [NewEvent(event=e, occurred_at=at) for e in events]
        result = await self.store.append(TGA, TGA.aggregate_subject(aggregate, code), code, news)
        return result.last_sequence

    async def catch_up(self) -> None:
        for projection in PROJECTIONS:
            generation = await active_generation(self.pool, projection)
            runner = ProjectionRunner(projection, generation, TGA.name, self.nc, self.pool, SETTINGS)
            await runner.run(until_caught_up=True)

    async def rebuild(self) -> None:
        """Blue/green rebuild of both projections from sequence 1, swapped in."""
        for projection in PROJECTIONS:
            await rebuild(projection, self.nc, self.pool, settings=SETTINGS)

    async def dead_letters(self) -> int:
        return int(await self.pool.fetchval("SELECT count(*) FROM skillstream.dead_letters"))

    async def snapshot(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every row of every view, sorted (text form) so two snapshots compare row for row."""
        out: dict[str, list[tuple[Any, ...]]] = {}
        for projection in PROJECTIONS:
            for table in projection.tables:
                rows = await self.pool.fetch(f'SELECT * FROM "{projection.read_schema}".{table}')
                out[table] = sorted((tuple(r) for r in rows), key=lambda row: tuple(map(str, row)))
        return out


@pytest.fixture
def real() -> RealTga:
    return RealTga()


@pytest.fixture
async def tga(nc: Any, pg_pool: asyncpg.Pool) -> ReadModel:
    await ensure_stream(nc, TGA)
    async with pg_pool.acquire() as conn:
        await migrate_runtime(conn)
    model = ReadModel(nc, pg_pool)
    await model.catch_up()  # creates generation 1 and the views, so queries work on an empty stream
    return model
