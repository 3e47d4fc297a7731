"""Supersession and training package releases as the real data states them: a file's Mapping Information
("Supersedes and is equivalent to BSB41415 …") becomes its ``MappingInformation`` and makes the served code it
supersedes ``Superseded``; data.txt's versioned packages (CPC08…) are superseded by the package released later;
a package's ``ReleaseNumber`` is the highest release the files' Modification Histories name. Expected values
are read from the real files here, with plain text searches."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest
from lxml import etree

from .conftest import ALL_FLAGS, XSI, Soap

R = "t:GetDetailsResult"
MAPPING = f"{R}/t:MappingInformation/t:Mapping"
STATE = f"{R}/t:UsageRecommendations/t:UsageRecommendation/t:State"
RELEASE_NUMBER = f"{R}/t:Releases/t:Release/t:ReleaseNumber"
CURRENT_ONLY = "<TrainingComponentTypes><IncludeQualification>true</IncludeQualification></TrainingComponentTypes>"


def _file_text(tga_dir: Path, folder: str, code: str) -> str:
    return (tga_dir / folder / f"{code}_XML.xml").read_text(encoding="utf-8")


def test_a_qualification_maps_to_the_one_it_supersedes_which_is_superseded(soap: Soap, tga_dir: Path) -> None:
    assert "Supersedes and is equivalent to BSB41415 Certificate IV in Work Health and Safety." in _file_text(
        tga_dir, "qualifications", "BSB41419"
    )
    reply = soap.details("BSB41419", "ShowMappingInformation", "ShowUsageRecommendation")
    assert reply.all(f"{MAPPING}/t:Code") == ["BSB41419"]
    assert reply.all(f"{MAPPING}/t:MapsToCode") == ["BSB41415"]
    assert reply.all(f"{MAPPING}/t:IsEquivalent") == ["true"]
    assert reply.all(f"{MAPPING}/t:MapsToTitle") == ["Certificate IV in Work Health and Safety"]
    assert reply.all(STATE) == ["Current"]
    # BSB41415 is a row of the catalogue dump: now superseded, found only with IncludeSuperseeded.
    assert soap.details("BSB41415", "ShowUsageRecommendation").all(STATE) == ["Superseded"]
    search = "<SearchCode>true</SearchCode>" + CURRENT_ONLY
    code = "t:SearchResult/t:Results/t:TrainingComponentSummary/t:Code"
    assert soap.search(search, flt="BSB41415").all(code) == []
    assert soap.search("<IncludeSuperseeded>true</IncludeSuperseeded>" + search, flt="BSB41415").all(code) == [
        "BSB41415"
    ]


def test_not_equivalent_and_unstated_equivalence(soap: Soap, tga_dir: Path) -> None:
    assert "Supersedes and is not equivalent to AUR31716" in _file_text(tga_dir, "qualifications", "AUR31220")
    aur = soap.details("AUR31220", "ShowMappingInformation")
    pairs = dict(zip(aur.all(f"{MAPPING}/t:MapsToCode"), aur.all(f"{MAPPING}/t:IsEquivalent"), strict=True))
    assert pairs == {"AUR31216": "true", "AUR31716": "false", "AUR31916": "false"}
    # A package's successor states no equivalence: IsEquivalent (not nillable) is left out.
    cpc = soap.details("CPC", "ShowMappingInformation", "ShowUsageRecommendation")
    assert cpc.all(f"{MAPPING}/t:MapsToCode") == ["CPC08"]
    assert cpc.all(f"{MAPPING}/t:IsEquivalent") == []
    assert cpc.all(STATE) == ["Current"]
    assert soap.details("CPC08", "ShowUsageRecommendation").all(STATE) == ["Superseded"]


@pytest.mark.parametrize(
    ("package", "statement", "release"),
    [
        ("CPC", "released with CPC Construction, Plumbing and Services Training Package Release 9.0.", "9.0"),
        ("BSB", "released with the Business Services Training Package Version 8.0.", "8.0"),  # by its title
        ("RII", "released with RII Resources and infrastructure Training Package version 8.0.", "8.0"),
    ],
)
def test_a_package_release_is_the_highest_its_components_were_released_with(
    soap: Soap, tga_dir: Path, package: str, statement: str, release: str
) -> None:
    texts = [p.read_text(encoding="utf-8") for p in sorted(tga_dir.glob("*/*_XML.xml"))]
    assert any(statement in text for text in texts)
    stated = re.compile(rf"released with (?:the )?{package} [^<.]*?Training Package,? [RrVv]\w+ (\d+)\.(\d+)")
    numbers = [(int(a), int(b)) for text in texts for a, b in stated.findall(text)]
    assert all(n <= tuple(map(int, release.split("."))) for n in numbers)
    assert soap.details(package, "ShowReleases").all(RELEASE_NUMBER) == [release]


def test_a_package_no_file_names_has_no_release_number(soap: Soap, tga_dir: Path) -> None:
    texts = " ".join(p.read_text(encoding="utf-8") for p in tga_dir.glob("*/*_XML.xml"))
    assert "Sport, Fitness and Recreation Training Package" not in texts
    number = soap.details("SIS", "ShowReleases").find(RELEASE_NUMBER)
    assert number is not None
    assert number.get(f"{{{XSI}}}nil") == "true"


@pytest.mark.parametrize("code", ["CPC", "CPC08", "AUR31220", "BSB41415"])
def test_details_with_mappings_are_valid(soap: Soap, schema: etree.XMLSchema, code: str) -> None:
    reply = soap.details(code, *ALL_FLAGS)
    assert schema.validate(etree.ElementTree(copy.deepcopy(reply.payload))), schema.error_log
