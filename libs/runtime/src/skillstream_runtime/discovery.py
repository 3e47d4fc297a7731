"""Find the services installed in this environment (entry point group ``skillstream.services``) and
their projections, so operator commands work on whatever the deployment has."""

from __future__ import annotations

from importlib.metadata import entry_points

from skillstream_runtime.host import ServiceDefinition
from skillstream_runtime.projections import Projection


def service_definitions() -> dict[str, ServiceDefinition]:
    """Service name → definition, for every installed service package."""
    found: dict[str, ServiceDefinition] = {}
    for ep in entry_points(group="skillstream.services"):
        definition = ep.load()()
        found[definition.name] = definition
    return dict(sorted(found.items()))


def projections() -> dict[str, Projection]:
    """Projection name → projection, across every installed service.

    Raises:
        ValueError: two services define projections with the same name.
    """
    found: dict[str, Projection] = {}
    for definition in service_definitions().values():
        for p in definition.projections:
            if p.name in found:
                raise ValueError(f"projection {p.name!r} is defined twice")
            found[p.name] = p
    return found


__all__ = ["projections", "service_definitions"]
