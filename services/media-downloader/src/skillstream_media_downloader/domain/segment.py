"""The segment aggregate: one segment's download in one bulk download, as a decider. Pure: no I/O, no asyncio.

The subject ``media.segment.<segment_id>`` of the ``MEDIA`` stream holds the events of every job that queued the
segment; :func:`segment_decider` folds them for one job, plus one fact from any job: the size and SHA-256 last
recorded for the same target path (skip-existing's "recorded digest")::

    new ─SegmentQueued→ queued ─SegmentDownloadStarted→ started ─SegmentRetryScheduled→ retrying ─Started→ started …
                                                           └─ exactly one terminal: downloaded | skipped | failed

A terminal phase is final: every command on it decides nothing, so a segment ends once per job whatever the
races (sources: seed 001's states; REFERENCE-OPERATIONS §2.6, whose original counted a failure twice).

What a work message asks for before any command is :func:`~skillstream_media_downloader.domain.triage.triage`'s.

**Commands** (:func:`decide`; the handler does the I/O between them):

=====================  ===========================================================================
QueueSegment           ``SegmentQueued`` (+ ``SegmentFailed`` at once for unusable catalogue data)
StartAttempt           ``SegmentDownloadStarted``, unless another start came since the triage
RecordDownloaded       ``SegmentDownloaded``
RecordSkipped          ``SegmentSkipped``; ``SegmentDownloaded`` (resumed) when this job started it
RecordAttemptFailed    ``SegmentRetryScheduled`` (the policy's next delay, at least ``Retry-After``),
                       or ``SegmentFailed`` for a permanent error or after the last retry
Fail                   ``SegmentFailed`` (crash loop, unsafe path, a key that cannot sign)
=====================  ===========================================================================
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from skillstream_contracts.events import Event
from skillstream_contracts.jobs import ItemOutcome
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
from skillstream_media_downloader.domain.work import SegmentWork
from skillstream_runtime.decider import Decider
from skillstream_runtime.eventstore import RecordedEvent

DEFAULT_POLICY = RetryPolicy()
_EVENT_IDS = uuid.UUID("0b6f3f52-8f0e-4c53-9d53-5c3a8e0f7d21")


class Phase(enum.StrEnum):
    """Where a segment is in one job."""

    NEW = "new"  # no event of this job yet
    QUEUED = "queued"
    STARTED = "started"
    RETRYING = "retrying"
    DOWNLOADED = "downloaded"
    SKIPPED = "skipped"
    FAILED = "failed"

    @property
    def terminal(self) -> bool:
        return self in (Phase.DOWNLOADED, Phase.SKIPPED, Phase.FAILED)


@dataclass(frozen=True, kw_only=True)
class SegmentState:
    """One segment as one job sees it: who (``job_id``, ``course_id``, ``segment_id``, ``target_path``
    relative to the storage root), its ``phase``, ``attempt`` (highest attempt started or retried, 0 = none),
    ``starts`` (``SegmentDownloadStarted`` events of this job), ``retry_at`` (when ``retrying``) and
    ``recorded``: ``(size, sha256)`` of the latest ``SegmentDownloaded`` of any job to the same target path."""

    job_id: str
    course_id: int
    segment_id: int
    target_path: str
    phase: Phase = Phase.NEW
    attempt: int = 0
    starts: int = 0
    retry_at: dt.datetime | None = None
    recorded: tuple[int, str] | None = None

    @classmethod
    def of(cls, work: SegmentWork) -> SegmentState:
        """The state before any event, for the segment ``work`` names."""
        return cls(
            job_id=work.job_id, course_id=work.course_id, segment_id=work.segment_id, target_path=work.target_path
        )

    @property
    def started(self) -> bool:
        """An attempt of this job has started: a verified file on disk is then this job's download."""
        return self.starts > 0


# --- commands ------------------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class QueueSegment:
    """Make the segment an item of the job. ``invalid``: why the catalogue data cannot be downloaded (the
    segment then fails at once, so the rest of the job goes on); sizes in bytes, SHA-256 lowercase hex."""

    channel_id: int
    title: str
    cdn_key: str
    expected_size: int | None = None
    expected_sha256: str | None = None
    invalid: str | None = None


@dataclass(frozen=True, kw_only=True)
class StartAttempt:
    """Start attempt ``attempt`` with a URL valid until ``url_expires_at``. ``after_starts`` is the state's
    ``starts`` the triage saw: a start since then means another worker took the attempt (nothing is decided).
    ``resume_from``: bytes of the ``.part`` file resumed (0 = from scratch)."""

    attempt: int
    after_starts: int
    url_expires_at: dt.datetime
    worker: str
    resume_from: int = 0


