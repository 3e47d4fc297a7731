"""Composition root of the administrate-sync service: everything it runs is wired here, nowhere else."""

from __future__ import annotations

from importlib.resources import files

from skillstream_contracts.streams import ADMINISTRATE
from skillstream_runtime.host import ServiceDefinition

NAME = "administrate-sync"
DESCRIPTION = "Administrate sync: tutorial records and the Administrate platform, both ways"


def definition() -> ServiceDefinition:
    """The administrate-sync service: owns the ``ADMINISTRATE`` stream and the ``administrate_sync`` schema."""
    return ServiceDefinition(
        name=NAME,
        description=DESCRIPTION,
        default_http_port=8104,
        stream=ADMINISTRATE,
        migrations=files("skillstream_administrate_sync") / "migrations",
    )
