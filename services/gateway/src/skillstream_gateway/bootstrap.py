"""Composition root of the gateway: the HTTP edge (no domain logic, no service's tables)."""

from __future__ import annotations

from skillstream_gateway.app import create_app
from skillstream_runtime.host import ServiceDefinition

NAME = "gateway"
DESCRIPTION = "Gateway: the HTTP edge (REST, SSE, dashboard) in front of the services"


def definition() -> ServiceDefinition:
    """The gateway owns no stream and no tables; it talks to services over NATS."""
    return ServiceDefinition(
        name=NAME,
        description=DESCRIPTION,
        default_http_port=8000,
        needs_database=False,
        app=create_app,
    )
