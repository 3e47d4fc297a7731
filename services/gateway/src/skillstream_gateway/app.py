"""The gateway's FastAPI application, assembled from its routers (:mod:`skillstream_gateway.routers`).

No domain logic and no service's tables here or in the routers: every route turns into a command or query over
NATS and relays the reply; a service's typed error becomes a problem document (:mod:`skillstream_gateway.problems`).
Reply bodies are the contracts' msgspec structs, encoded once; their JSON Schemas are merged into the OpenAPI
document so ``/docs`` shows them, with every problem each operation can answer (``application/problem+json``;
503 with ``Retry-After``).
"""

from typing import Any

import msgspec
from fastapi import FastAPI

from skillstream_gateway.auth import Authenticator, auth_router
from skillstream_gateway.dashboard import dashboard_routes
from skillstream_gateway.problems import BodySizeLimitMiddleware, install_problem_handlers
from skillstream_gateway.replies import document_problems
from skillstream_gateway.routers import catalogue, jobs, media
from skillstream_gateway.routers.progress import progress_router
from skillstream_gateway.settings import GatewaySettings
from skillstream_gateway.sse import ProgressHub

_SCHEMA_TYPES = (*jobs.SCHEMA_TYPES, *catalogue.SCHEMA_TYPES, *media.SCHEMA_TYPES)


def create_app(ctx: Any, settings: GatewaySettings | None = None) -> FastAPI:
    """The gateway app for a running service context (``ctx.nc`` is the NATS connection, ``ctx.stopping`` the
    shutdown event when there is one). Routes are matched in the order they are included here."""
    settings = settings or GatewaySettings()
    nc = ctx.nc
    auth = Authenticator(settings)
    hub = ProgressHub(nc, getattr(ctx, "stopping", None))
    app = FastAPI(
        title="Skillstream gateway",
        version=ctx.definition.version,
        description="Jobs, live progress and the dashboard. See services/gateway/README.md.",
    )
    app.state.ctx = ctx
    app.state.hub = hub
    install_problem_handlers(app, retry_after_seconds=settings.retry_after_seconds)
    app.add_middleware(BodySizeLimitMiddleware, max_body_bytes=settings.max_body_bytes)
    app.include_router(auth_router(settings, auth))
    app.include_router(jobs.jobs_router(nc, auth))
    app.include_router(progress_router(nc, auth, hub, settings))
    app.include_router(catalogue.catalogue_router(nc, auth))
    app.include_router(media.media_router(nc, auth))
    # the dashboard shell is plain Starlette routes: public, and kept out of the OpenAPI document
    app.router.routes.extend(dashboard_routes())
    auth.install(app)
    _merge_schemas(app)
    return app


def _merge_schemas(app: FastAPI) -> None:
    """Add the contracts' JSON Schemas (msgspec) to the OpenAPI components, so ``$ref``s resolve, and the
    problems every operation can answer (:func:`~skillstream_gateway.replies.document_problems`)."""
    generate = app.openapi
    _, components = msgspec.json.schema_components(_SCHEMA_TYPES, ref_template="#/components/schemas/{name}")

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = generate()
            schema.setdefault("components", {}).setdefault("schemas", {}).update(components)
            app.openapi_schema = document_problems(schema)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


__all__ = ["create_app"]
