"""``skillstream tga parse``: the operator's JSON for real files, and a clear error for a refused one."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from skillstream_runtime.realdata import real_data
from skillstream_tga_ingest.cli import app

runner = CliRunner()


def test_parse_prints_each_real_file_as_operator_json() -> None:
    unit = real_data("tga", "units", "CPCCBC4047A_XML.xml")
    qualification = real_data("tga", "qualifications", "BSB41419_XML.xml")
    result = runner.invoke(app, ["parse", str(unit), str(qualification)])
    assert result.exit_code == 0, result.output
    first, second = (json.loads(line) for line in result.stdout.splitlines())
    assert list(first)[:11] == [
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
    ]
    assert (first["code"], first["release"], first["format"]) == ("CPCCBC4047A", "1", "pre-2012")
    assert first["elements"][0]["number"] == "1"
    assert first["elements"][0]["performance_criteria"][0]["number"] == "1.1"
    assert first["critical_aspects"], "a pre-2012 unit states its critical aspects"
    assert second["code"] == "BSB41419"
    assert len(second["core_units"]) == 5
    assert len(second["elective_units"]) > 5


def test_parse_reports_a_refused_file_and_keeps_going(tmp_path: Path) -> None:
    bad = tmp_path / "laughs.xml"
    bad.write_text('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>')
    good = real_data("tga", "units", "BSBCMM412_XML.xml")
    result = runner.invoke(app, ["parse", str(bad), str(good)])
    assert result.exit_code == 1
    refused, parsed = (json.loads(line) for line in result.stdout.splitlines())
    assert refused["file"] == str(bad)
    assert refused["failure"] == "unsafe"
    assert "DOCTYPE" in refused["error"]
    assert parsed["code"] == "BSBCMM412"
    assert parsed["format"] == "2012"
