"""The gateway's FastAPI application (routes arrive with the jobs/dashboard issue)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI


def create_app(ctx: Any) -> FastAPI:
    """FastAPI app served under the host's health and metrics routes; OpenAPI at ``/docs``."""
    app = FastAPI(title="Skillstream gateway", version=ctx.definition.version)
    app.state.ctx = ctx

    @app.get("/api/version", tags=["meta"])
    async def version() -> dict[str, str]:
        return {"service": "gateway", "version": ctx.definition.version}

    return app
