"""Sandbox upstreams the local stack runs beside the services (DESIGN.md: "the sandbox upstreams in deploy/").

A sandbox package declares itself in the ``skillstream.sandboxes`` entry point group with a function returning
a :class:`SandboxDefinition`: the module ``skillstream up`` runs (``python -m <module>``, ``HTTP_PORT`` set, a
``/healthz`` route expected) and the environment that points the services at it. A sandbox is skipped when
the operator's environment already points the services elsewhere (``skip_if_set``), e.g. ``TGA_ENVIRONMENT``
= production.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import entry_points


@dataclass(frozen=True, kw_only=True)
class SandboxDefinition:
    """``service_env(port)`` → environment variables for every service (e.g. ``TGA_ENDPOINT``)."""

    name: str
    module: str
    default_port: int
    service_env: Callable[[int], dict[str, str]]
    skip_if_set: tuple[str, ...] = field(default_factory=tuple)

    def wanted(self, environ: Mapping[str, str]) -> bool:
        """False when one of ``skip_if_set`` is set in ``environ`` (the operator chose a real upstream)."""
        return not any(environ.get(name) for name in self.skip_if_set)


def discover_sandboxes() -> list[SandboxDefinition]:
    """Every installed sandbox, sorted by name."""
    found = [ep.load()() for ep in entry_points(group="skillstream.sandboxes")]
    return sorted(found, key=lambda d: d.name)


__all__ = ["SandboxDefinition", "discover_sandboxes"]
