"""2012 "Streamlined" units (``StreamlineUnit`` + ``StreamlineAssessmentRequirement`` Books in one
``_Complete_`` file): expected values read from the real files.

BSBCMM412 / RIICOM201E / CHCCDE024: 2-column E&PC with header and boilerplate rows. UETDRVC012: 4-column E&PC,
Range of Conditions, a prerequisite list. RIICOM201E is 2012 although its code has a letter suffix.
"""

from __future__ import annotations

from collections.abc import Callable

from skillstream_contracts.tga import FoundationSkill, UnitFormat, UsageRecommendation
from skillstream_tga_ingest.parser import ParsedUnit, parse_unit


def _pcs(unit: ParsedUnit, number: str) -> list[tuple[str, str]]:
    element = next(e for e in unit.elements if e.number == number)
    return [(pc.number, pc.text) for pc in element.performance_criteria]


def test_bsbcmm412_elements(unit_xml: Callable[[str], bytes]) -> None:
    unit = parse_unit(unit_xml("BSBCMM412"))
    assert (unit.code, unit.title, unit.release, unit.format) == (
        "BSBCMM412",
        "Lead difficult conversations",
        "2",
        UnitFormat.STREAMLINED_2012,
    )
    assert unit.usage_recommendation is UsageRecommendation.CURRENT
    assert [(e.number, e.title) for e in unit.elements] == [
        ("1", "Prepare for conversation"),
        ("2", "Facilitate difficult conversation"),
        ("3", "Follow up and review conversation"),
    ]
    assert [len(e.performance_criteria) for e in unit.elements] == [6, 5, 3]
    assert _pcs(unit, "2") == [
        ("2.1", "Undertake conversation with relevant stakeholders"),
        ("2.2", "Provide opportunity for stakeholder input"),
        ("2.3", "Confirm relevant stakeholders understand conversation and outcomes"),
        ("2.4", "Document relevant points of conversation"),
        ("2.5", "Refer stakeholders to relevant support services, as required"),
    ]
    assert _pcs(unit, "1")[5] == (
        "1.6",
        "Select delivery style according to conversational context and stakeholder requirements",
    )


def test_bsbcmm412_assessment_requirements(unit_xml: Callable[[str], bytes]) -> None:
    unit = parse_unit(unit_xml("BSBCMM412"))
    assert unit.performance_evidence == [
        "The candidate must demonstrate the ability to complete the tasks outlined in the elements, performance "
        "criteria and foundation skills of this unit, including evidence of the ability to:",
        "lead at least two difficult conversations in the workplace.",
        "In the course of the above, the candidate must:",
        "adapt delivery style and tone according to the mood of the conversation",
        "understand and react to relevant personnel using conviction and empathy.",
    ]
    assert unit.knowledge_evidence == [
        "The candidate must be able to demonstrate knowledge to complete the tasks outlined in the elements, "
        "performance criteria and foundation skills of this unit, including knowledge of:",
        "legislation, standards and codes of practice relating to workplace communication",
        "workplace policies and procedures relevant to communication",
        "communication styles",
        "delivery styles, tones and techniques of communication, including:",
        "verbal and non-verbal communication",
        "conviction and empathy",
        "common support services.",
    ]
    assert unit.assessment_conditions == [
        "Skills in this unit must be demonstrated in a workplace or simulated environment where the conditions are "
        "typical of those in a working environment in this industry. This includes access to:",
        "workplace documentation and resources relevant to performance evidence.",
        "Assessors of this unit must satisfy the requirements for assessors in applicable vocational education and "
        "training legislation, frameworks and/or standards.",
    ]
    assert unit.critical_aspects == unit.required_skills == unit.required_knowledge == []


def test_bsbcmm412_foundation_skills(unit_xml: Callable[[str], bytes]) -> None:
    unit = parse_unit(unit_xml("BSBCMM412"))
    assert [fs.skill for fs in unit.foundation_skills] == [
        "Reading",
        "Writing",
        "Oral Communication",
        "Planning and organising",
        "Initiative and enterprise",
        "Technology",
        "Problem solving",
    ]
    assert unit.foundation_skills[0] == FoundationSkill(
        skill="Reading",
        description="Reviews and analyses documents to identify information relevant to a specific conversation",
    )
    assert unit.foundation_skills[-1].description.split("\n") == [
        "Recognises the need to alter personal communication style in response to the needs and expectations of others",
        "Interprets audience reactions and changes words and non-verbal features accordingly",
        "Uses feedback from others, and analytical and lateral thinking to review current practices and develop new "
        "ideas",
    ]
    assert unit.application.split("\n")[0] == (
        "This unit describes the skills and knowledge required to prepare, facilitate and lead difficult conversations."
    )


