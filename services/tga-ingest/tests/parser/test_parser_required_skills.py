"""Required skills and required knowledge of pre-2012 units, with their nesting: expected values are the real
files' own paragraphs (``test_the_real_files_state_them`` ties every quoted string to its file).

- WRWSL201A (``WRW01\\WRWSL201A_R1.xml``): Required Skills and Knowledge says "Not applicable."; the Evidence
  Guide's "Underpinning knowledge and skills" sub-heading holds both lists, as plain ``p id=4`` paragraphs: a
  line ending with ":" opens a list that an empty paragraph closes.
- CPCCBC4047A / CPCCSI2005A (``CPC08\\…``): "Required skills" / "Required knowledge" sub-headings above
  ``List Bullet`` (13), ``List Bullet 2`` (14) and ``List Bullet 3`` (31016) paragraphs.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from skillstream_runtime.realdata import real_data
from skillstream_tga_ingest.parser import parse_unit, to_operator_json

WRW_KNOWLEDGE_HEADING = "Product knowledge including:"
WRW_KNOWLEDGE_ITEMS = [
    "Characteristics",
    "Features",
    "Comparative advantages",
    "Price",
    "Availability",
    "Special features (ie. warranties, after sales support, etc.)",
]
WRW_SKILLS_HEADING = "Apply techniques covering:"
WRW_SKILLS_ITEMS = [
    "Verbal and non verbal communications",
    "Questioning/listening/observation",
    "Handling difficult customers",
    "Negotiating",
    "Problem solving",
]
CPC_SKILLS_HEADING = "communication skills to:"
CPC_READ = "read and interpret:"
CPC_READ_ITEMS = [
    "codes and standards",
    "documentation from a variety of sources",
    "plans, specifications and drawings",
]


def _p(text: str, style: str) -> re.Pattern[str]:
    """A paragraph of that style with exactly that text (the files keep trailing spaces)."""
    return re.compile(f'<p id="{style}">{re.escape(text)}\\s*</p>')


def test_the_real_files_state_them() -> None:
    """The expected strings are the files' paragraphs with the styles the module docstring names."""
    wrw = real_data("tga", "units", "WRWSL201A_XML.xml").read_text(encoding="utf-8")
    assert '<cs id="24">Underpinning knowledge and skills</cs>' in wrw
    for text in [WRW_KNOWLEDGE_HEADING, *WRW_KNOWLEDGE_ITEMS, WRW_SKILLS_HEADING, *WRW_SKILLS_ITEMS]:
        assert _p(text, "4").search(wrw), text
    # The last item of each list is followed by an empty paragraph, which closes the list.
    last = _p(WRW_SKILLS_ITEMS[-1], "4").search(wrw)
    assert last is not None
    assert wrw[last.end() :].split("\n")[1].strip() == '<p id="4" />'
    cpc = real_data("tga", "units", "CPCCBC4047A_XML.xml").read_text(encoding="utf-8")
    assert _p(CPC_SKILLS_HEADING, "13").search(cpc)
    assert _p(CPC_READ, "14").search(cpc)
    for text in CPC_READ_ITEMS:
        assert _p(text, "31016").search(cpc), text


def test_wrwsl201a_underpinning_knowledge_and_skills_are_read(unit_xml: Callable[[str], bytes]) -> None:
    unit = parse_unit(unit_xml("WRWSL201A"))
    out = json.dumps(to_operator_json(unit), ensure_ascii=False)
    assert "Handling difficult customers" in out
    assert unit.required_knowledge
    assert unit.required_skills


def test_wrwsl201a_lists_keep_their_nesting(unit_xml: Callable[[str], bytes]) -> None:
    unit = parse_unit(unit_xml("WRWSL201A"))
    knowledge = {item.text: [sub.text for sub in item.items] for item in unit.required_knowledge}
    skills = {item.text: [sub.text for sub in item.items] for item in unit.required_skills}
    assert knowledge[WRW_KNOWLEDGE_HEADING] == WRW_KNOWLEDGE_ITEMS
    assert skills[WRW_SKILLS_HEADING] == WRW_SKILLS_ITEMS
    # The knowledge part ends where the skills part begins ("Display skills in terms of job role…").
    assert unit.required_knowledge[0].text == "Display knowledge in terms of job role or function:"
    assert unit.required_skills[0].text.startswith("Display skills in terms of job role or function")
    assert "Handling difficult customers" not in knowledge
    # After the empty paragraph the next line is a top-level entry again, not a sub-item.
    assert skills["Match sales approaches to customer behaviour"] == []
    assert unit.required_skills[-1].text == "Willingness to learn from others"


def test_cpccbc4047a_required_skills_keep_three_levels(unit_xml: Callable[[str], bytes]) -> None:
    unit = parse_unit(unit_xml("CPCCBC4047A"))
    assert [item.text for item in unit.required_skills] == [
        "Required skills for this unit are:",
        CPC_SKILLS_HEADING,
        "numeracy skills to apply measurements and calculations",
        "organisational skills, including the ability to plan for and set out work.",
    ]
    communication = unit.required_skills[1]
    assert [sub.text for sub in communication.items] == [
        "enable clear and direct communication, using questioning to identify and confirm requirements, share "
        "information, listen and understand",
        CPC_READ,
        "report faults",
        "provide feedback and advice",
        "use and interpret non-verbal communication",
        "use language and concepts appropriate to cultural differences",
        "written skills to record and report results of inspections",
    ]
    assert communication.items[1].items == CPC_READ_ITEMS
    assert all(not item.items for item in unit.required_knowledge)
    assert len(unit.required_knowledge) == 11


def test_cpccsi2005a_required_knowledge_keeps_its_nesting(unit_xml: Callable[[str], bytes]) -> None:
    unit = parse_unit(unit_xml("CPCCSI2005A"))
    knowledge = {item.text: [sub.text for sub in item.items] for item in unit.required_knowledge}
    assert knowledge["quality assurance requirements, including:"] == [
        "Australian and international standards relevant to the sign industry",
        "internal company quality assurance policy and risk management strategies",
        "workplace operations and procedures",
    ]
    assert knowledge["statutory and regulatory authority requirements, particularly those relating to:"] == [
        "removal of waste products",
        "storage of chemicals and materials",
    ]
    assert unit.required_knowledge[-1].text == "three-dimensional acrylic fabrication techniques."


def test_operator_json_nests_the_entries(unit_xml: Callable[[str], bytes]) -> None:
    out = to_operator_json(parse_unit(unit_xml("CPCCBC4047A")))
    communication = out["required_skills"][1]
    assert communication["text"] == CPC_SKILLS_HEADING
    assert communication["items"][1] == {"text": CPC_READ, "items": CPC_READ_ITEMS}
