"""TGA ingest: the queries the tga-ingest service answers, their replies, and its job kinds.

Queries (``qry.tga.<name>``) read the service's PostgreSQL read models (``tga_ingest`` schema), so a reply
may lag the ``TGA`` stream by a moment. Downloads are jobs run by the orchestrator (``REQUEST_JOB`` with one of
the ``KIND_*`` kinds below); the gateway's download-status routes are the job's progress.

Sources: seed 000 (routes, "whether it's already downloaded", comprehensive unit view),
TGA-FORMAT.md §1.3 (TGA's component types and usage recommendation states).
"""

from __future__ import annotations

import datetime as dt
from typing import Final

import msgspec

from skillstream_contracts.streams import query_subject
from skillstream_contracts.tga import (
    ComponentType,
    ParseFailure,
    UnitContent,
    UnitFormat,
    UsageRecommendation,
)

LIST_AVAILABLE: Final = query_subject("tga", "list_available")
""":class:`ListAvailable` → :class:`CataloguePage`."""
GET_UNIT: Final = query_subject("tga", "get_unit")
""":class:`GetComponent` → :class:`UnitDetail`."""
GET_UNIT_ELEMENTS: Final = query_subject("tga", "get_unit_elements")
""":class:`GetComponent` → :class:`UnitElements`."""
GET_UNIT_CRITERIA: Final = query_subject("tga", "get_unit_performance_criteria")
""":class:`GetComponent` → :class:`UnitPerformanceCriteria`."""
GET_QUALIFICATION: Final = query_subject("tga", "get_qualification")
""":class:`GetComponent` → :class:`QualificationDetail`."""
CATALOGUE_STATS: Final = query_subject("tga", "catalogue_stats")
""":class:`GetCatalogueStats` → :class:`CatalogueStats`."""

KIND_DOWNLOAD_PACKAGES: Final = "tga.download-packages"
"""Parameters ``{"codes": [training package codes], "include_components": true}``: each package's details, then
its qualifications, skill sets and units (a package download also downloads the package's qualifications and
units)."""
KIND_DOWNLOAD_QUALIFICATIONS: Final = "tga.download-qualifications"
"""Parameters ``{"codes": [qualification codes]}``."""
KIND_DOWNLOAD_UNITS: Final = "tga.download-units"
"""Parameters ``{"codes": [unit codes]}``."""
KIND_REFRESH_CATALOGUE: Final = "tga.refresh-catalogue"
"""Parameters ``{"component_types": ["training_package", "qualification", "skill_set", "unit"]}``: TGA
``Search`` pages → ``CatalogueRefreshed``."""
KIND_SYNC: Final = "tga.sync"
"""Parameters ``{"since": ISO 8601 datetime | null}``: ``SearchByModifiedDate`` + ``SearchDeletedByDeletedDate``
since then (default: the end of the last completed sync) and re-download what changed."""
KIND_REPARSE: Final = "tga.reparse"
"""Parameters ``{"codes": [codes] | null}``: re-parse the kept raw XML (no download) of those components, or of
every component parsed by an older parser."""


class ListAvailable(msgspec.Struct, frozen=True, kw_only=True):
    """One page of the catalogue of one component type, ordered by code.

    ``search`` matches code or title (case-insensitive substring); ``status`` filters on the usage
    recommendation; ``training_package`` keeps components of that package (its downloaded release's
    components, else codes starting with the package code); ``downloaded`` filters on the local state.
    ``page`` is 1-based; ``page_size`` ≤ 500.
    """

    component_type: ComponentType
    search: str | None = None
    status: UsageRecommendation | None = None
    training_package: str | None = None
    downloaded: bool | None = None
    page: int = 1
    page_size: int = 50


class CatalogueItem(msgspec.Struct, frozen=True, kw_only=True):
    """A component TGA lists, with its local state: ``downloaded`` (details/XML downloaded), ``processed``
    (parsed into the read models), ``failure`` (the last download/parse failure's reason, if that is the
    latest state)."""

    code: str
    title: str
    component_type: ComponentType
    usage_recommendation: UsageRecommendation = UsageRecommendation.UNKNOWN
    training_package: str | None = None
    release: str | None = None
    updated_at: dt.datetime | None = None
    downloaded: bool = False
    processed: bool = False
    downloaded_at: dt.datetime | None = None
    failure: str | None = None


