"""What the handler tests share (the ``harness`` fixture of conftest builds one): the segment handler's
dependencies on an in-memory event store, the fake CDN, a storage root in ``tmp_path`` whose free space a test
can set, a work queue that records what is published, and the fixed clock — no server anywhere."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from skillstream_contracts.events import Event
from skillstream_contracts.media import SegmentQueued
from skillstream_contracts.streams import MEDIA
from skillstream_media_downloader.adapters.disk import LocalDisk
from skillstream_media_downloader.domain.work import SegmentWork
from skillstream_media_downloader.handlers.download import SegmentDeps, segment_envelope
from skillstream_media_downloader.settings import MediaSettings
from skillstream_runtime.memorystore import InMemoryEventStore

if TYPE_CHECKING:
    from .conftest import FakeCdn, FakeClock

JOB = "a" * 32


@dataclass(frozen=True)
class TmpDisk(LocalDisk):
    """The real disk adapter under ``tmp_path``; ``free``: [n] makes it report n free bytes."""

    free: list[int] = field(default_factory=list)

    def free_bytes(self) -> int:
        return self.free[0] if self.free else super().free_bytes()


@dataclass
class RecordingQueue:
    """The work queue: what was enqueued, scheduled (work, due, attempt) and purged."""

    enqueued: list[SegmentWork] = field(default_factory=list)
    scheduled: list[tuple[SegmentWork, dt.datetime, int]] = field(default_factory=list)
    purged: list[str] = field(default_factory=list)

    async def enqueue(self, work: SegmentWork) -> None:
        self.enqueued.append(work)

    async def schedule(self, work: SegmentWork, due: dt.datetime, attempt: int) -> None:
        self.scheduled.append((work, due, attempt))

    async def purge_job(self, job_id: str) -> None:
        self.purged.append(job_id)


@dataclass
class Harness:
    store: InMemoryEventStore
    cdn: FakeCdn
    clock: FakeClock
    disk: TmpDisk
    queue: RecordingQueue
    deps: SegmentDeps

    def work(self, segment_id: int = 7, size: int = 200_000, *, job_id: str = JOB, sha: bool = True) -> SegmentWork:
        """A segment on the fake CDN (``size`` bytes), its work as the planner makes it."""
        key = f"course/lesson{segment_id}_med.mp4"
        data = self.cdn.add(key, size)
        return SegmentWork(
            job_id=job_id,
            course_id=1,
            segment_id=segment_id,
            cdn_key=key,
            target_path=f"1-Course/{segment_id}-lesson_med.mp4",
            expected_size=size,
            expected_sha256=hashlib.sha256(data).hexdigest() if sha else None,
        )

    async def record_queued(self, work: SegmentWork) -> int:
        """Append the segment's ``SegmentQueued`` as the bulk download does; its stream sequence."""
        queued = SegmentQueued(
            job_id=work.job_id,
            course_id=work.course_id,
            segment_id=work.segment_id,
            channel_id=1,
            title="lesson",
            cdn_key=work.cdn_key,
            target_path=work.target_path,
            expected_size=work.expected_size,
            expected_sha256=work.expected_sha256,
        )
        new = segment_envelope(work.job_id, work.course_id, work.segment_id, queued, None)
        return (await self.store.append(MEDIA, subject(work), str(work.segment_id), [new])).last_sequence

    async def events(self, work: SegmentWork) -> list[Event]:
        return [r.event for r in await self.store.load(MEDIA, subject(work)) if r.metadata.job_id == work.job_id]

    def target(self, work: SegmentWork) -> Path:
        return self.disk.root / work.target_path


def subject(work: SegmentWork) -> str:
    return MEDIA.aggregate_subject("segment", str(work.segment_id))


def settings(root: Path, cdn_base_url: str, **overrides: object) -> MediaSettings:
    """The service's settings for a test: no jitter (exact delays), no disk margin, 5 crashes at most."""
    values: dict[str, object] = {
        "storage_root": root,
        "cdn_base_url": cdn_base_url,
        "retry_jitter": 0.0,
        "disk_margin_bytes": 0,
        "max_crashes": 5,
        "_env_file": None,
    }
    return MediaSettings(**(values | overrides))  # type: ignore[arg-type]
