"""The units a qualification's Packaging Rules topic lists, split into core and elective: the sandbox's own
reading of the real file, for the ``UnitGrid`` of GetDetails (TGA-FORMAT.md §2, "Qualification").

The topic is free text in two layouts, read here as one stream in document order:

- paragraphs (BSB41419, ICT30419): headings "Core units", "Elective units", "Group A", then
  ``<p>BSBWHS412 Assist with …</p>`` lines;
- table rows (CPC, RII, UEG, TLI…): heading rows "Core Units", "Electives", "Group A - Specialist Electives",
  then ``<td>CPCCCA2002*</td><td>Use carpentry tools and equipment</td>`` rows (the stars mark prerequisites).

A line or row whose first text is a unit code belongs to the list of the last heading. A heading is a short
line (at most 10 words, no digit, not a sentence ending in ".") that starts with "Core" (core list) or starts
with "Group" / names "elective(s)" (elective list). A line starting with "Prerequisite", "Note",
"Specialisation", "Unit of competency" or "Unit in this qualification" closes the list until the next
heading: prerequisite tables and specialisation pick-lists name units that are already listed (or that only
the prerequisites need). The qualification's own code is never one of its units (RII30920 lists it on
testamur lines).

This reader is deliberately separate from the tga-ingest parser: the sandbox plays TGA, whose unit grid is a
structured list kept apart from the XML, so tests that compare the parser with the grid compare two readings.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum

from lxml import etree

from skillstream_tga_sandbox.authorit import AUTHORIT_NS, topic_text

_P = f"{{{AUTHORIT_NS}}}p"
_TABLE = f"{{{AUTHORIT_NS}}}table"
_TR = f"{{{AUTHORIT_NS}}}tr"
_TD = f"{{{AUTHORIT_NS}}}td"
# A national code: 3-letter package prefix, letters/digits, ending in digits and an optional letter suffix
# (UETTDREL14A has only two digits). Footnote stars may follow it: "PUAWHS002***".
_UNIT_LINE = re.compile(r"^(?P<code>[A-Z]{3}[A-Z0-9]*\d{2,}[A-Z]?)\**(?:\s+(?P<title>\S.*))?$")
_SPACES = re.compile(r"\s+")
_ELECTIVE_WORD = re.compile(r"\belectives?\b")
_CLOSING = ("prerequisite", "note", "specialisation", "unit of competency", "unit in this qualification")
_MAX_HEADING_WORDS = 10


class _List(Enum):
    CORE = "core"
    ELECTIVE = "elective"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class StatedUnit:
    """One unit as the Packaging Rules list it: ``title`` as first stated there (None when only the code is)."""

    code: str
    title: str | None
    is_core: bool


def _text(element: etree._Element) -> str:
    return _SPACES.sub(" ", "".join(element.itertext())).strip()


def _lines(text: etree._Element) -> Iterator[list[list[str]]]:
    """The topic body in document order: a paragraph as ``[[text]]``, a table row as one list of paragraph
    texts per cell (a cell without paragraphs gives its whole text)."""
    for child in text:
        if child.tag == _P:
            yield [[_text(child)]]
        elif child.tag == _TABLE:
            for row in child.iter(_TR):
                yield [[_text(p) for p in cell.iter(_P)] or [_text(cell)] for cell in row.iterfind(_TD)]
        elif isinstance(child.tag, str):
            yield from _lines(child)


def _heading(line: str) -> _List | None:
    """The list a heading line opens, or None when the line is not a heading (module docstring)."""
    lowered = line.lstrip("*").strip().lower()
    if lowered.startswith(_CLOSING):
        return _List.CLOSED
    if not lowered or lowered.endswith(".") or any(ch.isdigit() for ch in lowered):
        return None
    if len(lowered.split()) > _MAX_HEADING_WORDS:
        return None
    if lowered.startswith("group ") or _ELECTIVE_WORD.search(lowered):
        return _List.ELECTIVE
    # UEG20122 writes "Core u nits".
    return _List.CORE if lowered.replace(" ", "").startswith("core") else None


def _unit(cells: list[list[str]]) -> tuple[str, str | None] | None:
    """``(code, title)`` when the line's first text is a unit code; the title is the rest of that text, else
    the next cell's text (``CODE | Title`` rows)."""
    first = next((text for text in cells[0] if text), "") if cells else ""
    match = _UNIT_LINE.match(first)
    if match is None:
        return None
    title = match.group("title")
    if title is None and len(cells) > 1:
        title = " ".join(text for text in cells[1] if text) or None
    return match.group("code"), title


def stated_units(root: etree._Element, own_code: str) -> tuple[StatedUnit, ...] | None:
    """The core units, then the elective units not already core, of the qualification file ``root``.

    A unit's title is the one its first listing states, else the first stated anywhere in the topic (a
    prerequisite table may name it with a different spelling: "…constructions." in CPC40120). None when the
    file has no Packaging Rules topic (the unit list is then unknown); an empty tuple when it lists no unit.
    """
    body = topic_text(root, "Packaging Rules")
    if body is None:
        return None
    current: _List | None = None
    listed_titles: dict[str, str] = {}
    other_titles: dict[str, str] = {}
    lists: dict[_List, dict[str, None]] = {_List.CORE: {}, _List.ELECTIVE: {}}
    for cells in _lines(body):
        unit = _unit(cells)
        if unit is None:
            for line in cells[0] if cells else []:
                current = _heading(line) or current
            continue
        code, title = unit
        # None while the list is closed (no CLOSED key) or for the qualification's own code.
        target = lists.get(current) if current is not None and code != own_code else None
        if title:
            (listed_titles if target is not None else other_titles).setdefault(code, title)
        if target is not None:
            target.setdefault(code)

    def stated(code: str, is_core: bool) -> StatedUnit:
        return StatedUnit(code, listed_titles.get(code) or other_titles.get(code), is_core)

    core = [stated(code, True) for code in lists[_List.CORE]]
    elective = [stated(code, False) for code in lists[_List.ELECTIVE] if code not in lists[_List.CORE]]
    return (*core, *elective)


__all__ = ["StatedUnit", "stated_units"]
