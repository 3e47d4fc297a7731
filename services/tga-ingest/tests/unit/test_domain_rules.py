"""The pure rules beside the decider: item keys and groups, a package job's second phase, catalogue pages,
the sync window, re-downloads and deletions, and outcomes built from TGA's replies (XSD value types)."""

from __future__ import annotations

import datetime as dt

import pytest

from skillstream_contracts.jobs import ItemOutcome
from skillstream_contracts.tga import (
    CatalogueEntry,
    ComponentDownloadFailed,
    ComponentType,
    DeleteOperation,
    PackageDownloaded,
    ParseFailure,
    QualificationDownloaded,
    SourceFile,
    SyncCompleted,
    UnitParseFailed,
    UsageRecommendation,
)
from skillstream_tga_ingest.adapters.client.models import (
    ComponentDetails,
    ComponentSummary,
    DeletedComponent,
    Mapping,
    Release,
    UnitGridEntry,
    UsageRecommendationPeriod,
)
from skillstream_tga_ingest.domain.items import (
    Item,
    group_of,
    groups_of,
    items_for,
    package_items,
    parse_item_key,
    second_phase,
)
from skillstream_tga_ingest.domain.outcomes import (
    counts_of,
    details_only,
    outcome_of,
    parsed_download,
    reason_of,
    size_of,
    supersessions,
)
from skillstream_tga_ingest.domain.sync import (
    CATALOGUE_PAGE,
    catalogue_pages,
    changed_by_type,
    deletion,
    redownloads,
    sync_since,
)
from skillstream_tga_ingest.domain.vocabulary import component_type_of, usage_of
from skillstream_tga_ingest.parser import ParseError, parse_unit

from .conftest import real_xml

UNIT, QUAL = ComponentType.UNIT, ComponentType.QUALIFICATION
AT = dt.datetime(2026, 11, 2, tzinfo=dt.UTC)


def test_item_keys_and_groups() -> None:
    assert parse_item_key("unit:BSBCMM412") == Item(UNIT, "BSBCMM412", "unit")
    assert parse_item_key("unit:BSBCMM412", by_package=True).group == "BSB"
    assert group_of(ComponentType.TRAINING_PACKAGE, "BSB", by_package=True) == "BSB"
    assert Item(UNIT, "BSBCMM412", "unit").subject == "tga.unit.BSBCMM412"
    for bad in ("BSBCMM412", "unit:", "course:X"):
        with pytest.raises(ValueError):  # noqa: PT011 - both "not an item key" and an unknown type
            parse_item_key(bad)
    assert [i.code for i in items_for(UNIT, [" bsbcmm412", "BSBCMM412", "", "rii"])] == ["BSBCMM412", "RII"]


def test_the_second_phase_takes_each_listed_component_once_under_the_first_package() -> None:
    bsb = PackageDownloaded(
        code="BSB", title="", usage_recommendation=UsageRecommendation.CURRENT, unit_codes=["BSBCMM412", "X1"]
    )
    other = PackageDownloaded(code="XXX", title="", usage_recommendation=UsageRecommendation.CURRENT, unit_codes=["X1"])
    first = [Item(ComponentType.TRAINING_PACKAGE, "BSB", "BSB"), Item(UNIT, "BSBCMM412", "BSB")]
    second = second_phase(first, [*package_items(bsb, "BSB"), *package_items(other, "XXX")])
    assert second == [Item(UNIT, "X1", "BSB")]
    assert groups_of([*first, *second]) == {"BSB": 3}


def test_catalogue_pages_hold_at_most_a_page_and_an_empty_listing_is_one_page() -> None:
    entries = [CatalogueEntry(code=f"U{i}", title="t", component_type=UNIT) for i in range(CATALOGUE_PAGE + 1)]
    pages = catalogue_pages(UNIT, entries, refresh_id="r")
    assert [(p.page_number, p.page_count, len(p.entries), p.total) for p in pages] == [
        (1, 2, CATALOGUE_PAGE, CATALOGUE_PAGE + 1),
        (2, 2, 1, CATALOGUE_PAGE + 1),
    ]
    (empty,) = catalogue_pages(QUAL, [], refresh_id="r", since=AT)
    assert (empty.page_count, empty.entries, empty.modified_since) == (1, [], AT)


def test_the_sync_window_starts_where_the_last_sync_ended_unless_given() -> None:
    last = SyncCompleted(job_id="j", since=AT - dt.timedelta(days=1), until=AT)
    assert sync_since(None, [last]) == AT
    assert sync_since("2026-06-01T00:00:00Z", [last]) == dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
    assert sync_since("2026-06-01T00:00:00", []).tzinfo == dt.UTC
    with pytest.raises(ValueError, match="no previous sync"):
        sync_since(None, [])


