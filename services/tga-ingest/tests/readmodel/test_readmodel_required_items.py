"""The units read model keeps the nesting of a pre-2012 unit's required skills and required knowledge: one row
per entry of ``unit_required_skills`` / ``unit_required_knowledge`` with its sub-entries in ``items``; fed
``UnitDownloaded`` events parsed from the real unit files, and a ``UnitDownloaded`` stored as schema version 1
(flat strings), which reads back as entries without sub-entries."""

from __future__ import annotations

import json
from typing import Any

import msgspec

from skillstream_contracts.events import EventMetadata, new_event_id
from skillstream_contracts.streams import TGA
from skillstream_contracts.tga import TGA_EVENTS, UnitDownloaded
from skillstream_contracts.tga_content import RequiredItem
from skillstream_tga_ingest.parser import PARSER_VERSION, parse_unit

UNIT = "unit"


async def _entries(tga: Any, field: str, code: str) -> list[tuple[str, list[Any]]]:
    rows = await tga.pool.fetch(
        f"SELECT text, items FROM tga_ingest.unit_{field} WHERE unit_code = $1 ORDER BY position", code
    )
    return [(r["text"], json.loads(r["items"])) for r in rows]


def _flat(items: list[RequiredItem]) -> list[str]:
    """The entries as schema version 1 stated them: every level in document order, one string each."""
    return [t for i in items for t in (i.text, *(s for sub in i.items for s in (sub.text, *sub.items)))]


async def test_required_skills_keep_their_sub_entries(tga: Any, real: Any) -> None:
    event = real.unit_downloaded("CPCCBC4047A", "CPC08")
    await tga.append(UNIT, "CPCCBC4047A", event)
    await tga.catch_up()

    skills = await _entries(tga, "required_skills", "CPCCBC4047A")
    # CPCCBC4047A_XML.xml, Required Skills and Knowledge: List Bullet "communication skills to:", its
    # List Bullet 2 lines, and "read and interpret:" with its three List Bullet 3 lines.
    assert [text for text, _ in skills] == [
        "Required skills for this unit are:",
        "communication skills to:",
        "numeracy skills to apply measurements and calculations",
        "organisational skills, including the ability to plan for and set out work.",
    ]
    communication = skills[1][1]
    assert len(communication) == 7
    assert communication[1] == {
        "text": "read and interpret:",
        "items": [
            "codes and standards",
            "documentation from a variety of sources",
            "plans, specifications and drawings",
        ],
    }
    assert skills[0][1] == []
    assert skills == [(i.text, msgspec.to_builtins(i.items)) for i in event.required_skills]
    knowledge = await _entries(tga, "required_knowledge", "CPCCBC4047A")
    assert len(knowledge) == 11


async def test_underpinning_knowledge_and_skills_of_wrwsl201a(tga: Any, real: Any) -> None:
    data = real.unit_file("WRWSL201A")
    event = UnitDownloaded(
        **msgspec.structs.asdict(parse_unit(data)),
        training_package="WRW01",
        source=real.source_of(data, "WRW01/WRWSL201A_R1.xml"),  # SOURCES.md §1, TGA RelativePath
        parser_version=PARSER_VERSION,
    )
    await tga.append(UNIT, "WRWSL201A", event)
    await tga.catch_up()
    skills = dict(await _entries(tga, "required_skills", "WRWSL201A"))
    # WRWSL201A_XML.xml, Evidence Guide, "Underpinning knowledge and skills".
    assert [sub["text"] for sub in skills["Apply techniques covering:"]] == [
        "Verbal and non verbal communications",
        "Questioning/listening/observation",
        "Handling difficult customers",
        "Negotiating",
        "Problem solving",
    ]
    knowledge = dict(await _entries(tga, "required_knowledge", "WRWSL201A"))
    assert len(knowledge["Product knowledge including:"]) == 6


async def test_a_flat_version_1_event_reads_as_entries_without_sub_entries(tga: Any, real: Any) -> None:
    event = real.unit_downloaded("CPCCBC4047A", "CPC08", parser_version=1)
    body = msgspec.json.decode(TGA_EVENTS.encode(event))
    body["required_skills"] = _flat(event.required_skills)
    body["required_knowledge"] = _flat(event.required_knowledge)
    metadata = EventMetadata(
        event_id=new_event_id(),
        event_type="tga.UnitDownloaded",
        schema_version=1,
        aggregate_id="CPCCBC4047A",
        occurred_at=real.t0,
    )
    js = tga.nc.jetstream()
    await js.publish(
        TGA.aggregate_subject(UNIT, "CPCCBC4047A"), msgspec.json.encode(body), headers=metadata.to_headers()
    )
    await tga.catch_up()

    assert await tga.dead_letters() == 0
    skills = await _entries(tga, "required_skills", "CPCCBC4047A")
    assert [text for text, _ in skills] == body["required_skills"]
    assert len(skills) == 14  # every level of the file's list, one entry each, as version 1 stated them
    assert all(items == [] for _, items in skills)
