"""The segment work handler (handlers/download.py) against the in-memory event store, the fake CDN, a storage root
in tmp_path, a recording work queue and a fixed clock: every outcome of a work message, no server."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from collections.abc import AsyncIterator

import msgspec
import pytest

from skillstream_contracts.jobs import ItemOutcome
from skillstream_contracts.media import (
    SegmentDownloaded,
    SegmentDownloadStarted,
    SegmentFailed,
    SegmentRetryScheduled,
    SegmentSkipped,
    SkipReason,
)
from skillstream_contracts.streams import MEDIA
from skillstream_media_downloader.domain.segment import Phase, SegmentState, StartAttempt, segment_decider
from skillstream_media_downloader.domain.work import SegmentWork
from skillstream_media_downloader.handlers.download import download_segment, segment_envelope
from skillstream_runtime.workqueue import ACK, Settle

from .harness import Harness, subject


def kinds(events: list[object]) -> list[str]:
    return [type(e).__name__.removeprefix("Segment") for e in events]


async def deliver(h: Harness, work: SegmentWork, deliveries: int = 1):  # type: ignore[no-untyped-def]
    return await download_segment(work, h.deps, deliveries=deliveries)


async def test_downloads_verifies_and_records_with_the_item_report(harness: Harness) -> None:
    work = harness.work()
    await harness.record_queued(work)
    assert await deliver(harness, work) is ACK
    events = await harness.events(work)
    assert kinds(events) == ["Queued", "DownloadStarted", "Downloaded"]
    done = events[-1]
    assert isinstance(done, SegmentDownloaded)
    assert (done.size, done.sha256, done.attempts, done.resumed) == (200_000, work.expected_sha256, 1, False)
    assert harness.target(work).read_bytes() == harness.cdn.files[work.cdn_key]
    records = await harness.store.load(MEDIA, subject(work))
    report = records[-1].metadata.job
    assert report is not None
    assert (report.item_key, report.item_group, report.item_outcome, report.item_bytes) == (
        "7",
        "1",
        ItemOutcome.SUCCEEDED.value,
        200_000,
    )
    started = events[1]
    assert isinstance(started, SegmentDownloadStarted)
    assert started.url_expires_at == dt.datetime.fromtimestamp(harness.clock() + 7200, dt.UTC)  # signed now


async def test_a_verified_file_on_disk_is_skipped_without_a_request(harness: Harness) -> None:
    work = harness.work()
    await harness.record_queued(work)
    target = harness.target(work)
    target.parent.mkdir(parents=True)
    target.write_bytes(harness.cdn.files[work.cdn_key])
    target.with_name(target.name + ".part.etag").write_text('"old"')  # left by a download killed after its rename
    assert await deliver(harness, work) is ACK
    [_, skipped] = await harness.events(work)
    assert isinstance(skipped, SegmentSkipped)
    assert skipped.reason is SkipReason.VERIFIED_ON_DISK
    assert harness.cdn.requests == []
    assert not target.with_name(target.name + ".part.etag").exists()


async def test_a_wrong_file_on_disk_is_downloaded_again(harness: Harness) -> None:
    work = harness.work()
    await harness.record_queued(work)
    target = harness.target(work)
    target.parent.mkdir(parents=True)
    target.write_bytes(b"x" * 200_000)  # the right size, the wrong bytes: size alone proves nothing
    await deliver(harness, work)
    assert kinds(await harness.events(work)) == ["Queued", "DownloadStarted", "Downloaded"]
    assert target.read_bytes() == harness.cdn.files[work.cdn_key]


@pytest.mark.parametrize(("status", "retry_after", "delay"), [("503", "7", 30.0), ("429", "45", 45.0)])
async def test_a_busy_cdn_schedules_a_retry_at_least_retry_after(
    harness: Harness, status: str, retry_after: str, delay: float
) -> None:
    work = harness.work()
    await harness.record_queued(work)
    harness.cdn.retry_after = retry_after
    harness.cdn.script[work.cdn_key] = [status]
    assert await deliver(harness, work) is ACK
    retry = (await harness.events(work))[-1]
    assert isinstance(retry, SegmentRetryScheduled)
    assert (retry.attempt, retry.http_status, retry.delay_seconds) == (1, int(status), delay)
    assert retry.retry_after_seconds == float(retry_after)
    due = dt.datetime.fromtimestamp(harness.clock() + delay, dt.UTC)
    assert harness.queue.scheduled == [(work, due, 1)]


async def test_an_early_retry_waits_and_the_due_one_runs_the_next_attempt(harness: Harness) -> None:
    work = harness.work()
    await harness.record_queued(work)
    harness.cdn.script[work.cdn_key] = ["503"]
    await deliver(harness, work)
    [(_, due, _)] = harness.queue.scheduled
    await deliver(harness, work, deliveries=2)  # the original message, redelivered early
    assert harness.queue.scheduled[-1] == (work, due, 1)
    assert kinds(await harness.events(work))[-1] == "RetryScheduled"
    harness.clock.now = due.timestamp()
    await deliver(harness, work)
    events = await harness.events(work)
    assert kinds(events)[-2:] == ["DownloadStarted", "Downloaded"]
    assert isinstance(events[-1], SegmentDownloaded)
    assert events[-1].attempts == 2


async def test_fails_once_after_the_last_retry_leaving_nothing_behind(harness: Harness) -> None:
    work = harness.work()
    await harness.record_queued(work)
    harness.cdn.script[work.cdn_key] = ["reset"] * 6
    for _ in range(6):
        await deliver(harness, work)
        if harness.queue.scheduled:
            harness.clock.now = harness.queue.scheduled[-1][1].timestamp()
    events = await harness.events(work)
    assert kinds(events).count("RetryScheduled") == 5
    assert [e.delay_seconds for e in events if isinstance(e, SegmentRetryScheduled)] == [30, 60, 120, 300, 600]
    failed = events[-1]
    assert isinstance(failed, SegmentFailed)
    assert failed.attempts == 6
    assert "gave up after 6 attempts" in failed.reason
    part = harness.target(work).with_name(harness.target(work).name + ".part")
    assert not part.exists() or part.stat().st_size == 0
    assert await deliver(harness, work) is ACK  # a late message after the end changes nothing
    assert len(await harness.events(work)) == len(events)


async def test_a_404_fails_at_once(harness: Harness) -> None:
    work = harness.work()
    await harness.record_queued(work)
    harness.cdn.script[work.cdn_key] = ["404"]
    await deliver(harness, work)
    failed = (await harness.events(work))[-1]
    assert isinstance(failed, SegmentFailed)
    assert (failed.attempts, failed.http_status) == (1, 404)
    assert harness.queue.scheduled == []


@pytest.mark.parametrize("script", [["403@+7200"], ["403"]])
async def test_a_403_re_signs_inside_the_attempt_without_spending_a_retry(harness: Harness, script: list[str]) -> None:
    work = harness.work()
    await harness.record_queued(work)
    harness.cdn.script[work.cdn_key] = list(script)  # on a URL that expired meanwhile, or on a fresh one
    await deliver(harness, work)
    events = await harness.events(work)
    assert kinds(events) == ["Queued", "DownloadStarted", "Downloaded"]
    assert isinstance(events[-1], SegmentDownloaded)
    assert events[-1].attempts == 1
    assert len(harness.cdn.requests) == 2


async def test_a_crash_mid_download_reruns_the_same_attempt_resuming_the_part(harness: Harness) -> None:
    work = harness.work(size=300_000)
    await harness.record_queued(work)
    harness.cdn.script[work.cdn_key] = ["reset"]
    original = harness.cdn._stream

    async def killed(body: bytes, reset: bool) -> AsyncIterator[bytes]:
        async for piece in original(body, False):
            yield piece
        if reset:
            raise asyncio.CancelledError  # the process dies here: nothing after this line of the handler runs

    harness.cdn._stream = killed  # type: ignore[method-assign]
    with pytest.raises(asyncio.CancelledError):
        await deliver(harness, work)
    assert kinds(await harness.events(work)) == ["Queued", "DownloadStarted"]
    part = harness.target(work).with_name(harness.target(work).name + ".part")
    assert part.stat().st_size == 150_000
    assert await deliver(harness, work, deliveries=1) is ACK  # a duplicate while the attempt "runs": dropped
    assert len(await harness.events(work)) == 2
    await deliver(harness, work, deliveries=2)  # redelivered after ack_wait: its worker is gone
    events = await harness.events(work)
    assert kinds(events) == ["Queued", "DownloadStarted", "DownloadStarted", "Downloaded"]
    restarted, done = events[2], events[3]
    assert isinstance(restarted, SegmentDownloadStarted)
    assert (restarted.attempt, restarted.resume_from) == (1, 150_000)
    assert isinstance(done, SegmentDownloaded)
    assert (done.attempts, done.resumed) == (1, True)
    assert harness.cdn.requests[-1].headers["Range"] == "bytes=150000-"


async def test_a_crash_loop_fails_after_max_crashes(harness: Harness) -> None:
    work = harness.work()
    await harness.record_queued(work)
    started = SegmentDownloadStarted(
        job_id=work.job_id, course_id=1, segment_id=7, attempt=1, url_expires_at=dt.datetime.now(dt.UTC), worker="x"
    )
    await harness.store.append(MEDIA, subject(work), "7", [segment_envelope(work.job_id, 1, 7, started, None)])
    await deliver(harness, work, deliveries=6)  # max_crashes = 5
    failed = (await harness.events(work))[-1]
    assert isinstance(failed, SegmentFailed)
    assert "interrupted 5 times" in failed.reason
    assert harness.cdn.requests == []


async def test_a_duplicate_message_for_an_ended_segment_is_dropped(harness: Harness) -> None:
    work = harness.work()
    await harness.record_queued(work)
    await deliver(harness, work)
    requests = len(harness.cdn.requests)
    for deliveries in (1, 3):
        assert await deliver(harness, work, deliveries=deliveries) is ACK
    assert kinds(await harness.events(work)) == ["Queued", "DownloadStarted", "Downloaded"]
    assert len(harness.cdn.requests) == requests


async def test_too_little_space_hands_the_message_back_and_pauses(harness: Harness) -> None:
    work = harness.work()
    await harness.record_queued(work)
    harness.disk.free.append(100_000)
    outcome = await deliver(harness, work)
    s = harness.deps.settings
    assert (outcome.settle, outcome.delay, outcome.pause) == (Settle.NAK, s.disk_recheck, s.disk_recheck)
    assert kinds(await harness.events(work)) == ["Queued"]  # nothing started, nothing written


async def test_a_path_outside_the_storage_root_fails_the_segment(harness: Harness) -> None:
    work = msgspec.structs.replace(harness.work(), target_path="../escape.mp4")
    await harness.record_queued(work)
    await deliver(harness, work)
    failed = (await harness.events(work))[-1]
    assert isinstance(failed, SegmentFailed)
    assert failed.reason.startswith("unsafe path")


async def test_a_cancelled_job_runs_nothing(harness: Harness) -> None:
    work = harness.work()
    await harness.record_queued(work)
    deps = dataclasses.replace(harness.deps, cancelled=lambda job_id: job_id == work.job_id)
    assert await download_segment(work, deps) is ACK
    assert kinds(await harness.events(work)) == ["Queued"]


async def test_no_digest_to_verify_against_downloads_again(harness: Harness) -> None:
    work = harness.work(sha=False)
    await harness.record_queued(work)
    target = harness.target(work)
    target.parent.mkdir(parents=True)
    target.write_bytes(harness.cdn.files[work.cdn_key])
    await deliver(harness, work)
    assert kinds(await harness.events(work)) == ["Queued", "DownloadStarted", "Downloaded"]
    assert len(harness.cdn.requests) == 1


async def test_a_second_job_skips_by_the_digest_the_first_recorded(harness: Harness) -> None:
    first = harness.work(sha=False)
    await harness.record_queued(first)
    await deliver(harness, first)
    second = msgspec.structs.replace(first, job_id="b" * 32)
    await harness.record_queued(second)
    await deliver(harness, second)
    [_, skipped] = await harness.events(second)
    assert isinstance(skipped, SegmentSkipped)
    assert skipped.reason is SkipReason.RECORDED_DIGEST


async def queued_work(h: Harness, work: SegmentWork) -> SegmentWork:
    """``work`` as queueing publishes it: with its queued event's stream sequence."""
    return msgspec.structs.replace(work, queued_sequence=await h.record_queued(work))


