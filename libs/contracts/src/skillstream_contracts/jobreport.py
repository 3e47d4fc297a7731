"""What an owning service's event says about a job: the :class:`JobReport` carried by the event envelope,
and the states it speaks of (:class:`JobStatus`, :class:`JobPhase`, :class:`ItemOutcome`).

It lives apart from :mod:`skillstream_contracts.jobs` only so that the envelope
(:class:`~skillstream_contracts.events.EventMetadata`) can carry it without an import cycle; import it from
``skillstream_contracts.jobs``.

On the wire the report is a set of NATS headers (names in :class:`JobHeaders`), unchanged since the first
events were stored, so a reader counts job items of any context from headers alone, without the body.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping

import msgspec


class JobStatus(enum.StrEnum):
    REQUESTED = "requested"
    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_terminal(self) -> bool:
        return self in (JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED)


class ItemOutcome(enum.StrEnum):
    """What an item event says about one item; every item ends in exactly one terminal outcome.

    ``retrying``: an attempt failed and the next one is scheduled (not terminal; the item is not being worked
    on meanwhile). ``cancelled`` is never reported by an owner: the progress view gives it to the items that
    had not ended when their job ended (cancelled or failed), so the counters of an ended job add up.
    """

    QUEUED = "queued"
    PROCESSING = "processing"
    RETRYING = "retrying"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"

    @property
    def is_terminal(self) -> bool:
        return self in (ItemOutcome.SUCCEEDED, ItemOutcome.FAILED, ItemOutcome.SKIPPED, ItemOutcome.CANCELLED)


class JobPhase(enum.StrEnum):
    """A job report's ``phase``: where the job is, as its owning service says it (see
    :mod:`skillstream_contracts.jobs`)."""

    STARTED = "started"
    PLANNED = "planned"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


class JobHeaders:
    """NATS header names of a :class:`JobReport`."""

    JOB_ID = "Skillstream-Job-Id"
    ITEM_KEY = "Skillstream-Item-Key"
    ITEM_OUTCOME = "Skillstream-Item-Outcome"
    ITEM_GROUP = "Skillstream-Item-Group"
    ITEM_BYTES = "Skillstream-Item-Bytes"
    PHASE = "Skillstream-Job-Phase"
    TOTAL = "Skillstream-Job-Total"
    SUMMARY = "Skillstream-Job-Summary"
    REASON = "Skillstream-Job-Reason"


_REASON_LIMIT = 500  # characters of a reason kept in its (single-line) header


class JobReport(msgspec.Struct, frozen=True, kw_only=True):
    """The job an event belongs to, and what it says about the job or one of its items.

    - ``job_id``: the job (32 hex digits), on every event a job's work appends;
    - ``phase``: a :class:`~skillstream_contracts.jobs.JobPhase` value on the events that start, plan or end
      the job, with ``total`` items planned and ``summary`` (a small JSON object as text) when it ends;
    - ``item_key`` / ``item_outcome`` (an :class:`~skillstream_contracts.jobs.ItemOutcome` value) /
      ``item_group`` / ``item_bytes`` (size in bytes, counted when the item succeeds) on the events of one item;
    - ``reason``: why the job or the item failed (kept to its first 500 characters, on one line).
    """

    job_id: str
    phase: str | None = None
    total: int | None = None
    summary: str | None = None
    reason: str | None = None
    item_key: str | None = None
    item_outcome: str | None = None
    item_group: str | None = None
    item_bytes: int | None = None

    def to_headers(self) -> dict[str, str]:
        """The report as NATS headers (only the fields that are set)."""
        h = {JobHeaders.JOB_ID: self.job_id}
        if self.phase is not None:
            h[JobHeaders.PHASE] = self.phase
        if self.total is not None:
            h[JobHeaders.TOTAL] = str(self.total)
        if self.summary is not None:
            h[JobHeaders.SUMMARY] = self.summary
        if self.reason is not None:
            # headers are single-line: a reason with newlines keeps its first characters on one line
            h[JobHeaders.REASON] = " ".join(self.reason.split())[:_REASON_LIMIT]
        if self.item_key is not None:
            h[JobHeaders.ITEM_KEY] = self.item_key
        if self.item_outcome is not None:
            h[JobHeaders.ITEM_OUTCOME] = self.item_outcome
        if self.item_group is not None:
            h[JobHeaders.ITEM_GROUP] = self.item_group
        if self.item_bytes is not None:
            h[JobHeaders.ITEM_BYTES] = str(self.item_bytes)
        return h

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> JobReport | None:
        """The report in ``headers``, or None when they name no job.

        Raises:
            ValueError: ``Skillstream-Job-Total`` or ``Skillstream-Item-Bytes`` is not an integer.
        """
        job_id = headers.get(JobHeaders.JOB_ID)
        if job_id is None:
            return None
        total = headers.get(JobHeaders.TOTAL)
        size = headers.get(JobHeaders.ITEM_BYTES)
        return cls(
            job_id=job_id,
            phase=headers.get(JobHeaders.PHASE),
            total=None if total is None else int(total),
            summary=headers.get(JobHeaders.SUMMARY),
            reason=headers.get(JobHeaders.REASON),
            item_key=headers.get(JobHeaders.ITEM_KEY),
            item_outcome=headers.get(JobHeaders.ITEM_OUTCOME),
            item_group=headers.get(JobHeaders.ITEM_GROUP),
            item_bytes=None if size is None else int(size),
        )


__all__ = ["ItemOutcome", "JobHeaders", "JobPhase", "JobReport", "JobStatus"]
