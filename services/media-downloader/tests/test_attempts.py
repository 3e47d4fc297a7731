"""The decision a worker takes for a work message, from the segment's own history (attempts.py)."""

from __future__ import annotations

import datetime as dt

import pytest

from skillstream_contracts.events import EventMetadata
from skillstream_contracts.jobs import JobReport
from skillstream_contracts.media import (
    SegmentDownloaded,
    SegmentDownloadStarted,
    SegmentQueued,
    SegmentRetryScheduled,
)
from skillstream_media_downloader.domain.segment import Action, decide, segment_state
from skillstream_runtime.eventstore import RecordedEvent

NOW = dt.datetime(2026, 11, 21, 12, 0, tzinfo=dt.UTC)
JOB, OTHER = "a" * 32, "b" * 32


def rec(seq: int, event: object) -> RecordedEvent:
    meta = EventMetadata(
        event_id=f"e{seq}",
        event_type=type(event).__name__,
        schema_version=1,
        aggregate_id="7",
        occurred_at=NOW,
        job=JobReport(job_id=event.job_id),  # type: ignore[attr-defined]
    )
    return RecordedEvent(stream="MEDIA", subject="media.segment.7", sequence=seq, metadata=meta, event=event)  # type: ignore[arg-type]


def queued(job: str = JOB) -> SegmentQueued:
    return SegmentQueued(
        job_id=job,
        course_id=1,
        segment_id=7,
        channel_id=2,
        title="t",
        cdn_key="a/b_med.mp4",
        target_path="1-x/7-b_med.mp4",
    )


def started(attempt: int, job: str = JOB) -> SegmentDownloadStarted:
    return SegmentDownloadStarted(
        job_id=job, course_id=1, segment_id=7, attempt=attempt, url_expires_at=NOW, worker="w"
    )


def retry(attempt: int, at: dt.datetime) -> SegmentRetryScheduled:
    return SegmentRetryScheduled(
        job_id=JOB, course_id=1, segment_id=7, attempt=attempt, reason="HTTP 503", retry_at=at, delay_seconds=30
    )


def downloaded(job: str = JOB, path: str = "1-x/7-b_med.mp4") -> SegmentDownloaded:
    return SegmentDownloaded(
        job_id=job, course_id=1, segment_id=7, target_path=path, size=10, sha256="ab" * 32, seconds=1.0
    )


def choose(history: list[object], deliveries: int = 1):  # type: ignore[no-untyped-def]
    state = segment_state([rec(i + 1, e) for i, e in enumerate(history)], JOB, "1-x/7-b_med.mp4")
    return state, decide(state, deliveries=deliveries, now=NOW, max_crashes=3)


def test_first_delivery_after_queued_runs_attempt_one() -> None:
    state, d = choose([queued()])
    assert (d.action, d.attempt, d.restarted) == (Action.RUN, 1, False)
    assert state.last_sequence == 1
    assert not state.started


def test_terminal_in_this_job_drops_but_terminal_of_another_job_does_not() -> None:
    assert choose([queued(), started(1), downloaded()])[1].action is Action.DROP
    state, d = choose([queued(OTHER), started(1, OTHER), downloaded(OTHER), queued()])
    assert d.action is Action.RUN
    assert d.attempt == 1
    assert state.recorded == (10, "ab" * 32)  # the other job's digest is evidence for skip-existing
    assert state.last_sequence == 4


def test_recorded_digest_only_for_the_same_target_path() -> None:
    state, _ = choose([queued(OTHER), downloaded(OTHER, path="elsewhere.mp4"), queued()])
    assert state.recorded is None


def test_retry_scheduled_waits_until_due_then_runs_the_next_attempt() -> None:
    later = NOW + dt.timedelta(seconds=30)
    _, d = choose([queued(), started(1), retry(1, later)])
    assert (d.action, d.due, d.attempt) == (Action.WAIT, later, 1)
    _, d = choose([queued(), started(1), retry(1, NOW + dt.timedelta(milliseconds=500))])
    assert (d.action, d.attempt) == (Action.RUN, 2)  # within the scheduler's one-second precision


def test_started_on_first_delivery_is_a_duplicate() -> None:
    _, d = choose([queued(), started(1)], deliveries=1)
    assert d.action is Action.DROP


@pytest.mark.parametrize(("deliveries", "action"), [(2, Action.RUN), (3, Action.RUN), (4, Action.FAIL)])
def test_redelivered_after_a_crash_reruns_the_same_attempt_until_max_crashes(deliveries: int, action: Action) -> None:
    _, d = choose([queued(), started(1), retry(1, NOW), started(2)], deliveries=deliveries)
    assert d.action is action
    assert d.attempt == 2
    if action is Action.RUN:
        assert d.restarted
    else:
        assert d.reason is not None
        assert "interrupted 3 times" in d.reason
