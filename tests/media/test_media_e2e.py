"""Media downloader end to end: the media sandbox (catalogue API + signed-URL CDN), the orchestrator, one or
three media-downloader replicas and the gateway as real processes on a real nats-server and PostgreSQL.

What is checked is what a bulk download promises: exactness under faults (every segment in exactly one terminal
state, every file's SHA-256 right, no ``.part`` left, counters equal to the files on disk), SIGKILL × 3, the
fleet-wide cap with three replicas, signed URLs that never expire in the queue, and the REFERENCE-OPERATIONS
§2.6 defects made impossible (all five retries used, failures counted once, skip = a verified file).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import httpx
import pytest

from skillstream_contracts.media import (
    SegmentDownloaded,
    SegmentDownloadStarted,
    SegmentFailed,
    SegmentQueued,
    SegmentRetryScheduled,
    SegmentSkipped,
    SkipReason,
)
from skillstream_contracts.media_queries import KIND_BULK_DOWNLOAD
from skillstream_runtime.eventstore import RecordedEvent
from skillstream_testing.jobstack import job_ended, poll_job
from skillstream_testing.mediastack import MediaStack, cdn_key, media_stack

pytestmark = pytest.mark.slow

_TERMINAL = (SegmentDownloaded, SegmentSkipped, SegmentFailed)


async def _start(client: httpx.AsyncClient, **parameters: Any) -> str:
    r = await client.post("/api/jobs", json={"kind": KIND_BULK_DOWNLOAD, "parameters": parameters})
    assert r.status_code in (200, 201), r.text
    return str(r.json()["job"]["job_id"])


async def _run(stack: MediaStack, within: float = 240, **parameters: Any) -> dict[str, Any]:
    async with stack.client() as client:
        job_id = await _start(client, **parameters)
        return await poll_job(client, job_id, job_ended, within)


async def _catalogue(stack: MediaStack) -> dict[int, dict[str, Any]]:
    """segment id → the catalogue's downloadable segment (with its course id), from the sandbox's catalogue API."""
    return {
        s["id"]: {**s, "course_id": course["id"]}
        for course in await stack.courses()
        for channel in course["channels"]
        for s in channel["segments"]
        if s["video"].startswith("mp4:")
    }


def _of_job(events: list[RecordedEvent], job_id: str) -> dict[int, list[RecordedEvent]]:
    by_segment: dict[int, list[RecordedEvent]] = defaultdict(list)
    for r in events:
        if r.metadata.job_id == job_id:
            by_segment[r.event.segment_id].append(r)  # type: ignore[attr-defined]
    return by_segment


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def assert_exact(stack: MediaStack, detail: dict[str, Any], by_segment: dict[int, list[RecordedEvent]]) -> Counter[str]:
    """Every queued segment has exactly one terminal event; files on disk are exactly the succeeded and skipped
    segments' files, with the recorded SHA-256; no partial file is left; the job's counters match."""
    outcomes: Counter[str] = Counter()
    expected_files: dict[Path, str] = {}
    for segment_id, events in by_segment.items():
        assert sum(isinstance(r.event, SegmentQueued) for r in events) == 1, segment_id
        terminal = [r.event for r in events if isinstance(r.event, _TERMINAL)]
        assert len(terminal) == 1, (segment_id, [type(r.event).__name__ for r in events])
        end = terminal[0]
        outcomes[type(end).__name__] += 1
        if isinstance(end, SegmentDownloaded | SegmentSkipped):
            path = (stack.storage_root / end.target_path).resolve()
            assert path.is_relative_to(stack.storage_root.resolve())
            expected_files[path] = end.sha256
    on_disk = {p.resolve() for p in stack.files()}
    assert not [p for p in on_disk if ".part" in p.name], "partial files left behind"
    assert on_disk == set(expected_files), on_disk ^ set(expected_files)
    for path, sha in expected_files.items():
        assert _sha256(path) == sha, path
    progress = detail["progress"]
    assert progress["total"] == len(by_segment)
    assert progress["succeeded"] == outcomes["SegmentDownloaded"]
    assert progress["skipped"] == outcomes["SegmentSkipped"]
    assert progress["failed"] == outcomes["SegmentFailed"]
    assert progress["queued"] == progress["processing"] == 0
    return outcomes


async def test_faults_end_with_every_segment_exact(nats_url: str, database_url: str, tmp_path: Path) -> None:
    async with media_stack(nats_url, database_url, tmp_path) as stack:
        await stack.set_catalogue(courses=40, segments=2280, min_bytes=4096, max_bytes=65536, seed=11, hostile=True)
        catalogue = await _catalogue(stack)
        assert len(catalogue) >= 2000  # downloadable segments (some segments have no video)
        rates = {
            "403": 0.04,
            "429": 0.04,
            "503": 0.05,
            "500": 0.02,
            "reset": 0.03,
            "truncate": 0.04,
            "wrong_bytes": 0.03,
        }
        await stack.set_faults(seed=5, rates=rates, retry_after_seconds=1)
        detail = await _run(stack, within=280)
        assert detail["job"]["status"] == "completed", detail["job"]
        job_id = detail["job"]["job_id"]
        by_segment = _of_job(await stack.segment_events(), job_id)
        assert set(by_segment) == set(catalogue)
        outcomes = assert_exact(stack, detail, by_segment)
        reasons = Counter(r.event.reason for e in by_segment.values() for r in e if isinstance(r.event, SegmentFailed))
        # six attempts each: a failure needs six faults in a row
        assert outcomes["SegmentDownloaded"] >= len(catalogue) - 10, (outcomes, reasons.most_common(5))
        for events in by_segment.values():
            for r in events:
                if isinstance(r.event, SegmentDownloaded):
                    info = catalogue[r.event.segment_id]["files"]["med"]
                    assert (r.event.size, r.event.sha256) == (info["size"], info["sha256"])
        stats = await stack.sandbox_stats()
        for fault in ("403", "429", "503", "reset", "truncate", "wrong_bytes"):
            assert stats["faults"].get(fault, 0) > 0, (fault, stats["faults"])
        retries = [r.event for e in by_segment.values() for r in e if isinstance(r.event, SegmentRetryScheduled)]
        assert all(r.delay_seconds >= 1 for r in retries if r.http_status == 429)  # Retry-After honoured
        # the per-course status of the media read model agrees with the events
        async with stack.client() as client:
            status = await _status(client, job_id)
        assert status["counts"]["succeeded"] == outcomes["SegmentDownloaded"]
        assert status["counts"]["failed"] == outcomes["SegmentFailed"]
        assert status["bulk_stats"]["courses_completed"] == status["courses_total"] == 40


async def _status(client: httpx.AsyncClient, job_id: str) -> dict[str, Any]:
    """The media read model's status of one bulk download, once it has caught up with the job's end."""
    for _ in range(100):
        r = await client.get("/truefire-courses/bulk-download-status", params={"job_id": job_id})
        if r.status_code == 200 and r.json()["status"] != "running":
            return dict(r.json())
        await asyncio.sleep(0.2)
    raise AssertionError(f"bulk-download-status did not end: {r.status_code} {r.text[:500]}")


async def test_sigkill_three_times_gives_the_uninterrupted_result(
    nats_url: str, database_url: str, tmp_path: Path
) -> None:
    async with media_stack(nats_url, database_url, tmp_path) as stack:
        await stack.set_catalogue(courses=12, segments=400, min_bytes=65536, max_bytes=262144, seed=3, hostile=False)
        catalogue = await _catalogue(stack)
        await stack.set_faults(latency_ms=20, bandwidth_bytes_per_second=400_000)
        async with stack.client() as client:
            job_id = await _start(client)
            downloader = stack.downloaders[0]
            for kill in range(3):
                await poll_job(client, job_id, lambda d, k=kill: d["progress"]["succeeded"] >= 60 * (k + 1), 120)
                await asyncio.to_thread(downloader.kill)
                await asyncio.to_thread(downloader.start)
            detail = await poll_job(client, job_id, job_ended, 240)
        assert detail["job"]["status"] == "completed"
        by_segment = _of_job(await stack.segment_events(), job_id)
        outcomes = assert_exact(stack, detail, by_segment)
        assert outcomes == Counter({"SegmentDownloaded": len(catalogue)})  # the uninterrupted run's state
        for segment_id, events in by_segment.items():
            done = next(r.event for r in events if isinstance(r.event, SegmentDownloaded))
            info = catalogue[segment_id]["files"]["med"]
            assert (done.size, done.sha256) == (info["size"], info["sha256"])
        # The CDN counts a whole body as completed once its last byte is written to the socket, even when the
        # client was killed before reading it: only a body in flight at a kill may be counted twice.
        completed = (await stack.sandbox_stats())["completed"]
        assert set(completed) == {cdn_key(s) for s in catalogue.values()}
        assert max(completed.values()) <= 2
        assert sum(completed.values()) - len(completed) <= 3 * 10, "segments downloaded twice to completion"
        restarted = sum(1 for e in by_segment.values() for r in e if isinstance(r.event, SegmentDownloadStarted)) - len(
            by_segment
        )
        assert restarted >= 1  # the kills did interrupt downloads, which were resumed


async def test_three_replicas_stay_under_the_fleet_cap(nats_url: str, database_url: str, tmp_path: Path) -> None:
    async with media_stack(nats_url, database_url, tmp_path, replicas=3) as stack:
        await stack.set_catalogue(courses=6, segments=300, min_bytes=2048, max_bytes=8192, seed=4, hostile=False)
        await stack.set_faults(latency_ms=60)
        await stack.reset_stats()
        detail = await _run(stack)
        assert detail["job"]["status"] == "completed"
        stats = await stack.sandbox_stats()
        assert stats["peak_in_flight"] <= 10, stats
        assert stats["peak_in_flight"] >= 8, stats  # the replicas did work in parallel up to the cap
        by_segment = _of_job(await stack.segment_events(), detail["job"]["job_id"])
        workers = {
            r.event.worker for e in by_segment.values() for r in e if isinstance(r.event, SegmentDownloadStarted)
        }
        assert len(workers) == 3, workers
        assert_exact(stack, detail, by_segment)


async def test_urls_are_signed_when_a_download_starts(nats_url: str, database_url: str, tmp_path: Path) -> None:
    # Two-second URLs and a queue that takes far longer than that to drain: a URL made at queue time would
    # be expired for most segments (seed 001's V2 defect); none may fail.
    env = {"MEDIA_URL_LIFETIME": "2", "MEDIA_URL_MIN_REMAINING": "0.5", "MEDIA_CONCURRENCY": "2"}
    async with media_stack(nats_url, database_url, tmp_path, media_env=env) as stack:
        await stack.set_catalogue(courses=1, segments=40, min_bytes=65536, max_bytes=65536, seed=9, hostile=False)
        catalogue = await _catalogue(stack)
        keys = {sid: cdn_key(s) for sid, s in catalogue.items()}
        first, second = sorted(keys)[:2]
        # a 403 mid-run: the first attempt is cut off mid-body, the second is denied once, then resumes
        script = {keys[first]: ["reset", "403", "ok"], keys[second]: ["403", "ok"]}
        await stack.set_faults(latency_ms=150, script=script)
        detail = await _run(stack)
        assert detail["job"]["status"] == "completed"
        assert detail["progress"]["succeeded"] == len(catalogue)
        assert detail["progress"]["failed"] == 0
        by_segment = _of_job(await stack.segment_events(), detail["job"]["job_id"])
        assert_exact(stack, detail, by_segment)
        stats = await stack.sandbox_stats()
        assert stats["denied"].get("expired", 0) == 0
        resumed = next(r.event for r in by_segment[first] if isinstance(r.event, SegmentDownloaded))
        assert resumed.resumed
        assert resumed.attempts == 2
        assert stats["by_status"].get("206", 0) >= 1
        for log in (stack.downloaders[0].log_path, stack.orchestrator.log_path, stack.gateway.log_path):
            assert "Signature=" not in log.read_text(errors="replace")  # signed URLs are credentials
        plain = next(r.event for r in by_segment[second] if isinstance(r.event, SegmentDownloaded))
        assert plain.attempts == 1  # the re-sign after a 403 spent no retry
        started = [r.event for e in by_segment.values() for r in e if isinstance(r.event, SegmentDownloadStarted)]
        queued_at = min(
            r.metadata.occurred_at for e in by_segment.values() for r in e if isinstance(r.event, SegmentQueued)
        )
        assert max(s.url_expires_at for s in started).timestamp() - queued_at.timestamp() > 4  # signed late


async def test_retries_follow_the_schedule_then_fail_once_and_retry_failed_completes(
    nats_url: str, database_url: str, tmp_path: Path
) -> None:
    env = {"MEDIA_RETRY_DELAYS": "1,1,2,2,3", "MEDIA_RETRY_JITTER": "0.1"}
    async with media_stack(nats_url, database_url, tmp_path, media_env=env) as stack:
        await stack.set_catalogue(courses=1, segments=12, min_bytes=4096, max_bytes=8192, seed=21, hostile=False)
        catalogue = await _catalogue(stack)
        keys = {sid: cdn_key(s) for sid, s in catalogue.items()}
        always, missing, slow = sorted(keys)[:3]
        script = {keys[always]: ["500"] * 6, keys[missing]: ["404"], keys[slow]: ["429", "ok"]}
        await stack.set_faults(script=script, retry_after_seconds=4)
        detail = await _run(stack)
        assert detail["job"]["status"] == "completed"
        job_id = detail["job"]["job_id"]
        by_segment = _of_job(await stack.segment_events(), job_id)
        assert_exact(stack, detail, by_segment)
        retries = [r.event for r in by_segment[always] if isinstance(r.event, SegmentRetryScheduled)]
        assert [r.attempt for r in retries] == [1, 2, 3, 4, 5]  # all five delays used (not 2 of them, §2.6)
        for r, step in zip(retries, (1, 1, 2, 2, 3), strict=True):
            assert step * 0.9 <= r.delay_seconds <= step * 1.1
            assert r.http_status == 500
        failed = [r.event for r in by_segment[always] if isinstance(r.event, SegmentFailed)]
        assert len(failed) == 1
        assert failed[0].attempts == 6
        assert failed[0].http_status == 500
        gone = [r.event for r in by_segment[missing] if isinstance(r.event, SegmentFailed)]
        assert len(gone) == 1
        assert gone[0].attempts == 1
        assert gone[0].http_status == 404
        waited = next(r.event for r in by_segment[slow] if isinstance(r.event, SegmentRetryScheduled))
        assert waited.retry_after_seconds == 4
        assert waited.delay_seconds >= 4
        assert detail["progress"]["failed"] == 2  # counted once each (§2.6: not attempts + 1)

        async with stack.client() as client:
            r = await client.post(f"/api/jobs/{job_id}/retry-failed")
            assert r.status_code in (200, 201), r.text
            retry_id = r.json()["job"]["job_id"]
            retried = await poll_job(client, retry_id, job_ended, 120)
        assert retried["progress"]["total"] == 2
        again = _of_job(await stack.segment_events(), retry_id)
        assert set(again) == {always, missing}
        ends = {
            sid: type(next(r.event for r in e if isinstance(r.event, _TERMINAL))).__name__ for sid, e in again.items()
        }
        assert ends == {always: "SegmentDownloaded", missing: "SegmentDownloaded"}


async def test_skip_existing_means_a_verified_file(nats_url: str, database_url: str, tmp_path: Path) -> None:
    async with media_stack(nats_url, database_url, tmp_path) as stack:
        await stack.set_catalogue(courses=2, segments=30, min_bytes=4096, max_bytes=16384, seed=2, hostile=False)
        first = await _run(stack, test_mode=True)
        assert first["job"]["status"] == "completed"
        assert first["progress"]["succeeded"] == first["progress"]["total"]
        files = stack.files()
        corrupt, short, gone = files[0], files[1], files[2]
        data = bytearray(corrupt.read_bytes())
        data[len(data) // 2] ^= 0xFF  # same size, wrong bytes: "size > 1 KB" would call it done
        corrupt.write_bytes(bytes(data))
        short.write_bytes(short.read_bytes()[:2048])
        gone.unlink()
        second = await _run(stack, test_mode=True)
        by_segment = _of_job(await stack.segment_events(), second["job"]["job_id"])
        outcomes = assert_exact(stack, second, by_segment)
        assert outcomes == Counter({"SegmentSkipped": len(files) - 3, "SegmentDownloaded": 3})
        skipped = [r.event for e in by_segment.values() for r in e if isinstance(r.event, SegmentSkipped)]
        assert {s.reason for s in skipped} == {SkipReason.VERIFIED_ON_DISK}


async def test_not_enough_disk_space_refuses_to_start(nats_url: str, database_url: str, tmp_path: Path) -> None:
    async with media_stack(
        nats_url, database_url, tmp_path, media_env={"MEDIA_DISK_MARGIN_BYTES": str(10**18)}
    ) as stack:
        await stack.set_catalogue(courses=1, segments=5, min_bytes=4096, max_bytes=4096, seed=1, hostile=False)
        detail = await _run(stack)
        assert detail["job"]["status"] == "failed"
        assert "not enough disk space" in (detail["job"]["reason"] or "")
        assert stack.files() == []
        assert (await stack.sandbox_stats())["requests"] == 0
