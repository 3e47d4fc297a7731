"""TGA ingest: the queries the tga-ingest service answers, their replies, and its job kinds.

Queries (``qry.tga.<name>``) read the service's PostgreSQL read models (``tga_ingest`` schema), so a reply
may lag the ``TGA`` stream by a moment. Downloads are jobs run by the orchestrator (``REQUEST_JOB`` with one of
the ``KIND_*`` kinds below); the gateway's download-status routes are the job's progress.

Sources: seed 000 (routes, "whether it's already downloaded", comprehensive unit view),
TGA-FORMAT.md §1.3 (TGA's component types and usage recommendation states).
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Annotated, Final

import msgspec

from skillstream_contracts.constraints import LINE_PATTERN, SearchText
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

MAX_PAGE: Final = 1_000_000
"""Highest ``page`` of :class:`ListAvailable` (with the largest page size, 500 million rows in)."""
MAX_PAGE_SIZE: Final = 500
"""Largest ``page_size`` of :class:`ListAvailable`."""
MAX_FAILED_LISTED: Final = 200
"""At most this many failed components are listed in :class:`CatalogueStats` (``failed``)."""

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


DOWNLOAD_FAILURE: Final = "download"
"""The failure kind of a download that failed (TGA fault, HTTP error, truncated file); a file the parser
refused has its :class:`~skillstream_contracts.tga.ParseFailure` value as its kind."""


class LocalState(enum.StrEnum):
    """What is held locally of a component, one value per item:

    - ``not_downloaded``: nothing yet;
    - ``downloaded``: downloaded with its content (the release file parsed, or a training package's details
      and component list);
    - ``metadata_only``: downloaded, but TGA lists no content file for the release, so only its details
      (title, release, status, unit grid) are held: no description, no packaging rules, nothing parsed;
    - ``failed``: the latest download or parse failed (``failure`` says why).
    """

    NOT_DOWNLOADED = "not_downloaded"
    DOWNLOADED = "downloaded"
    METADATA_ONLY = "metadata_only"
    FAILED = "failed"


class ListAvailable(msgspec.Struct, frozen=True, kw_only=True):
    """One page of the catalogue of one component type, ordered by code.

    ``search`` matches code or title (case-insensitive substring); ``status`` filters on the usage
    recommendation; ``training_package`` keeps components of that package (its downloaded release's
    components, else codes starting with the package code); ``downloaded`` filters on the local state
    (metadata-only components are downloaded); ``state`` on :class:`LocalState`.
    ``page`` is 1-based, at most :data:`MAX_PAGE`; ``page_size`` 1..500. Text follows
    :mod:`skillstream_contracts.constraints`; anything else is ``invalid_request``.
    """

    component_type: ComponentType
    search: SearchText | None = None
    status: UsageRecommendation | None = None
    training_package: Annotated[str, msgspec.Meta(max_length=20, pattern=LINE_PATTERN)] | None = None
    downloaded: bool | None = None
    page: Annotated[int, msgspec.Meta(ge=1, le=MAX_PAGE)] = 1
    page_size: Annotated[int, msgspec.Meta(ge=1, le=MAX_PAGE_SIZE)] = 50
    state: LocalState | None = None


class CatalogueItem(msgspec.Struct, frozen=True, kw_only=True):
    """A component TGA lists, with its local state: ``downloaded`` (details/XML downloaded), ``processed``
    (parsed into the read models; never for a metadata-only component), ``failure`` (the last download/parse
    failure's reason, if that is the latest state) and its ``failure_kind`` (:data:`DOWNLOAD_FAILURE` or a
    ``ParseFailure`` value), ``state`` (:class:`LocalState`) and, when metadata only, why
    (``metadata_only_reason``). ``description`` is the downloaded description (a qualification's
    "Qualification Description"; empty when none is held); ``release_date`` is the downloaded release's date
    (TGA states it for training packages)."""

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
    failure_kind: str | None = None
    state: LocalState = LocalState.NOT_DOWNLOADED
    metadata_only_reason: str | None = None
    description: str = ""
    release_date: dt.date | None = None


class CataloguePage(msgspec.Struct, kw_only=True):
    """A page of :class:`CatalogueItem`; ``total`` counts every match; ``refreshed_at`` is when the catalogue
    of this type was last refreshed from TGA (None: never — run a ``tga.refresh-catalogue`` job)."""

    items: list[CatalogueItem]
    total: int
    page: int
    page_size: int
    refreshed_at: dt.datetime | None = None


class GetComponent(msgspec.Struct, frozen=True, kw_only=True):
    """A component by its national code (e.g. ``BSBCMM412``; at most 20 characters of one line)."""

    code: Annotated[str, msgspec.Meta(min_length=1, max_length=20, pattern=LINE_PATTERN)]


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
    """One qualification; ``units`` lists core units first, then electives, in document order.
    ``metadata_only_reason`` is set when TGA lists no content file for its release (no description,
    entry requirements or packaging rules are held; units only from TGA's unit grid, if any)."""

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
    metadata_only_reason: str | None = None


class FailureCount(msgspec.Struct, frozen=True, kw_only=True):
    """Current failures of one kind: ``kind`` is :data:`DOWNLOAD_FAILURE` or a ``ParseFailure`` value;
    ``failure`` is the same as a ``ParseFailure``, None for download failures (kept for older readers)."""

    failure: ParseFailure | None
    count: int
    kind: str = DOWNLOAD_FAILURE


class FailedComponent(msgspec.Struct, frozen=True, kw_only=True):
    """A component whose latest download or parse failed: ``kind`` as in :class:`FailureCount`, ``reason``
    as recorded (TGA's fault, the HTTP status, or where and why the parser refused the file), ``failed_at``
    when (UTC)."""

    code: str
    component_type: ComponentType
    kind: str
    reason: str
    failed_at: dt.datetime | None = None


class CatalogueStats(msgspec.Struct, kw_only=True):
    """Counts over the read models (the demo's summary): components downloaded per type, units parsed,
    elements and performance criteria stored, current failures by kind (``failure`` None = download
    failures) and the failed components themselves (``failed``, newest first, at most
    :data:`MAX_FAILED_LISTED`; ``failures`` counts them all), and the metadata-only components (downloaded
    without a content file: no description, no packaging rules, nothing parsed) per component type."""

    training_packages: int = 0
    qualifications: int = 0
    skill_sets: int = 0
    units: int = 0
    elements: int = 0
    performance_criteria: int = 0
    failures: list[FailureCount] = msgspec.field(default_factory=list)
    failed: list[FailedComponent] = msgspec.field(default_factory=list)
    metadata_only: dict[ComponentType, int] = msgspec.field(default_factory=dict)


__all__ = [
    "CATALOGUE_STATS",
    "DOWNLOAD_FAILURE",
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
    "MAX_FAILED_LISTED",
    "MAX_PAGE",
    "MAX_PAGE_SIZE",
    "CatalogueItem",
    "CataloguePage",
    "CatalogueStats",
    "CriterionRow",
    "ElementSummary",
    "FailedComponent",
    "FailureCount",
    "GetCatalogueStats",
    "GetComponent",
    "ListAvailable",
    "LocalState",
    "QualificationDetail",
    "QualificationUnit",
    "SourceRef",
    "UnitDetail",
    "UnitElements",
    "UnitPerformanceCriteria",
]
