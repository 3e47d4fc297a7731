"""What a unit of competency's document states, as parsed: the content shared by the ``UnitDownloaded`` event
(:mod:`skillstream_contracts.tga`), the parser's result and the unit query reply.

Source: ``TGA-FORMAT.md`` §2 (the AuthorIT unit XML, pre-2012 and 2012 formats). Text is whitespace-collapsed,
one string per paragraph or bullet, in document order.
"""

from __future__ import annotations

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


class UnitContent(msgspec.Struct, frozen=True, kw_only=True):
    """What a unit of competency's document states, as parsed (TGA-FORMAT.md §2): shared by the
    ``UnitDownloaded`` event, the parser's result and the query reply, so the three never drift apart.

    Pre-2012 units fill ``critical_aspects`` (Evidence Guide), ``required_skills`` and ``required_knowledge``;
    2012 units fill ``performance_evidence``, ``knowledge_evidence``, ``assessment_conditions`` (Assessment
    Requirements book) and ``foundation_skills``. ``prerequisites`` are unit codes.
    """

    application: str = ""
    competency_field: str | None = None
    prerequisites: list[str] = msgspec.field(default_factory=list)
    elements: list[Element] = msgspec.field(default_factory=list)
    critical_aspects: list[str] = msgspec.field(default_factory=list)
    required_skills: list[str] = msgspec.field(default_factory=list)
    required_knowledge: list[str] = msgspec.field(default_factory=list)
    performance_evidence: list[str] = msgspec.field(default_factory=list)
    knowledge_evidence: list[str] = msgspec.field(default_factory=list)
    assessment_conditions: list[str] = msgspec.field(default_factory=list)
    foundation_skills: list[FoundationSkill] = msgspec.field(default_factory=list)
    range_statement: list[str] = msgspec.field(default_factory=list)


__all__ = ["Element", "FoundationSkill", "PerformanceCriterion", "UnitContent"]
