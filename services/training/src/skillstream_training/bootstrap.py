"""Composition root of the training service: everything it runs is wired here, nowhere else."""

from __future__ import annotations

from importlib.resources import files

from skillstream_contracts.streams import TRAINING
from skillstream_runtime.host import ServiceDefinition

NAME = "training"
DESCRIPTION = "Training programs: requirements, programs, phases, enrollments and progress"


def definition() -> ServiceDefinition:
    """The training service: owns the ``TRAINING`` stream and the ``training`` PostgreSQL schema."""
    return ServiceDefinition(
        name=NAME,
        description=DESCRIPTION,
        default_http_port=8105,
        stream=TRAINING,
        migrations=files("skillstream_training") / "migrations",
    )