def test_only_changed_components_held_as_that_type_are_downloaded_again() -> None:
    rows = [
        ComponentSummary(code="BSBCMM412", title="", component_types=["Unit"]),
        ComponentSummary(code="BSB41419", title="", component_types=["Qualification"]),
        ComponentSummary(code="10001NAT", title="", component_types=["AccreditedCourse"]),
    ]
    changed = changed_by_type(rows)
    assert [s.code for s in changed[UNIT]] == ["BSBCMM412"]
    assert sum(len(v) for v in changed.values()) == 2
    assert redownloads(changed, {"BSBCMM412": UNIT, "BSB41419": UNIT}) == [Item(UNIT, "BSBCMM412", "unit")]


def test_a_deletion_row_becomes_a_physical_or_logical_mark() -> None:
    physical = deletion(DeletedComponent(national_code="X", operation="PhysicalDelete"), UNIT, AT)
    assert (physical.operation, physical.deleted_at) == (DeleteOperation.PHYSICAL, AT)
    logical = deletion(DeletedComponent(national_code="X", operation="LogicalDelete", updated_at=AT), UNIT, AT)
    assert logical.operation is DeleteOperation.LOGICAL


def test_tga_vocabulary() -> None:
    assert component_type_of("Skill Set") is ComponentType.SKILL_SET
    assert component_type_of("AccreditedCourse") is None
    assert usage_of(" Superseded ") is UsageRecommendation.SUPERSEDED
    assert usage_of("Obsolete") is UsageRecommendation.UNKNOWN


def _details(code: str, release: Release | None, **more: object) -> ComponentDetails:
    periods = [UsageRecommendationPeriod(state="Current")]
    return ComponentDetails(
        code=code,
        title=code,
        component_types=["Qualification"],
        releases=[release] if release else [],
        usage_recommendations=periods,
        **more,  # type: ignore[arg-type]
    )


def test_a_component_without_an_xml_file() -> None:
    grid = [UnitGridEntry(code="BSBCMM412", title="", is_essential=True), UnitGridEntry(code="X1", title="")]
    release = Release(release_number="2", unit_grid=grid)
    qualification = details_only(QUAL, _details("BSB41419", release), release)
    assert isinstance(qualification.event, QualificationDownloaded)
    assert (qualification.event.core_units, qualification.event.elective_units) == (["BSBCMM412"], ["X1"])
    assert (qualification.event.release, qualification.event.training_package) == ("2", "BSB")
    unit = details_only(UNIT, _details("BSBCMM412", None), None).event
    assert isinstance(unit, ComponentDownloadFailed)
    assert unit.reason == "BSBCMM412: TGA lists no release to parse"
    assert (outcome_of(unit), reason_of(unit), counts_of(unit)["download_failures"]) == (
        ItemOutcome.FAILED,
        unit.reason,
        1,
    )


def test_a_file_is_refused_when_it_describes_another_component_or_is_malformed() -> None:
    source = SourceFile(relative_path="BSB/x.xml", size=10, sha256="0" * 64, raw_key="0" * 64)
    other = parsed_download(UNIT, "BSBESB302", parse_unit(real_xml("BSBCMM412")), source, release="1").event
    assert isinstance(other, UnitParseFailed)
    assert other.failure is ParseFailure.NOT_AUTHORIT
    assert other.reason == "the file describes BSBCMM412, not BSBESB302"
    as_qualification = parsed_download(QUAL, "BSBCMM412", parse_unit(real_xml("BSBCMM412")), source).event
    assert isinstance(as_qualification, UnitParseFailed)
    assert as_qualification.reason == "expected a qualification document, found a unit"
    error = ParseError(ParseFailure.MALFORMED, "line 1, column 1: Document is empty")
    malformed = parsed_download(UNIT, "BSBCMM412", error, source).event
    assert reason_of(malformed) == "malformed: line 1, column 1: Document is empty"
    assert size_of(malformed) == 10


def test_mappings_supersede_older_codes_once() -> None:
    mappings = [
        Mapping(code="BSBCMM412", maps_to_code="BSBCMM401"),
        Mapping(code="BSBCMM412", maps_to_code="BSBCMM401", is_equivalent=True),
        Mapping(code="BSBCMM412", maps_to_code="BSBCMM412"),
    ]
    marks = supersessions(UNIT, _details("BSBCMM412", None, mappings=mappings))
    assert [(m.code, m.superseded_by) for m in marks] == [("BSBCMM401", "BSBCMM412")]
