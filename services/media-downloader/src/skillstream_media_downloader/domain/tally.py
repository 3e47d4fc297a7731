"""Following one bulk download to its end: a fold of the job's segment outcomes, from event headers alone.

The job handler reads the ``MEDIA`` stream from the job's first event with an ordered, headers-only consumer
and folds each segment's latest state for that job (the job item headers of
:class:`~skillstream_contracts.events.EventMetadata`). Because it re-reads from the start after any crash,
its counts are exact without storing anything, and a terminal state is never left, so a repeated event
never counts twice. It tells the handler when a course is complete (``CourseCompleted``), when the job is
complete, and how many attempts are running (a cancel waits for them).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field

from nats.aio.client import Client
from nats.js.api import ConsumerConfig, DeliverPolicy

from skillstream_contracts.events import Headers
from skillstream_contracts.jobs import ItemOutcome
from skillstream_contracts.streams import MEDIA

_RETRY_TYPE = "media.SegmentRetryScheduled"
_COURSE_COMPLETED = "media.CourseCompleted"


@dataclass
class CourseTally:
    """Segment outcomes of one course in one job; ``bytes_written`` sums succeeded segments' bytes."""

    succeeded: int = 0
    failed: int = 0
    skipped: int = 0
    bytes_written: int = 0
    completed_recorded: bool = False

    @property
    def done(self) -> int:
        return self.succeeded + self.failed + self.skipped


@dataclass
class JobTally:
    """The fold: ``states`` maps segment id → latest state (an :class:`ItemOutcome` value or ``"retrying"``)."""

    job_id: str
    states: dict[str, str] = field(default_factory=dict)
    courses: defaultdict[str, CourseTally] = field(default_factory=lambda: defaultdict(CourseTally))
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def terminal(self) -> int:
        return sum(c.done for c in self.courses.values())

    @property
    def running(self) -> int:
        """Attempts started and not yet ended or handed to a retry."""
        return sum(1 for s in self.states.values() if s == ItemOutcome.PROCESSING.value)

    def totals(self) -> dict[str, int]:
        cs = self.courses.values()
        return {
            "succeeded": sum(c.succeeded for c in cs),
            "failed": sum(c.failed for c in cs),
            "skipped": sum(c.skipped for c in cs),
            "bytes_written": sum(c.bytes_written for c in cs),
        }

    def apply(self, headers: Mapping[str, str]) -> None:
        """Fold one event's headers (events of other jobs are ignored)."""
        if headers.get(Headers.JOB_ID) != self.job_id:
            return
        kind = headers.get(Headers.EVENT_TYPE, "")
        group = headers.get(Headers.ITEM_GROUP)
        if kind == _COURSE_COMPLETED:
            self.courses[headers.get(Headers.AGGREGATE_ID, "")].completed_recorded = True
            return
        key, outcome = headers.get(Headers.ITEM_KEY), headers.get(Headers.ITEM_OUTCOME)
        if key is None or group is None:
            return
        current = self.states.get(key)
        if current is not None and current != "retrying" and ItemOutcome(current).is_terminal:
            return
        if outcome is None:
            if kind == _RETRY_TYPE:
                self.states[key] = "retrying"
            return
        state = ItemOutcome(outcome)
        self.states[key] = state.value
        if state.is_terminal:
            course = self.courses[group]
            if state is ItemOutcome.SUCCEEDED:
                course.succeeded += 1
                course.bytes_written += int(headers.get(Headers.ITEM_BYTES) or 0)
            elif state is ItemOutcome.FAILED:
                course.failed += 1
            else:
                course.skipped += 1
        self.changed.set()


async def follow(nc: Client, tally: JobTally, start_sequence: int) -> None:
    """Fold the ``MEDIA`` stream into ``tally`` from ``start_sequence`` on, live, until cancelled."""
    js = nc.jetstream()
    sub = await js.subscribe(
        f"{MEDIA.context}.>",
        ordered_consumer=True,
        headers_only=True,
        config=ConsumerConfig(deliver_policy=DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=start_sequence),
    )
    try:
        async for msg in sub.messages:
            tally.apply(msg.headers or {})
    finally:
        with contextlib.suppress(Exception):
            await sub.unsubscribe()


__all__ = ["CourseTally", "JobTally", "follow"]
