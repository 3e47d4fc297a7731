"""Composition root of the tga-ingest service: everything it runs is wired here, nowhere else.

Start-up opens the TGA client (``TGA_*`` settings: environment, endpoint, credentials, politeness) and the
raw-XML object store; the background runs one :class:`~skillstream_runtime.jobs.JobWorker` per job kind
(:mod:`skillstream_tga_ingest.kinds`); the projections build the ``tga_ingest`` read models the query
endpoints (:mod:`skillstream_tga_ingest.handlers`) answer from.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine
from importlib.resources import files
from typing import Any

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from skillstream_contracts.streams import TGA
from skillstream_runtime.host import ServiceContext, ServiceDefinition
from skillstream_runtime.jobs import JobWorker, JobWorkerSettings
from skillstream_tga_ingest.adapters.client import TgaClient, TgaSettings
from skillstream_tga_ingest.adapters.rawstore import RawStore
from skillstream_tga_ingest.kinds import SPECS, Deps, handlers, lifecycle_event
from skillstream_tga_ingest.projections import PROJECTIONS
from skillstream_tga_ingest.projections.endpoints import ENDPOINTS

NAME = "tga-ingest"
DESCRIPTION = "TGA ingest: training packages, qualifications, skill sets and units from training.gov.au"


class IngestSettings(BaseSettings):
    """How hard tga-ingest works (environment variables of the same names, upper case)."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    tga_item_concurrency: int = Field(default=4, ge=1, le=32, description="components one job downloads at once")
    tga_jobs_per_kind: int = Field(default=2, ge=1, le=16, description="jobs of one kind at once, fleet-wide")
    tga_job_ack_wait: float = Field(default=30.0, gt=0, description="seconds before a silent job is redelivered")


def definition(settings: IngestSettings | None = None, tga: TgaSettings | None = None) -> ServiceDefinition:
    """The tga-ingest service: owns the ``TGA`` stream, the ``tga_raw`` object store and the ``tga_ingest``
    PostgreSQL schema."""
    s = settings or IngestSettings()
    state: dict[str, Any] = {}

    async def open_upstreams(ctx: ServiceContext) -> None:
        state["raw"] = await RawStore.open(ctx.nc, ctx.settings.stream_replicas)

    async def work(ctx: ServiceContext) -> None:
        async with TgaClient(tga or TgaSettings()) as client:
            deps = Deps(client=client, raw=state["raw"], pool=ctx.pool, item_concurrency=s.tga_item_concurrency)
            worker_settings = JobWorkerSettings(concurrency=s.tga_jobs_per_kind, ack_wait=s.tga_job_ack_wait)
            workers = [
                JobWorker(ctx.nc, ctx.store, SPECS[kind], TGA, handler, lifecycle_event, worker_settings)
                for kind, handler in handlers(deps).items()
            ]
            runs: list[Coroutine[Any, Any, None]] = [w.run() for w in workers]
            try:
                await asyncio.gather(*runs)
            finally:
                for w in workers:
                    with contextlib.suppress(Exception):
                        w.stop()

    return ServiceDefinition(
        name=NAME,
        description=DESCRIPTION,
        default_http_port=8102,
        stream=TGA,
        migrations=files("skillstream_tga_ingest") / "migrations",
        projections=PROJECTIONS,
        endpoints=ENDPOINTS,
        startup=(open_upstreams,),
        background=(work,),
    )


__all__ = ["IngestSettings", "definition"]
