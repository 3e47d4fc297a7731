"""Every real unit (32) and qualification (39) file in ``real-data/tga`` parses, and the operator JSON has the
shape the ``skillstream tga parse`` command prints."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from skillstream_runtime.realdata import real_data
from skillstream_tga_ingest.parser import ParsedQualification, ParsedUnit, parse_component, to_operator_json

UNIT_FILES = sorted(real_data("tga", "units").glob("*_XML.xml"))
QUALIFICATION_FILES = sorted(real_data("tga", "qualifications").glob("*_XML.xml"))

UNIT_KEYS = [
    "code",
    "title",
    "release",
    "format",
    "elements",
    "critical_aspects",
    "required_skills",
    "required_knowledge",
    "performance_evidence",
    "knowledge_evidence",
    "assessment_conditions",
    "foundation_skills",
]
QUALIFICATION_KEYS = ["code", "title", "core_units", "elective_units"]
UNIT_CODE = re.compile(r"[A-Z]{3,}[0-9]{2,}[A-Z]?")


def test_the_real_data_is_all_there() -> None:
    assert (len(UNIT_FILES), len(QUALIFICATION_FILES)) == (32, 39)


@pytest.mark.parametrize("path", UNIT_FILES, ids=lambda p: p.name)
def test_every_unit_file_parses(path: Path) -> None:
    unit = parse_component(path.read_bytes())
    assert isinstance(unit, ParsedUnit)
    assert unit.code == path.name.removesuffix("_XML.xml")
    assert unit.title
    assert unit.release.isdigit()
    assert unit.elements
    for element in unit.elements:
        assert re.fullmatch(r"\d+", element.number)
        assert element.title
        assert element.performance_criteria, element.number
        for criterion in element.performance_criteria:
            assert criterion.number.startswith(f"{element.number}.")
            assert not criterion.number.endswith(".")
            assert criterion.text
            assert criterion.text == " ".join(criterion.text.split())
    numbers = [int(element.number) for element in unit.elements]
    assert numbers == list(range(1, len(numbers) + 1))
    assert all(UNIT_CODE.fullmatch(code) for code in unit.prerequisites)


@pytest.mark.parametrize("path", QUALIFICATION_FILES, ids=lambda p: p.name)
def test_every_qualification_file_parses(path: Path) -> None:
    qualification = parse_component(path.read_bytes())
    assert isinstance(qualification, ParsedQualification)
    assert qualification.code == path.name.removesuffix("_XML.xml")
    assert qualification.aqf_level
    assert qualification.aqf_level.startswith("Certificate")
    assert qualification.core_units
    assert not set(qualification.core_units) & set(qualification.elective_units)
    assert qualification.code not in qualification.elective_units
    for group, codes in qualification.elective_groups.items():
        assert re.fullmatch(r"Group [A-Z]{1,2}", group)
        assert set(codes) <= set(qualification.elective_units)
    assert all(UNIT_CODE.fullmatch(code) for code in qualification.core_units + qualification.elective_units)


def test_unit_json() -> None:
    data = real_data("tga", "units", "CHCCDE024_XML.xml").read_bytes()
    out = to_operator_json(parse_component(data))
    assert list(out)[: len(UNIT_KEYS)] == UNIT_KEYS
    assert json.loads(json.dumps(out)) == out
    assert out["format"] == "2012"
    # the file writes "1." and "1.1."; the JSON has no trailing dots
    assert out["elements"][0] == {
        "number": "1",
        "title": "Respond to community priorities.",
        "performance_criteria": [
            {
                "number": "1.1",
                "text": "Plan and implement opportunities for stakeholders to identify and advance community "
                "priorities and aspirations.",
            },
            {"number": "1.2", "text": "Identify models of participation and action research methods."},
            {"number": "1.3", "text": "Identify, develop and agree on strategies for meeting community priorities."},
        ],
    }
    assert out["competency_field"] == "Community Development"


def test_pre_2012_unit_json_format() -> None:
    out = to_operator_json(parse_component(real_data("tga", "units", "WRWSL201A_XML.xml").read_bytes()))
    assert (out["format"], out["usage_recommendation"]) == ("pre-2012", "superseded")
    assert out["foundation_skills"] == []


def test_qualification_json() -> None:
    data = real_data("tga", "qualifications", "BSB41419_XML.xml").read_bytes()
    out = to_operator_json(parse_component(data))
    assert list(out)[: len(QUALIFICATION_KEYS)] == QUALIFICATION_KEYS
    assert json.loads(json.dumps(out)) == out
    assert out["core_units"] == ["BSBWHS412", "BSBWHS413", "BSBWHS414", "BSBWHS415", "BSBWHS416"]
    assert out["total_units"] == 10
    assert out["elective_groups"]["Group A"][0] == "BSBINS401"