def count_loads(h: Harness, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    loads: list[str] = []
    load = h.store.load

    async def counted(stream, subject, **kw):  # type: ignore[no-untyped-def]
        loads.append(subject)
        return await load(stream, subject, **kw)

    monkeypatch.setattr(h.store, "load", counted)
    return loads


async def test_a_first_delivery_with_the_queued_sequence_downloads_without_reading_the_subject(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = await queued_work(harness, harness.work())
    loads = count_loads(harness, monkeypatch)
    assert await deliver(harness, work) is ACK
    assert loads == []
    assert kinds(await harness.events(work)) == ["Queued", "DownloadStarted", "Downloaded"]


async def test_a_stale_queued_sequence_conflicts_and_decides_on_the_history(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = await queued_work(harness, harness.work())
    await deliver(harness, work)  # the segment ended; this message is delivered again as a first delivery
    requests = len(harness.cdn.requests)
    loads = count_loads(harness, monkeypatch)
    assert await deliver(harness, work) is ACK
    assert loads == [subject(work)]  # the start conflicted: loaded once and decided nothing
    assert kinds(await harness.events(work)) == ["Queued", "DownloadStarted", "Downloaded"]
    assert len(harness.cdn.requests) == requests


async def test_without_the_catalogue_digest_the_subject_is_read_for_the_recorded_one(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = harness.work(sha=False)
    await deliver(harness, await queued_work(harness, first))
    second = await queued_work(harness, msgspec.structs.replace(first, job_id="b" * 32))
    loads = count_loads(harness, monkeypatch)
    requests = len(harness.cdn.requests)
    assert await deliver(harness, second) is ACK
    assert loads == [subject(second)]
    assert kinds(await harness.events(second)) == ["Queued", "Skipped"]
    assert len(harness.cdn.requests) == requests


@pytest.mark.parametrize("when", ["early", "due"])
async def test_a_retry_of_a_message_carrying_the_queued_sequence_is_triaged_on_the_history(
    harness: Harness, when: str
) -> None:
    work = await queued_work(harness, harness.work())
    harness.cdn.script[work.cdn_key] = ["503"]
    await deliver(harness, work)
    [(_, due, _)] = harness.queue.scheduled
    if when == "due":
        harness.clock.now = due.timestamp()
    assert await deliver(harness, work) is ACK  # the retry's message: a first delivery, with the stale sequence
    events = await harness.events(work)
    if when == "early":
        assert kinds(events)[-1] == "RetryScheduled"
        assert harness.queue.scheduled[-1] == (work, due, 1)  # waits again, not dropped
    else:
        assert kinds(events)[-2:] == ["DownloadStarted", "Downloaded"]
        assert isinstance(events[-1], SegmentDownloaded)
        assert events[-1].attempts == 2


async def test_an_attempt_another_worker_started_meanwhile_writes_nothing(harness: Harness) -> None:
    work = await queued_work(harness, harness.work())
    # Another worker starts the attempt after queueing: this message's assumed state is stale.
    state = dataclasses.replace(SegmentState.of(work), phase=Phase.QUEUED)
    expires = dt.datetime.fromtimestamp(harness.clock() + 60, dt.UTC)
    other = StartAttempt(attempt=1, after_starts=0, url_expires_at=expires, worker="other")
    [started] = segment_decider(state).decide(other, state)
    envelope = segment_envelope(work.job_id, work.course_id, work.segment_id, started, None)
    await harness.store.append(MEDIA, subject(work), str(work.segment_id), [envelope])
    assert await deliver(harness, work) is ACK
    assert kinds(await harness.events(work)) == ["Queued", "DownloadStarted"]  # the other worker's only
    # The request went out beside the start (the overlap), but nothing was written for it.
    assert len(harness.cdn.requests) <= 1
    assert not harness.target(work).exists()
    part = harness.target(work).with_name(harness.target(work).name + ".part")
    assert not part.exists() or part.stat().st_size == 0


async def test_two_first_deliveries_at_once_download_once(harness: Harness) -> None:
    work = await queued_work(harness, harness.work())
    outcomes = await asyncio.gather(deliver(harness, work), deliver(harness, work))
    assert all(o.settle is Settle.ACK or o.settle is Settle.NAK for o in outcomes)
    events = await harness.events(work)
    assert kinds(events).count("DownloadStarted") == 1
    assert kinds(events)[-1] == "Downloaded"
    assert harness.target(work).read_bytes() == harness.cdn.files[work.cdn_key]
