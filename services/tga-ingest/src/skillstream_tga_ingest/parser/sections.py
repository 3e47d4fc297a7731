"""Which part of a unit of competency file fills which parsed field, and which parts are left out on purpose.

Source: TGA-FORMAT.md §2, checked against every topic and sub-heading of the 32 real unit files in
``real-data/tga/units`` (``tests/parser/test_parser_section_headings.py`` fails on any heading of those files
that is in neither map).

- :data:`TOPIC_FIELDS` / :data:`IGNORED_TOPICS`: a topic, by :func:`~.authorit.topic_key`, → the
  :class:`~.model.ParsedUnit` fields it fills, or the reason nothing is taken from it.
- :data:`SUBSECTION_TOPICS`: the pre-2012 topics read by sub-heading (Required Skills and Knowledge, Evidence
  Guide). A sub-heading maps by :func:`subsection_fields`: "Critical aspects…" → ``critical_aspects``;
  "Required skills", "Underpinning knowledge", "Essential skills"… → one list; "Underpinning knowledge and
  skills", "Required skills and knowledge", "Required knowledge and skills" → both lists, split where a line
  such as "Display skills in terms of job role or function…:" starts the other part. The other sub-headings
  are in :data:`IGNORED_SUBSECTIONS` with their reason.
- :func:`required_items`: the lines of a required skills or knowledge list → :class:`RequiredItem` entries
  with their nesting: by bullet style (``List Bullet``, ``List Bullet 2``, ``List Bullet 3``; CPC08), or, in a
  list without bullet styles (WRWSL201A, all ``Body Text``), a line ending with ":" opens a sub-list that an
  empty paragraph or the next such line closes. Three levels are kept (the most any real unit has); a
  deeper line joins its level-3 ancestor's list, in document order.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final

from skillstream_contracts.tga_content import RequiredItem, RequiredSubItem
from skillstream_tga_ingest.parser.authorit import Paragraph

TOPIC_FIELDS: Final[dict[str, tuple[str, ...]]] = {
    "application": ("application",),
    "applicationoftheunit": ("application",),
    "unitdescriptor": ("application",),
    "licensingregulatoryinformation": ("application",),
    "competencyfield": ("competency_field",),
    "functionalarea": ("competency_field",),
    "prerequisiteunit": ("prerequisites",),
    "prerequisiteunits": ("prerequisites",),
    "prerequisites": ("prerequisites",),
    "elementsandperformancecriteria": ("elements",),
    "requiredskillsandknowledge": ("required_skills", "required_knowledge"),
    "evidenceguide": ("critical_aspects", "required_skills", "required_knowledge"),
    "rangestatement": ("range_statement",),
    "rangeofconditions": ("range_statement",),
    "foundationskills": ("foundation_skills",),
    "performanceevidence": ("performance_evidence",),
    "knowledgeevidence": ("knowledge_evidence",),
    "assessmentconditions": ("assessment_conditions",),
}
"""Topic key → the fields it fills. Pre-2012 Unit Descriptor and Licensing/Regulatory Information go to
``application`` before the Application of the Unit (the 2012 Application topic states all three)."""

IGNORED_TOPICS: Final[dict[str, str]] = {
    "modificationhistory": "release history; the release number comes from the Book variables",
    "links": "links to the companion volume on VETNet; no unit content",
    "unitmappinginformation": "supersession and equivalence come from TGA's Mapping (ComponentSuperseded)",
    "unitsector": "the industry sector name; the unit is filed under its training package",
    "unitsectors": "the industry sector name; the unit is filed under its training package",
    "elementsandperformancecriteriaprecontent": "fixed wording explaining what elements and criteria are",
    "employabilityskillsinformation": "fixed wording pointing at the qualification's employability skills",
    "corequisiteunits": "no co-requisite field in the unit content; 'Nil' in every real unit that has the topic",
}
"""Topic key → why nothing is taken from it."""

SUBSECTION_TOPICS: Final = ("requiredskillsandknowledge", "evidenceguide")
"""Topic keys read by sub-heading (pre-2012); text before a topic's first sub-heading is its introduction
("This section describes the skills and knowledge required for this unit.", "Not applicable.")."""

IGNORED_SUBSECTIONS: Final[dict[str, str]] = {
    "overview of assessment": "assessment guidance; the unit content has no field for it",
    "context of and specific resources for assessment": "assessment guidance; the unit content has no field for it",
    "method of assessment": "assessment guidance; the unit content has no field for it",
    "interdependent assessment of units": "assessment guidance; the unit content has no field for it",
    "resource implications": "assessment guidance; the unit content has no field for it",
    "consistency in performance": "assessment guidance; the unit content has no field for it",
    "context for assessment": "assessment guidance; the unit content has no field for it",
}
"""Evidence Guide sub-headings (by :func:`heading_key`) → why nothing is taken from them."""

_FIELD_OF_WORD = {"skills": "required_skills", "knowledge": "required_knowledge"}
_REQUIRED_HEADING = re.compile(r"(?:required|underpinning|essential) (skills|knowledge)(?: and (skills|knowledge))?")
_PART_START = re.compile(r"(?:display |required |underpinning |essential )?(skills|knowledge)\b")
_BULLET = re.compile(r"List Bullet(?: (\d))?$")


def heading_key(text: str) -> str:
    """A sub-heading lower-cased, words only, single-spaced (``"Underpinning knowledge and skills "`` →
    ``"underpinning knowledge and skills"``)."""
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text.lower()).split())


def subsection_fields(heading: str) -> tuple[str, ...]:
    """The fields a pre-2012 sub-heading fills, in the order its parts come (``"Underpinning knowledge and
    skills"`` → ``("required_knowledge", "required_skills")``); ``()`` for any other sub-heading."""
    key = heading_key(heading)
    if key.startswith("critical aspects"):
        return ("critical_aspects",)
    match = _REQUIRED_HEADING.fullmatch(key)
    if match is None:
        return ()
    words = [w for w in match.groups() if w is not None]
    return tuple(dict.fromkeys(_FIELD_OF_WORD[w] for w in words))


def split_subsections(lines: Sequence[Paragraph], fields: dict[str, list[Paragraph]]) -> None:
    """Add the lines under each mapped sub-heading of one topic to ``fields[field]``; a sub-heading naming two
    parts splits at the line starting the other part (``"Display skills in terms of…:"``); a sub-section that
    repeats an earlier one of the same heading word for word counts once."""
    sections: list[tuple[str, list[Paragraph]]] = []
    for line in lines:
        if line.heading:
            sections.append((line.text, []))
        elif sections:
            sections[-1][1].append(line)
    seen: set[tuple[str, tuple[str, ...]]] = set()
    for heading, body in sections:
        key = (heading_key(heading), tuple(p.text for p in body))
        parts = subsection_fields(heading)
        if key in seen or not parts:
            continue
        seen.add(key)
        field = parts[0]
        for line in body:
            switch = _part_of(line) if len(parts) > 1 else None
            if switch in parts:
                field = switch
            fields.setdefault(field, []).append(line)


def _part_of(line: Paragraph) -> str | None:
    """``required_skills`` / ``required_knowledge`` for a line starting that part of a combined sub-section."""
    if not line.text.endswith(":"):
        return None
    match = _PART_START.match(line.text.lower())
    return None if match is None else _FIELD_OF_WORD[match.group(1)]


class _Node:
    """An entry while the list is read: its text and the entries under it."""

    __slots__ = ("children", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self.children: list[_Node] = []

    def texts(self) -> list[str]:
        """The texts of everything under this entry, depth first (document order)."""
        return [text for child in self.children for text in (child.text, *child.texts())]


def required_items(lines: Sequence[Paragraph]) -> list[RequiredItem]:
    """The entries of one required skills or knowledge list with their sub-entries (module docstring)."""
    levels = _bullet_levels(lines) if any(_BULLET.match(p.style) for p in lines) else _colon_levels(lines)
    root = _Node("")
    stack: list[tuple[int, _Node]] = [(0, root)]
    for line, level in zip(lines, levels, strict=True):
        while stack[-1][0] >= level:
            stack.pop()
        node = _Node(line.text)
        stack[-1][1].children.append(node)
        stack.append((level, node))
    return [
        RequiredItem(text=top.text, items=[RequiredSubItem(text=sub.text, items=sub.texts()) for sub in top.children])
        for top in root.children
    ]


def _bullet_levels(lines: Sequence[Paragraph]) -> list[int]:
    """``List Bullet`` → 1, ``List Bullet N`` → N; any other style (an introduction in ``Body Text``) → 1."""
    levels = []
    for line in lines:
        match = _BULLET.match(line.style)
        levels.append(1 if match is None else int(match.group(1) or 1))
    return levels


def _colon_levels(lines: Sequence[Paragraph]) -> list[int]:
    """Without bullet styles: a line ending with ":" is an entry whose sub-list follows, up to an empty
    paragraph or the next such line; a line starting a part (``"Display knowledge in terms of…:"``) opens none."""
    levels = []
    open_list = False
    for line in lines:
        if line.after_gap:
            open_list = False
        if line.text.endswith(":"):
            levels.append(1)
            open_list = _part_of(line) is None
        else:
            levels.append(2 if open_list else 1)
    return levels


__all__ = [
    "IGNORED_SUBSECTIONS",
    "IGNORED_TOPICS",
    "SUBSECTION_TOPICS",
    "TOPIC_FIELDS",
    "heading_key",
    "required_items",
    "split_subsections",
    "subsection_fields",
]
