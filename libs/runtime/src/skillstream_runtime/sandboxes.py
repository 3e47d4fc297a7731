"""How a sandbox upstream declares itself to the local stack (DESIGN.md: "the sandbox upstreams in deploy/").

A sandbox package declares itself in the ``skillstream.sandboxes`` entry point group with a function returning
a :class:`SandboxDefinition`: the module ``skillstream up`` runs (``python -m <module>``, ``HTTP_PORT`` set, a
``/healthz`` route expected) and the environment that points the services at it. A sandbox is skipped when
the operator's environment already points the services elsewhere (``skip_if_set``), e.g. ``TGA_ENVIRONMENT``
= production.

Only the declaration lives here, beside :class:`~skillstream_runtime.host.ServiceDefinition`, so a sandbox
package needs nothing but the runtime; finding and running sandboxes is the developer stack's job
(``skillstream_devstack.discovery``, ``skillstream_devstack.stack``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field


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


__all__ = ["SandboxDefinition"]
