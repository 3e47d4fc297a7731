"""Composition root of the orchestrator service: everything it runs is wired here, nowhere else.

Endpoints: the command handlers (:mod:`.handlers.commands`) and the queries (:mod:`.projections.queries`),
each given its dependencies built from the service context. Background: the reactions (dispatcher and
follower, :mod:`.handlers.reactions`, on the runtime's consumer loop) and the progress publisher.
Projections: the ``jobs`` and ``job_progress`` read models.
"""

from __future__ import annotations

from importlib.resources import files
from typing import Any

from nats.aio.msg import Msg
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from skillstream_contracts.events import Headers
from skillstream_contracts.jobs import (
    CANCEL_JOB,
    GET_JOB,
    LIST_JOB_KINDS,
    LIST_JOBS,
    PROGRESS_SINCE,
    REQUEST_JOB,
    RESUME_JOB,
    RETRY_FAILED,
    GetJob,
    JobKindList,
    JobRef,
    ListJobKinds,
    ListJobs,
    ProgressSince,
    RequestJob,
)
from skillstream_contracts.streams import ALL_STREAMS, JOBS
from skillstream_orchestrator.adapters.workqueue import kind_registered, publish_dispatch
from skillstream_orchestrator.handlers import commands, reactions
from skillstream_orchestrator.projections import queries
from skillstream_orchestrator.projections.jobs import JobsProjection
from skillstream_orchestrator.projections.progress import ProgressProjection
from skillstream_orchestrator.projections.progress_reads import items_in, items_seen
from skillstream_orchestrator.projections.publisher import publisher
from skillstream_runtime.endpoints import Endpoint
from skillstream_runtime.eventstore import ensure_stream
from skillstream_runtime.host import ServiceContext, ServiceDefinition
from skillstream_runtime.jobs import ensure_work_stream, list_kinds
from skillstream_runtime.reactions import Reaction
from skillstream_runtime.reactions import reactions as run_reactions

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


def command_deps(ctx: ServiceContext) -> commands.CommandDeps:
    """The command handlers' dependencies on this process's connections."""
    pool = ctx.pool
    assert pool is not None

    async def items(job_id: str, state: str) -> list[str]:
        async with pool.acquire() as conn:
            return await items_in(conn, job_id, state)

    async def seen(job_id: str) -> int:
        async with pool.acquire() as conn:
            return await items_seen(conn, job_id)

    async def registered(kind: str) -> bool:
        return await kind_registered(ctx.nc, kind)

    return commands.CommandDeps(store=ctx.store, kind_registered=registered, items_in=items, items_seen=seen)


def reaction_deps(ctx: ServiceContext) -> reactions.ReactionDeps:
    """The reactions' dependencies on this process's connections."""

    async def publish(dispatch: Any) -> None:
        await publish_dispatch(ctx.nc, dispatch)

    return reactions.ReactionDeps(store=ctx.store, publish_dispatch=publish)


async def _request_job(ctx: ServiceContext, cmd: RequestJob) -> Any:
    return await commands.request_job(cmd, command_deps(ctx))


async def _cancel_job(ctx: ServiceContext, cmd: JobRef) -> Any:
    return await commands.cancel_job(cmd, command_deps(ctx))


async def _retry_failed(ctx: ServiceContext, cmd: JobRef) -> Any:
    return await commands.retry_failed(cmd, command_deps(ctx))


async def _resume_job(ctx: ServiceContext, cmd: JobRef) -> Any:
    return await commands.resume_job(cmd, command_deps(ctx))


async def _list_jobs(ctx: ServiceContext, q: ListJobs) -> Any:
    assert ctx.pool is not None
    return await queries.list_jobs(ctx.pool, q)


async def _get_job(ctx: ServiceContext, q: GetJob) -> Any:
    assert ctx.pool is not None
    return await queries.get_job(ctx.store, ctx.pool, q)


async def _progress_since(ctx: ServiceContext, q: ProgressSince) -> Any:
    assert ctx.pool is not None
    return await queries.get_progress_since(ctx.pool, q)


