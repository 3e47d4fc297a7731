"""The progress document of a job: what the progress projection holds and browsers receive over SSE.

Import it from :mod:`skillstream_contracts.jobs`, which re-exports it.
"""

from __future__ import annotations

import datetime as dt

import msgspec

from skillstream_contracts.jobreport import JobStatus


class ItemError(msgspec.Struct, frozen=True, kw_only=True):
    """One failed item and why."""

    item_key: str
    reason: str
    group: str | None = None
    at: dt.datetime | None = None


class GroupProgress(msgspec.Struct, kw_only=True):
    """Counters of one group of items (a course, a training package); ``label``: its display name (a course
    title), None when the owner gave none."""

    label: str | None = None
    total: int = 0
    succeeded: int = 0
    failed: int = 0
    skipped: int = 0


class JobProgress(msgspec.Struct, kw_only=True):
    """Per-job progress snapshot streamed to browsers.

    Counts are exact (each item counted once in its latest state): ``processing`` items are being worked on,
    ``retrying`` ones wait for their next attempt, and ``cancelled`` ones had not ended when the job ended
    (with the planned items that never started). ``items_per_second`` and
    ``bytes_per_second`` are over the job's running time; ``eta_seconds`` is None until a rate is known.
    ``sequence`` is the monotonic position used as the SSE ``id``.
    """

    job_id: str
    kind: str
    status: JobStatus
    sequence: int = 0
    requested_by: str | None = None
    retry_of: str | None = None
    cancel_requested: bool = False
    total: int | None = None
    queued: int = 0
    processing: int = 0
    retrying: int = 0
    succeeded: int = 0
    failed: int = 0
    skipped: int = 0
    cancelled: int = 0
    percent: float = 0.0
    current_items: list[str] = msgspec.field(default_factory=list)
    items_per_second: float | None = None
    bytes_per_second: float | None = None
    bytes_done: int = 0
    eta_seconds: float | None = None
    last_errors: list[ItemError] = msgspec.field(default_factory=list)
    groups: dict[str, GroupProgress] = msgspec.field(default_factory=dict)
    requested_at: dt.datetime | None = None
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None


__all__ = ["GroupProgress", "ItemError", "JobProgress"]
