"""The bulk-download job handler (handlers/bulk.py) against the in-memory event store and a fake catalogue, with
the segment handler downloading what it queues from the fake CDN: plans, queues, follows to the end, resumes,
refuses a full disk or an unreadable catalogue, ends cancelled — no server."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field

import pytest

from skillstream_contracts.events import Event
from skillstream_contracts.jobs import JobDispatch, JobPhase
from skillstream_contracts.media import (
    BulkDownloadCompleted,
    BulkDownloadFailed,
    BulkDownloadPlanned,
    BulkDownloadRequested,
    CourseCompleted,
    CourseQueued,
    SegmentQueued,
    VideoQuality,
)
from skillstream_contracts.media_queries import KIND_BULK_DOWNLOAD
from skillstream_contracts.streams import MEDIA
from skillstream_media_downloader.domain.catalogue import Channel, Course, CourseRef, FileInfo, Segment
from skillstream_media_downloader.domain.tally import JobTally
from skillstream_media_downloader.domain.work import SegmentWork
from skillstream_media_downloader.errors import CatalogueError
from skillstream_media_downloader.handlers import bulk
from skillstream_media_downloader.handlers.bulk import BulkDeps, run_bulk_download
from skillstream_media_downloader.handlers.download import download_segment
from skillstream_runtime.jobs import JobContext

from .harness import JOB, Harness, RecordingQueue

SIZE = 5_000


@dataclass
class FakeCatalogue:
    """Courses by id; ``broken``: every read fails as an unreachable catalogue does."""

    courses_by_id: dict[int, Course]
    broken: bool = False

    async def courses(self) -> AsyncIterator[CourseRef]:
        if self.broken:
            raise CatalogueError("HTTP 503", url="http://catalogue.test", transient=True)
        for c in self.courses_by_id.values():
            yield CourseRef(id=c.id, title=c.title)

    async def course(self, course_id: int) -> Course:
        return self.courses_by_id[course_id]


def library(h: Harness) -> FakeCatalogue:
    """Course 1: two videos, a tab sheet (no video) and a video whose path names no file; course 2: one video;
    course 3: nothing to download."""

    def video(segment_id: int, path: str) -> Segment:
        data = h.cdn.add(f"{path}_med.mp4", SIZE)
        info = FileInfo(size=SIZE, sha256=hashlib.sha256(data).hexdigest())
        return Segment(id=segment_id, title=f"lesson {segment_id}", video=f"mp4:{path}", files={"med": info})

    blues = (video(11, "blues/intro"), video(12, "blues/licks"), Segment(id=13, title="tab"))
    broken = Segment(id=14, title="broken", video="mp4:blues/")
    return FakeCatalogue(
        {
            1: Course(id=1, title="Blues", channels=(Channel(id=1, title="a", segments=(*blues, broken)),)),
            2: Course(id=2, title="Jazz", channels=(Channel(id=2, title="b", segments=(video(21, "jazz/one"),)),)),
            3: Course(id=3, title="Tabs", channels=(Channel(id=3, title="c", segments=(Segment(id=31, title="t"),)),)),
        }
    )


@dataclass
class Fleet:
    """The work queue with a worker behind it: every work message is handled by the segment handler, in order;
    ``fail_after``: publishing breaks after that many messages (a crash while queueing)."""

    h: Harness
    records: RecordingQueue = field(default_factory=RecordingQueue)
    fail_after: int | None = None
    done: int = 0

    async def enqueue(self, work: SegmentWork) -> None:
        if self.fail_after is not None and len(self.records.enqueued) >= self.fail_after:
            raise ConnectionError("NATS went away")
        self.records.enqueued.append(work)

    async def purge_job(self, job_id: str) -> None:
        self.records.purged.append(job_id)
        self.done = len(self.records.enqueued)

    async def run(self) -> None:
        while True:
            while self.done < len(self.records.enqueued):
                await download_segment(self.records.enqueued[self.done], self.h.deps)
                self.done += 1
            await asyncio.sleep(0.002)


def follow_store(h: Harness) -> Callable[[JobTally, int, asyncio.Event], object]:
    """The outcome feed, read from the in-memory store as the JetStream one reads the stream."""

    async def follow(tally: JobTally, start: int, changed: asyncio.Event) -> None:
        seen = start - 1
        while True:
            for r in h.store.all_events(MEDIA):
                if r.sequence > seen:
                    seen = r.sequence
                    if tally.apply(r.metadata.to_headers()):
                        changed.set()
            await asyncio.sleep(0.002)

    return follow


def job(h: Harness, **parameters: object) -> JobContext:
    dispatch = JobDispatch(job_id=JOB, kind=KIND_BULK_DOWNLOAD, parameters=dict(parameters), requested_by="test")
    return JobContext(dispatch, h.store, MEDIA)


def deps(h: Harness, catalogue: FakeCatalogue, fleet: Fleet) -> BulkDeps:
    return BulkDeps(
        store=h.store,
        catalogue=catalogue,
        queue=fleet,
        disk=h.disk,
        follow=follow_store(h),  # type: ignore[arg-type]
        quality=VideoQuality.MED,
        disk_margin_bytes=0,
    )


async def run(h: Harness, catalogue: FakeCatalogue, fleet: Fleet, *, worker: bool = True, **parameters: object) -> None:
    """Run the job to its end with the fleet's worker (``worker=False``: nobody takes the work)."""
    worker_task = asyncio.create_task(fleet.run() if worker else asyncio.sleep(0))
    try:
        async with asyncio.timeout(10):
            await run_bulk_download(job(h, **parameters), deps(h, catalogue, fleet))
    finally:
        worker_task.cancel()


