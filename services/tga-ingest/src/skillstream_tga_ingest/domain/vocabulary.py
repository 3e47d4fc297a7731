"""TGA's vocabulary as Skillstream's: component type names and usage recommendation states.

Source: the XSD of ``TrainingComponentService`` (``real-data/tga/wsdl``: ``TrainingComponentTypes``,
``UsageRecommendationState``) and TGA-FORMAT.md §1.3, §3.
"""

from __future__ import annotations

from typing import Final

from skillstream_contracts.tga import ComponentType, UsageRecommendation

TGA_TYPE: Final[dict[ComponentType, str]] = {
    ComponentType.TRAINING_PACKAGE: "TrainingPackage",
    ComponentType.QUALIFICATION: "Qualification",
    ComponentType.SKILL_SET: "SkillSet",
    ComponentType.UNIT: "Unit",
}
"""Our component types as TGA's ``TrainingComponentTypes`` names (XSD)."""

_TYPE_NAMES: Final = {name.lower(): ctype for ctype, name in TGA_TYPE.items()}


def component_type_of(tga_type: str | None) -> ComponentType | None:
    """The :class:`ComponentType` of a TGA ``TrainingComponentTypes`` value (``Unit``, ``SkillSet``, ``Skill
    Set``…: spaces and case ignored), or None for types Skillstream does not ingest (accredited courses,
    modules, contextualisations)."""
    return _TYPE_NAMES.get((tga_type or "").replace(" ", "").lower())


def usage_of(state: str | None) -> UsageRecommendation:
    """XSD ``UsageRecommendationState`` (``Current`` / ``Superseded`` / ``Deleted``, any case) as the contract
    enum; anything else is ``unknown``."""
    try:
        return UsageRecommendation((state or "").strip().lower())
    except ValueError:
        return UsageRecommendation.UNKNOWN


__all__ = ["TGA_TYPE", "component_type_of", "usage_of"]
