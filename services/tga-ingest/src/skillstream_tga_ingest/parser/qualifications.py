"""Qualifications from AuthorIT (``TpcmsObjectType=StreamlineQualification``): variables, description, entry
requirements and the unit lists stated in the Packaging Rules.

Source: TGA-FORMAT.md §2 ("Qualification"), checked against the 39 real files in ``real-data/tga/qualifications``.
The Packaging Rules topic is free text in two layouts, read as one stream of lines (paragraphs, and table rows
cell by cell):

- paragraph lists (BSB41419, ICT30419): "Core units", "Elective units", "Group A" headings, then
  ``BSBWHS412 Assist with …`` lines;
- tables (CPC, RII, UEG, TLI…): heading rows "Core Units" / "Core units of competency", "Electives",
  "Group A - Specialist Electives", "Group YH General – Trenchless Technology", then ``code | title`` rows
  (the code may carry a prerequisite asterisk: ``CPCCCA2002*``).

A line starting with a unit code goes to the current list. Headings switch the list: core; electives (no
group); "Group X…" (electives, group ``"Group X"``). Prerequisite tables ("UNIT IN THIS QUALIFICATION |
PREREQUISITE UNITS", "Unit of competency | Prerequisite requirement"), "Prerequisite …" / "*Note …" lines and
"Specialisation(s)" sections stop collecting until the next heading, so prerequisite codes and specialisation
pick-lists are not counted twice. ``total_units`` is the stated "Total number of units = N" ("Total units = 14"),
else "N units of competency"; None when not stated or when specialisations state different totals (RII30920).

Errors: :class:`~skillstream_tga_ingest.parser.model.ParseError` ``NOT_AUTHORIT`` (no qualification Book, no
``Code``), ``MISSING_SECTION`` (no Packaging Rules topic).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from skillstream_contracts.tga import ParseFailure
from skillstream_tga_ingest.parser import safexml
from skillstream_tga_ingest.parser.authorit import (
    QUALIFICATION_TYPE,
    Block,
    Book,
    Document,
    Paragraph,
    load_document,
)
from skillstream_tga_ingest.parser.model import ParsedQualification, ParseError
from skillstream_tga_ingest.parser.reading import flatten
from skillstream_tga_ingest.parser.units import UNIT_CODE, release_of, usage_of

_DESCRIPTION = ("qualificationdescription",)
_ENTRY = ("entryrequirements",)
_PACKAGING = ("packagingrules",)

_TOTAL_STATED = re.compile(r"total\s+(?:number\s+of\s+)?units\s*[=:]\s*(\d+)", re.IGNORECASE)
_TOTAL_OF_COMPETENCY = re.compile(r"\b(\d+)\s+units\s+of\s+competency\b", re.IGNORECASE)
_GROUP = re.compile(r"(?i:group)\s+([A-Z]{1,2})(?=$|[\s:(\-–—])")
# Headings compared with spaces removed: UEG20122 writes "Core u nits".
_CORE = re.compile(r"core(units?)?(ofcompetency)?:?")
_ELECTIVE = re.compile(r"[a-z]*electives?(units?)?(ofcompetency)?:?")
_STOP_PREFIXES = (
    "prerequisite",
    "*note",
    "note:",
    "unit in this qualification",
    "unit of competency",
    "specialisation",
)

_CORE_LIST, _ELECTIVE_LIST = "core", "elective"


def parse_qualification(data: bytes, *, max_bytes: int = safexml.DEFAULT_MAX_BYTES) -> ParsedQualification:
    """Parse a qualification release file (``{CODE}_R{n}.xml``).

    Raises:
        ParseError: ``TOO_LARGE``/``UNSAFE``/``MALFORMED`` from :func:`safexml.parse_xml`; ``NOT_AUTHORIT`` when
            the file is not AuthorIT or is a unit; ``MISSING_SECTION`` without Packaging Rules.
    """
    return qualification_from_document(load_document(safexml.parse_xml(data, max_bytes=max_bytes)))


def qualification_from_document(document: Document) -> ParsedQualification:
    """The :class:`ParsedQualification` of a loaded document (see :func:`parse_qualification` for errors)."""
    book = _qualification_book(document)
    code = book.variables.get("Code", "")
    if not code:
        raise ParseError(ParseFailure.NOT_AUTHORIT, f"the qualification Book {book.name!r} has no Code variable")
    packaging = book.section(*_PACKAGING)
    if packaging is None:
        raise ParseError(ParseFailure.MISSING_SECTION, f"{code}: the qualification has no Packaging Rules topic")
    rules = _PackagingRules(own_code=code)
    rules.read(packaging)
    return ParsedQualification(
        code=code,
        title=book.variables.get("Title", "") or book.name,
        release=release_of(book),
        usage_recommendation=usage_of(book),
        aqf_level=book.variables.get("AqfAlignment") or None,
        description=_text(book.section(*_DESCRIPTION)),
        entry_requirements=_text(book.section(*_ENTRY)),
        packaging_rules=_text(packaging),
        total_units=rules.total_units(),
        core_units=list(rules.core),
        elective_units=list(rules.electives),
        elective_groups={group: list(codes) for group, codes in rules.groups.items()},
    )


def describes_qualification(document: Document) -> bool:
    """True when the file is a qualification: it has a ``StreamlineQualification`` Book, or (no Book says its
    ``TpcmsObjectType``) an untyped Book has a Packaging Rules topic."""
    if document.books_of_type(QUALIFICATION_TYPE):
        return True
    return all(not book.object_type for book in document.books) and any(
        book.section(*_PACKAGING) is not None for book in document.books
    )


def _qualification_book(document: Document) -> Book:
    books = document.books_of_type(QUALIFICATION_TYPE)
    if books:
        return books[0]
    for book in document.books:  # no TpcmsObjectType: the Book with Packaging Rules
        if not book.object_type and book.section(*_PACKAGING) is not None:
            return book
    kinds = ", ".join(sorted({book.object_type or "untyped" for book in document.books}))
    raise ParseError(ParseFailure.NOT_AUTHORIT, f"the file holds no qualification Book (found: {kinds})")


def _text(blocks: Sequence[Block] | None) -> str:
    """Paragraphs (and table rows, cells joined by ``" | "``) one per line."""
    return "\n".join(p.text for p in flatten(blocks or ()))


class _PackagingRules:
    """The state machine described in the module docstring; codes kept in dicts for ordered de-duplication."""

    def __init__(self, *, own_code: str) -> None:
        self._own_code = own_code  # listed once per specialisation on testamurs (RII30920), never a unit
        self.core: dict[str, None] = {}
        self.electives: dict[str, None] = {}
        self.groups: dict[str, dict[str, None]] = {}
        self._list: str | None = None
        self._group: str | None = None
        self._stated: list[int] = []
        self._of_competency: list[int] = []

    def read(self, blocks: Sequence[Block]) -> None:
        for block in blocks:
            if isinstance(block, Paragraph):
                self._line(block.text)
                continue
            for row in block.rows:
                self._row([cell.paragraphs for cell in row.cells if cell.paragraphs])

    def total_units(self) -> int | None:
        totals = set(self._stated or self._of_competency[:1])
        return totals.pop() if len(totals) == 1 else None

    def _line(self, text: str) -> None:
        """A paragraph: a unit line when it starts with a code, else maybe a heading or a stated total."""
        match = UNIT_CODE.match(text)
        if match is not None:
            self._add(match.group(0))
        else:
            self._totals(text)
            self._heading(text)

    def _row(self, cells: list[tuple[Paragraph, ...]]) -> None:
        """A table row: a unit line when its first cell starts with a code (later cells hold its title or its
        prerequisites); otherwise the first cell's paragraphs may be headings ("Elective units" then
        "Group A…" in one cell), while a later cell never is ("Unit code | Unit title | Prerequisites")."""
        if not cells:
            return
        match = UNIT_CODE.match(cells[0][0].text)
        if match is not None:
            self._add(match.group(0))
            return
        for cell in cells:
            for paragraph in cell:
                self._totals(paragraph.text)
        for paragraph in cells[0]:
            self._heading(paragraph.text)

    def _add(self, code: str) -> None:
        if code == self._own_code:
            return
        if self._list == _CORE_LIST:
            self.core.setdefault(code)
        elif self._list == _ELECTIVE_LIST:
            self.electives.setdefault(code)
            if self._group is not None:
                self.groups.setdefault(self._group, {}).setdefault(code)

    def _totals(self, text: str) -> None:
        for pattern, found in ((_TOTAL_STATED, self._stated), (_TOTAL_OF_COMPETENCY, self._of_competency)):
            total = pattern.search(text)
            if total is not None:
                found.append(int(total.group(1)))

    def _heading(self, text: str) -> None:
        lowered = text.lower()
        squeezed = "".join(lowered.split())
        if lowered.startswith(_STOP_PREFIXES):
            self._list = self._group = None
        elif (group := _GROUP.match(text)) is not None:
            self._list, self._group = _ELECTIVE_LIST, f"Group {group.group(1)}"
        elif _CORE.fullmatch(squeezed):
            self._list, self._group = _CORE_LIST, None
        elif _ELECTIVE.fullmatch(squeezed):
            self._list, self._group = _ELECTIVE_LIST, None


__all__ = ["describes_qualification", "parse_qualification", "qualification_from_document"]
