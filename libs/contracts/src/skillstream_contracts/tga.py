"""TGA ingest: the event union of the ``TGA`` stream (training.gov.au catalogue).

Subjects (one per aggregate instance, see :mod:`skillstream_contracts.streams`)::

    tga.catalogue.<component type>     CatalogueRefreshed (one event per TGA Search page)
    tga.training_package.<code>        PackageDownloaded                      e.g. tga.training_package.BSB
    tga.qualification.<code>           QualificationDownloaded                e.g. tga.qualification.BSB41419
    tga.skill_set.<code>               SkillSetDownloaded                     e.g. tga.skill_set.TAESS00009
    tga.unit.<code>                    UnitDownloaded, UnitParseFailed        e.g. tga.unit.BSBCMM412
    tga.<component type>.<code>        ComponentDownloadStarted, ComponentDownloadFailed, ComponentSuperseded,
                                       ComponentDeleted
    tga.job.<job id>                   IngestJobStarted, IngestJobPlanned, IngestJobEnded (job phases)
    tga.sync.state                     SyncCompleted (the incremental sync's high-water mark)

The aggregate token is the :class:`ComponentType` value.

Sources: seed 000 (what is downloaded and parsed), ``TGA-FORMAT.md`` §1.3 (the fields of the
TGA ``TrainingComponentService`` XSD) and §2 (the AuthorIT unit and qualification XML). Codes are TGA
national codes as TGA writes them; release numbers are strings (XSD ``Release/ReleaseNumber`` is
``xs:string``). Parsed text is whitespace-collapsed, one string per paragraph or bullet, in document
order. A download that is part of a job carries the job/item headers of
:class:`~skillstream_contracts.events.EventMetadata`.
"""

from __future__ import annotations

import datetime as dt
import enum

import msgspec

from skillstream_contracts.events import Event, EventRegistry
from skillstream_contracts.tga_content import (
    Element,
    FoundationSkill,
    PerformanceCriterion,
    UnitContent,
    unit_content_v1_to_v2,
)


class ComponentType(enum.StrEnum):
    """The TGA component types ingested (XSD ``TrainingComponentTypes``); the value is the subject's
    aggregate token, e.g. ``tga.skill_set.TAESS00009``."""

    TRAINING_PACKAGE = "training_package"
    QUALIFICATION = "qualification"
    SKILL_SET = "skill_set"
    UNIT = "unit"


class UsageRecommendation(enum.StrEnum):
    """XSD ``UsageRecommendationState`` (lower-cased)."""

    CURRENT = "current"
    SUPERSEDED = "superseded"
    DELETED = "deleted"
    UNKNOWN = "unknown"


class UnitFormat(enum.StrEnum):
    """Pre-2012 units (4-column E&PC, Evidence Guide) vs the 2012 "Streamlined" format (TGA-FORMAT.md §2)."""

    PRE_2012 = "pre-2012"
    STREAMLINED_2012 = "2012"


class DeleteOperation(enum.StrEnum):
    """XSD ``DeleteOperation`` of ``SearchDeletedByDeletedDate``: ``PhysicalDelete`` / ``LogicalDelete``."""

    PHYSICAL = "physical"
    LOGICAL = "logical"


class ParseFailure(enum.StrEnum):
    """Why a file was refused (bad XML is refused safely, with a clear reason)."""

    MALFORMED = "malformed"  # not well-formed XML, including a truncated file
    UNSAFE = "unsafe"  # DTD, entity declaration or external reference (billion laughs, XXE)
    TOO_LARGE = "too_large"  # over the parser's size limit
    NOT_AUTHORIT = "not_authorit"  # well-formed, but not an AuthorIT unit/qualification document
    MISSING_SECTION = "missing_section"  # AuthorIT, but a required topic (e.g. E&PC) is absent


class SourceFile(msgspec.Struct, frozen=True, kw_only=True):
    """The release XML a component was parsed from, as kept in the raw-XML store for re-parsing.

    ``relative_path`` is the XSD ``ReleaseFile/RelativePath`` with ``\\`` turned into ``/``
    (e.g. ``BSB/BSBCMM412_Complete_R2.xml``); ``size`` is in bytes as downloaded (BOM included);
    ``sha256`` is lowercase hex of those bytes; ``raw_key`` is the key of the bytes in the raw-XML store.
    """

    relative_path: str
    size: int
    sha256: str
    raw_key: str


class CatalogueEntry(msgspec.Struct, frozen=True, kw_only=True):
    """One XSD ``TrainingComponentSummary`` of a Search reply; ``updated_at`` is ``UpdatedDate``."""

    code: str
    title: str
    component_type: ComponentType
    usage_recommendation: UsageRecommendation = UsageRecommendation.UNKNOWN
    is_current: bool = True
    updated_at: dt.datetime | None = None


# --- events (stream TGA) ---------------------------------------------------------------------------


