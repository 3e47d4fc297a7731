"""Every stream's event registry, by stream name (used by projections, replay and the fixture test)."""

from __future__ import annotations

from typing import Final

from skillstream_contracts.events import EventRegistry
from skillstream_contracts.jobs import JOB_EVENTS

REGISTRIES: Final[dict[str, EventRegistry]] = {
    "JOBS": JOB_EVENTS,
}

__all__ = ["REGISTRIES"]
