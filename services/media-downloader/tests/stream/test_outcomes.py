"""Following a bulk download's outcomes on a real ``MEDIA`` stream (adapters/outcomes.py): every event of the
job from its first one folded once, in batches, other jobs' events ignored, and a consumer the server lost made
again from the first event not yet folded."""

from __future__ import annotations

import asyncio
from typing import Any

from skillstream_contracts.events import Headers
from skillstream_contracts.streams import MEDIA
from skillstream_media_downloader.adapters import outcomes
from skillstream_media_downloader.adapters.outcomes import follow_outcomes
from skillstream_media_downloader.domain.plan import segment_ids_of
from skillstream_media_downloader.domain.tally import JobTally
from skillstream_runtime.eventstore import ensure_stream

JOB = "e" * 32


async def publish(nc: Any, segment_id: int, outcome: str, *, job: str = JOB, course: int = 1) -> int:
    headers = {
        Headers.EVENT_TYPE: "media.SegmentQueued" if outcome == "queued" else "media.SegmentDownloaded",
        Headers.JOB_ID: job,
        Headers.ITEM_KEY: str(segment_id),
        Headers.ITEM_GROUP: str(course),
        Headers.ITEM_OUTCOME: outcome,
        Headers.ITEM_BYTES: "10",
    }
    ack = await nc.jetstream().publish(MEDIA.aggregate_subject("segment", str(segment_id)), b"{}", headers=headers)
    return int(ack.seq)


async def until(condition: Any, seconds: float = 10.0) -> None:
    async with asyncio.timeout(seconds):
        while not condition():
            await asyncio.sleep(0.01)


async def test_folds_the_job_from_its_first_event_in_batches_and_survives_a_lost_consumer(nc: Any) -> None:
    await ensure_stream(nc, MEDIA)
    await publish(nc, 1, "queued", job="f" * 32)  # before the job: not read
    first = await publish(nc, 1, "queued")
    n = outcomes.BATCH * 2 + 7  # several pulls
    for i in range(2, n + 1):
        await publish(nc, i, "queued")
    tally = JobTally(job_id=JOB)
    tally.expect(1, segment_ids_of(range(1, n + 1)))
    changed = asyncio.Event()
    follower = asyncio.create_task(follow_outcomes(nc, tally, first, changed))
    try:
        await until(lambda: tally.state(str(n), "1") == "queued")
        assert changed.is_set()
        js = nc.jetstream()
        for name in [c.name for c in await js.consumers_info(MEDIA.name)]:  # the server loses the consumer
            await js.delete_consumer(MEDIA.name, name)
        for i in range(1, n + 1):
            await publish(nc, i, "succeeded")
        await publish(nc, 1, "succeeded")  # a repeat never counts twice
        await until(lambda: tally.terminal == n)
        await asyncio.sleep(0.2)
        assert tally.totals() == {"succeeded": n, "failed": 0, "skipped": 0, "bytes_written": 10 * n}
    finally:
        follower.cancel()
        await asyncio.gather(follower, return_exceptions=True)
    assert await nc.jetstream().consumers_info(MEDIA.name) == []