class CatalogueRefreshed(Event, frozen=True, kw_only=True, tag="tga.CatalogueRefreshed"):
    """One page of a catalogue refresh (TGA ``Search`` or ``SearchByModifiedDate``).

    A refresh of N pages appends N events with the same ``refresh_id``; ``page_number`` is 1-based and the
    page with ``page_number == page_count`` ends it. ``total`` is TGA's ``Count``. ``training_package`` is set
    when the search was filtered to one package's components. Keep pages ≤ 1,000 entries so one event stays
    well under NATS's 1 MB default payload limit.
    """

    refresh_id: str
    component_type: ComponentType
    page_number: int
    page_count: int
    total: int
    entries: list[CatalogueEntry] = msgspec.field(default_factory=list)
    training_package: str | None = None
    modified_since: dt.datetime | None = None


class PackageDownloaded(Event, frozen=True, kw_only=True, tag="tga.PackageDownloaded"):
    """A training package's details (``GetDetails``) were downloaded; its components are listed by code.

    ``release_date`` is XSD ``Release/ReleaseDate`` (``xs:date``) of the latest release.
    """

    code: str
    title: str
    usage_recommendation: UsageRecommendation
    release: str | None = None
    release_date: dt.date | None = None
    qualification_codes: list[str] = msgspec.field(default_factory=list)
    skill_set_codes: list[str] = msgspec.field(default_factory=list)
    unit_codes: list[str] = msgspec.field(default_factory=list)


class QualificationDownloaded(Event, frozen=True, kw_only=True, tag="tga.QualificationDownloaded"):
    """A qualification was downloaded and parsed (``StreamlineQualification`` book, TGA-FORMAT.md §2).

    ``source`` is None when TGA lists no XML file for the release (details only, from ``GetDetails``: the
    unit lists then come from the release's ``UnitGrid``). Widened from required in v1 before any consumer
    existed; every v1 event still decodes. Such a qualification is *metadata only*: ``metadata_only_reason``
    says why there was nothing to parse (e.g. ``"TGA lists no content file for release 1"``); None when the
    content was parsed from ``source``. Added with a default: a v1 event without it and without a source is
    metadata only too (its reason is then unstated).

    ``aqf_level`` is the book variable ``AqfAlignment`` (e.g. ``"Certificate IV"``). ``core_units`` and
    ``elective_units`` are unit codes from the SOAP ``UnitGrid`` (``IsEssential``) or the packaging rules;
    ``elective_groups`` maps a stated group (``"Group A"``) to its unit codes. ``total_units`` is the stated
    "Total number of units", None when not stated.
    """

    code: str
    title: str
    release: str
    training_package: str
    usage_recommendation: UsageRecommendation
    source: SourceFile | None = None
    aqf_level: str | None = None
    description: str = ""
    entry_requirements: str = ""
    packaging_rules: str = ""
    total_units: int | None = None
    core_units: list[str] = msgspec.field(default_factory=list)
    elective_units: list[str] = msgspec.field(default_factory=list)
    elective_groups: dict[str, list[str]] = msgspec.field(default_factory=dict)
    metadata_only_reason: str | None = None


class SkillSetDownloaded(Event, frozen=True, kw_only=True, tag="tga.SkillSetDownloaded"):
    """A skill set's details were downloaded; ``unit_codes`` from its release's unit grid.

    ``source`` None: TGA lists no content file for the release, so the skill set is *metadata only*;
    ``metadata_only_reason`` then says so (e.g. ``"TGA lists no content file for release 1"``; added with a
    default, unstated on older events).
    """

    code: str
    title: str
    release: str
    training_package: str
    usage_recommendation: UsageRecommendation
    unit_codes: list[str] = msgspec.field(default_factory=list)
    source: SourceFile | None = None
    metadata_only_reason: str | None = None


class UnitDownloaded(Event, UnitContent, frozen=True, kw_only=True, tag="tga.UnitDownloaded"):
    """A unit of competency was downloaded and parsed, in Book ``ContentsNodes`` order, de-duplicated; the
    parsed fields are those of :class:`UnitContent`. A re-parse of the kept XML appends another
    ``UnitDownloaded`` with the same ``source`` and a higher ``parser_version``.
    """

    schema_version = 2  # v1: required skills / knowledge as flat strings (tga_content.unit_content_v1_to_v2)
    code: str
    title: str
    release: str
    training_package: str
    usage_recommendation: UsageRecommendation
    format: UnitFormat
    source: SourceFile
    parser_version: int = 1


class UnitParseFailed(Event, frozen=True, kw_only=True, tag="tga.UnitParseFailed"):
    """A downloaded file was refused by the parser; never a crashed job.

    Also used for a qualification or skill set file (``component_type``). ``source`` is None when the
    bytes could not be kept (e.g. over the size limit); otherwise a later ``reparse`` can retry them.
    """

    code: str
    reason: str
    failure: ParseFailure
    component_type: ComponentType = ComponentType.UNIT
    release: str | None = None
    source: SourceFile | None = None


