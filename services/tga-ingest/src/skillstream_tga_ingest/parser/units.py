"""Units of competency from AuthorIT: both the pre-2012 layout and the 2012 "Streamlined" layout.

Source: TGA-FORMAT.md §2, checked against the 32 real unit files in ``real-data/tga/units``.

- The unit Book has ``TpcmsObjectType`` ``UnitOfCompetency`` (pre-2012) or ``StreamlineUnit`` (2012); a 2012
  ``_Complete_`` file adds a ``StreamlineAssessmentRequirement`` Book with Performance Evidence, Knowledge
  Evidence and Assessment Conditions. The code's letter suffix does not tell the format (RIICOM201E is 2012).
- Elements and Performance Criteria is a table in one of two shapes, both read the same way, cell by cell in
  reading order: 4 columns ``1 | title (rowspan) | 1.1 | text`` (WRWSL201A, CPCCBC4002, UETDRVC012) or
  2 columns ``1. title | 1.1 text…`` (BSBCMM412, CPCCBC4047A "1.1."). A bare number cell is joined to the
  next cell; header and boilerplate rows carry no number and are skipped.
- Which topic and pre-2012 sub-heading fills which field, and what is left out on purpose: :mod:`.sections`.
  Pre-2012 Evidence Guide: the "Critical aspects…" row label (CPC08 table) or ``cs`` sub-heading
  (WRWSL201A "Critical aspects of evidence") → ``critical_aspects``, "Underpinning knowledge and skills"
  (WRWSL201A) → ``required_knowledge`` and ``required_skills``; Required Skills and Knowledge: "Required
  skills" / "Required knowledge" sub-headings. Both lists keep their nesting (:class:`RequiredItem`).
- Pre-2012 Unit Descriptor and Licensing/Regulatory Information join ``application`` (placeholder lines
  "Not applicable." / "Nil" left out); Functional area is the ``competency_field``.
- 2012 Foundation Skills: the "Skill | Description" table → :class:`FoundationSkill` (description = the
  cell's paragraphs joined by newlines); without a table, a bullet with sub-bullets (CPCCBC4005).

Errors: :class:`~skillstream_tga_ingest.parser.model.ParseError` ``NOT_AUTHORIT`` (no unit Book, no ``Code``),
``MISSING_SECTION`` (no Elements and Performance Criteria topic, or no numbered element in it).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from skillstream_contracts.tga import (
    Element,
    FoundationSkill,
    ParseFailure,
    PerformanceCriterion,
    UnitFormat,
    UsageRecommendation,
)
from skillstream_tga_ingest.parser import safexml
from skillstream_tga_ingest.parser.authorit import (
    ASSESSMENT_REQUIREMENTS_TYPE,
    UNIT_TYPES,
    Block,
    Book,
    Document,
    Paragraph,
    Table,
    load_document,
    topic_key,
)
from skillstream_tga_ingest.parser.model import ParsedUnit, ParseError
from skillstream_tga_ingest.parser.reading import all_paragraphs, flatten
from skillstream_tga_ingest.parser.sections import TOPIC_FIELDS, heading_key, required_items, split_subsections


def _topics_of(field: str) -> tuple[str, ...]:
    return tuple(key for key, fields in TOPIC_FIELDS.items() if fields == (field,))


_EPC = _topics_of("elements")
_APPLICATION = _topics_of("application")
_PREREQUISITES = _topics_of("prerequisites")
_COMPETENCY_FIELD = _topics_of("competency_field")
_SKILLS_AND_KNOWLEDGE = ("requiredskillsandknowledge",)
_EVIDENCE_GUIDE = ("evidenceguide",)
_RANGE = _topics_of("range_statement")
_FOUNDATION_SKILLS = _topics_of("foundation_skills")
_PERFORMANCE_EVIDENCE = _topics_of("performance_evidence")
_KNOWLEDGE_EVIDENCE = _topics_of("knowledge_evidence")
_ASSESSMENT_CONDITIONS = _topics_of("assessment_conditions")
_PLACEHOLDERS = frozenset({"not applicable", "nil"})

UNIT_CODE = re.compile(r"[A-Z]{3,}[0-9]{2,}[A-Z]?\b")
"""A TGA national code at the start of a text: three or more letters, digits, an optional letter (BSBWHS412,
CPCCBC4047A, UETTDREL14A, TLID3011, MEM09002B, MSL973013). Newer MEM units (MEM09002) have the shape of a
qualification code (BSB41419), so context decides which is meant."""

_BARE_NUMBER = re.compile(r"\d+(?:\.\d+)*\.?")
_NUMBERED = re.compile(r"(\d+(?:\.\d+)*)\.?(?:\s+|(?=[^\s\d.]))(.+)", re.DOTALL)
_BULLET_LEVEL = re.compile(r"List Bullet(?: (\d))?$")


def parse_unit(data: bytes, *, max_bytes: int = safexml.DEFAULT_MAX_BYTES) -> ParsedUnit:
    """Parse a unit of competency release file (``{CODE}_R1.xml`` or ``{CODE}_Complete_R2.xml``).

    Raises:
        ParseError: ``TOO_LARGE``/``UNSAFE``/``MALFORMED`` from :func:`safexml.parse_xml`; ``NOT_AUTHORIT`` when
            the file is not AuthorIT or is a qualification; ``MISSING_SECTION`` without elements.
    """
    return unit_from_document(load_document(safexml.parse_xml(data, max_bytes=max_bytes)))


def unit_from_document(document: Document) -> ParsedUnit:
    """The :class:`ParsedUnit` of a loaded document (see :func:`parse_unit` for errors)."""
    unit = _unit_book(document)
    books = [unit, *document.books_of_type(ASSESSMENT_REQUIREMENTS_TYPE)]
    code = unit.variables.get("Code", "")
    if not code:
        raise ParseError(ParseFailure.NOT_AUTHORIT, f"the unit Book {unit.name!r} has no Code variable")
    epc = _section(books, _EPC)
    if epc is None:
        raise ParseError(
            ParseFailure.MISSING_SECTION, f"{code}: the unit has no Elements and Performance Criteria topic"
        )
    elements = _elements(epc)
    if not elements:
        raise ParseError(
            ParseFailure.MISSING_SECTION, f"{code}: the Elements and Performance Criteria topic has no numbered element"
        )
    parts: dict[str, list[Paragraph]] = {}
    for keys in (_SKILLS_AND_KNOWLEDGE, _EVIDENCE_GUIDE):
        split_subsections(_lines(books, keys), parts)
    field = "\n".join(p.text for p in _lines(books, _COMPETENCY_FIELD))
    return ParsedUnit(
        code=code,
        title=unit.variables.get("Title", "") or unit.name,
        release=release_of(unit),
        format=_format(unit, books),
        usage_recommendation=usage_of(unit),
        application=_application(books),
        competency_field=field or None,
        prerequisites=leading_codes(all_paragraphs(_section(books, _PREREQUISITES) or ())),
        elements=elements,
        critical_aspects=[p.text for p in parts.get("critical_aspects", [])],
        required_skills=required_items(parts.get("required_skills", [])),
        required_knowledge=required_items(parts.get("required_knowledge", [])),
        performance_evidence=_texts(books, _PERFORMANCE_EVIDENCE),
        knowledge_evidence=_texts(books, _KNOWLEDGE_EVIDENCE),
        assessment_conditions=_texts(books, _ASSESSMENT_CONDITIONS),
        foundation_skills=_foundation_skills(_section(books, _FOUNDATION_SKILLS) or ()),
        range_statement=_texts(books, _RANGE),
    )


def release_of(book: Book) -> str:
    """``ReleaseNumber`` (``"2"``), else the number in ``ReleaseName`` (``"Release 2"``), else ``""``."""
    release = book.variables.get("ReleaseNumber", "")
    if not release:
        match = re.search(r"\d+", book.variables.get("ReleaseName", ""))
        release = match.group(0) if match else ""
    return release


def usage_of(book: Book) -> UsageRecommendation:
    """The Book's ``UsageRecommendation`` (``current``/``superseded``/``deleted``), else its ``Currency``."""
    for name in ("UsageRecommendation", "Currency"):
        try:
            return UsageRecommendation(book.variables.get(name, "").strip().lower())
        except ValueError:
            continue
    return UsageRecommendation.UNKNOWN


