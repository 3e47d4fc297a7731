"""The course aggregate of one bulk download, as a decider. Pure: no I/O, no asyncio.

The subject ``media.course.<course_id>`` holds ``CourseQueued`` and ``CourseCompleted`` of every job that
downloaded the course; one job's state is whether it queued the course (all its segments are on the work queue:
a resumed job skips it) and whether it completed it (every segment reached a terminal state). Each is recorded
once per job, however often a resumed or contended handler asks.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

from skillstream_contracts.events import Event
from skillstream_contracts.media import CourseCompleted, CourseQueued
from skillstream_runtime.decider import Decider
from skillstream_runtime.eventstore import RecordedEvent


@dataclass(frozen=True, kw_only=True)
class CourseState:
    """Course ``course_id`` in job ``job_id``: ``queued`` and ``completed`` by that job yet?"""

    job_id: str
    course_id: int
    queued: bool = False
    completed: bool = False


@dataclass(frozen=True, kw_only=True)
class QueueCourse:
    """Record that the course's ``segment_count`` segments were queued; ``directory`` relative to the storage
    root; ``total_bytes`` the catalogue's sum of their sizes (None if unknown)."""

    title: str
    segment_count: int
    directory: str
    total_bytes: int | None = None


@dataclass(frozen=True, kw_only=True)
class CompleteCourse:
    """Record the course's end: segment counts by outcome and ``bytes_written`` by this job."""

    succeeded: int
    failed: int
    skipped: int
    bytes_written: int


CourseCommand = QueueCourse | CompleteCourse


def evolve(state: CourseState, recorded: RecordedEvent) -> CourseState:
    """Fold one event of the course's subject (events of other jobs change nothing)."""
    match recorded.event:
        case CourseQueued(job_id=job) if job == state.job_id:
            return dataclasses.replace(state, queued=True)
        case CourseCompleted(job_id=job) if job == state.job_id:
            return dataclasses.replace(state, completed=True)
    return state


def decide(command: CourseCommand, state: CourseState) -> Sequence[Event]:
    """``CourseQueued`` / ``CourseCompleted`` unless this job recorded it already."""
    match command:
        case QueueCourse() if not state.queued:
            return [
                CourseQueued(
                    job_id=state.job_id,
                    course_id=state.course_id,
                    title=command.title,
                    segment_count=command.segment_count,
                    directory=command.directory,
                    total_bytes=command.total_bytes,
                )
            ]
        case CompleteCourse() if not state.completed:
            return [
                CourseCompleted(
                    job_id=state.job_id,
                    course_id=state.course_id,
                    succeeded=command.succeeded,
                    failed=command.failed,
                    skipped=command.skipped,
                    bytes_written=command.bytes_written,
                )
            ]
    return []


def course_decider(job_id: str, course_id: int) -> Decider[CourseCommand, CourseState]:
    """The decider of course ``course_id`` in job ``job_id``."""
    return Decider(initial_state=CourseState(job_id=job_id, course_id=course_id), evolve=evolve, decide=decide)


__all__ = ["CompleteCourse", "CourseCommand", "CourseState", "QueueCourse", "course_decider", "decide", "evolve"]
