"""Pre-2012 units (``TpcmsObjectType=UnitOfCompetency``): expected values read from the real files.

WRWSL201A: 4-column E&PC table with element rowspans; Evidence Guide with ``cs`` sub-headings, stated twice.
CPCCBC4047A / CPCCSI2005A (CPC08): 2-column E&PC ("1.1." numbers), Required Skills and Knowledge and Evidence
Guide tables.
"""

from __future__ import annotations

from collections.abc import Callable

from skillstream_contracts.tga import UnitFormat, UsageRecommendation
from skillstream_tga_ingest.parser import ParsedUnit, parse_unit


def _pcs(unit: ParsedUnit, number: str) -> list[tuple[str, str]]:
    element = next(e for e in unit.elements if e.number == number)
    return [(pc.number, pc.text) for pc in element.performance_criteria]


def test_wrwsl201a_book_variables(unit_xml: Callable[[str], bytes]) -> None:
    unit = parse_unit(unit_xml("WRWSL201A"))
    assert (unit.code, unit.title, unit.release) == (
        "WRWSL201A",
        "Sell products and services to business customers",
        "1",
    )
    assert unit.format is UnitFormat.PRE_2012
    assert unit.usage_recommendation is UsageRecommendation.SUPERSEDED


def test_wrwsl201a_elements_from_the_four_column_table(unit_xml: Callable[[str], bytes]) -> None:
    unit = parse_unit(unit_xml("WRWSL201A"))
    assert [(e.number, e.title) for e in unit.elements] == [
        ("1", "Apply product knowledge"),
        ("2", "Identify specific customer types and behaviour"),
        ("3", "Sell products to customers"),
        ("4", "Gather information"),
        ("5", "Sell benefits"),
        ("6", "Overcome objections"),
        ("7", "Close sale"),
        ("8", "Maximise sales opportunities"),
    ]
    assert [len(e.performance_criteria) for e in unit.elements] == [2, 6, 5, 4, 5, 4, 3, 3]
    assert _pcs(unit, "1") == [
        ("1.1", "Knowledge of the use and application of relevant products and services demonstrated."),
        ("1.2", "Experienced sales staff or product information guide consulted to increase product knowledge."),
    ]
    assert _pcs(unit, "7") == [
        ("7.1", "Customer buying signals monitored, identified and responded to appropriately."),
        ("7.2", "Customer encouraged to make purchase decisions."),
        ("7.3", "Appropriate method of closing sale selected and applied."),
    ]


def test_wrwsl201a_critical_aspects_once_although_the_evidence_guide_is_stated_twice(
    unit_xml: Callable[[str], bytes],
) -> None:
    unit = parse_unit(unit_xml("WRWSL201A"))
    assert unit.critical_aspects == [
        "Assessment requires evidence of the following be collected:",
        "Applying product knowledge and using an appropriate sales approach to sell the benefits of products, "
        "overcome objections and close sales",
        "Using questioning, listening and observation skills to accurately determine customer requirements",
        "Consistently applying business policies and procedures, in regard to selling products and services",
        "Maximising sales opportunities according to business policies and procedures",
        "consistently applying industry codes of practice, relevant legislation and statutory requirements in "
        "regard to selling products and services",
        "Evaluating personal sales performance to maximise future sales",
        "Written and oral workplace-related documents that affect entry level employees, other than work-process items",
        "Effectively communicating summary information to team members and senior colleagues",
    ]
    # Required Skills and Knowledge says only "Not applicable."; the lists are the Evidence Guide's
    # "Underpinning knowledge and skills" (test_parser_required_skills.py).
    assert unit.required_knowledge[0].text == "Display knowledge in terms of job role or function:"
    assert unit.required_skills[-1].text == "Willingness to learn from others"


def test_wrwsl201a_range_statement_once(unit_xml: Callable[[str], bytes]) -> None:
    unit = parse_unit(unit_xml("WRWSL201A"))
    assert unit.range_statement[0].startswith("The Range of Variables statement provides details of the scope")
    assert unit.range_statement[-4:] == ["Card type", "Card holder details", "Card number", "Expiry date"]
    assert unit.range_statement.count("Expiry date") == 1
    assert unit.range_statement.count("General Contexts may include but are not limited to") == 1


