"""What the TGA client returns: plain structs read from ``TrainingComponentService`` replies.

Field sources are the XSD types named in each docstring (``../shared/real-data/tga/wsdl/…/
TrainingComponentService*.xsd``; TGA-FORMAT.md §1.3). Dates are timezone-aware UTC ``datetime`` (XSD
``dateTime``/WCF ``DateTimeOffset``) or ``date`` (XSD ``date``); absent/nil elements are None or empty lists.
"""

from __future__ import annotations

import datetime as dt

import msgspec


class ComponentSummary(msgspec.Struct, frozen=True, kw_only=True):
    """XSD ``TrainingComponentSummary`` (one row of a Search / SearchByModifiedDate page).
    ``component_types`` is the ``TrainingComponentTypes`` list (e.g. ``["Unit"]``);
    ``usage_recommendation`` is ``UsageReccomendation`` as TGA spells the element (``Current``…)."""

    code: str
    title: str
    component_types: list[str]
    is_current: bool | None = None
    usage_recommendation: str | None = None
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None


class SearchPage(msgspec.Struct, frozen=True, kw_only=True):
    """XSD ``TrainingComponentSearchResult``: ``count`` is the total over all pages."""

    count: int
    page_number: int
    page_size: int
    results: list[ComponentSummary]


class ReleaseFile(msgspec.Struct, frozen=True, kw_only=True):
    """XSD ``ReleaseFile``: ``relative_path`` as TGA writes it (backslashes), ``size`` in bytes."""

    relative_path: str
    size: int | None = None


class ReleaseComponent(msgspec.Struct, frozen=True, kw_only=True):
    """XSD ``ReleaseComponent``: a component of a training package release; ``type`` as TGA writes the
    ``TrainingComponentTypes`` value (``Unit``, ``Qualification``, ``SkillSet``…)."""

    code: str
    title: str
    type: str | None = None
    release_number: str | None = None
    release_date: dt.date | None = None
    currency: str | None = None


class UnitGridEntry(msgspec.Struct, frozen=True, kw_only=True):
    """XSD ``UnitGridEntry``: ``is_essential`` True = core unit."""

    code: str
    title: str
    is_essential: bool | None = None


class Release(msgspec.Struct, frozen=True, kw_only=True):
    """XSD ``Release``."""

    release_number: str
    release_date: dt.date | None = None
    currency: str | None = None
    files: list[ReleaseFile] = msgspec.field(default_factory=list)
    components: list[ReleaseComponent] = msgspec.field(default_factory=list)
    unit_grid: list[UnitGridEntry] = msgspec.field(default_factory=list)


class UsageRecommendationPeriod(msgspec.Struct, frozen=True, kw_only=True):
    """XSD ``UsageRecommendation``: ``state`` is ``Current`` / ``Superseded`` / ``Deleted``."""

    state: str
    start_date: dt.date | None = None
    end_date: dt.date | None = None


class Mapping(msgspec.Struct, frozen=True, kw_only=True):
    """XSD ``Mapping`` (``MappingInformation``): this component (``code``, ``title``) maps to ``maps_to_code``."""

    code: str
    maps_to_code: str | None = None
    maps_to_title: str | None = None
    is_equivalent: bool | None = None
    notes: str | None = None
    title: str | None = None


class ComponentDetails(msgspec.Struct, frozen=True, kw_only=True):
    """XSD ``TrainingComponent`` (``GetDetailsResult``). ``parent_code`` is the training package.
    ``releases`` are as TGA lists them (use :func:`latest_release`)."""

    code: str
    title: str
    component_types: list[str]
    parent_code: str | None = None
    parent_title: str | None = None
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None
    releases: list[Release] = msgspec.field(default_factory=list)
    usage_recommendations: list[UsageRecommendationPeriod] = msgspec.field(default_factory=list)
    mappings: list[Mapping] = msgspec.field(default_factory=list)


class DeletedComponent(msgspec.Struct, frozen=True, kw_only=True):
    """XSD ``DeletedTrainingComponent``: ``operation`` is ``PhysicalDelete`` or ``LogicalDelete``."""

    national_code: str
    operation: str
    updated_at: dt.datetime | None = None


__all__ = [
    "ComponentDetails",
    "ComponentSummary",
    "DeletedComponent",
    "Mapping",
    "Release",
    "ReleaseComponent",
    "ReleaseFile",
    "SearchPage",
    "UnitGridEntry",
    "UsageRecommendationPeriod",
]