async def _job_kinds(ctx: ServiceContext, _: ListJobKinds) -> JobKindList:
    return JobKindList(items=await list_kinds(ctx.nc))


ENDPOINTS = (
    Endpoint(name="request_job", subject=REQUEST_JOB, request_type=RequestJob, handler=_request_job),
    Endpoint(name="cancel_job", subject=CANCEL_JOB, request_type=JobRef, handler=_cancel_job),
    Endpoint(name="retry_failed", subject=RETRY_FAILED, request_type=JobRef, handler=_retry_failed),
    Endpoint(name="resume_job", subject=RESUME_JOB, request_type=JobRef, handler=_resume_job),
    Endpoint(name="list_jobs", subject=LIST_JOBS, request_type=ListJobs, handler=_list_jobs),
    Endpoint(name="get_job", subject=GET_JOB, request_type=GetJob, handler=_get_job),
    Endpoint(name="progress_since", subject=PROGRESS_SINCE, request_type=ProgressSince, handler=_progress_since),
    Endpoint(name="list_job_kinds", subject=LIST_JOB_KINDS, request_type=ListJobKinds, handler=_job_kinds),
)


_KNOWN_STREAMS = {d.name: d for d in ALL_STREAMS}
"""The stream definitions by name: the report streams the orchestrator reads are named in its settings."""


def job_reactions(report_streams: list[str]) -> Any:
    """The dispatcher on ``JOBS`` and one follower per report stream, as runtime reactions."""

    def build(ctx: ServiceContext) -> list[Reaction]:
        deps = reaction_deps(ctx)

        async def on_jobs(m: Msg) -> None:
            headers = m.headers or {}
            if headers.get(Headers.EVENT_TYPE) == "jobs.JobRequested":
                await reactions.dispatch(headers[Headers.AGGREGATE_ID], headers.get(Headers.CORRELATION_ID), deps)

        async def on_report(m: Msg) -> None:
            await reactions.follow(m.headers or {}, m.metadata.stream, m.metadata.sequence.stream, deps)

        out = [Reaction(stream=JOBS.name, durable="orchestrator_dispatch", subjects=("jobs.job.*",), handler=on_jobs)]
        for stream in dict.fromkeys(report_streams):
            if stream != JOBS.name:
                # Phase reports are appended to the job's own subject (JobContext.report_phase): the follower
                # reads only those, not every item event of a bulk download (three per segment). It may end a job
                # before the progress view has counted its items: the view waits for the end report itself.
                definition = _KNOWN_STREAMS.get(stream)
                subjects = () if definition is None else (definition.all_of("job"),)
                out.append(Reaction(stream=stream, durable="orchestrator_follow", subjects=subjects, handler=on_report))
        return out

    return run_reactions(build)


def definition(settings: OrchestratorSettings | None = None) -> ServiceDefinition:
    """The orchestrator service: owns the ``JOBS`` stream, the ``JOB_WORK`` queue and the ``orchestrator``
    PostgreSQL schema (``jobs`` and ``job_progress`` read models)."""
    s = settings or OrchestratorSettings()

    async def ensure_streams(ctx: ServiceContext) -> None:
        # The progress view and the follower read the owners' streams: make sure those exist (idempotent,
        # same definitions as their owners) so the consumers can be created before the owners first start.
        await ensure_work_stream(ctx.nc, ctx.settings.stream_replicas)
        for name in s.job_report_streams:
            if name in _KNOWN_STREAMS:
                await ensure_stream(ctx.nc, _KNOWN_STREAMS[name], ctx.settings.stream_replicas)

    return ServiceDefinition(
        name=NAME,
        description=DESCRIPTION,
        default_http_port=8101,
        stream=JOBS,
        migrations=files("skillstream_orchestrator") / "migrations",
        projections=(JobsProjection(), ProgressProjection(s.job_report_streams)),
        endpoints=ENDPOINTS,
        startup=(ensure_streams,),
        background=(job_reactions(s.job_report_streams), publisher(s.progress_publish_interval)),
    )
