"""The ``media.bulk-download`` job: plan, check the disk, queue every segment, follow them to the end.

Events on the job's subject ``media.job.<job_id>`` carry the job phases the orchestrator follows::

    BulkDownloadRequested (started) → BulkDownloadPlanned (planned: total, a group per course)
        → CourseQueued + SegmentQueued … (one work message per segment) → CourseCompleted …
        → BulkDownloadCompleted (completed | cancelled)  or  BulkDownloadFailed (failed)

The handler is resumable (a redelivered job runs again on any replica): the job subject says whether it was
requested and planned; a course with ``CourseQueued`` is fully queued; in the one course that was being
queued, segments that already hold an event of the job are not queued again (one still only ``SegmentQueued``
gets its work message re-published, deduplicated by id). Counting is :mod:`~skillstream_media_downloader.domain.tally`.

Refuses to start (``BulkDownloadFailed``) when the storage root's free space is below the bytes still to write
plus ``disk_margin_bytes`` (issue #5). A cancel purges the job's queued work and scheduled retries, waits for
running attempts to end, then ends the job cancelled.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog
from nats.aio.client import Client

from skillstream_contracts.events import Event
from skillstream_contracts.jobs import ItemOutcome, JobKindSpec, JobPhase
from skillstream_contracts.media import (
    BulkDownloadCompleted,
    BulkDownloadFailed,
    BulkDownloadPlanned,
    BulkDownloadRequested,
    CourseCompleted,
    CourseQueued,
    SegmentFailed,
    SegmentQueued,
    VideoQuality,
)
from skillstream_contracts.media_queries import KIND_BULK_DOWNLOAD
from skillstream_contracts.streams import MEDIA
from skillstream_media_downloader.adapters.catalogue import Catalogue
from skillstream_media_downloader.adapters.disk import require_space
from skillstream_media_downloader.adapters.workqueue import enqueue, purge_job
from skillstream_media_downloader.domain.plan import (
    CourseSurvey,
    PlannedCourse,
    PlannedSegment,
    Selection,
    plan_course,
    survey,
)
from skillstream_media_downloader.domain.tally import JobTally, follow
from skillstream_media_downloader.errors import InsufficientSpaceError, MediaError
from skillstream_runtime.errors import ConcurrencyError
from skillstream_runtime.eventstore import EventStore, NewEvent
from skillstream_runtime.jobs import JobContext

log = structlog.get_logger(__name__)

_PUBLISH_CONCURRENCY = 256
_CANCEL_GRACE = 2.0  # seconds a cancel waits after the last running attempt ended (messages fetched meanwhile)

SPEC = JobKindSpec(
    kind=KIND_BULK_DOWNLOAD,
    owner="media-downloader",
    stream=MEDIA.name,
    title="Download the course library",
    description="Every downloadable video segment of the chosen courses, from the CDN with signed URLs",
    parameters={
        "type": "object",
        "properties": {
            "test_mode": {"type": "boolean", "title": "Test mode (one course)", "default": False},
            "course_ids": {"type": "array", "items": {"type": "string"}, "title": "Course ids (empty = all)"},
            "quality": {"type": "string", "title": "Quality", "enum": [q.value for q in VideoQuality]},
        },
    },
)


@dataclass(frozen=True, kw_only=True)
class BulkDeps:
    """What the handler needs: the catalogue adapter, the storage root, the default quality and the disk
    margin (bytes)."""

    nc: Client
    store: EventStore
    catalogue: Catalogue
    storage_root: Path
    quality: VideoQuality
    disk_margin_bytes: int


def lifecycle_event(job: JobContext, phase: JobPhase, reason: str | None) -> Event:
    """The event that ends a job the worker ends itself (the handler raised, or a cancel came before it ran)."""
    if phase is JobPhase.CANCELLED:
        return BulkDownloadCompleted(
            job_id=job.job_id, courses=0, succeeded=0, failed=0, skipped=0, bytes_written=0, cancelled=True
        )
    return BulkDownloadFailed(job_id=job.job_id, reason=reason or "the bulk download failed")


def _selection(job: JobContext, default_quality: VideoQuality) -> Selection:
    p = job.dispatch.parameters
    try:
        quality = VideoQuality(p.get("quality") or default_quality)
        course_ids = frozenset(int(c) for c in p.get("course_ids") or ())
        only = frozenset(int(k) for k in job.dispatch.only_items)
    except (TypeError, ValueError) as e:
        raise ValueError(f"invalid bulk download parameters {p!r}: {e}") from e
    return Selection(quality=quality, course_ids=course_ids, test_mode=bool(p.get("test_mode")), only_segments=only)


async def run_bulk_download(job: JobContext, deps: BulkDeps) -> None:
    """The job handler (see the module docstring). Ends the job itself in every case but a crash."""
    selection = _selection(job, deps.quality)
    own = [r for r in await deps.store.load(MEDIA, job.subject) if r.metadata.job_id == job.job_id]
    requested = next((r for r in own if isinstance(r.event, BulkDownloadRequested)), None)
    planned = any(isinstance(r.event, BulkDownloadPlanned) for r in own)
    if requested is None:
        event = BulkDownloadRequested(
            job_id=job.job_id,
            requested_by=job.dispatch.requested_by,
            quality=selection.quality,
            test_mode=selection.test_mode,
            course_ids=sorted(selection.course_ids),
        )
        start = (await job.report_phase(event, JobPhase.STARTED)).first_sequence
    else:
        start = requested.sequence
    try:
        courses = await survey(deps.catalogue, selection, deps.storage_root, job_id=job.job_id)
    except MediaError as e:
        await job.report_end(BulkDownloadFailed(job_id=job.job_id, reason=e.reason), JobPhase.FAILED, reason=e.reason)
        return
    total = sum(len(c.segment_ids) for c in courses)
    if not planned:
        left = [c.remaining_bytes for c in courses]
        remaining = None if any(n is None for n in left) else sum(n for n in left if n is not None)
        try:
            free = require_space(deps.storage_root, remaining or 0, deps.disk_margin_bytes)
        except InsufficientSpaceError as e:
            reason = e.message
            await job.report_end(BulkDownloadFailed(job_id=job.job_id, reason=reason), JobPhase.FAILED, reason=reason)
            return
        sizes = [c.total_bytes for c in courses]
        planned_event = BulkDownloadPlanned(
            job_id=job.job_id,
            courses=len(courses),
            segments=total,
            total_bytes=None if any(s is None for s in sizes) else sum(s for s in sizes if s is not None),
            remaining_bytes=remaining,
            free_bytes=free,
        )
        groups = {str(c.course_id): len(c.segment_ids) for c in courses}
        await job.report_phase(planned_event, JobPhase.PLANNED, total=total, summary={"groups": groups})
    tally = JobTally(job_id=job.job_id)
    follower = asyncio.create_task(follow(deps.nc, tally, start))
    try:
        await _queue_all(job, deps, courses, resumed=requested is not None)
        await _until_done(job, deps, tally, courses, total)
    finally:
        follower.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await follower


async def _queue_all(job: JobContext, deps: BulkDeps, courses: Sequence[CourseSurvey], *, resumed: bool) -> None:
    for surveyed in courses:
        if job.cancel_requested:
            return
        subject = MEDIA.aggregate_subject("course", str(surveyed.course_id))
        if resumed and any(
            isinstance(r.event, CourseQueued) and r.metadata.job_id == job.job_id
            for r in await deps.store.load(MEDIA, subject)
        ):
            continue
        course = await _course(job, deps, surveyed)
        segments = await _not_yet_queued(job, deps, course.segments) if resumed else list(course.segments)
        await _queue_segments(job, deps, course, segments)
        queued = CourseQueued(
            job_id=job.job_id,
            course_id=course.course_id,
            title=course.title,
            segment_count=len(course.segments),
            directory=course.directory,
            total_bytes=course.total_bytes,
        )
        await deps.store.append(MEDIA, subject, str(course.course_id), [job.new_event(queued)])


async def _course(job: JobContext, deps: BulkDeps, surveyed: CourseSurvey) -> PlannedCourse:
    """The surveyed course read again to be queued; if it cannot be read now, its segments are still items,
    failing with the reason (the rest of the job goes on)."""
    try:
        return await plan_course(
            deps.catalogue,
            _selection(job, deps.quality),
            surveyed,
            job_id=job.job_id,
            correlation_id=job.dispatch.correlation_id,
        )
    except MediaError as e:
        failed = [
            PlannedSegment(segment_id=i, channel_id=0, title="", work=None, invalid=e.reason)
            for i in sorted(surveyed.segment_ids)
        ]
        return PlannedCourse(course_id=surveyed.course_id, title="", directory="", segments=failed)


async def _not_yet_queued(job: JobContext, deps: BulkDeps, segments: Sequence[PlannedSegment]) -> list[PlannedSegment]:
    """Of a course interrupted while being queued: the segments with no event of this job yet. Those whose only
    event is ``SegmentQueued`` get their work message again (it may not have been published)."""
    todo: list[PlannedSegment] = []
    for s in segments:
        own = [
            r
            for r in await deps.store.load(MEDIA, MEDIA.aggregate_subject("segment", str(s.segment_id)))
            if r.metadata.job_id == job.job_id
        ]
        if not own:
            todo.append(s)
        elif len(own) == 1 and isinstance(own[0].event, SegmentQueued) and s.work is not None:
            await enqueue(deps.nc, s.work)
    return todo


async def _queue_segments(
    job: JobContext, deps: BulkDeps, course: PlannedCourse, segments: Sequence[PlannedSegment]
) -> None:
    def events(s: PlannedSegment) -> list[NewEvent]:
        queued = SegmentQueued(
            job_id=job.job_id,
            course_id=course.course_id,
            segment_id=s.segment_id,
            channel_id=s.channel_id,
            title=s.title,
            cdn_key="" if s.work is None else s.work.cdn_key,
            target_path="" if s.work is None else s.work.target_path,
            expected_size=None if s.work is None else s.work.expected_size,
            expected_sha256=None if s.work is None else s.work.expected_sha256,
        )
        out = [_item(job, queued, s, course, ItemOutcome.QUEUED)]
        if s.work is None:  # bad catalogue data: reported on the item, the rest of the job goes on
            failed = SegmentFailed(
                job_id=job.job_id,
                course_id=course.course_id,
                segment_id=s.segment_id,
                attempts=0,
                reason=s.invalid or "not downloadable",
            )
            out.append(_item(job, failed, s, course, ItemOutcome.FAILED, reason=s.invalid))
        return out

    appends = [
        (MEDIA.aggregate_subject("segment", str(s.segment_id)), str(s.segment_id), events(s), None) for s in segments
    ]
    for result in await deps.store.append_many(MEDIA, appends, concurrency=_PUBLISH_CONCURRENCY):
        if isinstance(result, BaseException):
            raise result
    gate = asyncio.Semaphore(_PUBLISH_CONCURRENCY)

    async def publish(s: PlannedSegment) -> None:
        assert s.work is not None
        async with gate:
            await enqueue(deps.nc, s.work)

    await asyncio.gather(*(publish(s) for s in segments if s.work is not None))


def _item(
    job: JobContext,
    event: Event,
    s: PlannedSegment,
    course: PlannedCourse,
    outcome: ItemOutcome,
    reason: str | None = None,
) -> NewEvent:
    report = job.report(
        item_key=str(s.segment_id), item_outcome=outcome.value, item_group=str(course.course_id), reason=reason
    )
    return job.new_event(event, report)


async def _until_done(
    job: JobContext, deps: BulkDeps, tally: JobTally, courses: Sequence[CourseSurvey], total: int
) -> None:
    """Append ``CourseCompleted`` as courses finish, then end the job (completed, or cancelled on request)."""
    sizes = {str(c.course_id): len(c.segment_ids) for c in courses}
    cancelled_at: float | None = None
    loop = asyncio.get_running_loop()
    while True:
        tally.changed.clear()
        # Read "all done" before completing courses: a segment counted in between would otherwise end the job
        # without its course's CourseCompleted.
        all_done = tally.terminal >= total
        for course_id, n in sizes.items():
            c = tally.courses.get(course_id)
            if c is not None and c.done >= n and not c.completed_recorded:
                await _complete_course(job, deps, course_id, tally)
        if all_done:
            break
        if job.cancel_requested:
            if cancelled_at is None:
                await purge_job(deps.nc, job.job_id)
                cancelled_at = loop.time()
            if tally.running == 0 and loop.time() - cancelled_at >= _CANCEL_GRACE:
                break
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(tally.changed.wait(), timeout=0.5)
    t = tally.totals()
    done = BulkDownloadCompleted(job_id=job.job_id, courses=len(courses), cancelled=tally.terminal < total, **t)
    phase = JobPhase.CANCELLED if done.cancelled else JobPhase.COMPLETED
    await job.report_end(done, phase, summary={"courses": len(courses), "segments": total, **t})


async def _complete_course(job: JobContext, deps: BulkDeps, course_id: str, tally: JobTally) -> None:
    subject = MEDIA.aggregate_subject("course", course_id)
    c = tally.courses[course_id]
    for _ in range(5):  # another job may append to the same course subject meanwhile
        history = await deps.store.load(MEDIA, subject)
        if any(isinstance(r.event, CourseCompleted) and r.metadata.job_id == job.job_id for r in history):
            break
        event = CourseCompleted(
            job_id=job.job_id,
            course_id=int(course_id),
            succeeded=c.succeeded,
            failed=c.failed,
            skipped=c.skipped,
            bytes_written=c.bytes_written,
        )
        last = history[-1].sequence if history else 0
        try:
            await deps.store.append(MEDIA, subject, course_id, [job.new_event(event)], expected_last_sequence=last)
            break
        except ConcurrencyError:
            continue
    c.completed_recorded = True


def handler(deps: BulkDeps) -> Any:
    """The JobWorker handler bound to ``deps``."""

    async def handle(job: JobContext) -> None:
        await run_bulk_download(job, deps)

    return handle


__all__ = ["SPEC", "BulkDeps", "handler", "lifecycle_event", "run_bulk_download"]
