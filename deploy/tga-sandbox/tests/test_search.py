"""Search paging and filters, SearchByModifiedDate windows, deletions — expected values from the real data."""

from __future__ import annotations

import datetime as dt
import time

from skillstream_tga_sandbox import SandboxServer

from .conftest import NS, Soap, date_offset

QUALIFICATIONS = "<TrainingComponentTypes><IncludeQualification>true</IncludeQualification></TrainingComponentTypes>"
PACKAGES = "<TrainingComponentTypes><IncludeTrainingPackage>true</IncludeTrainingPackage></TrainingComponentTypes>"
UNITS = "<TrainingComponentTypes><IncludeUnit>true</IncludeUnit></TrainingComponentTypes>"
# Every qualification, the superseded ones too (a real file's Mapping Information supersedes dump rows).
ALL_QUALIFICATIONS = "<IncludeSuperseeded>true</IncludeSuperseeded>" + QUALIFICATIONS
SUMMARY_CODE = "t:SearchResult/t:Results/t:TrainingComponentSummary/t:Code"


def _expected_qualifications(dump_rows: list[tuple[str, str, str]], xml_codes: dict[str, set[str]]) -> set[str]:
    return {code for _, code, _ in dump_rows} | xml_codes["qualifications"]


def test_count_is_every_distinct_qualification(
    soap: Soap, dump_rows: list[tuple[str, str, str]], xml_codes: dict[str, set[str]]
) -> None:
    assert len(dump_rows) == 3688  # SOURCES.md §3: 3,688 qualification rows (some codes repeat)
    expected = _expected_qualifications(dump_rows, xml_codes)
    reply = soap.search(ALL_QUALIFICATIONS, page=1, size=10)
    assert reply.text("t:SearchResult/t:Count") == str(len(expected))
    assert (reply.text("t:SearchResult/t:PageNumber"), reply.text("t:SearchResult/t:PageSize")) == ("1", "10")