class CataloguePage(msgspec.Struct, kw_only=True):
    """A page of :class:`CatalogueItem`; ``total`` counts every match; ``refreshed_at`` is when the catalogue
    of this type was last refreshed from TGA (None: never — run a ``tga.refresh-catalogue`` job)."""

    items: list[CatalogueItem]
    total: int
    page: int
    page_size: int
    refreshed_at: dt.datetime | None = None


class GetComponent(msgspec.Struct, frozen=True, kw_only=True):
    """A component by its national code (e.g. ``BSBCMM412``)."""

    code: str


class GetCatalogueStats(msgspec.Struct, frozen=True, kw_only=True):
    """No parameters."""


class SourceRef(msgspec.Struct, frozen=True, kw_only=True):
    """Where parsed content came from: TGA ``RelativePath`` (forward slashes), SHA-256 of the bytes."""

    relative_path: str
    sha256: str
    size: int


class UnitDetail(UnitContent, frozen=True, kw_only=True):
    """Everything known about one unit of competency (the "comprehensive" view, seed 000 Phase 3)."""

    code: str
    title: str
    release: str
    training_package: str
    usage_recommendation: UsageRecommendation
    format: UnitFormat
    source: SourceRef | None = None
    parser_version: int = 1
    downloaded_at: dt.datetime | None = None
    superseded_by: str | None = None
    deleted_at: dt.datetime | None = None


class ElementSummary(msgspec.Struct, frozen=True, kw_only=True):
    """An element of a unit with the number of its performance criteria."""

    number: str
    title: str
    performance_criteria_count: int


class UnitElements(msgspec.Struct, kw_only=True):
    code: str
    title: str
    elements: list[ElementSummary]


class CriterionRow(msgspec.Struct, frozen=True, kw_only=True):
    """A performance criterion linked to its element (``element_number``)."""

    element_number: str
    element_title: str
    number: str
    text: str


class UnitPerformanceCriteria(msgspec.Struct, kw_only=True):
    code: str
    title: str
    performance_criteria: list[CriterionRow]


class QualificationUnit(msgspec.Struct, frozen=True, kw_only=True):
    """A unit of a qualification's packaging rules; ``group`` is the stated elective group, if any;
    ``downloaded`` says whether the unit itself is in the local catalogue."""

    code: str
    core: bool
    title: str | None = None
    group: str | None = None
    downloaded: bool = False


class QualificationDetail(msgspec.Struct, kw_only=True):
    """One qualification; ``units`` lists core units first, then electives, in document order."""

    code: str
    title: str
    release: str
    training_package: str
    usage_recommendation: UsageRecommendation
    aqf_level: str | None = None
    description: str = ""
    entry_requirements: str = ""
    packaging_rules: str = ""
    total_units: int | None = None
    units: list[QualificationUnit] = msgspec.field(default_factory=list)
    source: SourceRef | None = None
    downloaded_at: dt.datetime | None = None
    superseded_by: str | None = None
    deleted_at: dt.datetime | None = None


class FailureCount(msgspec.Struct, frozen=True, kw_only=True):
    failure: ParseFailure | None
    count: int


class CatalogueStats(msgspec.Struct, kw_only=True):
    """Counts over the read models (the demo's summary): components downloaded per type, units parsed,
    elements and performance criteria stored, current failures by kind (``failure`` None = download
    failures)."""

    training_packages: int = 0
    qualifications: int = 0
    skill_sets: int = 0
    units: int = 0
    elements: int = 0
    performance_criteria: int = 0
    failures: list[FailureCount] = msgspec.field(default_factory=list)


__all__ = [
    "CATALOGUE_STATS",
    "GET_QUALIFICATION",
    "GET_UNIT",
    "GET_UNIT_CRITERIA",
    "GET_UNIT_ELEMENTS",
    "KIND_DOWNLOAD_PACKAGES",
    "KIND_DOWNLOAD_QUALIFICATIONS",
    "KIND_DOWNLOAD_UNITS",
    "KIND_REFRESH_CATALOGUE",
    "KIND_REPARSE",
    "KIND_SYNC",
    "LIST_AVAILABLE",
    "CatalogueItem",
    "CataloguePage",
    "CatalogueStats",
    "CriterionRow",
    "ElementSummary",
    "FailureCount",
    "GetCatalogueStats",
    "GetComponent",
    "ListAvailable",
    "QualificationDetail",
    "QualificationUnit",
    "SourceRef",
    "UnitDetail",
    "UnitElements",
    "UnitPerformanceCriteria",
]