async def on(h: Harness, kind: str, key: int | str) -> Sequence[Event]:
    return [r.event for r in await h.store.load(MEDIA, MEDIA.aggregate_subject(kind, str(key)))]


async def test_plans_queues_downloads_and_completes(harness: Harness) -> None:
    fleet = Fleet(harness)
    await run(harness, library(harness), fleet)
    requested, planned, completed = await on(harness, "job", JOB)
    assert isinstance(requested, BulkDownloadRequested)
    assert isinstance(planned, BulkDownloadPlanned)
    assert (planned.courses, planned.segments, planned.total_bytes, planned.remaining_bytes) == (2, 4, 15_000, 15_000)
    assert isinstance(completed, BulkDownloadCompleted)
    assert (completed.succeeded, completed.failed, completed.skipped, completed.cancelled) == (3, 1, 0, False)
    assert completed.bytes_written == 15_000
    for course_id, counts in ((1, (2, 1)), (2, (1, 0))):
        queued, done = await on(harness, "course", course_id)
        assert isinstance(queued, CourseQueued)
        assert isinstance(done, CourseCompleted)
        assert (done.succeeded, done.failed) == counts
    assert [type(e).__name__ for e in await on(harness, "segment", 14)] == ["SegmentQueued", "SegmentFailed"]
    assert sorted(w.segment_id for w in fleet.records.enqueued) == [11, 12, 21]
    assert (harness.disk.root / "1-Blues" / "11-intro_med.mp4").stat().st_size == SIZE


async def test_each_work_message_carries_its_segment_queued_sequence(harness: Harness) -> None:
    fleet = Fleet(harness)
    await run(harness, library(harness), fleet, test_mode=True)
    queued = {
        r.event.segment_id: r.sequence for r in harness.store.all_events(MEDIA) if isinstance(r.event, SegmentQueued)
    }
    assert {w.segment_id: w.queued_sequence for w in fleet.records.enqueued} == {11: queued[11], 12: queued[12]}


async def test_test_mode_downloads_the_first_course_only(harness: Harness) -> None:
    await run(harness, library(harness), Fleet(harness), test_mode=True)
    completed = (await on(harness, "job", JOB))[-1]
    assert isinstance(completed, BulkDownloadCompleted)
    assert (completed.courses, completed.succeeded, completed.failed) == (1, 2, 1)


