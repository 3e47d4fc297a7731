"""Composition root of the orchestrator service: everything it runs is wired here, nowhere else."""

from __future__ import annotations

from importlib.resources import files

from skillstream_contracts.streams import JOBS
from skillstream_orchestrator.projections import JobsProjection
from skillstream_runtime.host import ServiceDefinition

NAME = "orchestrator"
DESCRIPTION = "Import orchestration: the job queue, lifecycle, schedules and progress"


def definition() -> ServiceDefinition:
    """The orchestrator service: owns the ``JOBS`` stream and the ``orchestrator`` PostgreSQL schema."""
    return ServiceDefinition(
        name=NAME,
        description=DESCRIPTION,
        default_http_port=8101,
        stream=JOBS,
        migrations=files("skillstream_orchestrator") / "migrations",
        projections=(JobsProjection(),),
    )
