"""The ``media.bulk-download`` job handler: plan, check the disk, queue every segment, follow them to the end.

Events on the job's subject ``media.job.<job_id>`` carry the job phases the orchestrator follows::

    BulkDownloadRequested (started) → BulkDownloadPlanned (planned: total, a group per course)
        → CourseQueued + SegmentQueued … (one work message per segment) → CourseCompleted …
        → BulkDownloadCompleted (completed | cancelled)  or  BulkDownloadFailed (failed)

:func:`run_bulk_download` is resumable (a redelivered job runs again on any replica): the job subject says
whether it was requested and planned; the catalogue is surveyed again (:mod:`.survey`) and what was queued
already is skipped (:mod:`.queueing`). Counting is :class:`~skillstream_media_downloader.domain.tally.JobTally`,
fed live by ``deps.follow`` from the job's first event.

Refuses to start (``BulkDownloadFailed``) when the storage root's free space is below the bytes still to write
plus ``disk_margin_bytes``. A cancel purges the job's queued work and scheduled retries, waits for running
attempts to end, then ends the job cancelled. Past the job's deadline (its kind's timeout, NATS outages
included) it stops the same way, then fails every segment it had not ended (``SegmentFailed``: a retry of the
failed items downloads them again) and ends the job failed.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import structlog

from skillstream_contracts.events import Event
from skillstream_contracts.jobs import JobKindSpec, JobPhase
from skillstream_contracts.media import (
    BulkDownloadCompleted,
    BulkDownloadFailed,
    BulkDownloadPlanned,
    BulkDownloadRequested,
    VideoQuality,
)
from skillstream_contracts.media_queries import KIND_BULK_DOWNLOAD
from skillstream_contracts.streams import MEDIA
from skillstream_media_downloader.domain.catalogue import Catalogue
from skillstream_media_downloader.domain.course import CompleteCourse, course_decider
from skillstream_media_downloader.domain.plan import CourseSurvey, Selection, selection_of, sum_known
from skillstream_media_downloader.domain.segment import Fail, SegmentState, segment_decider
from skillstream_media_downloader.domain.tally import JobTally
from skillstream_media_downloader.domain.work import SegmentWork
from skillstream_media_downloader.errors import InsufficientSpaceError, MediaError
from skillstream_media_downloader.handlers.download import segment_envelope
from skillstream_media_downloader.handlers.queueing import queue_courses
from skillstream_media_downloader.handlers.survey import survey
from skillstream_runtime.concurrency import for_each
from skillstream_runtime.decider import load_aggregate, run_command
from skillstream_runtime.errors import ContendedAggregateError
from skillstream_runtime.eventstore import AbstractEventStore
from skillstream_runtime.jobs import Handler, JobContext

log = structlog.get_logger(__name__)

_CANCEL_GRACE = 2.0  # seconds a cancel waits after the last running attempt ended (messages fetched meanwhile)
_POLL = 0.5  # seconds between looks at the tally when no outcome arrives (a cancel, a missed wake-up)
_FAIL_CONCURRENCY = 64  # unfinished segments failed at once past the deadline
PAST_DEADLINE = "the bulk download ran past its timeout; its unfinished segments failed and can be retried"

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


class WorkPublisher(Protocol):
    """The ``MEDIA_WORK`` queue (:class:`~skillstream_media_downloader.adapters.workqueue.MediaWorkQueue`)."""

    async def enqueue(self, work: SegmentWork) -> None: ...

    async def purge_job(self, job_id: str) -> None: ...


class BulkDisk(Protocol):
    """The storage root (:class:`~skillstream_media_downloader.adapters.disk.LocalDisk`), sizes in bytes."""

    def bytes_missing(self, works: list[SegmentWork]) -> int | None: ...

    def require_space(self, needed: int, margin: int) -> int: ...


FollowOutcomes = Callable[[JobTally, int, asyncio.Event], Coroutine[Any, Any, None]]
"""``follow(tally, start_sequence, changed)``: fold the ``MEDIA`` stream's events from ``start_sequence`` into
``tally`` live, setting ``changed`` when an item's state changes, until cancelled
(:func:`~skillstream_media_downloader.adapters.outcomes.follow_outcomes`)."""


@dataclass(frozen=True, kw_only=True)
class BulkDeps:
    """What the handler needs: the event store, the catalogue, the work queue, the storage root, the outcome
    feed, the default quality and the free-space margin (bytes) a job must leave."""

    store: AbstractEventStore
    catalogue: Catalogue
    queue: WorkPublisher
    disk: BulkDisk
    follow: FollowOutcomes
    quality: VideoQuality
    disk_margin_bytes: int


def lifecycle_event(job: JobContext, phase: JobPhase, reason: str | None) -> Event:
    """The event that ends a job the worker ends itself (the handler raised, or a cancel came before it ran)."""
    if phase is JobPhase.CANCELLED:
        return BulkDownloadCompleted(
            job_id=job.job_id, courses=0, succeeded=0, failed=0, skipped=0, bytes_written=0, cancelled=True
        )
    return BulkDownloadFailed(job_id=job.job_id, reason=reason or "the bulk download failed")


async def run_bulk_download(job: JobContext, deps: BulkDeps) -> None:
    """The job handler (see the module docstring). Ends the job itself in every case but a crash.

    Raises:
        ValueError: the job's parameters do not parse (the worker ends the job failed with the message).
        EventStoreError: the store failed (the job is redelivered and resumed).
    """
    selection = selection_of(job.dispatch.parameters, job.dispatch.only_items, deps.quality)
    own = [r for r in await deps.store.load(MEDIA, job.subject) if r.metadata.job_id == job.job_id]
    requested = next((r for r in own if isinstance(r.event, BulkDownloadRequested)), None)
    planned = any(isinstance(r.event, BulkDownloadPlanned) for r in own)
    start = requested.sequence if requested is not None else await _request(job, selection)
    try:
        courses = await survey(deps.catalogue, selection, deps.disk, job_id=job.job_id)
    except MediaError as e:
        await job.report_end(BulkDownloadFailed(job_id=job.job_id, reason=e.reason), JobPhase.FAILED, reason=e.reason)
        return
    total = sum(len(c.segment_ids) for c in courses)
    if not planned and not await _plan(job, deps, courses, total):
        return
    tally, changed = JobTally(job_id=job.job_id), asyncio.Event()
    for c in courses:
        tally.expect(c.course_id, c.segment_ids)
    follower = asyncio.create_task(deps.follow(tally, start, changed))
    try:
        await queue_courses(job, deps, selection, courses, resumed=requested is not None)
        await _until_done(job, deps, tally, changed, courses, total)
    finally:
        follower.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await follower


def handler(deps: BulkDeps) -> Handler:
    """The :class:`~skillstream_runtime.jobs.JobWorker` handler bound to ``deps``."""

    async def handle(job: JobContext) -> None:
        await run_bulk_download(job, deps)

    return handle


async def _request(job: JobContext, selection: Selection) -> int:
    """Record the job as started; the stream sequence its outcomes are followed from."""
    event = BulkDownloadRequested(
        job_id=job.job_id,
        requested_by=job.dispatch.requested_by,
        quality=selection.quality,
        test_mode=selection.test_mode,
        course_ids=sorted(selection.course_ids),
    )
    return (await job.report_phase(event, JobPhase.STARTED)).first_sequence


async def _plan(job: JobContext, deps: BulkDeps, courses: Sequence[CourseSurvey], total: int) -> bool:
    """Check the disk and record the plan; False when the job was ended (not enough space)."""
    remaining = sum_known([c.remaining_bytes for c in courses])
    try:
        free = deps.disk.require_space(remaining or 0, deps.disk_margin_bytes)
    except InsufficientSpaceError as e:
        reason = e.message
        await job.report_end(BulkDownloadFailed(job_id=job.job_id, reason=reason), JobPhase.FAILED, reason=reason)
        return False
    planned = BulkDownloadPlanned(
        job_id=job.job_id,
        courses=len(courses),
        segments=total,
        total_bytes=sum_known([c.total_bytes for c in courses]),
        remaining_bytes=remaining,
        free_bytes=free,
    )
    groups = {str(c.course_id): len(c.segment_ids) for c in courses}
    labels = {str(c.course_id): c.title for c in courses if c.title}  # the job page names courses by title
    summary = {"groups": groups, "group_labels": labels}
    await job.report_phase(planned, JobPhase.PLANNED, total=total, summary=summary)
    return True


async def _until_done(
    job: JobContext,
    deps: BulkDeps,
    tally: JobTally,
    changed: asyncio.Event,
    courses: Sequence[CourseSurvey],
    total: int,
) -> None:
    """Record ``CourseCompleted`` as courses finish, then end the job (completed, or cancelled on request)."""
    sizes = {str(c.course_id): len(c.segment_ids) for c in courses}
    cancelled_at: float | None = None
    loop = asyncio.get_running_loop()
    while True:
        changed.clear()
        # Read "all done" before completing courses: a segment counted in between would otherwise end the job
        # without its course's CourseCompleted.
        all_done = tally.terminal >= total
        for course_id, n in sizes.items():
            c = tally.courses.get(course_id)
            if c is not None and c.done >= n and not c.completed_recorded:
                await _complete_course(job, deps, course_id, tally)
        if all_done:
            break
        if job.cancel_requested or job.past_deadline:
            if cancelled_at is None:
                await deps.queue.purge_job(job.job_id)
                cancelled_at = loop.time()
            if tally.running == 0 and loop.time() - cancelled_at >= _CANCEL_GRACE:
                break
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(changed.wait(), timeout=_POLL)
    if job.past_deadline and tally.terminal < total:
        await _fail_unfinished(job, deps, tally)
        await job.report_end(
            BulkDownloadFailed(job_id=job.job_id, reason=PAST_DEADLINE), JobPhase.FAILED, reason=PAST_DEADLINE
        )
        return
    t = tally.totals()
    done = BulkDownloadCompleted(job_id=job.job_id, courses=len(courses), cancelled=tally.terminal < total, **t)
    phase = JobPhase.CANCELLED if done.cancelled else JobPhase.COMPLETED
    await job.report_end(done, phase, summary={"courses": len(courses), "segments": total, **t})


async def _fail_unfinished(job: JobContext, deps: BulkDeps, tally: JobTally) -> None:
    """End every segment of the job that has not ended (queued, or waiting to retry) as failed."""

    async def fail(item: tuple[int, int]) -> None:
        course_id, segment_id = item
        state = SegmentState(job_id=job.job_id, course_id=course_id, segment_id=segment_id, target_path="")
        decider = segment_decider(state)
        subject = MEDIA.aggregate_subject("segment", str(segment_id))
        agg = await load_aggregate(deps.store, decider, MEDIA, subject, str(segment_id))
        correlation = job.dispatch.correlation_id
        try:
            await run_command(
                deps.store,
                decider,
                agg,
                Fail(attempt=agg.state.attempt, reason=PAST_DEADLINE),
                envelope=lambda e: segment_envelope(job.job_id, course_id, segment_id, e, correlation),
            )
        except ContendedAggregateError:
            log.warning("segment not failed: its subject stayed contended", segment_id=segment_id)

    await for_each(tally.unfinished(), fail, _FAIL_CONCURRENCY)


async def _complete_course(job: JobContext, deps: BulkDeps, course_id: str, tally: JobTally) -> None:
    c = tally.courses[course_id]
    decider = course_decider(job.job_id, int(course_id))
    agg = await load_aggregate(deps.store, decider, MEDIA, MEDIA.aggregate_subject("course", course_id), course_id)
    command = CompleteCourse(succeeded=c.succeeded, failed=c.failed, skipped=c.skipped, bytes_written=c.bytes_written)
    try:
        await run_command(deps.store, decider, agg, command, envelope=job.new_event)
    except ContendedAggregateError:
        # other jobs kept writing to the course's subject: its end goes unrecorded rather than fail this job
        log.warning("course completion not recorded: its subject stayed contended", course_id=course_id)
    c.completed_recorded = True


__all__ = [
    "SPEC",
    "BulkDeps",
    "BulkDisk",
    "FollowOutcomes",
    "WorkPublisher",
    "handler",
    "lifecycle_event",
    "run_bulk_download",
]