async def test_a_job_interrupted_while_queueing_resumes_without_queueing_twice(harness: Harness) -> None:
    catalogue = library(harness)
    crashing = Fleet(harness, fail_after=1)
    with pytest.raises(ConnectionError):
        await run(harness, catalogue, crashing, worker=False)
    # The message published before the crash is still on the queue; the resumed job publishes it again (a
    # duplicate the segment decider drops) with the rest.
    fleet = Fleet(harness, records=RecordingQueue(enqueued=list(crashing.records.enqueued)))
    await run(harness, catalogue, fleet)
    job_events = await on(harness, "job", JOB)
    assert [type(e).__name__ for e in job_events] == [
        "BulkDownloadRequested",
        "BulkDownloadPlanned",
        "BulkDownloadCompleted",
    ]
    assert isinstance(job_events[-1], BulkDownloadCompleted)
    assert (job_events[-1].succeeded, job_events[-1].failed) == (3, 1)
    for segment_id in (11, 12, 14, 21):
        queued = [e for e in await on(harness, "segment", segment_id) if isinstance(e, SegmentQueued)]
        assert len(queued) == 1
    # What the resumed job published again (course 1, queued before the crash; 11 may be downloaded by then)
    # carries no sequence: whether its
    # SegmentQueued is still the subject's newest event is unknown; course 2, queued fresh, carries its own.
    again = fleet.records.enqueued[len(crashing.records.enqueued) :]
    assert {w.segment_id: w.queued_sequence is None for w in again if w.segment_id != 11} == {12: True, 21: False}


async def test_too_little_disk_space_fails_the_job_before_queueing(harness: Harness) -> None:
    harness.disk.free.append(1_000)
    fleet = Fleet(harness)
    await run(harness, library(harness), fleet)
    failed = (await on(harness, "job", JOB))[-1]
    assert isinstance(failed, BulkDownloadFailed)
    assert "not enough disk space" in failed.reason
    assert fleet.records.enqueued == []


async def test_an_unreadable_catalogue_fails_the_job(harness: Harness) -> None:
    await run(harness, FakeCatalogue({}, broken=True), Fleet(harness))
    failed = (await on(harness, "job", JOB))[-1]
    assert isinstance(failed, BulkDownloadFailed)
    assert "HTTP 503" in failed.reason


async def test_a_cancel_purges_the_queue_and_ends_the_job_cancelled(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bulk, "_CANCEL_GRACE", 0.01)
    monkeypatch.setattr(bulk, "_POLL", 0.01)
    fleet = Fleet(harness)
    context = job(harness)
    context.cancel_event.set()
    async with asyncio.timeout(10):
        await run_bulk_download(context, deps(harness, library(harness), fleet))
    completed = (await on(harness, "job", JOB))[-1]
    assert isinstance(completed, BulkDownloadCompleted)
    assert completed.cancelled
    assert fleet.records.purged == [JOB]


async def test_past_its_deadline_a_job_fails_its_unfinished_segments_and_ends_failed(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bulk, "_CANCEL_GRACE", 0.01)
    monkeypatch.setattr(bulk, "_POLL", 0.01)
    fleet = Fleet(harness)  # nobody takes the work: the segments stay queued (as through a long NATS outage)
    context = job(harness)
    context.deadline = asyncio.get_running_loop().time() + 0.3
    async with asyncio.timeout(10):
        await run_bulk_download(context, deps(harness, library(harness), fleet))
    ended = (await on(harness, "job", JOB))[-1]
    assert isinstance(ended, BulkDownloadFailed)
    assert ended.reason == bulk.PAST_DEADLINE
    assert fleet.records.purged == [JOB]
    for segment_id in (11, 12, 21):  # queued, never downloaded: failed, so a retry of the failed items runs them
        events = await on(harness, "segment", segment_id)
        assert [type(e).__name__ for e in events] == ["SegmentQueued", "SegmentFailed"]
        assert events[-1].reason == bulk.PAST_DEADLINE  # type: ignore[attr-defined]
    assert context.ended is JobPhase.FAILED
