"""Composition root of the tga-ingest service: everything it runs is wired here, nowhere else.

- start-up opens the raw-XML object store (``adapters/rawstore.py``);
- the background opens the TGA client (``adapters/client``; ``TGA_*`` settings: environment, endpoint,
  credentials, politeness) and runs one :class:`~skillstream_runtime.jobs.JobWorker` per job kind
  (``handlers/kinds.py`` specs → the handlers of :func:`job_handlers`);
- the projections (``projections/``) build the ``tga_ingest`` read models that the query endpoints
  (``projections/endpoints.py``) answer from and the handlers read back (``projections/held.py``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from importlib.resources import files
from typing import Any

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from skillstream_contracts.streams import TGA
from skillstream_contracts.tga_queries import KIND_REFRESH_CATALOGUE, KIND_REPARSE, KIND_SYNC
from skillstream_runtime.host import ServiceContext, ServiceDefinition
from skillstream_runtime.jobs import Handler, JobContext, JobWorker, JobWorkerSettings
from skillstream_tga_ingest.adapters.client import TgaClient, TgaSettings
from skillstream_tga_ingest.adapters.rawstore import RawStore
from skillstream_tga_ingest.handlers.catalogue import refresh_catalogue
from skillstream_tga_ingest.handlers.deps import Deps
from skillstream_tga_ingest.handlers.download import DOWNLOAD_KINDS, download, reparse
from skillstream_tga_ingest.handlers.kinds import SPECS, lifecycle_event
from skillstream_tga_ingest.handlers.sync import sync
from skillstream_tga_ingest.projections import PROJECTIONS
from skillstream_tga_ingest.projections.endpoints import ENDPOINTS
from skillstream_tga_ingest.projections.held import Held, held_components, outdated_components

NAME = "tga-ingest"
DESCRIPTION = "TGA ingest: training packages, qualifications, skill sets and units from training.gov.au"


class IngestSettings(BaseSettings):
    """How hard tga-ingest works (environment variables of the same names, upper case)."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    tga_item_concurrency: int = Field(default=4, ge=1, le=32, description="components one job downloads at once")
    tga_jobs_per_kind: int = Field(default=2, ge=1, le=16, description="jobs of one kind at once, fleet-wide")
    tga_job_ack_wait: float = Field(default=30.0, gt=0, description="seconds before a silent job is redelivered")


def job_handlers(deps: Deps) -> dict[str, Handler]:
    """Job kind → its handler with ``deps`` bound (every kind of ``handlers.kinds.SPECS``)."""

    def download_kind(kind: str) -> Handler:
        return lambda job: download(job, deps, kind=kind)

    def with_deps(handler: Callable[[JobContext, Deps], Awaitable[None]]) -> Handler:
        async def run(job: JobContext) -> None:
            await handler(job, deps)

        return run

    return {
        **{kind: download_kind(kind) for kind in DOWNLOAD_KINDS},
        KIND_REFRESH_CATALOGUE: with_deps(refresh_catalogue),
        KIND_SYNC: with_deps(sync),
        KIND_REPARSE: with_deps(reparse),
    }


def definition(settings: IngestSettings | None = None, tga: TgaSettings | None = None) -> ServiceDefinition:
    """The tga-ingest service: owns the ``TGA`` stream, the ``tga_raw`` object store and the ``tga_ingest``
    PostgreSQL schema."""
    s = settings or IngestSettings()
    state: dict[str, Any] = {}

    async def open_upstreams(ctx: ServiceContext) -> None:
        state["raw"] = await RawStore.open(ctx.nc, ctx.settings.stream_replicas)

    async def work(ctx: ServiceContext) -> None:
        async def held(codes: list[str] | None) -> Held:
            return await held_components(ctx.pool, codes)

        async def outdated() -> Held:
            return await outdated_components(ctx.pool)

        async with TgaClient(tga or TgaSettings()) as client:
            deps = Deps(
                store=ctx.store,
                client=client,
                raw=state["raw"],
                held=held,
                outdated=outdated,
                item_concurrency=s.tga_item_concurrency,
            )
            worker_settings = JobWorkerSettings(concurrency=s.tga_jobs_per_kind, ack_wait=s.tga_job_ack_wait)
            workers = [
                JobWorker(ctx.nc, ctx.store, SPECS[kind], TGA, handler, lifecycle_event, worker_settings)
                for kind, handler in job_handlers(deps).items()
            ]
            # cancelled at shutdown: the jobs in hand stay unacknowledged and resume on another replica
            await asyncio.gather(*(w.run() for w in workers))

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


__all__ = ["IngestSettings", "definition", "job_handlers"]
