"""Qualifications (``StreamlineQualification``): unit lists from the Packaging Rules, read from the real files.

BSB41419 writes its lists as paragraphs under "Core units" / "Elective units" / "Group A" headings; CPC30220
and RII30920 use tables (RII30920: 36 elective groups, 9 specialisations, a prerequisite table).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from skillstream_contracts.tga import ParseFailure, UsageRecommendation
from skillstream_tga_ingest.parser import ParsedQualification, ParseError, parse_component, parse_qualification

BSB41419_CORE = ["BSBWHS412", "BSBWHS413", "BSBWHS414", "BSBWHS415", "BSBWHS416"]
BSB41419_GROUP_A = ["BSBINS401", "BSBWHS417", "BSBWHS418", "BSBWHS419", "BSBWHS431", "BSBWRT411"]
BSB41419_GROUP_B = [
    "BSBCMM411",
    "BSBLDR411",
    "BSBPMG420",
    "BSBSTR401",
    "BSBSTR402",
    "BSBSUS411",
    "PUACOM008",
    "PUAWHS003",
    "RIIWHS403D",
    "TAEASS301",
    "TAEDEL301",
]

CPC30220_CORE = [
    *(f"CPCCCA{n}" for n in (2002, 2011, 3001, 3002, 3003, 3004, 3005, 3006, 3007, 3008, 3010, 3016, 3017, 3024)),
    *("CPCCCA3025", "CPCCCA3028", "CPCCCM2006", "CPCCCM2008", "CPCCCM2012", "CPCCCO2013", "CPCCOM1012"),
    *("CPCCOM1014", "CPCCOM1015", "CPCCOM3001", "CPCCOM3006", "CPCCWHS2001", "CPCWHS3001"),
]
CPC30220_GROUP_A = [
    *(f"CPCCCA{n}" for n in (3009, 3012, 3014, 3018, 3019, 3020, 3022, 3027)),
    *("CPCCCM2002", "CPCCCM3001", "CPCCJN3003", "CPCCJN3004", "CPCCJN3100", "CPCCON3048", "CPCCSF2004"),
    *("CPCCWC3003", "CPCCWC3004"),
]
CPC30220_GROUP_B = [
    *("CPCCCA3011", "CPCCCA3026", "CPCCCM3005", "CPCCLSF2001", "CPCCOM1013", "CPCCPB3001", "CPCCPB3002"),
    *("CPCCSF2005", "CPCCSF3002", "CPCCSF3003", "CPCCSF3004", "CPCCST4001", "CPCCST4002", "CPCPCM2043"),
    *("CPCPCM2052", "CPCPCM2053"),
]


def test_bsb41419_paragraph_lists(qualification_xml: Callable[[str], bytes]) -> None:
    qualification = parse_qualification(qualification_xml("BSB41419"))
    assert (qualification.code, qualification.title, qualification.release) == (
        "BSB41419",
        "Certificate IV in Work Health and Safety",
        "2",
    )
    assert qualification.usage_recommendation is UsageRecommendation.CURRENT
    assert qualification.aqf_level == "Certificate IV"
    # "Total number of units = 10", "5 core units plus", "5 elective units, of which: …"
    assert qualification.total_units == 10
    assert qualification.core_units == BSB41419_CORE
    assert qualification.elective_groups == {"Group A": BSB41419_GROUP_A, "Group B": BSB41419_GROUP_B}
    assert qualification.elective_units == BSB41419_GROUP_A + BSB41419_GROUP_B
    assert "5 core units plus" in qualification.packaging_rules.split("\n")


def test_cpc30220_tables(qualification_xml: Callable[[str], bytes]) -> None:
    qualification = parse_qualification(qualification_xml("CPC30220"))
    assert (qualification.code, qualification.title, qualification.release, qualification.aqf_level) == (
        "CPC30220",
        "Certificate III in Carpentry",
        "6",
        "Certificate III",
    )
    # "34 units of competency: 27 core units, 7 electives" — the 7 chosen from Group A (17) and Group B (16).
    rules = qualification.packaging_rules.split("\n")
    assert {"34 units of competency:", "27 core units", "7 electives"} <= set(rules)
    assert qualification.total_units == 34
    assert qualification.core_units == CPC30220_CORE
    assert len(qualification.core_units) == 27
    assert qualification.elective_groups == {"Group A": CPC30220_GROUP_A, "Group B": CPC30220_GROUP_B}
    assert qualification.elective_units == CPC30220_GROUP_A + CPC30220_GROUP_B
    assert "CPCCCA2002* | Use carpentry tools and equipment" in rules  # the asterisk marks a prerequisite


def test_rii30920_specialisations_and_many_groups(qualification_xml: Callable[[str], bytes]) -> None:
    qualification = parse_qualification(qualification_xml("RII30920"))
    assert (qualification.code, qualification.title) == ("RII30920", "Certificate III in Civil Construction")
    assert qualification.core_units == [
        "RIIBEF201E",
        "RIICCM201E",
        "RIICCM203E",
        "RIICOM201E",
        "RIIRIS301E",
        "RIISAM203E",
        "RIISAM204E",
        "RIIWHS201E",
    ]
    # Each specialisation states "8 core units plus" and its own total (25, 26, 23, 29…): no single total.
    assert qualification.packaging_rules.count("8 core units plus") == 9
    assert qualification.total_units is None
    groups = qualification.elective_groups
    assert list(groups) == [
        *(f"Group {letter}" for letter in "ABCDEFGHIJKLMNOPQRSTUVWX"),
        *(f"Group Y{letter}" for letter in "ABCDEFGHIJK"),
        "Group Z",
    ]
    assert groups["Group A"] == [
        "RIICBS202E",
        "RIICBS301E",
        "RIICBS302E",
        "RIICBS303E",
        "RIICBS304E",
        "RIICBS305E",
        "RIICBS311E",
        "RIICBS313",
        "RIICCM207E",
    ]
    assert groups["Group YI"] == ["RIICTC301E", "RIICTC302E", "RIICTC303E", "RIICTC304E", "RIICTC305E", "RIICTC306"]
    assert len(groups["Group Z"]) == 60
    assert groups["Group Z"][-2:] == ["TLID3011", "TLILIC0003"]
    # Every elective once, in document order; RIICCM205F is listed in Groups C, D, I and Z.
    assert qualification.elective_units == list(dict.fromkeys(code for codes in groups.values() for code in codes))
    assert len(qualification.elective_units) == 194
    assert qualification.elective_units.count("RIICCM205F") == 1
    # The testamur list "RII30920 Certificate III in Civil Construction (…)" is not a unit.
    assert "RII30920" not in qualification.elective_units


def test_description_and_entry_requirements(qualification_xml: Callable[[str], bytes]) -> None:
    qualification = parse_qualification(qualification_xml("BSB41419"))
    lines = qualification.description.split("\n")
    assert len(lines) == 4
    assert lines[0].startswith("This qualification applies to individuals working in a work health and safety (WHS)")
    assert lines[2:] == [
        "Licensing/Regulatory Information",
        "No licensing, legislative or certification requirements apply to this qualification at the time of "
        "publication.",
    ]
    assert qualification.entry_requirements == "Nil"


def test_parse_component_decides_by_object_type(
    qualification_xml: Callable[[str], bytes], unit_xml: Callable[[str], bytes]
) -> None:
    assert isinstance(parse_component(qualification_xml("CPC30220")), ParsedQualification)
    with pytest.raises(ParseError) as refused:
        parse_qualification(unit_xml("BSBCMM412"))
    assert refused.value.failure is ParseFailure.NOT_AUTHORIT
    assert "no qualification Book" in refused.value.reason
