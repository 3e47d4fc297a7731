"""The operator's view of a parsed component: the JSON printed by ``skillstream tga parse FILE…``.

Source: seed 000. Keys come in a fixed order, the ones an operator reads first (code, title, release);
numbers are as the document writes them without a trailing dot (``"1"``, ``"1.1"``); texts are whitespace-collapsed.
"""

from __future__ import annotations

from typing import Any

import msgspec

from skillstream_tga_ingest.parser.model import ParsedQualification, ParsedUnit


def to_operator_json(parsed: ParsedUnit | ParsedQualification) -> dict[str, Any]:
    """A JSON-ready dict (str, int, None, lists, dicts only).

    Unit: ``code``, ``title``, ``release``, ``format`` (``"pre-2012"``/``"2012"``), ``elements``
    (``[{number, title, performance_criteria: [{number, text}]}]``), ``critical_aspects``, ``required_skills``
    and ``required_knowledge`` (``[{text, items: [{text, items: [text]}]}]``), ``performance_evidence``,
    ``knowledge_evidence``, ``assessment_conditions``, ``foundation_skills`` (``[{skill, description}]``), then
    ``usage_recommendation``, ``application``, ``competency_field``, ``prerequisites``, ``range_statement``,
    ``kind`` = ``"unit"``.

    Qualification: ``code``, ``title``, ``core_units``, ``elective_units``, then ``release``,
    ``usage_recommendation``, ``aqf_level``, ``total_units``, ``elective_groups``, ``description``,
    ``entry_requirements``, ``packaging_rules``, ``kind`` = ``"qualification"``.
    """
    if isinstance(parsed, ParsedQualification):
        return _qualification(parsed)
    return _unit(parsed)


def _unit(unit: ParsedUnit) -> dict[str, Any]:
    return {
        "code": unit.code,
        "title": unit.title,
        "release": unit.release,
        "format": unit.format.value,
        "elements": [
            {
                "number": element.number,
                "title": element.title,
                "performance_criteria": [{"number": pc.number, "text": pc.text} for pc in element.performance_criteria],
            }
            for element in unit.elements
        ],
        "critical_aspects": list(unit.critical_aspects),
        "required_skills": msgspec.to_builtins(unit.required_skills),
        "required_knowledge": msgspec.to_builtins(unit.required_knowledge),
        "performance_evidence": list(unit.performance_evidence),
        "knowledge_evidence": list(unit.knowledge_evidence),
        "assessment_conditions": list(unit.assessment_conditions),
        "foundation_skills": [{"skill": fs.skill, "description": fs.description} for fs in unit.foundation_skills],
        "usage_recommendation": unit.usage_recommendation.value,
        "application": unit.application,
        "competency_field": unit.competency_field,
        "prerequisites": list(unit.prerequisites),
        "range_statement": list(unit.range_statement),
        "kind": "unit",
    }


def _qualification(qualification: ParsedQualification) -> dict[str, Any]:
    return {
        "code": qualification.code,
        "title": qualification.title,
        "core_units": list(qualification.core_units),
        "elective_units": list(qualification.elective_units),
        "release": qualification.release,
        "usage_recommendation": qualification.usage_recommendation.value,
        "aqf_level": qualification.aqf_level,
        "total_units": qualification.total_units,
        "elective_groups": {group: list(codes) for group, codes in qualification.elective_groups.items()},
        "description": qualification.description,
        "entry_requirements": qualification.entry_requirements,
        "packaging_rules": qualification.packaging_rules,
        "kind": "qualification",
    }


__all__ = ["to_operator_json"]