def leading_codes(paragraphs: Iterable[Paragraph]) -> list[str]:
    """Unit codes that start a paragraph (``"CPCCWHS2001 Apply WHS…"``), de-duplicated, in order."""
    codes: dict[str, None] = {}
    for paragraph in paragraphs:
        match = UNIT_CODE.match(paragraph.text)
        if match:
            codes.setdefault(match.group(0))
    return list(codes)


def _unit_book(document: Document) -> Book:
    units = document.books_of_type(*UNIT_TYPES)
    if units:
        return units[0]
    # No TpcmsObjectType: a Book with an E&PC topic and no assessment-requirements type is the unit.
    for book in document.books:
        if book.object_type != ASSESSMENT_REQUIREMENTS_TYPE and book.section(*_EPC) is not None:
            return book
    kinds = ", ".join(sorted({book.object_type or "untyped" for book in document.books}))
    raise ParseError(ParseFailure.NOT_AUTHORIT, f"the file holds no unit of competency Book (found: {kinds})")


def _format(unit: Book, books: Sequence[Book]) -> UnitFormat:
    if unit.object_type == "UnitOfCompetency":
        return UnitFormat.PRE_2012
    if unit.object_type == "StreamlineUnit":
        return UnitFormat.STREAMLINED_2012
    pre_2012 = _section(books, _EVIDENCE_GUIDE) is not None or _section(books, _SKILLS_AND_KNOWLEDGE) is not None
    return UnitFormat.PRE_2012 if pre_2012 else UnitFormat.STREAMLINED_2012


