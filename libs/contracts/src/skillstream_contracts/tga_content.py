"""What a unit of competency's document states, as parsed: the content shared by the ``UnitDownloaded`` event
(:mod:`skillstream_contracts.tga`), the parser's result and the unit query reply.

Source: ``TGA-FORMAT.md`` §2 (the AuthorIT unit XML, pre-2012 and 2012 formats). Text is whitespace-collapsed,
one string per paragraph or bullet, in document order.

Schema versions of the unit content in ``tga.UnitDownloaded``: v1 stated ``required_skills`` and
``required_knowledge`` as flat lists of strings; v2 states them as lists of :class:`RequiredItem` with their
sub-items. :func:`unit_content_v1_to_v2` upcasts a stored v1 body.
"""

from __future__ import annotations

from typing import Any

import msgspec


class PerformanceCriterion(msgspec.Struct, frozen=True, kw_only=True):
    """``number`` as the document writes it without a trailing dot (``"1.1"``); ``text`` collapsed."""

    number: str
    text: str


class Element(msgspec.Struct, frozen=True, kw_only=True):
    """An element of a unit of competency (``number`` like ``"1"``) with its performance criteria."""

    number: str
    title: str
    performance_criteria: list[PerformanceCriterion] = msgspec.field(default_factory=list)


class FoundationSkill(msgspec.Struct, frozen=True, kw_only=True):
    """One row of the 2012 Foundation Skills "Skill | Description" table."""

    skill: str
    description: str


class RequiredSubItem(msgspec.Struct, frozen=True, kw_only=True):
    """A sub-entry of a :class:`RequiredItem` (a ``List Bullet 2`` paragraph, or a line under a line ending
    with ":"): ``text`` whitespace-collapsed; ``items`` the texts listed under it (``List Bullet 3``, and any
    deeper level in document order), empty when none. Source: TGA-FORMAT.md §2."""

    text: str
    items: list[str] = msgspec.field(default_factory=list)


class RequiredItem(msgspec.Struct, frozen=True, kw_only=True):
    """One entry of a pre-2012 unit's required skills or required knowledge, with the entries listed under it.

    ``text`` is the paragraph as the document writes it, whitespace-collapsed (``"communication skills to:"``);
    ``items`` are its sub-entries in document order (the ``List Bullet 2`` paragraphs under a ``List Bullet``,
    or the lines under a line ending with ":" up to an empty paragraph), empty for an entry with nothing under
    it. Source: TGA-FORMAT.md §2 (CPCCBC4047A, CPCCSI2005A, WRWSL201A).
    """

    text: str
    items: list[RequiredSubItem] = msgspec.field(default_factory=list)


class UnitContent(msgspec.Struct, frozen=True, kw_only=True):
    """What a unit of competency's document states, as parsed (TGA-FORMAT.md §2): shared by the
    ``UnitDownloaded`` event, the parser's result and the query reply, so the three never drift apart.

    Pre-2012 units fill ``critical_aspects`` (Evidence Guide), ``required_skills`` and ``required_knowledge``
    (Required Skills and Knowledge, or the Evidence Guide's "Underpinning knowledge and skills": entries with
    their sub-entries, :class:`RequiredItem`); 2012 units fill ``performance_evidence``, ``knowledge_evidence``,
    ``assessment_conditions`` (Assessment Requirements book) and ``foundation_skills``. ``prerequisites`` are
    unit codes.
    """

    application: str = ""
    competency_field: str | None = None
    prerequisites: list[str] = msgspec.field(default_factory=list)
    elements: list[Element] = msgspec.field(default_factory=list)
    critical_aspects: list[str] = msgspec.field(default_factory=list)
    required_skills: list[RequiredItem] = msgspec.field(default_factory=list)
    required_knowledge: list[RequiredItem] = msgspec.field(default_factory=list)
    performance_evidence: list[str] = msgspec.field(default_factory=list)
    knowledge_evidence: list[str] = msgspec.field(default_factory=list)
    assessment_conditions: list[str] = msgspec.field(default_factory=list)
    foundation_skills: list[FoundationSkill] = msgspec.field(default_factory=list)
    range_statement: list[str] = msgspec.field(default_factory=list)


REQUIRED_FIELDS = ("required_skills", "required_knowledge")
"""The :class:`UnitContent` fields holding :class:`RequiredItem` lists."""


def unit_content_v1_to_v2(body: dict[str, Any]) -> dict[str, Any]:
    """Upcast a stored ``tga.UnitDownloaded`` body from schema version 1 to 2 (the JSON object, changed in place
    and returned): each string of ``required_skills`` / ``required_knowledge`` becomes an entry without
    sub-entries, ``{"text": s, "items": []}``, in the same order. Version 1 kept no nesting, so none is guessed;
    re-parsing the kept file (``skillstream tga reparse``, parser version 2) restores it."""
    for field in REQUIRED_FIELDS:
        values = body.get(field)
        if isinstance(values, list):
            body[field] = [{"text": v, "items": []} if isinstance(v, str) else v for v in values]
    return body


__all__ = [
    "REQUIRED_FIELDS",
    "Element",
    "FoundationSkill",
    "PerformanceCriterion",
    "RequiredItem",
    "RequiredSubItem",
    "UnitContent",
    "unit_content_v1_to_v2",
]
