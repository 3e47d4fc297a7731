"""GetDetails content against the real files: codes, titles, releases, RelativePaths, sizes, parents,
package components, the unit grid, and the InformationRequest flags."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from lxml import etree

from .conftest import ALL_FLAGS, NS, XSI, Reply, Soap

R = "t:GetDetailsResult"
AUTHORIT = {"a": "http://www.authorit.com/xml/authorit"}
RELEASE = f"{R}/t:Releases/t:Release"


def _is_nil(reply: Reply, path: str) -> bool:
    element = reply.find(path)
    return element is not None and element.get("{http://www.w3.org/2001/XMLSchema-instance}nil") == "true"


@pytest.mark.parametrize(
    ("code", "folder", "title", "release", "relative_path", "usage", "parent"),
    [
        # Titles, releases and usage: the files' Book variables; paths and sizes: SOURCES.md's table.
        ("BSBCMM412", "units", "Lead difficult conversations", "2", "BSB\\BSBCMM412_Complete_R2.xml", "Current", "BSB"),
        (
            "WRWSL201A",
            "units",
            "Sell products and services to business customers",
            "1",
            "WRW01\\WRWSL201A_R1.xml",
            "Superseded",
            "WRW01",
        ),
        (
            "CPCCBC4047A",
            "units",
            "Quality assure fire-rated lining systems",
            "1",
            "CPC08\\CPCCBC4047A_R1.xml",
            "Current",
            "CPC08",
        ),
        (
            "RIIDES301D",
            "units",
            "Inspect, test and maintain diesel engine systems and their ancillary systems",
            "2",
            "RII\\RIIDES301D_Complete_R2.xml",
            "Current",
            "RII",
        ),
        (
            "BSB41419",
            "qualifications",
            "Certificate IV in Work Health and Safety",
            "2",
            "BSB\\BSB41419_R2.xml",
            "Current",
            "BSB",
        ),
        # Not recorded in SOURCES.md: derived by TGA's naming rules (TGA-FORMAT.md §1.5).
        (
            "AHC30921",
            "qualifications",
            "Certificate III in Landscape Construction",
            "2",
            "AHC\\AHC30921_R2.xml",
            "Current",
            "AHC",
        ),
        (
            "CHCCEL005",
            "units",
            "Establish and maintain marriage celebrancy practice",
            "1",
            "CHC\\CHCCEL005_Complete_R1.xml",
            "Current",
            "CHC",
        ),
    ],
)
def test_component_with_a_real_file(
    soap: Soap,
    tga_dir: Path,
    code: str,
    folder: str,
    title: str,
    release: str,
    relative_path: str,
    usage: str,
    parent: str,
) -> None:
    reply = soap.details(code, "ShowReleases", "ShowFiles", "ShowUsageRecommendation")
    assert reply.status == 200
    assert reply.text(f"{R}/t:Code") == code
    assert reply.text(f"{R}/t:Title") == title
    assert reply.text(f"{R}/t:ParentCode") == parent
    assert reply.text(f"{RELEASE}/t:ReleaseNumber") == release
    assert reply.text(f"{RELEASE}/t:Currency") == "Current"
    assert reply.find(f"{RELEASE}/t:ReleaseDate") is None  # the files state no release date
    assert reply.all(f"{RELEASE}/t:Files/t:ReleaseFile/t:RelativePath") == [relative_path]
    size = (tga_dir / folder / f"{code}_XML.xml").stat().st_size
    assert reply.all(f"{RELEASE}/t:Files/t:ReleaseFile/t:Size") == [str(size)]
    assert reply.all(f"{R}/t:UsageRecommendations/t:UsageRecommendation/t:State") == [usage]


def test_sizes_match_the_sources_table(soap: Soap) -> None:
    # SOURCES.md §1/§2 "Size (bytes)" column.
    for code, size in {"BSBCMM412": "255483", "WRWSL201A": "189620", "RII30920": "340041"}.items():
        assert soap.details(code, "ShowReleases", "ShowFiles").text(f"{RELEASE}/t:Files/t:ReleaseFile/t:Size") == size


def test_parent_title_comes_from_data_txt(soap: Soap, packages: list[dict[str, str]]) -> None:
    titles = {p["code"]: p["title"] for p in packages}
    assert soap.details("BSBCMM412").text(f"{R}/t:ParentTitle") == titles["BSB"]
    assert soap.details("CPCCBC4047A").text(f"{R}/t:ParentTitle") == titles["CPC08"]
    assert _is_nil(soap.details("WRWSL201A"), f"{R}/t:ParentTitle")  # WRW01 is not among data.txt's packages


def test_dump_qualification_has_a_release_without_files(soap: Soap, dump_rows: list[tuple[str, str, str]]) -> None:
    tp, code, title = next(row for row in dump_rows if row[1] == "ACM50210")
    reply = soap.details(code, *ALL_FLAGS)
    assert (reply.text(f"{R}/t:Title"), reply.text(f"{R}/t:ParentCode")) == (title, tp)
    assert reply.find(f"{RELEASE}/t:Files") is not None
    assert reply.all(f"{RELEASE}/t:Files/t:ReleaseFile/t:RelativePath") == []
    assert _is_nil(reply, f"{RELEASE}/t:ReleaseNumber")
    assert _is_nil(reply, f"{RELEASE}/t:UnitGrid")  # unknown, not empty


def test_dump_title_with_an_escaped_quote(soap: Soap, dump_rows: list[tuple[str, str, str]]) -> None:
    _, code, title = next(row for row in dump_rows if "'" in row[2])
    assert soap.details(code).text(f"{R}/t:Title") == title


def test_training_package_release_and_components(
    soap: Soap, packages: list[dict[str, str]], dump_rows: list[tuple[str, str, str]], xml_codes: dict[str, set[str]]
) -> None:
    fsk = next(p for p in packages if p["code"] == "FSK")
    expected = {code for tp, code, _ in dump_rows if tp == "FSK"} | {
        c for c in xml_codes["units"] if c.startswith("FSK")
    }
    assert "FSKNUM040" in expected
    reply = soap.details("FSK", "ShowReleases", "ShowComponents", "ShowFiles", "ShowUsageRecommendation")
    assert reply.text(f"{R}/t:Title") == fsk["title"]
    assert reply.text(f"{RELEASE}/t:ReleaseDate") == fsk["release_date"]
    assert reply.all(f"{RELEASE}/t:Files/t:ReleaseFile") == []  # no training-package XML exists
    components = reply.all(f"{RELEASE}/t:Components/t:ReleaseComponent/t:Code")
    assert set(components) == expected
    assert len(components) == len(expected)
    types = dict(zip(components, reply.all(f"{RELEASE}/t:Components/t:ReleaseComponent/t:Type"), strict=True))
    assert types["FSKNUM040"] == "Unit"
    assert reply.text(f"{R}/t:UsageRecommendations/t:UsageRecommendation/t:StartDate") == fsk["release_date"]


def test_versioned_package_lists_its_own_components(soap: Soap, dump_rows: list[tuple[str, str, str]]) -> None:
    expected = {code for tp, code, _ in dump_rows if tp == "CPC08"} | {"CPCCBC4047A", "CPCCSI2005A"}
    reply = soap.details("CPC08", "ShowReleases", "ShowComponents")
    assert set(reply.all(f"{RELEASE}/t:Components/t:ReleaseComponent/t:Code")) == expected


def test_flags_are_honoured(soap: Soap) -> None:
    bare = soap.details("BSBCMM412")
    for member in ("Releases", "UsageRecommendations", "MappingInformation", "Classifications", "Contacts"):
        assert _is_nil(bare, f"{R}/t:{member}"), member
    releases_only = soap.details("BSBCMM412", "ShowReleases")
    assert _is_nil(releases_only, f"{RELEASE}/t:Files")
    assert _is_nil(releases_only, f"{RELEASE}/t:UnitGrid")
    assert _is_nil(releases_only, f"{RELEASE}/t:Components")
    mapping = soap.details("BSBCMM412", "ShowMappingInformation")
    assert mapping.find(f"{R}/t:MappingInformation") is not None
    assert not _is_nil(mapping, f"{R}/t:MappingInformation")


def test_dates_are_wcf_datetimeoffsets(soap: Soap, packages: list[dict[str, str]]) -> None:
    fsk = next(p for p in packages if p["code"] == "FSK")  # release_date 2013-03-14
    reply = soap.details("FSK")
    # Midnight in Canberra (UTC+10) written as UTC plus the offset: 14:00Z the day before.
    day_before = dt.date.fromisoformat(fsk["release_date"]) - dt.timedelta(days=1)
    assert reply.text(f"{R}/t:UpdatedDate/b:DateTime") == f"{day_before.isoformat()}T14:00:00Z"
    assert reply.text(f"{R}/t:UpdatedDate/b:OffsetMinutes") == "600"


def _grid(reply: Reply) -> dict[str, tuple[str | None, str | None]]:
    """``code → (Title, IsEssential)`` of a GetDetails reply's UnitGrid, in reply order."""
    return {
        e.findtext("t:Code", namespaces=NS) or "": (
            e.findtext("t:Title", namespaces=NS),
            e.findtext("t:IsEssential", namespaces=NS),
        )
        for e in reply.payload.iterfind(".//t:UnitGridEntry", NS)
    }