@dataclass(frozen=True, kw_only=True)
class RecordDownloaded:
    """Attempt ``attempt`` wrote, verified and renamed the file: ``size`` bytes, ``sha256``, in ``seconds``."""

    attempt: int
    size: int
    sha256: str
    seconds: float
    resumed: bool = False


@dataclass(frozen=True, kw_only=True)
class RecordSkipped:
    """The target file was found complete, proved by ``reason`` (``size`` bytes with ``sha256``)."""

    attempt: int
    size: int
    sha256: str
    reason: SkipReason


@dataclass(frozen=True, kw_only=True)
class RecordAttemptFailed:
    """Attempt ``attempt`` failed at ``now``. ``permanent``: waiting cannot fix it (404, a bad key…);
    ``draw``: a uniform random number in [0, 1) for the delay's jitter; ``retry_after``: the server's
    ``Retry-After`` in seconds; ``partial_bytes``: the ``.part`` kept for resuming."""

    attempt: int
    reason: str
    permanent: bool
    now: dt.datetime
    draw: float
    http_status: int | None = None
    retry_after: float | None = None
    partial_bytes: int = 0


@dataclass(frozen=True, kw_only=True)
class Fail:
    """End the segment as failed during attempt ``attempt`` (0: before any attempt) for ``reason``."""

    attempt: int
    reason: str
    http_status: int | None = None


SegmentCommand = QueueSegment | StartAttempt | RecordDownloaded | RecordSkipped | RecordAttemptFailed | Fail


# --- evolve / decide -----------------------------------------------------------------------------------------


def evolve(state: SegmentState, recorded: RecordedEvent) -> SegmentState:
    """Fold one event of the segment's subject (events of other jobs only feed ``recorded``)."""
    e = recorded.event
    if isinstance(e, SegmentDownloaded) and e.target_path == state.target_path:
        state = dataclasses.replace(state, recorded=(e.size, e.sha256))
    if getattr(e, "job_id", None) != state.job_id or state.phase.terminal:
        return state
    match e:
        case SegmentQueued():
            return dataclasses.replace(state, phase=Phase.QUEUED)
        case SegmentDownloadStarted(attempt=attempt):
            return dataclasses.replace(
                state, phase=Phase.STARTED, attempt=max(state.attempt, attempt), starts=state.starts + 1
            )
        case SegmentRetryScheduled(attempt=attempt, retry_at=at):
            return dataclasses.replace(state, phase=Phase.RETRYING, attempt=max(state.attempt, attempt), retry_at=at)
        case SegmentDownloaded():
            return dataclasses.replace(state, phase=Phase.DOWNLOADED)
        case SegmentSkipped():
            return dataclasses.replace(state, phase=Phase.SKIPPED)
        case SegmentFailed():
            return dataclasses.replace(state, phase=Phase.FAILED)
    return state


def decide(command: SegmentCommand, state: SegmentState, policy: RetryPolicy) -> Sequence[Event]:
    """The events ``command`` causes on ``state`` (none: nothing to do, e.g. the segment already ended)."""
    if state.phase.terminal:
        return []
    match command:
        case QueueSegment():
            return _queue(command, state)
        case StartAttempt():
            return _start(command, state)
        case RecordDownloaded():
            return [_downloaded(state, command.attempt, command.size, command.sha256, command.seconds, command.resumed)]
        case RecordSkipped():
            if state.started:  # this job wrote the file, then crashed before recording it
                return [_downloaded(state, command.attempt, command.size, command.sha256, 0.0, resumed=True)]
            return [_skipped(state, command)]
        case RecordAttemptFailed():
            return _after_failure(command, state, policy)
        case Fail():
            return [_failed(state, command.attempt, command.reason, command.http_status)]
    raise TypeError(f"not a segment command: {command!r}")


def segment_decider(state: SegmentState, policy: RetryPolicy = DEFAULT_POLICY) -> Decider[SegmentCommand, SegmentState]:
    """The decider of one segment in one job, from its initial ``state`` (:meth:`SegmentState.of`) and the
    retry ``policy`` that spaces its attempts (the worker passes ``MEDIA_RETRY_*``; the default, seed 001's
    schedule, serves where no attempt fails: folding, queueing)."""

    def decide_with_policy(command: SegmentCommand, s: SegmentState) -> Sequence[Event]:
        return decide(command, s, policy)

    return Decider(initial_state=state, evolve=evolve, decide=decide_with_policy)


def _queue(c: QueueSegment, s: SegmentState) -> list[Event]:
    if s.phase is not Phase.NEW:
        return []
    queued = SegmentQueued(
        job_id=s.job_id,
        course_id=s.course_id,
        segment_id=s.segment_id,
        channel_id=c.channel_id,
        title=c.title,
        cdn_key=c.cdn_key,
        target_path=s.target_path,
        expected_size=c.expected_size,
        expected_sha256=c.expected_sha256,
    )
    return [queued] if c.invalid is None else [queued, _failed(s, 0, c.invalid)]


