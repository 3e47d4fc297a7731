"""The training components the sandbox serves, read once from ``real-data/tga`` (SOURCES.md there).

- Training packages: the 59 of ``catalogue/data.txt`` (code, title, ``usage_recommendation``,
  ``release_date``; the last is the first ``UsageRecommendation.StartDate`` TGA gave, SOURCES.md §3).
- Qualifications: the rows of ``catalogue/vet_qualifications.sql.gz`` (``tpCode`` = parent package,
  ``qualCode``, ``qualTitle``). The dump repeats 149 rows (131 codes); one row per code is kept, the one whose
  ``tpCode`` shares the code's 3-letter prefix, else the first. Plus the 39 files of ``qualifications/``.
- Units of competency: the 32 files of ``units/``. Skill sets: none exist in the real data.

A component with a real file gets ``ReleaseFile`` = the TGA RelativePath recorded in SOURCES.md, else one
derived by TGA's naming rules (TGA-FORMAT.md §1.5), and its parent package is that path's folder
(``WRW01\\WRWSL201A_R1.xml`` → ``WRW01``). Dates: a package's from its ``release_date`` (midnight in
Canberra, UTC+10); a dump qualification's = the dump's generation time; otherwise ``undated_modified``.

Supersession and package releases, as the real files state them (:mod:`skillstream_tga_sandbox.lineage`): a
file's Mapping Information gives its ``MappingInformation`` and makes each served code it supersedes
``Superseded`` (BSB41419 → BSB41415 of the dump); a versioned package of data.txt with a later successor is
``Superseded`` and the successor maps to it (CPC → CPC08); a package's ``ReleaseNumber`` is the highest
release the files' Modification Histories say they were released with (CPC: 9.0), nil when none says.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import gzip
import json
import re
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from skillstream_tga_sandbox.authorit import OLD_UNIT_TYPE, parse_file, read_book
from skillstream_tga_sandbox.errors import CatalogueError
from skillstream_tga_sandbox.lineage import (
    MappingEntry,
    bare_title,
    package_successors,
    release_text,
    stated_mappings,
    stated_package_releases,
)
from skillstream_tga_sandbox.packaging import StatedUnit, stated_units
from skillstream_tga_sandbox.sqldump import generation_time, insert_rows

TGA_OFFSET = dt.timezone(dt.timedelta(hours=10))
"""Canberra standard time: the offset the sandbox writes in every ``DateTimeOffset/OffsetMinutes``."""
_SOURCES_ROW = re.compile(r"^\|\s*(?P<file>[A-Z0-9]+_XML\.xml)\s*\|[^|]*\|\s*`(?P<path>[^`]+)`", re.MULTILINE)


class ComponentType(StrEnum):
    """XSD ``TrainingComponentTypes`` values the sandbox serves."""

    TRAINING_PACKAGE = "TrainingPackage"
    QUALIFICATION = "Qualification"
    UNIT = "Unit"


@dataclass(frozen=True, slots=True)
class ReleaseFileEntry:
    """XSD ``ReleaseFile``: ``relative_path`` with backslashes as TGA writes it, ``size`` in bytes."""

    relative_path: str
    path: Path
    size: int

    @property
    def url_path(self) -> str:
        """The path under ``/TrainingComponentFiles/`` (backslashes → slashes, TGA-FORMAT.md §1.5)."""
        return self.relative_path.replace("\\", "/")


@dataclass(frozen=True, slots=True)
class GridEntry:
    """XSD ``UnitGridEntry3``: ``title`` None when neither a real unit file nor the packaging rules state it."""

    code: str
    title: str | None
    is_essential: bool


@dataclass(frozen=True, slots=True)
class Component:
    """One training component as the real data states it. ``usage`` is an XSD
    ``UsageRecommendationState`` value; ``modified`` is both CreatedDate and the initial UpdatedDate."""

    code: str
    title: str
    component_type: ComponentType
    parent_code: str | None
    usage: str
    release_number: str | None
    release_date: dt.date | None
    currency: str | None
    file: ReleaseFileEntry | None
    modified: dt.datetime
    source: str
    mappings: tuple[MappingEntry, ...] = ()
    search_text: tuple[str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Lower-cased once so Search over 3,600 rows does no per-request case folding.
        object.__setattr__(self, "search_text", (self.code.lower(), self.title.lower()))


def _usage(value: str | None) -> str:
    """``current``/``superseded`` (Book variable) or data.txt's state → the XSD enumeration spelling."""
    return (value or "Current").strip().capitalize() or "Current"


def _recorded_paths(tga_dir: Path) -> dict[str, str]:
    sources = tga_dir / "SOURCES.md"
    if not sources.is_file():
        return {}
    return {m["file"]: m["path"] for m in _SOURCES_ROW.finditer(sources.read_text(encoding="utf-8"))}


