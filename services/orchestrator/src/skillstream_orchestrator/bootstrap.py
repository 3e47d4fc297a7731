"""Composition root of the orchestrator service: everything it runs is wired here, nowhere else."""

from __future__ import annotations

from importlib.resources import files

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from skillstream_contracts.streams import ALL_STREAMS, JOBS
from skillstream_orchestrator.handlers import ENDPOINTS
from skillstream_orchestrator.progress import ProgressProjection
from skillstream_orchestrator.projections import JobsProjection
from skillstream_orchestrator.publisher import publisher
from skillstream_orchestrator.reactor import reactor
from skillstream_runtime.eventstore import ensure_stream
from skillstream_runtime.host import ServiceContext, ServiceDefinition
from skillstream_runtime.jobs import ensure_work_stream

NAME = "orchestrator"
DESCRIPTION = "Import orchestration: the job queue, lifecycle, schedules and progress"


class OrchestratorSettings(BaseSettings):
    """The orchestrator's own settings (environment variables of the same names, upper case)."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    job_report_streams: list[str] = Field(
        default=[s.name for s in ALL_STREAMS if s.name != JOBS.name],
        description="streams whose events report job items and phases (a JSON list of stream names)",
    )
    progress_publish_interval: float = Field(default=0.1, gt=0, description="seconds between progress rounds")


def definition(settings: OrchestratorSettings | None = None) -> ServiceDefinition:
    """The orchestrator service: owns the ``JOBS`` stream, the ``JOB_WORK`` queue and the ``orchestrator``
    PostgreSQL schema (``jobs`` and ``job_progress`` read models)."""
    s = settings or OrchestratorSettings()
    known = {d.name: d for d in ALL_STREAMS}

    async def ensure_streams(ctx: ServiceContext) -> None:
        # The progress view and the follower read the owners' streams: make sure those exist (idempotent,
        # same definitions as their owners) so the consumers can be created before the owners first start.
        await ensure_work_stream(ctx.nc, ctx.settings.stream_replicas)
        for name in s.job_report_streams:
            if name in known:
                await ensure_stream(ctx.nc, known[name], ctx.settings.stream_replicas)

    return ServiceDefinition(
        name=NAME,
        description=DESCRIPTION,
        default_http_port=8101,
        stream=JOBS,
        migrations=files("skillstream_orchestrator") / "migrations",
        projections=(JobsProjection(), ProgressProjection(s.job_report_streams)),
        endpoints=ENDPOINTS,
        startup=(ensure_streams,),
        background=(reactor(s.job_report_streams), publisher(s.progress_publish_interval)),
    )