def _packaging_rules_text(path: Path) -> str:
    """The text of a qualification file's Packaging Rules topic (test-side reading, whitespace collapsed)."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    root = etree.parse(str(path), parser).getroot()
    for topic in root.iterfind("a:Objects/a:Topic", AUTHORIT):
        if topic.findtext("a:Object/a:Description", namespaces=AUTHORIT) == "Packaging Rules":
            return " ".join(" ".join(topic.itertext()).split())
    raise AssertionError(f"{path.name} has no Packaging Rules topic")


def test_unit_grid_of_a_real_qualification(soap: Soap, tga_dir: Path) -> None:
    # BSB41419's Packaging Rules: "5 core units plus 5 elective units"; the units are <p id="4">CODE Title</p>
    # lines under the "Core units" and "Elective units" (Group A, Group B) headings.
    text = (tga_dir / "qualifications" / "BSB41419_XML.xml").read_text(encoding="utf-8")
    core_block, elective_block = text.split('<cs id="24">Core units</cs>', 1)[1].split("Elective units", 1)
    line = r'<p id="4">([A-Z]{3}[A-Z0-9]+) ([^<]+?)\s*</p>'
    core = dict(re.findall(line, core_block))
    electives = dict(re.findall(line, elective_block))
    assert (len(core), len(electives)) == (5, 17)
    assert "BSBWHS412" in core
    assert "TAEDEL301" in electives
    reply = soap.details("BSB41419", "ShowReleases", "ShowUnitGrid")
    assert list(_grid(reply).items()) == [(code, (title, "true")) for code, title in core.items()] + [
        (code, (title, "false")) for code, title in electives.items()
    ]
    entries = reply.payload.findall(f".//{{{NS['t']}}}UnitGridEntry")
    assert all(e.get(f"{{{XSI}}}type") == "UnitGridEntry3" for e in entries)


def test_core_units_match_the_count_the_rules_state(soap: Soap, xml_codes: dict[str, set[str]], tga_dir: Path) -> None:
    # Every real qualification states its core count in words ("5 core units plus", "14 core units of
    # competency.", "7 core and 3 elective units"); the grid's IsEssential entries must number exactly that.
    assert len(xml_codes["qualifications"]) == 39
    wrong: dict[str, tuple[set[int], int]] = {}
    for code in sorted(xml_codes["qualifications"]):
        rules = _packaging_rules_text(tga_dir / "qualifications" / f"{code}_XML.xml")
        stated = {int(n) for n in re.findall(r"\b(\d+) core\b", rules, re.IGNORECASE)}
        grid = _grid(soap.details(code, "ShowReleases", "ShowUnitGrid"))
        core = sum(1 for _, essential in grid.values() if essential == "true")
        if stated != {core} or code in grid:  # RII30920, ICT30419… name themselves on testamur lines
            wrong[code] = (stated, core)
    assert wrong == {}


def test_units_named_only_as_prerequisites_are_not_in_the_grid(soap: Soap, tga_dir: Path) -> None:
    # AUR31220 lists AURETH002 as an elective; AURETH001 appears only in the prerequisite table after the lists
    # ("UNIT IN THIS QUALIFICATION | PREREQUISITE UNIT": AURETH002 … | AURETH001 …).
    text = _packaging_rules_text(tga_dir / "qualifications" / "AUR31220_XML.xml")
    assert "AURETH001 Depower and reinitialise battery electric vehicles" in text
    grid = _grid(soap.details("AUR31220", "ShowReleases", "ShowUnitGrid"))
    # The list writes the prerequisite star after the title ("… vehicles*"); the grid keeps the title as stated.
    assert grid["AURETH002"] == ("Service and maintain battery electric vehicles*", "false")
    assert "AURETH001" not in grid


def test_qualification_with_only_core_units(soap: Soap) -> None:
    # CPP20218: "14 units of competency: 14 core units of competency." and a single "Core units" table.
    grid = _grid(soap.details("CPP20218", "ShowReleases", "ShowUnitGrid"))
    assert len(grid) == 14
    assert {essential for _, essential in grid.values()} == {"true"}
    assert grid["HLTAID011"] == ("Provide first aid", "true")


def test_unit_grid_titles_from_a_packaging_rules_table_and_from_unit_files(soap: Soap, tga_dir: Path) -> None:
    # CPC30220 states its units as table rows: <td><p id="4">CPCCCA3001*</p></td><td><p id="4">Title</p></td>.
    text = (tga_dir / "qualifications" / "CPC30220_XML.xml").read_text(encoding="utf-8")
    row = re.search(r'<p id="4">CPCCCA3001\*</p>\s*</td>\s*<td[^>]*>\s*<p id="4">([^<]+)</p>', text)
    assert row is not None
    grid = _grid(soap.details("CPC30220", "ShowReleases", "ShowUnitGrid"))
    assert grid["CPCCCA3001"] == (row.group(1), "true")
    assert all(title for title, _ in grid.values()), [code for code, (title, _) in grid.items() if not title]
    rii = _grid(soap.details("RII20120", "ShowReleases", "ShowUnitGrid"))
    assert rii["RIICOM201E"][0] == "Communicate in the workplace"  # RIICOM201E_XML.xml's Book Title
    cpc = _grid(soap.details("CPC40120", "ShowReleases", "ShowUnitGrid"))
    # CPCCBC4002_XML.xml's Book Title (one of the 32 real unit files).
    assert cpc["CPCCBC4002"][0] == "Manage work health and safety in the building and construction workplace"
    # Listed as "CPCCBC4010* | Apply structural … constructions"; its prerequisite row adds a full stop.
    assert cpc["CPCCBC4010"] == ("Apply structural principles to residential and commercial constructions", "true")
