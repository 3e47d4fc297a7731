"""What the AuthorIT parser produces: a parsed unit of competency or qualification, and its error.

Sources: TGA-FORMAT.md §2 (the AuthorIT Book/Topic layout of both unit formats and of qualifications) and
seed 000 (the fields). Text is whitespace-collapsed, one string per paragraph or bullet, in Book
``ContentsNodes`` order, de-duplicated; numbers are as the document writes them without a trailing dot.
"""

from __future__ import annotations

import msgspec

from skillstream_contracts.tga import ParseFailure, UnitContent, UnitFormat, UsageRecommendation

PARSER_VERSION = 2
"""Bumped when a parser fix changes what is extracted; ``skillstream tga reparse`` re-parses kept XML
whose events carry a lower ``parser_version``. 2: pre-2012 required skills and knowledge with their nesting,
the Evidence Guide's "Underpinning knowledge and skills", Unit Descriptor in the application."""


class ParsedUnit(UnitContent, frozen=True, kw_only=True):
    """A unit of competency as its AuthorIT file states it (Book variables + topics)."""

    code: str
    title: str
    release: str
    format: UnitFormat
    usage_recommendation: UsageRecommendation = UsageRecommendation.UNKNOWN


class ParsedQualification(msgspec.Struct, frozen=True, kw_only=True):
    """A qualification (``StreamlineQualification`` book). ``core_units``/``elective_units`` are unit codes
    stated in the Packaging Rules (empty when the rules name none); ``elective_groups`` maps a stated group
    heading (``"Group A"``) to its codes; ``total_units`` is the stated "Total number of units"."""

    code: str
    title: str
    release: str
    usage_recommendation: UsageRecommendation = UsageRecommendation.UNKNOWN
    aqf_level: str | None = None
    description: str = ""
    entry_requirements: str = ""
    packaging_rules: str = ""
    total_units: int | None = None
    core_units: list[str] = msgspec.field(default_factory=list)
    elective_units: list[str] = msgspec.field(default_factory=list)
    elective_groups: dict[str, list[str]] = msgspec.field(default_factory=dict)


ParsedComponent = ParsedUnit | ParsedQualification


class ParseError(Exception):
    """The file was refused: ``failure`` says which way (:class:`ParseFailure`), ``reason`` says why and
    where (e.g. ``"line 812: Opening and ending tag mismatch"``)."""

    def __init__(self, failure: ParseFailure, reason: str) -> None:
        super().__init__(f"{failure.value}: {reason}")
        self.failure = failure
        self.reason = reason


__all__ = ["PARSER_VERSION", "ParseError", "ParsedComponent", "ParsedQualification", "ParsedUnit"]
