"""Replay workloads of the ``replay`` benchmark: one bulk download's segment events on ``MEDIA``.

:func:`append_media` appends ``n`` events (rounded down to a multiple of three): for each of ``n // 3``
segments of one job, ``SegmentQueued`` → ``SegmentDownloadStarted`` → ``SegmentDownloaded`` on the segment's
own subject, each carrying the job/item headers the progress projection counts — so the same stream feeds
the media downloads projection (one ``segment_downloads`` row per segment) and ``job_progress``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from skillstream_contracts.jobs import ItemOutcome, JobReport
from skillstream_contracts.media import SegmentDownloaded, SegmentDownloadStarted, SegmentQueued
from skillstream_contracts.streams import MEDIA
from skillstream_runtime.eventstore import EventStore, NewEvent, ensure_stream

JOB = "0123456789abcdef" * 2
SEGMENTS_PER_COURSE = 50
T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def _segment_events(segment_id: int) -> list[NewEvent]:
    course_id = segment_id // SEGMENTS_PER_COURSE
    path = f"course-{course_id}/{segment_id}_med.mp4"
    at = T0 + dt.timedelta(seconds=segment_id)

    def report(outcome: ItemOutcome, **extra: Any) -> JobReport:
        return JobReport(job_id=JOB, item_key=str(segment_id), item_group=str(course_id), item_outcome=outcome, **extra)

    common = {"job_id": JOB, "course_id": course_id, "segment_id": segment_id}
    queued = SegmentQueued(
        **common, channel_id=1, title=f"Segment {segment_id}", cdn_key=path, target_path=path,
        expected_size=1_000_000, expected_sha256="0" * 64,
    )  # fmt: skip
    started = SegmentDownloadStarted(
        **common, attempt=1, url_expires_at=at + dt.timedelta(hours=2), worker="bench", resume_from=0
    )
    done = SegmentDownloaded(
        **common, target_path=path, size=1_000_000, sha256="0" * 64, seconds=1.0, attempts=1, resumed=False
    )
    return [
        NewEvent(event=queued, occurred_at=at, job=report(ItemOutcome.QUEUED)),
        NewEvent(event=started, occurred_at=at, job=report(ItemOutcome.PROCESSING)),
        NewEvent(event=done, occurred_at=at, job=report(ItemOutcome.SUCCEEDED, item_bytes=1_000_000)),
    ]


async def append_media(store: EventStore, nc: Any, n: int) -> int:
    """Append ``n // 3`` segments' three events each on ``MEDIA``; returns the number of segments."""
    await ensure_stream(nc, MEDIA)
    segments = n // 3
    appends = [
        (MEDIA.aggregate_subject("segment", str(s)), str(s), _segment_events(s), 0) for s in range(1, segments + 1)
    ]
    results = await store.append_many(MEDIA, appends, concurrency=64)
    assert not [r for r in results if isinstance(r, BaseException)]
    return segments


__all__ = ["JOB", "append_media"]
