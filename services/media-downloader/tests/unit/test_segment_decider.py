"""The segment decider (domain/segment.py), driven directly: its fold, the triage of work messages
(domain/triage.py), every command's events, and the URL renewal rule (domain/urls.py) — no store, no I/O."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import pytest

from skillstream_contracts.events import Event, EventMetadata
from skillstream_contracts.jobs import ItemOutcome, JobReport
from skillstream_contracts.media import (
    SegmentDownloaded,
    SegmentDownloadStarted,
    SegmentFailed,
    SegmentQueued,
    SegmentRetryScheduled,
    SegmentSkipped,
    SkipReason,
)
from skillstream_media_downloader.domain.retry import RetryPolicy
from skillstream_media_downloader.domain.segment import (
    Fail,
    Phase,
    QueueSegment,
    RecordAttemptFailed,
    RecordDownloaded,
    RecordSkipped,
    SegmentCommand,
    SegmentState,
    StartAttempt,
    event_id,
    job_item,
    segment_decider,
)
from skillstream_media_downloader.domain.triage import Action, Step, skip_evidence, triage
from skillstream_media_downloader.domain.urls import Renewal, after_403, needs_new_url
from skillstream_runtime.eventstore import RecordedEvent

NOW = dt.datetime(2026, 11, 21, 12, 0, tzinfo=dt.UTC)
JOB, OTHER = "a" * 32, "b" * 32
PATH = "1-x/7-b_med.mp4"
SHA = "ab" * 32
POLICY = RetryPolicy(jitter=0.0)  # seed 001's schedule, no jitter: delays are exact
INITIAL = SegmentState(job_id=JOB, course_id=1, segment_id=7, target_path=PATH)
DECIDER = segment_decider(INITIAL, POLICY)


def rec(seq: int, event: Event) -> RecordedEvent:
    meta = EventMetadata(
        event_id=f"e{seq}",
        event_type=type(event).__name__,
        schema_version=1,
        aggregate_id="7",
        occurred_at=NOW,
        job=JobReport(job_id=event.job_id),
    )
    return RecordedEvent(stream="MEDIA", subject="media.segment.7", sequence=seq, metadata=meta, event=event)


def fold(history: Sequence[Event]) -> SegmentState:
    return DECIDER.fold(rec(i + 1, e) for i, e in enumerate(history))


def queued(job: str = JOB) -> SegmentQueued:
    return SegmentQueued(
        job_id=job, course_id=1, segment_id=7, channel_id=2, title="t", cdn_key="a/b_med.mp4", target_path=PATH
    )


def started(attempt: int, job: str = JOB) -> SegmentDownloadStarted:
    return SegmentDownloadStarted(
        job_id=job, course_id=1, segment_id=7, attempt=attempt, url_expires_at=NOW, worker="w"
    )


def retry(attempt: int, at: dt.datetime = NOW) -> SegmentRetryScheduled:
    return SegmentRetryScheduled(
        job_id=JOB, course_id=1, segment_id=7, attempt=attempt, reason="HTTP 503", retry_at=at, delay_seconds=30
    )


def downloaded(job: str = JOB, path: str = PATH) -> SegmentDownloaded:
    return SegmentDownloaded(job_id=job, course_id=1, segment_id=7, target_path=path, size=10, sha256=SHA, seconds=1.0)


def failure(attempt: int, *, permanent: bool = False, retry_after: float | None = None) -> RecordAttemptFailed:
    return RecordAttemptFailed(
        attempt=attempt, reason="HTTP 503", permanent=permanent, now=NOW, draw=0.5, http_status=503,
        retry_after=retry_after, partial_bytes=4,
    )  # fmt: skip


def start(attempt: int, after: int) -> StartAttempt:
    return StartAttempt(attempt=attempt, after_starts=after, url_expires_at=NOW, worker="w2", resume_from=3)


def decide(command: SegmentCommand, history: Sequence[Event]) -> Sequence[Event]:
    return DECIDER.decide(command, fold(history))


def choose(history: Sequence[Event], deliveries: int = 1, max_crashes: int = 3) -> tuple[SegmentState, Step]:
    state = fold(history)
    return state, triage(state, deliveries=deliveries, now=NOW, max_crashes=max_crashes)


# --- fold ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("history", "phase", "attempt", "starts"),
    [
        ([], Phase.NEW, 0, 0),
        ([queued()], Phase.QUEUED, 0, 0),
        ([queued(), started(1)], Phase.STARTED, 1, 1),
        ([queued(), started(1), retry(1)], Phase.RETRYING, 1, 1),
        ([queued(), started(1), retry(1), started(2)], Phase.STARTED, 2, 2),
        ([queued(), started(1), started(1)], Phase.STARTED, 1, 2),  # a crashed attempt started again
        ([queued(), started(1), downloaded()], Phase.DOWNLOADED, 1, 1),
        ([queued(), started(1), started(1), downloaded(), started(2)], Phase.DOWNLOADED, 1, 2),  # final
    ],
)
def test_fold_follows_the_phases_of_this_job(history: list[Event], phase: Phase, attempt: int, starts: int) -> None:
    state = fold(history)
    assert (state.phase, state.attempt, state.starts) == (phase, attempt, starts)


def test_terminal_of_another_job_does_not_end_this_one_but_its_digest_is_evidence() -> None:
    state = fold([queued(OTHER), started(1, OTHER), downloaded(OTHER), queued()])
    assert state.phase is Phase.QUEUED
    assert state.recorded == (10, SHA)
    assert fold([queued(OTHER), downloaded(OTHER, path="elsewhere.mp4"), queued()]).recorded is None


def test_skip_evidence_prefers_the_catalogue_then_the_recorded_digest() -> None:
    assert skip_evidence(10, SHA, (9, "cd" * 32)) == (10, SHA, SkipReason.VERIFIED_ON_DISK)
    assert skip_evidence(10, None, (9, "cd" * 32)) == (9, "cd" * 32, SkipReason.RECORDED_DIGEST)
    assert skip_evidence(10, None, None) is None  # a size alone proves nothing


# --- triage --------------------------------------------------------------------------------------------------


def test_first_delivery_after_queued_runs_attempt_one() -> None:
    state, step = choose([queued()])
    assert (step.action, step.attempt, step.restarted) == (Action.RUN, 1, False)
    assert not state.started


def test_a_second_message_for_a_segment_ended_in_this_job_is_dropped() -> None:
    for end in (downloaded(), SegmentFailed(job_id=JOB, course_id=1, segment_id=7, attempts=1, reason="x")):
        assert choose([queued(), started(1), end], deliveries=1)[1].action is Action.DROP
        assert choose([queued(), started(1), end], deliveries=4)[1].action is Action.DROP


def test_an_early_retry_waits_until_due_then_runs_the_next_attempt() -> None:
    later = NOW + dt.timedelta(seconds=30)
    _, step = choose([queued(), started(1), retry(1, later)])
    assert (step.action, step.due, step.attempt) == (Action.WAIT, later, 1)
    _, step = choose([queued(), started(1), retry(1, NOW + dt.timedelta(milliseconds=500))])
    assert (step.action, step.attempt) == (Action.RUN, 2)  # within @at's second


def test_started_on_first_delivery_is_another_workers_attempt() -> None:
    assert choose([queued(), started(1)], deliveries=1)[1].action is Action.DROP


@pytest.mark.parametrize(("deliveries", "action"), [(2, Action.RUN), (3, Action.RUN), (4, Action.FAIL)])
def test_a_crashed_attempt_runs_again_until_max_crashes(deliveries: int, action: Action) -> None:
    _, step = choose([queued(), started(1), retry(1), started(2)], deliveries=deliveries)
    assert step.action is action
    assert step.attempt == 2  # a crash spends no retry
    if action is Action.RUN:
        assert step.restarted
    else:
        assert "interrupted 3 times" in (step.reason or "")


# --- commands ------------------------------------------------------------------------------------------------


def test_queue_segment_queues_once_and_fails_unusable_data_at_once() -> None:
    command = QueueSegment(channel_id=2, title="t", cdn_key="a/b_med.mp4", expected_size=10, expected_sha256=SHA)
    [event] = decide(command, [])
    assert isinstance(event, SegmentQueued)
    assert (event.target_path, event.expected_size) == (PATH, 10)
    assert decide(command, [queued()]) == []
    bad = QueueSegment(channel_id=2, title="t", cdn_key="", invalid="unusable video path")
    q, f = decide(bad, [])
    assert isinstance(q, SegmentQueued)
    assert isinstance(f, SegmentFailed)
    assert (f.attempts, f.reason) == (0, "unusable video path")


def test_start_attempt_starts_the_triaged_attempt_only() -> None:
    [event] = decide(start(1, after=0), [queued()])
    assert isinstance(event, SegmentDownloadStarted)
    assert (event.attempt, event.worker, event.resume_from) == (1, "w2", 3)
    assert decide(start(2, after=1), [queued(), started(1), retry(1)])  # the next attempt after a retry
    assert decide(start(1, after=1), [queued(), started(1)])  # a crashed attempt, again
    assert decide(start(1, after=0), [queued(), started(1)]) == []  # another worker started it meanwhile
    assert decide(start(3, after=1), [queued(), started(1), retry(1)]) == []  # not the attempt that is due


def test_record_downloaded_ends_the_segment_once() -> None:
    done = RecordDownloaded(attempt=2, size=10, sha256=SHA, seconds=1.23456, resumed=True)
    [event] = decide(done, [queued(), started(1), retry(1), started(2)])
    assert isinstance(event, SegmentDownloaded)
    assert (event.attempts, event.seconds, event.resumed) == (2, 1.235, True)
    assert decide(done, [queued(), started(1), downloaded()]) == []


def test_record_skipped_is_a_skip_unless_this_job_wrote_the_file() -> None:
    found = RecordSkipped(attempt=1, size=10, sha256=SHA, reason=SkipReason.VERIFIED_ON_DISK)
    [skip] = decide(found, [queued()])
    assert isinstance(skip, SegmentSkipped)
    assert skip.reason is SkipReason.VERIFIED_ON_DISK
    [resumed] = decide(found, [queued(), started(1)])  # started, then the worker died after the rename
    assert isinstance(resumed, SegmentDownloaded)
    assert (resumed.resumed, resumed.seconds) == (True, 0.0)


def test_a_transient_failure_schedules_the_next_step_of_the_schedule() -> None:
    history: list[Event] = [queued(), started(1)]
    delays = []
    for attempt in range(1, 6):
        [event] = decide(failure(attempt), history)
        assert isinstance(event, SegmentRetryScheduled)
        assert (event.attempt, event.http_status, event.partial_bytes) == (attempt, 503, 4)
        assert event.retry_at == NOW + dt.timedelta(seconds=event.delay_seconds)
        delays.append(event.delay_seconds)
        history += [event, started(attempt + 1)]
    assert delays == [30, 60, 120, 300, 600]
    [last] = decide(failure(6), history)  # the sixth failure: the schedule is spent
    assert isinstance(last, SegmentFailed)
    assert (last.attempts, last.reason) == (6, "HTTP 503 (gave up after 6 attempts)")


def test_retry_after_wins_when_longer_and_a_permanent_error_fails_at_once() -> None:
    [event] = decide(failure(1, retry_after=45.0), [queued(), started(1)])
    assert isinstance(event, SegmentRetryScheduled)
    assert (event.delay_seconds, event.retry_after_seconds) == (45.0, 45.0)
    [event] = decide(failure(1, permanent=True), [queued(), started(1)])
    assert isinstance(event, SegmentFailed)
    assert event.reason == "HTTP 503"


def test_a_failure_of_an_attempt_already_settled_decides_nothing() -> None:
    assert decide(failure(1), [queued(), started(1), retry(1)]) == []
    assert decide(failure(1), [queued(), started(1), downloaded()]) == []


def test_fail_ends_the_segment_unless_it_ended() -> None:
    [event] = decide(Fail(attempt=2, reason="interrupted"), [queued(), started(1), retry(1), started(2)])
    assert isinstance(event, SegmentFailed)
    assert (event.attempts, event.reason) == (2, "interrupted")
    assert decide(Fail(attempt=2, reason="x"), [queued(), downloaded()]) == []


def test_job_items_and_once_only_event_ids() -> None:
    assert job_item(started(1)) == (ItemOutcome.PROCESSING, None, None)
    assert job_item(downloaded()) == (ItemOutcome.SUCCEEDED, 10, None)
    assert job_item(retry(1)) == (ItemOutcome.RETRYING, None, None)  # waiting for its next attempt, not running
    assert event_id(JOB, 7, started(1)) is None  # each start is its own fact
    assert event_id(JOB, 7, retry(1)) != event_id(JOB, 7, retry(2))
    end = event_id(JOB, 7, downloaded())
    assert end == event_id(JOB, 7, SegmentFailed(job_id=JOB, course_id=1, segment_id=7, attempts=1, reason="x"))
    assert end != event_id(OTHER, 7, downloaded())


# --- URL renewal: inside one attempt, never a retry ----------------------------------------------------------


def test_a_403_on_an_expired_url_re_signs_at_once_and_on_a_fresh_url_once() -> None:
    assert after_403(stale=True, skew_resign_used=False, resigns=0, max_resigns=3) is Renewal.STALE
    assert after_403(stale=True, skew_resign_used=True, resigns=2, max_resigns=3) is Renewal.STALE
    assert after_403(stale=False, skew_resign_used=False, resigns=0, max_resigns=3) is Renewal.SKEW
    assert after_403(stale=False, skew_resign_used=True, resigns=1, max_resigns=3) is Renewal.REFUSED
    assert after_403(stale=True, skew_resign_used=False, resigns=3, max_resigns=3) is Renewal.EXHAUSTED
    assert [r.resign for r in Renewal] == [True, True, False, False]
    assert needs_new_url(1000.0, 940.0, 60.0)
    assert not needs_new_url(1000.0, 939.0, 60.0)


def test_re_signing_appends_nothing_so_no_retry_is_spent() -> None:
    # A download re-signs inside its attempt: the next recorded step is still that attempt's outcome.
    history: list[Event] = [queued(), started(1)]
    [event] = decide(RecordDownloaded(attempt=1, size=10, sha256=SHA, seconds=1.0), history)
    assert isinstance(event, SegmentDownloaded)
    assert event.attempts == 1
