"""Composition root of the gateway: the HTTP edge (no domain logic, no service's tables)."""

from __future__ import annotations

from skillstream_gateway.app import create_app
from skillstream_gateway.revocation import open_bucket
from skillstream_runtime.host import ServiceContext, ServiceDefinition

NAME = "gateway"
DESCRIPTION = "Gateway: the HTTP edge (REST, SSE, dashboard) in front of the services"


async def ensure_revocation_bucket(ctx: ServiceContext) -> None:
    """Create the KV bucket of revoked sessions (``gateway_revoked_tokens``) when missing, before HTTP starts,
    so that a gateway without JetStream fails at start rather than at the first sign-out."""
    await open_bucket(ctx.nc, ctx.settings.stream_replicas)


def definition() -> ServiceDefinition:
    """The gateway owns no stream and no tables; it talks to services over NATS and keeps the revoked sessions
    in a KV bucket."""
    return ServiceDefinition(
        name=NAME,
        description=DESCRIPTION,
        default_http_port=8000,
        needs_database=False,
        app=create_app,
        startup=(ensure_revocation_bucket,),
    )