def test_cpccbc4047a_two_column_table_with_dotted_numbers(unit_xml: Callable[[str], bytes]) -> None:
    unit = parse_unit(unit_xml("CPCCBC4047A"))
    assert (unit.code, unit.title, unit.release, unit.format) == (
        "CPCCBC4047A",
        "Quality assure fire-rated lining systems",
        "1",
        UnitFormat.PRE_2012,
    )
    assert unit.usage_recommendation is UsageRecommendation.CURRENT
    assert [(e.number, e.title) for e in unit.elements] == [
        ("1", "Plan and prepare for work."),
        ("2", "Identify authorised installation materials and techniques."),
        ("3", "Inspect for compliance with authorised standards."),
        ("4", "Record and report the results of inspections."),
    ]
    assert [len(e.performance_criteria) for e in unit.elements] == [5, 3, 4, 3]
    assert _pcs(unit, "4") == [
        (
            "4.1",
            "Results of inspections, including certification, are completed in accordance with authorised procedures.",
        ),
        (
            "4.2",
            "Inspection findings, including non-conformance sheets, are completed and reported to appropriate "
            "authority.",
        ),
        (
            "4.3",
            "Feedback and advice are provided at the work site in accordance with authorised procedures and industry "
            "practice.",
        ),
    ]
    assert _pcs(unit, "1")[2] == ("1.3", "Signage and barricade requirements are identified and implemented.")


def test_cpccbc4047a_evidence_guide_table_and_required_skills_and_knowledge(unit_xml: Callable[[str], bytes]) -> None:
    unit = parse_unit(unit_xml("CPCCBC4047A"))
    assert unit.critical_aspects == [
        "A person who demonstrates competency in this unit must be able to provide evidence of the ability to:",
        "locate, interpret and apply relevant information, standards and specifications",
        "comply with site safety plan and OHS legislation, regulations and codes of practice applicable to workplace "
        "operations",
        "comply with organisational policies and procedures, including quality requirements",
        "inspect and report on, or select, a total fire-rated system that complies with all codes and standards and "
        "covers, at a minimum, a commercial multi-floor site involving compartmentation, plant rooms, access ladders, "
        "escalators, lifts, shafts, columns and beams",
        "communicate effectively and work safely with others.",
    ]
    assert [item.text for item in unit.required_skills[:2]] == [
        "Required skills for this unit are:",
        "communication skills to:",
    ]
    assert unit.required_skills[1].items[0].text == (
        "enable clear and direct communication, using questioning to identify and confirm requirements, share "
        "information, listen and understand"
    )
    assert unit.required_skills[-1].text == "organisational skills, including the ability to plan for and set out work."
    assert len(unit.required_skills) == 4  # the intro line and three List Bullet entries (nesting kept)
    assert [item.text for item in unit.required_knowledge[:2]] == [
        "Required knowledge for this unit is:",
        "Building Code of Australia (BCA) and Australian standards related to fire-rated lining systems",
    ]
    assert len(unit.required_knowledge) == 11
    # Unit Descriptor, then Application of the Unit; Licensing/Regulatory Information says "Not Applicable".
    assert unit.application.split("\n")[0].startswith(
        "This unit of competency specifies the outcomes required to quality assure fire-rated lining systems"
    )
    assert unit.application.split("\n")[1] == (
        "This unit of competency supports the needs of experienced tradespersons with a responsibility for certifying "
        "that lining systems including walls, ceilings, structures, openings and penetrations comply with authorised "
        "standards."
    )
    assert unit.prerequisites == []  # "Prerequisite units | Nil"
    assert unit.performance_evidence == unit.knowledge_evidence == unit.assessment_conditions == []


def test_cpccsi2005a(unit_xml: Callable[[str], bytes]) -> None:
    unit = parse_unit(unit_xml("CPCCSI2005A"))
    assert (unit.code, unit.title, unit.format) == ("CPCCSI2005A", "Fabricate signage", UnitFormat.PRE_2012)
    assert [(e.number, e.title) for e in unit.elements] == [
        ("1", "Plan and prepare work."),
        ("2", "Fabricate and assemble three-dimensional acrylic or light metal signage."),
        ("3", "Clean up finished sign."),
    ]
    assert [len(e.performance_criteria) for e in unit.elements] == [7, 5, 3]
    assert _pcs(unit, "3") == [
        ("3.1", "Completed three-dimensional acrylic or light metal signage is trimmed to a professional finish."),
        (
            "3.2",
            "Sign and surrounding surface environment/area are cleaned and waste materials removed in accordance "
            "with statutory and regulatory authority requirements.",
        ),
        ("3.3", "Tools and equipment, including personal protective equipment, are cleaned, maintained and stored."),
    ]
    assert unit.critical_aspects == [
        "A person who demonstrates competency in this unit must be able to provide evidence of understanding and "
        "applying to fabrication of a range of signs:",
        "acrylic fabrication materials and processes",
        "light metal fabrication materials and processes.",
    ]
    assert unit.prerequisites == ["CPCCOHS2001A"]
    assert unit.required_knowledge[-1].text == "three-dimensional acrylic fabrication techniques."
