"""Composition root of the tga-ingest service: everything it runs is wired here, nowhere else."""

from __future__ import annotations

from importlib.resources import files

from skillstream_contracts.streams import TGA
from skillstream_runtime.host import ServiceDefinition

NAME = "tga-ingest"
DESCRIPTION = "TGA ingest: training packages, qualifications, skill sets and units from training.gov.au"


def definition() -> ServiceDefinition:
    """The tga-ingest service: owns the ``TGA`` stream and the ``tga_ingest`` PostgreSQL schema."""
    return ServiceDefinition(
        name=NAME,
        description=DESCRIPTION,
        default_http_port=8102,
        stream=TGA,
        migrations=files("skillstream_tga_ingest") / "migrations",
    )
