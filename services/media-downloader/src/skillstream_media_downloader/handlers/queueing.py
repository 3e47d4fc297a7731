"""Queueing a bulk download, course by course: the segments' events, their work messages, then ``CourseQueued``.

A course with ``CourseQueued`` of the job is fully queued (a resumed job skips it); in the one course that was
being queued when the job was interrupted, segments that already hold an event of the job are not queued again,
and one still only queued gets its work message again (it may not have been published; the queue deduplicates
it by id). What is decided — which events, once per job — is the course and segment deciders'
(:mod:`~skillstream_media_downloader.domain.course`, :mod:`~skillstream_media_downloader.domain.segment`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import msgspec

from skillstream_contracts.streams import MEDIA
from skillstream_media_downloader.domain.course import QueueCourse, course_decider
from skillstream_media_downloader.domain.plan import (
    CourseSurvey,
    PlannedCourse,
    PlannedSegment,
    Selection,
    unreadable_course,
)
from skillstream_media_downloader.domain.segment import Phase, QueueSegment, SegmentState, segment_decider
from skillstream_media_downloader.domain.work import SegmentWork
from skillstream_media_downloader.errors import MediaError
from skillstream_media_downloader.handlers.download import segment_envelope
from skillstream_media_downloader.handlers.survey import read_course
from skillstream_runtime.concurrency import for_each
from skillstream_runtime.decider import Aggregate, load_aggregate, run_command
from skillstream_runtime.eventstore import NewEvent
from skillstream_runtime.jobs import JobContext

if TYPE_CHECKING:
    from skillstream_media_downloader.handlers.bulk import BulkDeps

_PUBLISH_CONCURRENCY = 256  # appends and work messages in flight while queueing a course


async def queue_courses(
    job: JobContext, deps: BulkDeps, selection: Selection, courses: Sequence[CourseSurvey], *, resumed: bool
) -> None:
    """Queue every surveyed course in order, until the job is asked to cancel. ``resumed``: the job ran before
    (its ``BulkDownloadRequested`` is stored), so what it queued then is skipped."""
    for surveyed in courses:
        if job.cancel_requested or job.past_deadline:
            return
        await _queue_course(job, deps, selection, surveyed, resumed=resumed)


async def _queue_course(
    job: JobContext, deps: BulkDeps, selection: Selection, surveyed: CourseSurvey, *, resumed: bool
) -> None:
    decider = course_decider(job.job_id, surveyed.course_id)
    course_id = str(surveyed.course_id)
    subject = MEDIA.aggregate_subject("course", course_id)
    if resumed:
        agg = await load_aggregate(deps.store, decider, MEDIA, subject, course_id)
        if agg.state.queued:
            return
    else:
        # A new job: assume the course subject is empty, as it is on a first download; when an earlier job left
        # events there, the append conflicts and run_command loads it then (no load per course up front).
        agg = Aggregate(MEDIA, subject, course_id, decider.initial_state)
    course = await _read(job, deps, selection, surveyed)
    segments = await _not_yet_queued(job, deps, course) if resumed else course.segments
    await _queue_segments(job, deps, course, segments)
    queued = QueueCourse(
        title=course.title,
        segment_count=len(course.segments),
        directory=course.directory,
        total_bytes=course.total_bytes,
    )
    await run_command(deps.store, decider, agg, queued, envelope=job.new_event)


async def _read(job: JobContext, deps: BulkDeps, selection: Selection, surveyed: CourseSurvey) -> PlannedCourse:
    """The surveyed course read again to be queued; if it cannot be read now, its segments are still items,
    failing with the reason (the rest of the job goes on)."""
    try:
        return await read_course(
            deps.catalogue, selection, surveyed, job_id=job.job_id, correlation_id=job.dispatch.correlation_id
        )
    except MediaError as e:
        return unreadable_course(surveyed, e.reason)


def _state(job: JobContext, course_id: int, s: PlannedSegment) -> SegmentState:
    target = "" if s.work is None else s.work.target_path
    return SegmentState(job_id=job.job_id, course_id=course_id, segment_id=s.segment_id, target_path=target)


async def _not_yet_queued(job: JobContext, deps: BulkDeps, course: PlannedCourse) -> list[PlannedSegment]:
    """Of a course interrupted while being queued: the segments with no event of this job yet. Those still only
    queued get their work message again."""
    todo: list[PlannedSegment] = []
    for s in course.segments:
        decider = segment_decider(_state(job, course.course_id, s))
        subject = MEDIA.aggregate_subject("segment", str(s.segment_id))
        state = (await load_aggregate(deps.store, decider, MEDIA, subject, str(s.segment_id))).state
        if state.phase is Phase.NEW:
            todo.append(s)
        elif state.phase is Phase.QUEUED and s.work is not None:
            await deps.queue.enqueue(s.work)
    return todo


async def _queue_segments(
    job: JobContext, deps: BulkDeps, course: PlannedCourse, segments: Sequence[PlannedSegment]
) -> None:
    def events(s: PlannedSegment) -> list[NewEvent]:
        state = _state(job, course.course_id, s)
        command = QueueSegment(
            channel_id=s.channel_id,
            title=s.title,
            cdn_key="" if s.work is None else s.work.cdn_key,
            expected_size=None if s.work is None else s.work.expected_size,
            expected_sha256=None if s.work is None else s.work.expected_sha256,
            invalid=None if s.work is not None else s.invalid or "not downloadable",
        )
        decided = segment_decider(state).decide(command, state)
        correlation = job.dispatch.correlation_id
        return [segment_envelope(job.job_id, course.course_id, s.segment_id, e, correlation) for e in decided]

    # One unconditional append per segment, many in flight: a 100,000-segment job cannot afford a load per
    # segment, and need not — queueing depends only on this job's events there, which a new job has none of
    # and a resumed one has loaded (_not_yet_queued); the events' deterministic ids make a repeat a no-op.
    appends = [
        (MEDIA.aggregate_subject("segment", str(s.segment_id)), str(s.segment_id), events(s), None) for s in segments
    ]
    results = await deps.store.append_many(MEDIA, appends, concurrency=_PUBLISH_CONCURRENCY)
    works: list[SegmentWork] = []
    for s, result in zip(segments, results, strict=True):
        if isinstance(result, BaseException):
            raise result
        if s.work is not None:
            # A fresh append is the subject's newest event, so the first delivery may append after it without
            # loading the subject; a duplicate says nothing about what came after it, so the work carries None.
            fresh = not result.duplicate
            works.append(msgspec.structs.replace(s.work, queued_sequence=result.last_sequence) if fresh else s.work)
    await for_each(works, deps.queue.enqueue, _PUBLISH_CONCURRENCY)


__all__ = ["queue_courses"]