def _derived_path(code: str, release: str, kind: ComponentType, object_type: str | None) -> str:
    """TGA-FORMAT.md §1.5: ``{PKG}\\{CODE}_Complete_R{n}.xml`` for new-format units, ``{PKG}\\{CODE}_R{n}.xml``
    for old units and qualifications (PKG = the 3-letter package code)."""
    complete = kind is ComponentType.UNIT and object_type != OLD_UNIT_TYPE
    return f"{code[:3]}\\{code}{'_Complete' if complete else ''}_R{release}.xml"


def _packages(tga_dir: Path, undated: dt.datetime) -> list[Component]:
    data = json.loads((tga_dir / "catalogue" / "data.txt").read_text(encoding="utf-8"))
    packages = []
    for row in data["trainingpackage"]:
        released = dt.date.fromisoformat(row["release_date"]) if row.get("release_date") else None
        packages.append(
            Component(
                code=row["code"].strip().upper(),
                title=row["title"].strip(),
                component_type=ComponentType.TRAINING_PACKAGE,
                parent_code=None,
                usage=_usage(row.get("usage_recommendation")),
                release_number=None,
                release_date=released,
                currency=None,
                file=None,
                modified=dt.datetime.combine(released, dt.time(), TGA_OFFSET) if released else undated,
                source="catalogue/data.txt",
            )
        )
    return packages


def _dump_qualifications(tga_dir: Path, undated: dt.datetime) -> list[Component]:
    with gzip.open(tga_dir / "catalogue" / "vet_qualifications.sql.gz", "rt", encoding="utf-8") as dump:
        text = dump.read()
    modified = generation_time(text) or undated
    chosen: dict[str, tuple[str, str]] = {}
    for row in insert_rows(text, "ntis_qualifications"):
        code = str(row["qualCode"]).strip().upper()
        package = str(row["tpCode"]).strip().upper()
        if code not in chosen or (chosen[code][0][:3] != code[:3] and package[:3] == code[:3]):
            chosen[code] = (package, str(row["qualTitle"]).strip())
    return [
        Component(
            code=code,
            title=title,
            component_type=ComponentType.QUALIFICATION,
            parent_code=package,
            usage="Current",
            release_number=None,
            release_date=None,
            currency=None,
            file=None,
            modified=modified,
            source="catalogue/vet_qualifications.sql.gz",
        )
        for code, (package, title) in chosen.items()
    ]


@dataclass(frozen=True, slots=True)
class _FileFacts:
    """What a real file states beyond its component: the units its Packaging Rules list (qualifications
    only) and the package releases its Modification History names (package code → release)."""

    listed: tuple[StatedUnit, ...] | None
    package_releases: Mapping[str, tuple[int, ...]]


def _file_component(
    path: Path, kind: ComponentType, recorded: Mapping[str, str], undated: dt.datetime, titles: Mapping[str, str]
) -> tuple[Component, _FileFacts]:
    """The component a real file describes (with what it supersedes), and :class:`_FileFacts`."""
    name = f"{path.parent.name}/{path.name}"
    root = parse_file(path.read_bytes(), name)
    book = read_book(root, name)
    if book.release_number is None:
        raise CatalogueError(f"{name}: the Book has no ReleaseNumber variable")
    relative = recorded.get(path.name) or _derived_path(book.code, book.release_number, kind, book.object_type)
    entry = ReleaseFileEntry(relative_path=relative, path=path, size=path.stat().st_size)
    component = Component(
        code=book.code.upper(),
        title=book.title,
        component_type=kind,
        parent_code=relative.split("\\", 1)[0].upper() if "\\" in relative else book.code[:3],
        usage=_usage(book.usage_recommendation),
        release_number=book.release_number,
        release_date=None,
        currency=book.currency,
        file=entry,
        modified=undated,
        source=name,
        mappings=stated_mappings(root, book.code.upper(), book.title),
    )
    listed = stated_units(root, component.code) if kind is ComponentType.QUALIFICATION else None
    return component, _FileFacts(listed, stated_package_releases(root, titles))


def _with_lineage(components: list[Component], releases: Mapping[str, tuple[int, ...]]) -> list[Component]:
    """``components`` with the supersessions and package releases the real data states (module docstring)."""
    packages = {
        c.code: (c.title, c.release_date) for c in components if c.component_type is ComponentType.TRAINING_PACKAGE
    }
    successors = package_successors(packages)
    superseded = set(successors) | {m.maps_to_code for c in components for m in c.mappings}
    later: dict[str, list[MappingEntry]] = {}
    for old, new in sorted(successors.items()):
        note = f"catalogue/data.txt: {new} was released after {old}, the same training package"
        later.setdefault(new, []).append(MappingEntry(new, packages[new][0], old, packages[old][0], None, note))
    out = []
    for c in components:
        changes: dict[str, Any] = {}
        if c.code in superseded and c.usage == "Current":
            changes["usage"] = "Superseded"
        if c.component_type is ComponentType.TRAINING_PACKAGE:
            number = releases.get(c.code)
            changes["release_number"] = release_text(number) if number else None
            changes["mappings"] = tuple(later.get(c.code, ()))
        out.append(dataclasses.replace(c, **changes) if changes else c)
    return out