def _start(c: StartAttempt, s: SegmentState) -> list[Event]:
    expected = s.attempt if s.phase is Phase.STARTED else max(1, s.attempt + 1)
    if s.starts != c.after_starts or c.attempt != expected:
        return []  # another worker started (or settled) this attempt since the triage
    started = SegmentDownloadStarted(
        job_id=s.job_id,
        course_id=s.course_id,
        segment_id=s.segment_id,
        attempt=c.attempt,
        url_expires_at=c.url_expires_at,
        worker=c.worker,
        resume_from=c.resume_from,
    )
    return [started]


def _after_failure(c: RecordAttemptFailed, s: SegmentState, policy: RetryPolicy) -> list[Event]:
    if s.phase is not Phase.STARTED or s.attempt != c.attempt:
        return []  # this attempt's outcome is recorded already (by another worker that re-ran it)
    if c.permanent:
        return [_failed(s, c.attempt, c.reason, c.http_status)]
    delay = policy.delay_for(c.attempt, c.retry_after, c.draw)
    if delay is None:
        return [_failed(s, c.attempt, f"{c.reason} (gave up after {c.attempt} attempts)", c.http_status)]
    retry = SegmentRetryScheduled(
        job_id=s.job_id,
        course_id=s.course_id,
        segment_id=s.segment_id,
        attempt=c.attempt,
        reason=c.reason,
        retry_at=c.now + dt.timedelta(seconds=delay),
        delay_seconds=round(delay, 3),
        http_status=c.http_status,
        retry_after_seconds=c.retry_after,
        partial_bytes=c.partial_bytes,
    )
    return [retry]


def _downloaded(
    s: SegmentState, attempt: int, size: int, sha256: str, seconds: float, resumed: bool
) -> SegmentDownloaded:
    return SegmentDownloaded(
        job_id=s.job_id,
        course_id=s.course_id,
        segment_id=s.segment_id,
        target_path=s.target_path,
        size=size,
        sha256=sha256,
        seconds=round(seconds, 3),
        attempts=attempt,
        resumed=resumed,
    )


def _skipped(s: SegmentState, c: RecordSkipped) -> SegmentSkipped:
    return SegmentSkipped(
        job_id=s.job_id,
        course_id=s.course_id,
        segment_id=s.segment_id,
        target_path=s.target_path,
        reason=c.reason,
        size=c.size,
        sha256=c.sha256,
    )


def _failed(s: SegmentState, attempt: int, reason: str, status: int | None = None) -> SegmentFailed:
    return SegmentFailed(
        job_id=s.job_id,
        course_id=s.course_id,
        segment_id=s.segment_id,
        attempts=attempt,
        reason=reason,
        http_status=status,
    )


# --- how segment events report to their job ------------------------------------------------------------------


def job_item(event: Event) -> tuple[ItemOutcome | None, int | None, str | None]:
    """The job item report of a segment event: outcome, bytes (on success), reason (on failure); the progress
    views count items from these (REFERENCE-OPERATIONS §3: an item's terminal state is final)."""
    match event:
        case SegmentQueued():
            return ItemOutcome.QUEUED, None, None
        case SegmentDownloadStarted():
            return ItemOutcome.PROCESSING, None, None
        case SegmentRetryScheduled():
            return ItemOutcome.RETRYING, None, None
        case SegmentDownloaded(size=size):
            return ItemOutcome.SUCCEEDED, size, None
        case SegmentSkipped():
            return ItemOutcome.SKIPPED, None, None
        case SegmentFailed(reason=reason):
            return ItemOutcome.FAILED, None, reason
    return None, None, None


def event_id(job_id: str, segment_id: int, event: Event) -> str | None:
    """A deterministic event id for a step that happens at most once per job and segment — queued, the k-th
    retry scheduled, the one terminal event — so a repeated append is stored once; None for a start (a crashed
    attempt starts again, and each start is its own fact)."""
    match event:
        case SegmentQueued():
            step = "queued"
        case SegmentRetryScheduled(attempt=attempt):
            step = f"retry-{attempt}"
        case SegmentDownloaded() | SegmentSkipped() | SegmentFailed():
            step = "end"
        case _:
            return None
    return uuid.uuid5(_EVENT_IDS, f"{job_id}/{segment_id}/{step}").hex


__all__ = [
    "DEFAULT_POLICY",
    "Fail",
    "Phase",
    "QueueSegment",
    "RecordAttemptFailed",
    "RecordDownloaded",
    "RecordSkipped",
    "SegmentCommand",
    "SegmentState",
    "StartAttempt",
    "decide",
    "event_id",
    "evolve",
    "job_item",
    "segment_decider",
]