def _section(books: Sequence[Book], keys: tuple[str, ...]) -> tuple[Block, ...] | None:
    for book in books:
        blocks = book.section(*keys)
        if blocks is not None:
            return blocks
    return None


def _lines(books: Sequence[Book], keys: tuple[str, ...]) -> list[Paragraph]:
    """The section's paragraphs (:func:`flatten`) without a sub-heading that only repeats the topic's name
    (the CPC08 row label "Application of the unit" in the Application of the Unit topic)."""
    return [p for p in flatten(_section(books, keys) or ()) if not (p.heading and topic_key(p.text) in keys)]


def _texts(books: Sequence[Book], keys: tuple[str, ...]) -> list[str]:
    return [p.text for p in _lines(books, keys)]


def _application(books: Sequence[Book]) -> str:
    """The Application (2012), or the pre-2012 Unit Descriptor, Application of the Unit and
    Licensing/Regulatory Information in reading order, one line per paragraph; a placeholder line
    ("Not applicable.", "Nil") and a line repeating the one before (punctuation aside, WRWSL201A) are left out."""
    lines: list[str] = []
    last = ""
    for p in _lines(books, _APPLICATION):
        key = heading_key(p.text)
        if key not in _PLACEHOLDERS and key != last:
            lines.append(p.text)
        last = key
    return "\n".join(lines)


def _elements(blocks: Sequence[Block]) -> list[Element]:
    tables = [block for block in blocks if isinstance(block, Table)]
    elements = _numbered_items(all_paragraphs(tables))
    if not elements:  # no table, or numbers outside it
        elements = _numbered_items(p for p in blocks if isinstance(p, Paragraph))
    return elements


def _numbered_items(paragraphs: Iterable[Paragraph]) -> list[Element]:
    """Elements ("1 …") with their performance criteria ("1.1 …") from paragraphs in reading order.

    A bare number ("1", "1.1.") is joined to the next paragraph (4-column layout); an unnumbered paragraph
    before the first element is a header or boilerplate and is skipped; one after it continues the last item.
    """
    elements: list[tuple[str, list[str], list[tuple[str, list[str]]]]] = []

    def add(number: str, body: list[str]) -> None:
        if "." not in number:
            elements.append((number, body, []))
            return
        if not elements:
            elements.append((number.split(".")[0], [], []))
        elements[-1][2].append((number, body))

    pending: str | None = None
    for paragraph in paragraphs:
        text = paragraph.text
        if _BARE_NUMBER.fullmatch(text):
            if pending is not None:  # a number cell whose text cell is empty
                add(pending.rstrip("."), [])
            pending = text
            continue
        if pending is not None:
            text, pending = f"{pending} {text}", None
        match = _NUMBERED.fullmatch(text)
        if match is not None:
            add(match.group(1), [match.group(2)])
        elif elements:
            criteria = elements[-1][2]
            (criteria[-1][1] if criteria else elements[-1][1]).append(text)
    if pending is not None:
        add(pending.rstrip("."), [])
    return [
        Element(
            number=number,
            title=" ".join(title),
            performance_criteria=[PerformanceCriterion(number=n, text=" ".join(t)) for n, t in criteria],
        )
        for number, title, criteria in elements
    ]


def _foundation_skills(blocks: Sequence[Block]) -> list[FoundationSkill]:
    """Rows after the "Skill | Description" header row (also "SKILLS | DESCRIPTION", "S KILL"); without such
    a table, each top-level bullet with sub-bullets."""
    skills: list[FoundationSkill] = []
    for table in (block for block in blocks if isinstance(block, Table)):
        started = False
        for row in table.rows:
            filled = [cell.paragraphs for cell in row.cells if cell.paragraphs]
            if len(filled) < 2:
                continue
            if not started:
                words = ["".join(ps[0].text.split()).lower() for ps in filled[:2]]
                started = words[0] in {"skill", "skills"} and words[1].startswith("description")
                continue
            skills.append(
                FoundationSkill(
                    skill=" ".join(p.text for p in filled[0]),
                    description="\n".join(p.text for ps in filled[1:] for p in ps),
                )
            )
    if skills or any(isinstance(block, Table) for block in blocks):
        return skills
    return _bulleted_skills([block for block in blocks if isinstance(block, Paragraph)])


def _bulleted_skills(paragraphs: Sequence[Paragraph]) -> list[FoundationSkill]:
    skills: list[tuple[str, list[str]]] = []
    for paragraph in paragraphs:
        match = _BULLET_LEVEL.match(paragraph.style)
        if match is None:
            continue
        if match.group(1) is None:
            skills.append((paragraph.text, []))
        elif skills:
            skills[-1][1].append(paragraph.text)
    return [FoundationSkill(skill=skill, description="\n".join(texts)) for skill, texts in skills if texts]


__all__ = ["UNIT_CODE", "leading_codes", "parse_unit", "release_of", "unit_from_document", "usage_of"]
