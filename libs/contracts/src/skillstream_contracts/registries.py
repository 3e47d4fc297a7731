"""Every stream's event registry, by stream name (used by projections, replay and the fixture test)."""

from __future__ import annotations

from typing import Final

from skillstream_contracts.administrate import ADMINISTRATE_EVENTS
from skillstream_contracts.events import EventRegistry
from skillstream_contracts.jobs import JOB_EVENTS
from skillstream_contracts.media import MEDIA_EVENTS
from skillstream_contracts.tga import TGA_EVENTS
from skillstream_contracts.training import TRAINING_EVENTS

REGISTRIES: Final[dict[str, EventRegistry]] = {
    "JOBS": JOB_EVENTS,
    "TGA": TGA_EVENTS,
    "MEDIA": MEDIA_EVENTS,
    "ADMINISTRATE": ADMINISTRATE_EVENTS,
    "TRAINING": TRAINING_EVENTS,
}
"""Keyed by :attr:`StreamDefinition.name <skillstream_contracts.streams.StreamDefinition.name>`."""

__all__ = ["REGISTRIES"]
