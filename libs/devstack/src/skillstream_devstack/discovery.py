"""Find what is installed in this environment, so the stack and the operator commands work on whatever the
deployment has: services (entry point group ``skillstream.services``) with their projections, and sandbox
upstreams (``skillstream.sandboxes``)."""

from __future__ import annotations

from collections.abc import Collection
from importlib.metadata import entry_points

from skillstream_runtime.host import ServiceDefinition
from skillstream_runtime.projections import Projection
from skillstream_runtime.sandboxes import SandboxDefinition


def service_definitions(names: Collection[str] | None = None) -> dict[str, ServiceDefinition]:
    """Service name → definition, for every installed service package (or only those whose entry point is
    named in ``names``, so one broken package does not stop the others from running), sorted by name."""
    found: dict[str, ServiceDefinition] = {}
    for ep in entry_points(group="skillstream.services"):
        if names is None or ep.name in names:
            definition = ep.load()()
            found[definition.name] = definition
    return dict(sorted(found.items()))


def discover_services(names: Collection[str] | None = None) -> dict[str, int]:
    """Service name → default HTTP port of every installed service (or of those named), sorted by name."""
    return {name: d.default_http_port for name, d in service_definitions(names).items()}


def discover_sandboxes() -> list[SandboxDefinition]:
    """Every installed sandbox upstream, sorted by name."""
    found = [ep.load()() for ep in entry_points(group="skillstream.sandboxes")]
    return sorted(found, key=lambda d: d.name)


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


__all__ = ["discover_sandboxes", "discover_services", "projections", "service_definitions"]
