"""Following one bulk download to its end: a fold of the job's segment outcomes, from event headers alone.
Pure: no I/O, no asyncio.

The job handler reads the ``MEDIA`` stream from the job's first event (headers only:
:func:`~skillstream_media_downloader.adapters.outcomes.follow_outcomes`) and folds each segment's latest state
for that job (the job item headers of :class:`~skillstream_contracts.events.EventMetadata`). Because it
re-reads from the start after any crash, its counts are exact without storing anything, and a terminal state
is never left, so a repeated event never counts twice. It tells the handler when a course is complete
(``CourseCompleted``), when the job is complete, and how many attempts are running (a cancel waits for them).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field

from skillstream_contracts.events import Headers
from skillstream_contracts.jobs import ItemOutcome

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

    def apply(self, headers: Mapping[str, str]) -> bool:
        """Fold one event's headers (events of other jobs are ignored); True when an item's state changed."""
        if headers.get(Headers.JOB_ID) != self.job_id:
            return False
        kind = headers.get(Headers.EVENT_TYPE, "")
        group = headers.get(Headers.ITEM_GROUP)
        if kind == _COURSE_COMPLETED:
            self.courses[headers.get(Headers.AGGREGATE_ID, "")].completed_recorded = True
            return False
        key, outcome = headers.get(Headers.ITEM_KEY), headers.get(Headers.ITEM_OUTCOME)
        if key is None or group is None:
            return False
        current = self.states.get(key)
        if current is not None and current != "retrying" and ItemOutcome(current).is_terminal:
            return False
        if outcome is None:
            if kind == _RETRY_TYPE:
                self.states[key] = "retrying"
            return False
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
        return True


__all__ = ["CourseTally", "JobTally"]