class ComponentDownloadFailed(Event, frozen=True, kw_only=True, tag="tga.ComponentDownloadFailed"):
    """Downloading a component failed after the client's retries (SOAP ``ValidationFault``, HTTP 5xx,
    truncated file…). ``attempts`` counts tries made; ``http_status`` is None for a SOAP fault or a
    network error; ``fault_code`` is the ``ValidationError/Code`` of a SOAP fault."""

    code: str
    component_type: ComponentType
    reason: str
    attempts: int = 1
    http_status: int | None = None
    fault_code: str | None = None


class ComponentSuperseded(Event, frozen=True, kw_only=True, tag="tga.ComponentSuperseded"):
    """TGA marks the component superseded (``UsageRecommendation`` ``Superseded``); appended on the
    superseded component's subject. ``superseded_by``/``is_equivalent`` come from XSD ``Mapping``
    (``MapsToCode``, ``IsEquivalent``), e.g. RIICOM201D → RIICOM201E, equivalent."""

    code: str
    component_type: ComponentType
    superseded_by: str | None = None
    is_equivalent: bool | None = None


class ComponentDeleted(Event, frozen=True, kw_only=True, tag="tga.ComponentDeleted"):
    """TGA reports the component deleted (``SearchDeletedByDeletedDate`` → ``DeletedTrainingComponent``
    {``NationalCode``, ``Operation``, ``UpdatedDate`` → ``deleted_at``}). TGA does not say the type, so this
    is appended only for codes already ingested, with the type the local catalogue knows."""

    code: str
    component_type: ComponentType
    operation: DeleteOperation
    deleted_at: dt.datetime


class ComponentDownloadStarted(Event, frozen=True, kw_only=True, tag="tga.ComponentDownloadStarted"):
    """A job began downloading a component (its item is now "processing" in the job's progress)."""

    code: str
    component_type: ComponentType


class IngestJobStarted(Event, frozen=True, kw_only=True, tag="tga.IngestJobStarted"):
    """A TGA job (``kind``, one of ``tga_queries.KIND_*``) started on ``tga.job.<job id>``; ``total`` is the
    number of items known so far (a package job plans more once it has read the packages' components)."""

    job_id: str
    kind: str
    total: int


class IngestJobPlanned(Event, frozen=True, kw_only=True, tag="tga.IngestJobPlanned"):
    """The job's items are now all known: ``total`` items, ``groups`` = items per group (training package)."""

    job_id: str
    total: int
    groups: dict[str, int] = msgspec.field(default_factory=dict)


class IngestJobEnded(Event, frozen=True, kw_only=True, tag="tga.IngestJobEnded"):
    """The job ended: ``phase`` is ``completed`` / ``failed`` / ``cancelled`` (``JobPhase``); ``summary`` holds
    small counters (components downloaded, units parsed, elements, performance criteria, failures)."""

    job_id: str
    phase: str
    summary: dict[str, int] = msgspec.field(default_factory=dict)
    reason: str | None = None


class SyncCompleted(Event, frozen=True, kw_only=True, tag="tga.SyncCompleted"):
    """An incremental sync covered TGA changes in [``since``, ``until``) (``SearchByModifiedDate`` and
    ``SearchDeletedByDeletedDate``; ``until`` is TGA's ``GetServerTime`` when the sync began). Appended on
    ``tga.sync.state``; the next sync starts at the last ``until``."""

    job_id: str
    since: dt.datetime
    until: dt.datetime
    modified: int = 0
    deleted: int = 0


TGA_EVENTS = EventRegistry(
    "tga",
    [
        CatalogueRefreshed,
        PackageDownloaded,
        QualificationDownloaded,
        SkillSetDownloaded,
        UnitDownloaded,
        UnitParseFailed,
        ComponentDownloadFailed,
        ComponentSuperseded,
        ComponentDeleted,
        ComponentDownloadStarted,
        IngestJobStarted,
        IngestJobPlanned,
        IngestJobEnded,
        SyncCompleted,
    ],
)
"""The tagged union of the ``TGA`` stream."""
TGA_EVENTS.upcaster("tga.UnitDownloaded", 1)(unit_content_v1_to_v2)


__all__ = [
    "TGA_EVENTS",
    "CatalogueEntry",
    "CatalogueRefreshed",
    "ComponentDeleted",
    "ComponentDownloadFailed",
    "ComponentDownloadStarted",
    "ComponentSuperseded",
    "ComponentType",
    "DeleteOperation",
    "Element",
    "FoundationSkill",
    "IngestJobEnded",
    "IngestJobPlanned",
    "IngestJobStarted",
    "PackageDownloaded",
    "ParseFailure",
    "PerformanceCriterion",
    "QualificationDownloaded",
    "SkillSetDownloaded",
    "SourceFile",
    "SyncCompleted",
    "UnitContent",
    "UnitDownloaded",
    "UnitFormat",
    "UnitParseFailed",
    "UsageRecommendation",
]