def test_riicom201e_is_2012_despite_its_letter_suffix(unit_xml: Callable[[str], bytes]) -> None:
    unit = parse_unit(unit_xml("RIICOM201E"))
    assert (unit.code, unit.title, unit.release, unit.format) == (
        "RIICOM201E",
        "Communicate in the workplace",
        "1",
        UnitFormat.STREAMLINED_2012,
    )
    assert [(e.number, e.title) for e in unit.elements] == [
        ("1", "Plan and prepare for workplace communication using equipment and systems"),
        ("2", "Communicate using communication equipment and systems"),
        ("3", "Carry out face-to-face routine communication"),
        ("4", "Complete written documentation"),
    ]
    assert [len(e.performance_criteria) for e in unit.elements] == [5, 6, 6, 3]
    assert _pcs(unit, "4") == [
        ("4.1", "Complete written documentation clearly, concisely and on time"),
        ("4.2", "Use approved documents according to workplace procedures"),
        ("4.3", "Pass on written information to others"),
    ]
    assert unit.foundation_skills == [
        FoundationSkill(
            skill="Writing", description="Produces and completes written documents required for workplace procedures"
        ),
        FoundationSkill(
            skill="Self-management",
            description="Monitors and minimises own exposure to worksite risks and hazards during activities",
        ),
    ]
    assert unit.performance_evidence[1:4] == [
        "communicate in the workplace on at least two occasions, including:",
        "identifying communication strategies and systems",
        "operating communications systems and equipment to convey meaning to others",
    ]
    assert len(unit.performance_evidence) == 11
    assert unit.knowledge_evidence[-8:] == [
        "key communications devices, including:",
        "flags",
        "lights",
        "signs",
        "bells",
        "whistles",
        "alarms",
        "sirens.",
    ]
    assert len(unit.knowledge_evidence) == 16


def test_chccde024_prerequisite_and_competency_field_topics(unit_xml: Callable[[str], bytes]) -> None:
    unit = parse_unit(unit_xml("CHCCDE024"))
    assert (unit.code, unit.title) == ("CHCCDE024", "Support community action")
    assert unit.competency_field == "Community Development"
    assert unit.prerequisites == []  # "Nil"
    assert [(e.number, e.title) for e in unit.elements] == [
        ("1", "Respond to community priorities."),
        ("2", "Support identified community priorities."),
        ("3", "Evaluate effectiveness of community action."),
    ]
    assert [len(e.performance_criteria) for e in unit.elements] == [3, 4, 3]
    assert _pcs(unit, "1") == [  # written "1.1." in the file
        (
            "1.1",
            "Plan and implement opportunities for stakeholders to identify and advance community priorities and "
            "aspirations.",
        ),
        ("1.2", "Identify models of participation and action research methods."),
        ("1.3", "Identify, develop and agree on strategies for meeting community priorities."),
    ]
    assert unit.performance_evidence == [
        "Evidence of the ability to complete tasks outlined in elements and performance criteria of this unit in the "
        "context of the job role, and:",
        "support at least one community to identify their rights and represent their priorities and aspirations "
        "through social and public action.",
    ]
    assert unit.knowledge_evidence[0] == (
        "Demonstrated knowledge required to complete the tasks outlined in elements and performance criteria of this "
        "unit:"
    )
    assert unit.knowledge_evidence[-1] == "organisational policies and procedures for documentation."
    assert len(unit.knowledge_evidence) == 23
    # "Foundation skills essential to performance are explicit in the performance criteria of this unit…"
    assert unit.foundation_skills == []


def test_uetdrvc012_four_column_table_range_of_conditions_and_prerequisites(unit_xml: Callable[[str], bytes]) -> None:
    unit = parse_unit(unit_xml("UETDRVC012"))
    assert (unit.code, unit.title, unit.format) == (
        "UETDRVC012",
        "Coordinate vegetation control operations",
        UnitFormat.STREAMLINED_2012,
    )
    assert [(e.number, e.title) for e in unit.elements] == [
        ("1", "Prepare to coordinate vegetation control operations"),
        ("2", "Coordinate vegetation control operations"),
        ("3", "Complete work and documentation"),
    ]
    assert [len(e.performance_criteria) for e in unit.elements] == [8, 8, 6]
    assert _pcs(unit, "3")[:3] == [
        ("3.1", "Completed work is checked for compliance against the work plan and workplace requirements"),
        ("3.2", "Incidents or unplanned events are reported in accordance with workplace requirements"),
        ("3.3", "Worksite is rehabilitated, cleaned and made safe in accordance with workplace requirements"),
    ]
    assert unit.competency_field == "Vegetation Control"
    assert unit.prerequisites == [
        "UETDREL002",
        "UETDREL006",
        "UETDRVC001",
        "UEECD0007",
        "UETDREL001",
        "UETDREL005",
    ]
    assert unit.range_statement == [
        "Range is restricted to essential operating conditions and any other variables essential to the work "
        "environment.",
        "Non-essential conditions may be found in the UET Transmission, Distribution and Rail Sector Training Package "
        "Companion Volume Implementation Guide.",
    ]
    assert unit.performance_evidence[2] == (
        "work health and safety (WHS)/occupational health and safety (OHS) requirements"
    )


def test_cpccbc4005_foundation_skills_without_a_table(unit_xml: Callable[[str], bytes]) -> None:
    unit = parse_unit(unit_xml("CPCCBC4005"))
    assert unit.foundation_skills == [
        FoundationSkill(
            skill="technology skills to:",
            description="use digital devices to communicate and collaborate effectively with suppliers, contractors "
            "and others\nuse equipment and programs to prepare and access electronic call forward sheets and files.",
        )
    ]
