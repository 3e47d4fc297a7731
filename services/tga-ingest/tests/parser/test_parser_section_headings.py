"""No section of a real unit is lost without saying so: over every real unit file (32, ``real-data/tga/units``),
each topic of the unit and assessment-requirements Books, and each sub-heading of the pre-2012 topics read by
sub-heading (Required Skills and Knowledge, Evidence Guide), maps to a parsed field or is on the parser's list
of sections ignored on purpose, with its reason; and the text under every mapped sub-heading is in the parsed
unit."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from skillstream_runtime.realdata import real_data
from skillstream_tga_ingest.parser import ParsedUnit, parse_unit, safexml, to_operator_json
from skillstream_tga_ingest.parser.authorit import ASSESSMENT_REQUIREMENTS_TYPE, UNIT_TYPES, Topic, load_document
from skillstream_tga_ingest.parser.reading import flatten
from skillstream_tga_ingest.parser.sections import (
    IGNORED_SUBSECTIONS,
    IGNORED_TOPICS,
    SUBSECTION_TOPICS,
    TOPIC_FIELDS,
    heading_key,
    subsection_fields,
)

UNIT_FILES = sorted(real_data("tga", "units").glob("*_XML.xml"))


def _topics(path: Path) -> Iterator[Topic]:
    document = load_document(safexml.parse_xml(path.read_bytes()))
    for book in document.books_of_type(*UNIT_TYPES, ASSESSMENT_REQUIREMENTS_TYPE):
        yield from book.topics


def _subsections(topic: Topic) -> Iterator[tuple[str, list[str]]]:
    """(sub-heading, the texts under it) of a topic read by sub-heading, the topic's own name skipped."""
    heading: str | None = None
    texts: list[str] = []
    for line in flatten(topic.blocks):
        if line.heading and heading_key(line.text) != heading_key(topic.name):
            if heading is not None:
                yield heading, texts
            heading, texts = line.text, []
        elif heading is not None and not line.heading:
            texts.append(line.text)
    if heading is not None:
        yield heading, texts


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _unmapped(path: Path) -> list[str]:
    found: list[str] = []
    for topic in _topics(path):
        if topic.key not in TOPIC_FIELDS and topic.key not in IGNORED_TOPICS:
            found.append(f"topic {topic.name!r}")
        if topic.key in SUBSECTION_TOPICS:
            for heading, _ in _subsections(topic):
                if not subsection_fields(heading) and heading_key(heading) not in IGNORED_SUBSECTIONS:
                    found.append(f"{topic.name!r} sub-heading {heading!r}")
    return found


def test_the_real_units_are_all_there() -> None:
    assert len(UNIT_FILES) == 32


@pytest.mark.parametrize("path", UNIT_FILES, ids=lambda p: p.name)
def test_every_section_heading_maps_to_a_field_or_is_ignored_on_purpose(path: Path) -> None:
    assert _unmapped(path) == []


@pytest.mark.parametrize("path", UNIT_FILES, ids=lambda p: p.name)
def test_the_text_under_every_mapped_sub_heading_is_parsed(path: Path) -> None:
    unit = parse_unit(path.read_bytes())
    out = to_operator_json(unit)
    for topic in _topics(path):
        if topic.key not in SUBSECTION_TOPICS:
            continue
        for heading, texts in _subsections(topic):
            fields = subsection_fields(heading)
            if not fields:  # ignored on purpose (test above)
                continue
            parsed = {text for field in fields for text in _strings(out[field])}
            missing = [text for text in texts if text not in parsed]
            assert not missing, f"{topic.name!r} / {heading!r}: not in {fields}: {missing}"


def test_the_maps_name_real_fields_and_give_reasons() -> None:
    fields = set(ParsedUnit.__struct_fields__)
    for topic_fields in TOPIC_FIELDS.values():
        assert topic_fields
        assert set(topic_fields) <= fields
    assert not set(TOPIC_FIELDS) & set(IGNORED_TOPICS)
    assert all(reason.strip() for reason in [*IGNORED_TOPICS.values(), *IGNORED_SUBSECTIONS.values()])
    assert set(SUBSECTION_TOPICS) <= set(TOPIC_FIELDS)


@pytest.mark.parametrize(
    ("heading", "fields"),
    [
        ("Underpinning knowledge and skills", ("required_knowledge", "required_skills")),
        ("Required skills and knowledge", ("required_skills", "required_knowledge")),
        ("Required knowledge and skills", ("required_knowledge", "required_skills")),
        ("Underpinning skills", ("required_skills",)),
        ("Required knowledge", ("required_knowledge",)),
        ("Essential knowledge", ("required_knowledge",)),
        ("Critical aspects of evidence", ("critical_aspects",)),
        (
            "Critical aspects for assessment and evidence required to demonstrate competency in this unit",
            ("critical_aspects",),
        ),
        ("Method of assessment", ()),
    ],
)
def test_sub_heading_variants(heading: str, fields: tuple[str, ...]) -> None:
    assert subsection_fields(heading) == fields
