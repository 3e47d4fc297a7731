"""Fixtures of the media read-model tests: the real ``MEDIA`` stream on a real NATS server and
:class:`DownloadsProjection` on a real PostgreSQL, fed by events appended as the service appends them (one
subject per job, course and segment, with the job/item headers of ``EventMetadata``).

``media`` is a :class:`ReadModel`: ``segments(course_id, n)`` makes catalogue segments, ``job(job_id)``
gives a :class:`JobEvents` that appends one bulk download's events, ``catch_up`` runs the projection until
nothing is pending, ``snapshot`` reads every view.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from typing import Any

import asyncpg
import pytest

from skillstream_contracts.events import Event
from skillstream_contracts.jobs import ItemOutcome, JobPhase, JobReport
from skillstream_contracts.media import (
    MEDIA_EVENTS,
    BulkDownloadCompleted,
    BulkDownloadFailed,
    BulkDownloadPlanned,
    BulkDownloadRequested,
    CourseCompleted,
    CourseQueued,
    SegmentDownloaded,
    SegmentDownloadStarted,
    SegmentFailed,
    SegmentQueued,
    SegmentRetryScheduled,
    SegmentSkipped,
    SkipReason,
)
from skillstream_contracts.streams import MEDIA
from skillstream_media_downloader.projections.projection import DownloadsProjection
from skillstream_runtime.eventstore import EventStore, NewEvent, ensure_stream
from skillstream_runtime.generations import active_generation, rebuild
from skillstream_runtime.migrations import migrate_runtime
from skillstream_runtime.projections import ProjectionRunner, RunnerSettings

SETTINGS = RunnerSettings(batch_size=7, fetch_timeout=0.2, max_deliver=2, backoff_initial=0.01, backoff_max=0.05)
"""Small batches, so a scenario spans several ``apply`` calls."""
T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
PROJECTION = DownloadsProjection()


def at(seconds: float) -> dt.datetime:
    """``T0`` + ``seconds``."""
    return T0 + dt.timedelta(seconds=seconds)


@dataclasses.dataclass(frozen=True)
class Seg:
    """A catalogue segment: TrueFire ids, the ``<path>_<quality>.mp4`` key and its file's size and SHA-256."""

    segment_id: int
    course_id: int
    channel_id: int
    title: str
    size: int

    @property
    def path(self) -> str:
        return f"course-{self.course_id}/{self.segment_id}-{self.title.lower().replace(' ', '-')}_med.mp4"

    @property
    def sha256(self) -> str:
        """The digest of the file's deterministic content (as the media sandbox serves it)."""
        block = hashlib.sha256(f"segment {self.segment_id}".encode()).digest()
        return hashlib.sha256((block * (self.size // 32 + 1))[: self.size]).hexdigest()


def course_segments(course_id: int, count: int, *, first_id: int | None = None) -> list[Seg]:
    """``count`` segments of one course, sizes 1 MB + 1 KB per position (known in advance)."""
    base = first_id if first_id is not None else course_id * 100
    return [
        Seg(base + i, course_id, course_id * 10 + 1, f"Lesson {i + 1}", 1_000_000 + 1_000 * i) for i in range(count)
    ]


class JobEvents:
    """Appends one bulk download's events with its job headers (item key = segment id, group = course id)."""

    def __init__(self, model: ReadModel, job_id: str) -> None:
        self.model = model
        self.job_id = job_id

    async def _job(self, event: Event, t: dt.datetime, phase: JobPhase | None, **report: Any) -> int:
        job = JobReport(job_id=self.job_id, phase=phase, **report)
        new = NewEvent(event=event, occurred_at=t, job=job)
        return await self.model.append("job", self.job_id, new)

    async def _seg(self, s: Seg, event: Event, t: dt.datetime, outcome: ItemOutcome | None, **report: Any) -> int:
        job = JobReport(
            job_id=self.job_id, item_key=str(s.segment_id), item_group=str(s.course_id), item_outcome=outcome, **report
        )
        new = NewEvent(event=event, occurred_at=t, job=job)
        return await self.model.append("segment", str(s.segment_id), new)

    async def requested(self, t: dt.datetime, *, test_mode: bool = False, by: str = "admin@example.org") -> int:
        event = BulkDownloadRequested(job_id=self.job_id, requested_by=by, test_mode=test_mode)
        return await self._job(event, t, JobPhase.STARTED)

    async def planned(self, t: dt.datetime, segs: list[Seg]) -> int:
        courses = len({s.course_id for s in segs})
        total = sum(s.size for s in segs)
        event = BulkDownloadPlanned(
            job_id=self.job_id, courses=courses, segments=len(segs), total_bytes=total, remaining_bytes=total
        )
        return await self._job(event, t, JobPhase.PLANNED, total=len(segs))

    async def course(self, t: dt.datetime, course_id: int, segs: list[Seg], title: str = "") -> int:
        event = CourseQueued(
            job_id=self.job_id,
            course_id=course_id,
            title=title or f"Course {course_id}",
            segment_count=len(segs),
            directory=f"course-{course_id}",
            total_bytes=sum(s.size for s in segs),
        )
        new = NewEvent(event=event, occurred_at=t, job=JobReport(job_id=self.job_id))
        return await self.model.append("course", str(course_id), new)

    async def queued(self, t: dt.datetime, s: Seg) -> int:
        event = SegmentQueued(
            job_id=self.job_id,
            course_id=s.course_id,
            segment_id=s.segment_id,
            channel_id=s.channel_id,
            title=s.title,
            cdn_key=s.path,
            target_path=s.path,
            expected_size=s.size,
            expected_sha256=s.sha256,
        )
        return await self._seg(s, event, t, ItemOutcome.QUEUED)

    async def started(self, t: dt.datetime, s: Seg, attempt: int = 1, resume_from: int = 0) -> int:
        event = SegmentDownloadStarted(
            job_id=self.job_id,
            course_id=s.course_id,
            segment_id=s.segment_id,
            attempt=attempt,
            url_expires_at=t + dt.timedelta(hours=2),
            worker="media-downloader-1",
            resume_from=resume_from,
        )
        return await self._seg(s, event, t, ItemOutcome.PROCESSING)

    async def retry(
        self, t: dt.datetime, s: Seg, attempt: int, reason: str, status: int | None, partial: int = 0
    ) -> int:
        delay = (30.0, 60.0, 120.0, 300.0, 600.0)[attempt - 1]
        event = SegmentRetryScheduled(
            job_id=self.job_id,
            course_id=s.course_id,
            segment_id=s.segment_id,
            attempt=attempt,
            reason=reason,
            retry_at=t + dt.timedelta(seconds=delay),
            delay_seconds=delay,
            http_status=status,
            partial_bytes=partial,
        )
        return await self._seg(s, event, t, None)

    async def downloaded(self, t: dt.datetime, s: Seg, attempts: int = 1, seconds: float = 1.0) -> int:
        event = SegmentDownloaded(
            job_id=self.job_id,
            course_id=s.course_id,
            segment_id=s.segment_id,
            target_path=s.path,
            size=s.size,
            sha256=s.sha256,
            seconds=seconds,
            attempts=attempts,
            resumed=attempts > 1,
        )
        return await self._seg(s, event, t, ItemOutcome.SUCCEEDED, item_bytes=s.size)

    async def skipped(self, t: dt.datetime, s: Seg, reason: SkipReason = SkipReason.VERIFIED_ON_DISK) -> int:
        event = SegmentSkipped(
            job_id=self.job_id,
            course_id=s.course_id,
            segment_id=s.segment_id,
            target_path=s.path,
            reason=reason,
            size=s.size,
            sha256=s.sha256,
        )
        return await self._seg(s, event, t, ItemOutcome.SKIPPED)

    async def failed(self, t: dt.datetime, s: Seg, attempts: int, reason: str, status: int | None) -> int:
        event = SegmentFailed(
            job_id=self.job_id,
            course_id=s.course_id,
            segment_id=s.segment_id,
            attempts=attempts,
            reason=reason,
            http_status=status,
        )
        return await self._seg(s, event, t, ItemOutcome.FAILED, reason=reason)

    async def course_completed(self, t: dt.datetime, course_id: int, **counts: int) -> int:
        values = {"succeeded": 0, "failed": 0, "skipped": 0, "bytes_written": 0, **counts}
        event = CourseCompleted(job_id=self.job_id, course_id=course_id, **values)
        return await self.model.append("course", str(course_id), NewEvent(event=event, occurred_at=t))

    async def completed(self, t: dt.datetime, *, cancelled: bool = False, **counts: int) -> int:
        values = {"courses": 0, "succeeded": 0, "failed": 0, "skipped": 0, "bytes_written": 0, **counts}
        event = BulkDownloadCompleted(job_id=self.job_id, cancelled=cancelled, **values)
        return await self._job(event, t, JobPhase.CANCELLED if cancelled else JobPhase.COMPLETED)

    async def job_failed(self, t: dt.datetime, reason: str) -> int:
        event = BulkDownloadFailed(job_id=self.job_id, reason=reason)
        return await self._job(event, t, JobPhase.FAILED, reason=reason)

    async def queue_all(self, t: dt.datetime, segs: list[Seg]) -> None:
        """Request, plan and queue ``segs`` (courses in id order) at ``t``, as the job handler does."""
        await self.requested(t)
        await self.planned(t, segs)
        for course_id in sorted({s.course_id for s in segs}):
            mine = [s for s in segs if s.course_id == course_id]
            await self.course(t, course_id, mine)
            for s in mine:
                await self.queued(t, s)


class ReadModel:
    """The ``MEDIA`` stream and the downloads read model of one test (with the helpers above as attributes:
    test modules cannot import this conftest)."""

    t0 = T0
    at = staticmethod(at)
    segments = staticmethod(course_segments)
    projection = PROJECTION
    settings = SETTINGS

    def __init__(self, nc: Any, pool: asyncpg.Pool) -> None:
        self.nc = nc
        self.pool = pool
        self.store = EventStore(nc, {MEDIA.name: MEDIA_EVENTS})

    def job(self, job_id: str) -> JobEvents:
        return JobEvents(self, job_id)

    async def append(self, aggregate: str, aggregate_id: str, *events: NewEvent) -> int:
        """Append on ``media.<aggregate>.<id>``; returns the last stream sequence."""
        subject = MEDIA.aggregate_subject(aggregate, aggregate_id)
        result = await self.store.append(MEDIA, subject, aggregate_id, list(events))
        return result.last_sequence

    async def catch_up(self, settings: RunnerSettings = SETTINGS) -> None:
        generation = await active_generation(self.pool, PROJECTION)
        runner = ProjectionRunner(PROJECTION, generation, MEDIA.name, self.nc, self.pool, settings)
        await runner.run(until_caught_up=True)

    async def rebuild(self, settings: RunnerSettings = SETTINGS) -> int:
        """Blue/green rebuild from sequence 1 into a fresh generation, swapped in; returns its number."""
        return await rebuild(PROJECTION, self.nc, self.pool, settings=settings)

    async def dead_letters(self) -> int:
        return int(await self.pool.fetchval("SELECT count(*) FROM skillstream.dead_letters"))

    async def rows(self, table: str, where: str = "true", *args: Any) -> list[dict[str, Any]]:
        """Rows of one view as dicts, in key order."""
        order = {"bulk_downloads": "job_id", "course_downloads": "job_id, course_id"}.get(table, "job_id, segment_id")
        found = await self.pool.fetch(f"SELECT * FROM media_downloader.{table} WHERE {where} ORDER BY {order}", *args)
        return [dict(r) for r in found]

    async def snapshot(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every row of every view, sorted (text form), so two snapshots compare row for row."""
        out: dict[str, list[tuple[Any, ...]]] = {}
        for table in PROJECTION.tables:
            rows = await self.pool.fetch(f"SELECT * FROM media_downloader.{table}")
            out[table] = sorted((tuple(r) for r in rows), key=lambda row: tuple(map(str, row)))
        return out


@pytest.fixture
async def media(nc: Any, pg_pool: asyncpg.Pool) -> ReadModel:
    await ensure_stream(nc, MEDIA)
    async with pg_pool.acquire() as conn:
        await migrate_runtime(conn)
    model = ReadModel(nc, pg_pool)
    await model.catch_up()  # creates generation 1 and the views, so queries work on an empty stream
    return model