class Catalogue:
    """Every served component with its indexes and unit grids; immutable after :func:`load_catalogue`."""

    def __init__(
        self, components: list[Component], listed: Mapping[str, tuple[StatedUnit, ...] | None], wsdl_dir: Path
    ) -> None:
        self.ordered: tuple[Component, ...] = tuple(sorted(components, key=lambda c: c.code))
        self.by_code: Mapping[str, Component] = {c.code: c for c in self.ordered}
        children: dict[str, list[str]] = defaultdict(list)
        for component in self.ordered:
            if component.parent_code:
                children[component.parent_code].append(component.code)
        self.children: Mapping[str, tuple[str, ...]] = {k: tuple(v) for k, v in children.items()}
        self.files: Mapping[str, tuple[Component, ReleaseFileEntry]] = {
            c.file.url_path.lower(): (c, c.file) for c in self.ordered if c.file is not None
        }
        self.service_documents: Mapping[str, Path] = {
            p.name.lower(): p for p in sorted(wsdl_dir.iterdir()) if p.suffix.lower() in {".wsdl", ".xsd"}
        }
        self.wsdl_path = wsdl_dir / "TrainingComponentService.wsdl"
        self._grids: Mapping[str, tuple[GridEntry, ...]] = {
            code: tuple(GridEntry(u.code, self._unit_title(u), u.is_core) for u in units)
            for code, units in listed.items()
            if units is not None
        }

    def count(self, kind: ComponentType) -> int:
        """How many components of ``kind`` are served."""
        return sum(1 for c in self.ordered if c.component_type is kind)

    def unit_grid(self, code: str) -> tuple[GridEntry, ...] | None:
        """The UnitGrid of a qualification with a real file: its Packaging Rules' core (``IsEssential``) then
        elective units (:mod:`skillstream_tga_sandbox.packaging`). None when there is no file or the file has
        no Packaging Rules topic (the grid is then unknown, not empty)."""
        return self._grids.get(code)

    def _unit_title(self, unit: StatedUnit) -> str | None:
        """The real unit file's Book title when it is one of the served units, else the title the packaging
        rules state (TGA's grid titles are the units' own)."""
        served = self.by_code.get(unit.code)
        if served is not None and served.component_type is ComponentType.UNIT:
            return served.title or unit.title
        return unit.title


@functools.cache
def load_catalogue(tga_dir: Path, undated_modified: dt.datetime) -> Catalogue:
    """Read the whole catalogue (about 0.3 s; cached per folder and date, shared by every app).

    Raises:
        CatalogueError: a file is missing or malformed (the message names it).
    """
    try:
        recorded = _recorded_paths(tga_dir)
        packages = _packages(tga_dir, undated_modified)
        # A title names the package released last under it (CPC, not CPC08).
        titles = {bare_title(p.title): p.code for p in sorted(packages, key=lambda p: p.modified)}
        components = [*packages, *_dump_qualifications(tga_dir, undated_modified)]
        listed: dict[str, tuple[StatedUnit, ...] | None] = {}
        releases: dict[str, tuple[int, ...]] = {}
        for kind, folder in ((ComponentType.QUALIFICATION, "qualifications"), (ComponentType.UNIT, "units")):
            for path in sorted((tga_dir / folder).glob("*.xml")):
                component, facts = _file_component(path, kind, recorded, undated_modified, titles)
                components.append(component)
                listed[component.code] = facts.listed
                for code, number in facts.package_releases.items():
                    releases[code] = max(releases.get(code, number), number)
        wsdl_dir = tga_dir / "wsdl" / "TrainingComponentService-production-2013"
        # A real file wins over a dump row with the same code (none collide in today's data).
        unique = {c.code: c for c in components}
        return Catalogue(_with_lineage(list(unique.values()), releases), listed, wsdl_dir)
    except (OSError, KeyError, ValueError) as e:
        raise CatalogueError(f"cannot read the TGA real data under {tga_dir}: {e}") from e


__all__ = [
    "TGA_OFFSET",
    "Catalogue",
    "Component",
    "ComponentType",
    "GridEntry",
    "ReleaseFileEntry",
    "load_catalogue",
]