def test_paging_through_all_qualifications_is_complete_and_fast(
    soap: Soap, dump_rows: list[tuple[str, str, str]], xml_codes: dict[str, set[str]]
) -> None:
    expected = _expected_qualifications(dump_rows, xml_codes)
    size = 1000
    pages = -(-len(expected) // size)
    started = time.perf_counter()
    seen: list[str] = []
    for number in range(1, pages + 1):
        seen += soap.search(ALL_QUALIFICATIONS, page=number, size=size).all(SUMMARY_CODE)
    elapsed = time.perf_counter() - started
    assert sorted(seen) == seen  # ordered by code, so pages never overlap
    assert set(seen) == expected
    assert len(seen) == len(expected)
    last = soap.search(ALL_QUALIFICATIONS, page=pages, size=size).all(SUMMARY_CODE)
    assert len(last) == len(expected) - (pages - 1) * size
    assert elapsed < 3.0, f"{pages} pages of {size} took {elapsed:.2f}s"


def test_page_past_the_end_is_empty_with_the_count(soap: Soap, packages: list[dict[str, str]]) -> None:
    reply = soap.search("<IncludeSuperseeded>true</IncludeSuperseeded>" + PACKAGES, page=3, size=50)
    assert reply.all(SUMMARY_CODE) == []
    assert reply.find("t:SearchResult/t:Results") is not None
    assert reply.text("t:SearchResult/t:Count") == str(len(packages))


def test_page_size_is_capped_and_defaulted(soap: Soap) -> None:
    capped = soap.search(QUALIFICATIONS, page=1, size=5000)
    assert capped.text("t:SearchResult/t:PageSize") == "1000"
    assert len(capped.all(SUMMARY_CODE)) == 1000
    defaulted = soap.search(QUALIFICATIONS)
    assert (defaulted.text("t:SearchResult/t:PageNumber"), defaulted.text("t:SearchResult/t:PageSize")) == ("1", "100")


# The pre-2012 versioned packages of data.txt that a package released later supersedes (same three-letter stem,
# else the same title): skillstream_tga_sandbox.lineage.package_successors. LGA04 and UET12 have none.
SUPERSEDED_PACKAGES = {"ACM10", "CPC08", "CPP07", "LMT07", "MEM05", "MSA07", "SIS10", "UEE11"}


def test_packages_match_data_txt(soap: Soap, packages: list[dict[str, str]]) -> None:
    reply = soap.search("<IncludeSuperseeded>true</IncludeSuperseeded>" + PACKAGES, page=1, size=100)
    rows = reply.payload.findall(".//t:TrainingComponentSummary", NS)
    got = {r.findtext("t:Code", namespaces=NS): r.findtext("t:Title", namespaces=NS) for r in rows}
    assert got == {p["code"]: p["title"] for p in packages}
    assert {r.findtext("t:ComponentType", namespaces=NS) for r in rows} == {"TrainingPackage"}
    usage = {r.findtext("t:Code", namespaces=NS): r.findtext("t:UsageReccomendation", namespaces=NS) for r in rows}
    assert {c for c, u in usage.items() if u == "Superseded"} == SUPERSEDED_PACKAGES
    assert {c for c, u in usage.items() if u == "Current"} == set(got) - SUPERSEDED_PACKAGES
    current = soap.search(PACKAGES, page=1, size=100).all(SUMMARY_CODE)
    assert set(current) == set(got) - SUPERSEDED_PACKAGES


def test_superseded_need_include_superseeded(soap: Soap) -> None:
    # BSBITU111's and WRWSL201A's Book variable UsageRecommendation is "superseded".
    filt = "<SearchCode>true</SearchCode>"
    assert soap.search(filt, flt="BSBITU111").all(SUMMARY_CODE) == []
    found = soap.search(filt + "<IncludeSuperseeded>true</IncludeSuperseeded>", flt="BSBITU111")
    assert found.all(SUMMARY_CODE) == ["BSBITU111"]
    assert found.text("t:SearchResult/t:Results/t:TrainingComponentSummary/t:IsCurrent") == "false"
    assert found.text("t:SearchResult/t:Results/t:TrainingComponentSummary/t:UsageReccomendation") == "Superseded"


def test_filter_by_code_or_title(soap: Soap, xml_codes: dict[str, set[str]]) -> None:
    by_code = soap.search(
        UNITS + "<IncludeSuperseeded>true</IncludeSuperseeded><SearchCode>true</SearchCode>", flt="bsb", size=100
    )
    assert set(by_code.all(SUMMARY_CODE)) == {c for c in xml_codes["units"] if c.startswith("BSB")}
    by_title = soap.search(UNITS + "<SearchTitle>true</SearchTitle>", flt="difficult conversations")
    assert by_title.all(SUMMARY_CODE) == ["BSBCMM412"]
    title_only = soap.search(UNITS + "<SearchTitle>true</SearchTitle>", flt="BSBCMM412")
    assert title_only.all(SUMMARY_CODE) == []


def test_modified_window_finds_the_packages_released_that_year(soap: Soap, packages: list[dict[str, str]]) -> None:
    # Canberra's 2013 as UTC instants; packages are dated at midnight of data.txt's release_date there.
    window = date_offset("EndDate", "2013-12-31T13:59:59Z", 600) + date_offset("StartDate", "2012-12-31T14:00:00Z", 600)
    reply = soap.call(
        "SearchByModifiedDate",
        f"<request><PageNumber>1</PageNumber><PageSize>100</PageSize>{window}{PACKAGES}</request>",
    )
    expected = {p["code"] for p in packages if p["release_date"].startswith("2013-")}
    assert expected
    assert set(reply.all("t:SearchByModifiedDateResult/t:Results/t:TrainingComponentSummary/t:Code")) == expected
    assert reply.text("t:SearchByModifiedDateResult/t:Count") == str(len(expected))


def test_modified_window_of_the_dump_day_holds_every_dump_qualification(
    soap: Soap, dump_rows: list[tuple[str, str, str]]
) -> None:
    # The dump header: "Generation Time: Jul 31, 2016 at 10:10 AM".
    window = date_offset("StartDate", "2016-07-31T00:00:00Z") + date_offset("EndDate", "2016-07-31T23:59:59Z")
    reply = soap.call(
        "SearchByModifiedDate",
        f"<request><PageNumber>1</PageNumber><PageSize>1</PageSize>{window}{QUALIFICATIONS}</request>",
    )
    assert reply.text("t:SearchByModifiedDateResult/t:Count") == str(len({code for _, code, _ in dump_rows}))
    assert (
        reply.text("t:SearchByModifiedDateResult/t:Results/t:TrainingComponentSummary/t:UpdatedDate/b:DateTime")
        == "2016-07-31T10:10:00Z"
    )


def test_a_modified_component_shows_up_in_an_incremental_window(tga: SandboxServer, soap: Soap) -> None:
    later = dt.datetime(2030, 5, 1, 12, 0, tzinfo=dt.UTC)
    window = date_offset("StartDate", "2030-05-01T00:00:00Z") + date_offset("EndDate", "2030-05-02T00:00:00Z")
    request = f"<request><PageNumber>1</PageNumber><PageSize>100</PageSize>{window}</request>"
    assert (
        soap.call("SearchByModifiedDate", request).all(
            "t:SearchByModifiedDateResult/t:Results/t:TrainingComponentSummary/t:Code"
        )
        == []
    )
    tga.mark_modified("BSBCMM412", later)
    reply = soap.call("SearchByModifiedDate", request)
    assert reply.all("t:SearchByModifiedDateResult/t:Results/t:TrainingComponentSummary/t:Code") == ["BSBCMM412"]
    details = soap.details("BSBCMM412")
    assert details.text("t:GetDetailsResult/t:UpdatedDate/b:DateTime") == "2030-05-01T12:00:00Z"
    tga.reset()
    assert (
        soap.call("SearchByModifiedDate", request).all(
            "t:SearchByModifiedDateResult/t:Results/t:TrainingComponentSummary/t:Code"
        )
        == []
    )


def test_deletions_are_listed_in_their_window(tga: SandboxServer, soap: Soap) -> None:
    tga.mark_deleted("CPCCSI2005A", "PhysicalDelete", dt.datetime(2024, 3, 5, 1, 2, 3, tzinfo=dt.UTC))
    tga.mark_deleted("BSBITU111", "LogicalDelete", dt.datetime(2024, 6, 1, tzinfo=dt.UTC))
    march = date_offset("EndDate", "2024-04-01T00:00:00Z") + date_offset("StartDate", "2024-03-01T00:00:00Z")
    reply = soap.call("SearchDeletedByDeletedDate", f"<request>{march}</request>")
    rows = reply.payload.findall(".//t:DeletedTrainingComponent", NS)
    assert [(r.findtext("t:NationalCode", namespaces=NS), r.findtext("t:Operation", namespaces=NS)) for r in rows] == [
        ("CPCCSI2005A", "PhysicalDelete")
    ]
    assert rows[0].findtext("t:UpdatedDate/b:DateTime", namespaces=NS) == "2024-03-05T01:02:03Z"
    everything = soap.call("SearchDeletedByDeletedDate", "<request/>")
    assert everything.all("t:SearchDeletedByDeletedDateResult/t:DeletedTrainingComponent/t:NationalCode") == [
        "CPCCSI2005A",
        "BSBITU111",
    ]


def test_physical_delete_hides_logical_delete_marks(tga: SandboxServer, soap: Soap) -> None:
    tga.mark_deleted("CPCCSI2005A", "PhysicalDelete")
    tga.mark_deleted("BSBCMM412", "LogicalDelete")
    gone = soap.details("CPCCSI2005A")
    assert gone.status == 500
    assert gone.payload.findtext(".//{http://training.gov.au/services/}Code") == "NotFound"
    assert soap.search("<SearchCode>true</SearchCode>", flt="CPCCSI2005A").all(SUMMARY_CODE) == []
    assert soap.search("<SearchCode>true</SearchCode>", flt="BSBCMM412").all(SUMMARY_CODE) == []
    included = soap.search("<SearchCode>true</SearchCode><IncludeDeleted>true</IncludeDeleted>", flt="BSBCMM412")
    assert included.all(SUMMARY_CODE) == ["BSBCMM412"]
    assert included.text("t:SearchResult/t:Results/t:TrainingComponentSummary/t:UsageReccomendation") == "Deleted"
    states = soap.details("BSBCMM412", "ShowUsageRecommendation").all(
        "t:GetDetailsResult/t:UsageRecommendations/t:UsageRecommendation/t:State"
    )
    assert states == ["Current", "Deleted"]
