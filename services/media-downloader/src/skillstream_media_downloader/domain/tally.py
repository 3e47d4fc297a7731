"""Following one bulk download to its end: a fold of the job's segment outcomes, from event headers alone.
Pure: no I/O, no asyncio.

The job handler reads the ``MEDIA`` stream from the job's first event (headers only:
:func:`~skillstream_media_downloader.adapters.outcomes.follow_outcomes`) and folds each segment's latest state
for that job (the job item headers of :class:`~skillstream_contracts.events.EventMetadata`). Because it
re-reads from the start after any crash, its counts are exact without storing anything, and a terminal state
is never left, so a repeated event never counts twice. It tells the handler when a course is complete
(``CourseCompleted``), when the job is complete, and how many attempts are running (a cancel waits for them).

Memory: a planned segment's state is one byte in its course's ``bytearray``, found by binary search in the
survey's ascending segment-id array (:meth:`JobTally.expect`; the array is shared, not copied), so a
1,000,000-segment job holds about 1 MiB of states here, not a dict entry and a string per segment. A segment
outside the plan (a resumed job whose catalogue changed) is kept in a small dict instead, so the counts stay
exact whatever the plan says.
"""

from __future__ import annotations

from array import array
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field

from skillstream_contracts.events import Headers
from skillstream_contracts.jobs import ItemOutcome
from skillstream_media_downloader.domain.plan import index_of

_RETRY_TYPE = "media.SegmentRetryScheduled"
_COURSE_COMPLETED = "media.CourseCompleted"

# A segment's state as one byte: 0 = no event of the job yet; terminal states are the highest codes.
_CODES = {
    ItemOutcome.QUEUED.value: 1,
    ItemOutcome.PROCESSING.value: 2,
    ItemOutcome.RETRYING.value: 3,
    ItemOutcome.SUCCEEDED.value: 4,
    ItemOutcome.FAILED.value: 5,
    ItemOutcome.SKIPPED.value: 6,
}
_NAMES = {code: name for name, code in _CODES.items()}
_RETRYING = _CODES[ItemOutcome.RETRYING.value]
_PROCESSING = _CODES[ItemOutcome.PROCESSING.value]
_SUCCEEDED, _FAILED = _CODES[ItemOutcome.SUCCEEDED.value], _CODES[ItemOutcome.FAILED.value]
_FIRST_TERMINAL = _SUCCEEDED


@dataclass
class CourseTally:
    """Segment outcomes of one course in one job; ``bytes_written`` sums succeeded segments' bytes. ``ids``: the
    course's planned segment ids, ascending (empty when unplanned); ``states``: one state byte per id."""

    succeeded: int = 0
    failed: int = 0
    skipped: int = 0
    bytes_written: int = 0
    completed_recorded: bool = False
    ids: array[int] = field(default_factory=lambda: array("I"))
    states: bytearray = field(default_factory=bytearray)

    @property
    def done(self) -> int:
        return self.succeeded + self.failed + self.skipped

    def slot(self, key: str) -> int:
        """Where segment ``key`` (a decimal id) is in ``states``, or -1 when it is not planned here."""
        if not self.ids or not (key.isascii() and key.isdigit()):
            return -1
        return index_of(self.ids, int(key))


@dataclass
class JobTally:
    """The fold. ``courses`` by course id (string); ``others`` maps the ids of segments outside the plan to
    their state code; ``running`` counts attempts started and not yet ended or handed to a retry."""

    job_id: str
    courses: defaultdict[str, CourseTally] = field(default_factory=lambda: defaultdict(CourseTally))
    others: dict[str, int] = field(default_factory=dict)
    running: int = 0

    def expect(self, course_id: int, segment_ids: array[int]) -> None:
        """Plan a course: ``segment_ids`` ascending, each once (the survey's array, kept by reference)."""
        course = self.courses[str(course_id)]
        course.ids, course.states = segment_ids, bytearray(len(segment_ids))

    @property
    def terminal(self) -> int:
        return sum(c.done for c in self.courses.values())

    def totals(self) -> dict[str, int]:
        cs = self.courses.values()
        return {
            "succeeded": sum(c.succeeded for c in cs),
            "failed": sum(c.failed for c in cs),
            "skipped": sum(c.skipped for c in cs),
            "bytes_written": sum(c.bytes_written for c in cs),
        }

    def unfinished(self) -> list[tuple[int, int]]:
        """``(course id, segment id)`` of the planned segments with an event of the job and no end yet (queued,
        downloading or waiting to retry), in plan order."""
        return [
            (int(course_id), c.ids[i])
            for course_id, c in self.courses.items()
            for i, code in enumerate(c.states)
            if 0 < code < _FIRST_TERMINAL
        ]

    def state(self, key: str, group: str) -> str | None:
        """Segment ``key``'s latest state in course ``group`` (an :class:`ItemOutcome` value or ``"retrying"``;
        None before its first event of the job)."""
        return _NAMES.get(self._locate(key, group)[2])

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
        course, i, current = self._locate(key, group)
        if current >= _FIRST_TERMINAL:
            return False
        if outcome is None:
            if kind == _RETRY_TYPE:  # stored before retries reported their own outcome
                self._set(course, i, key, current, _RETRYING)
            return False
        code = _CODES.get(outcome, 0)
        if not code:
            return False  # an outcome this version does not know
        self._set(course, i, key, current, code)
        if code >= _FIRST_TERMINAL:
            course = self.courses[group]
            if code == _SUCCEEDED:
                course.succeeded += 1
                course.bytes_written += int(headers.get(Headers.ITEM_BYTES) or 0)
            elif code == _FAILED:
                course.failed += 1
            else:
                course.skipped += 1
        return True

    def _locate(self, key: str, group: str) -> tuple[CourseTally | None, int, int]:
        """Segment ``key`` of course ``group``: the course, its slot there (-1: outside the plan, kept in
        ``others``) and its state code (0: no event of the job yet)."""
        course = self.courses.get(group)
        i = -1 if course is None else course.slot(key)
        return course, i, course.states[i] if course is not None and i >= 0 else self.others.get(key, 0)

    def _set(self, course: CourseTally | None, i: int, key: str, current: int, code: int) -> None:
        self.running += (code == _PROCESSING) - (current == _PROCESSING)
        if course is not None and i >= 0:
            course.states[i] = code
        else:
            self.others[key] = code


__all__ = ["CourseTally", "JobTally"]
