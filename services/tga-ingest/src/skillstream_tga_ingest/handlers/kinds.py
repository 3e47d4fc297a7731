"""The job kinds tga-ingest runs (``skillstream_contracts.tga_queries.KIND_*``): their specs, with the JSON
Schema of their parameters that the dashboard turns into a form, and the event that ends a job the worker
ends itself. ``bootstrap.py`` registers each kind with its handler:

- ``tga.download-packages`` / ``-qualifications`` / ``-units``: ``handlers/download.py`` ``download`` over
  the given codes (a package job also downloads every component its release lists);
- ``tga.refresh-catalogue``: ``handlers/catalogue.py`` — TGA ``Search`` of each component type →
  ``CatalogueRefreshed`` pages;
- ``tga.sync``: ``handlers/sync.py`` — ``SearchByModifiedDate`` + ``SearchDeletedByDeletedDate`` since the
  last sync → the catalogue updated, the changed components already held re-downloaded, the deleted ones
  marked, ``SyncCompleted``;
- ``tga.reparse``: ``handlers/download.py`` ``reparse`` — the kept raw XML parsed again (no download).
"""

from __future__ import annotations

from typing import Any

from skillstream_contracts.events import Event
from skillstream_contracts.jobs import JobKindSpec, JobPhase
from skillstream_contracts.streams import TGA
from skillstream_contracts.tga import ComponentType, IngestJobEnded
from skillstream_contracts.tga_queries import (
    KIND_DOWNLOAD_PACKAGES,
    KIND_DOWNLOAD_QUALIFICATIONS,
    KIND_DOWNLOAD_UNITS,
    KIND_REFRESH_CATALOGUE,
    KIND_REPARSE,
    KIND_SYNC,
)
from skillstream_runtime.jobs import JobContext

OWNER = "tga-ingest"
"""The service that owns the kinds (``JobKindSpec.owner``)."""

_CODES = {"type": "array", "items": {"type": "string", "minLength": 1, "maxLength": 20}, "minItems": 1}
_TYPES = {"type": "array", "items": {"type": "string", "enum": [t.value for t in ComponentType]}}


def _spec(kind: str, title: str, description: str, properties: dict[str, Any], required: list[str]) -> JobKindSpec:
    schema = {"type": "object", "properties": properties, "required": required, "additionalProperties": False}
    return JobKindSpec(kind=kind, owner=OWNER, stream=TGA.name, title=title, description=description, parameters=schema)


SPECS = {
    s.kind: s
    for s in (
        _spec(
            KIND_DOWNLOAD_PACKAGES,
            "Download training packages",
            "Each package's details from TGA, then its qualifications, skill sets and units (XML parsed).",
            {"codes": {**_CODES, "title": "Training package codes"}},
            ["codes"],
        ),
        _spec(
            KIND_DOWNLOAD_QUALIFICATIONS,
            "Download qualifications",
            "Qualification details and packaging rules (core and elective units).",
            {"codes": {**_CODES, "title": "Qualification codes"}},
            ["codes"],
        ),
        _spec(
            KIND_DOWNLOAD_UNITS,
            "Download units of competency",
            "Unit XML parsed into elements, performance criteria and assessment requirements.",
            {"codes": {**_CODES, "title": "Unit codes"}},
            ["codes"],
        ),
        _spec(
            KIND_REFRESH_CATALOGUE,
            "Refresh the TGA catalogue",
            "Lists every training package, qualification, skill set and unit TGA publishes (Search).",
            {"component_types": {**_TYPES, "title": "Component types", "default": [t.value for t in ComponentType]}},
            [],
        ),
        _spec(
            KIND_SYNC,
            "Incremental sync from TGA",
            "Re-downloads what TGA changed since the last sync and marks deletions.",
            {
                "since": {
                    "type": ["string", "null"],
                    "format": "date-time",
                    "title": "Changes since (default: last)",
                }
            },
            [],
        ),
        _spec(
            KIND_REPARSE,
            "Re-parse kept XML",
            "Parses the kept release XML again (no download): given codes, or all parsed by an older parser.",
            {"codes": {"type": ["array", "null"], "items": {"type": "string"}, "title": "Codes (default: outdated)"}},
            [],
        ),
    )
}


def lifecycle_event(job: JobContext, phase: JobPhase, reason: str | None) -> Event:
    """The owner's event for a job the worker ends itself (handler raised; cancelled before starting)."""
    return IngestJobEnded(job_id=job.job_id, phase=phase.value, reason=reason)


__all__ = ["OWNER", "SPECS", "lifecycle_event"]
