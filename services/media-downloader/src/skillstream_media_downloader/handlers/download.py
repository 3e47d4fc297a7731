"""The segment work handler: one work message → at most one download attempt of one segment.

:func:`download_segment` is registered on the shared consumer ``media_segments`` of ``MEDIA_WORK`` (bootstrap);
the consumer's ``max_ack_pending`` caps downloads in flight across the fleet. Each step is decided by the segment
decider (:mod:`skillstream_media_downloader.domain.segment`) and appended with
:func:`~skillstream_runtime.decider.run_command` (expected subject sequence; reload and decide again on a
conflict); the I/O happens here, between the steps:

1. load the segment's subject (a first delivery may start from the state queueing left: :func:`_as_queued`)
   and :func:`~skillstream_media_downloader.domain.triage.triage` the message: drop a duplicate, re-schedule
   an early retry, fail a crash loop, or run an attempt;
2. a file already on disk counts only when verified by size and SHA-256 (catalogue or recorded digest), never
   "a file over 1 KB" (REFERENCE-OPERATIONS §2.6) → ``RecordSkipped``;
3. too little free space → the message goes back and this process pauses taking work (nothing is written);
4. sign the URL now (never queued with the work: seed 001's expired-URL defect), ``StartAttempt`` (so two
   workers never run one attempt; appended while the request is on its way, and no byte is written before it
   is stored), stream the file (:class:`~skillstream_media_downloader.adapters.fetch.CdnFetcher`: ``.part``,
   resume, verify, atomic rename; a 403 re-signs inside the attempt);
5. one outcome: ``RecordDownloaded``, or ``RecordAttemptFailed`` → a retry scheduled on ``MEDIA_WORK`` (every
   step of the retry schedule used: §2.6's ``maxExceptions`` defect) or ``SegmentFailed`` once.

The returned :class:`~skillstream_runtime.workqueue.Outcome` settles the message; an exception (an outage, a
bug) leaves it to be redelivered. Events carry the job item report the progress views count.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import structlog

from skillstream_contracts.events import Event, new_event_id
from skillstream_contracts.jobs import JobReport
from skillstream_contracts.media import SegmentFailed, SegmentRetryScheduled
from skillstream_contracts.streams import MEDIA
from skillstream_media_downloader.adapters.fetch import FetchResult, classify
from skillstream_media_downloader.adapters.signing import SignedUrl
from skillstream_media_downloader.domain.paths import cdn_url
from skillstream_media_downloader.domain.retry import RetryPolicy, Verdict
from skillstream_media_downloader.domain.segment import (
    Fail,
    Phase,
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
from skillstream_media_downloader.domain.work import SegmentWork
from skillstream_media_downloader.errors import DiskFullError, FetchError, MediaError, SegmentBusyError
from skillstream_media_downloader.settings import MediaSettings
from skillstream_runtime.decider import Aggregate, Decided, Decider, load_aggregate, run_command
from skillstream_runtime.eventstore import AbstractEventStore, NewEvent
from skillstream_runtime.workqueue import ACK, Outcome, nak

log = structlog.get_logger(__name__)


class Signer(Protocol):
    """Signs a CDN URL valid until ``expires_at`` (Unix seconds): the CloudFront signing adapter."""

    def sign(self, url: str, expires_at: int) -> SignedUrl: ...


class Fetcher(Protocol):
    """Downloads one file from the CDN (:class:`~skillstream_media_downloader.adapters.fetch.CdnFetcher`)."""

    async def fetch(
        self,
        sign: Callable[[], SignedUrl],
        target: Path,
        *,
        expected_size: int | None,
        expected_sha256: str | None,
        begun: Callable[[], Awaitable[None]] | None = None,
    ) -> FetchResult: ...


class SegmentDisk(Protocol):
    """The storage root (:class:`~skillstream_media_downloader.adapters.disk.LocalDisk`)."""

    def target(self, relative: str) -> Path: ...

    async def verified(self, target: Path, size: int | None, sha256: str) -> tuple[int, str] | None: ...

    def partial_bytes(self, target: Path) -> int: ...

    def discard_partial(self, target: Path) -> None: ...

    def free_bytes(self) -> int: ...


class RetryScheduler(Protocol):
    """Publishes the work again for ``due`` (:class:`~skillstream_media_downloader.adapters.workqueue
    .MediaWorkQueue`), after attempt ``attempt``."""

    async def schedule(self, work: SegmentWork, due: dt.datetime, attempt: int) -> None: ...


@dataclass(frozen=True, kw_only=True)
class SegmentDeps:
    """What the handler needs: the event store, the adapters, the settings (``MEDIA_*``: URL lifetime, retry
    schedule, crash limit, disk margin and re-check pause…), this replica's ``worker`` name, whether a job was
    cancelled, a Unix ``clock`` (seconds) and the ``rng`` of the retry jitter."""

    store: AbstractEventStore
    signer: Signer
    fetcher: Fetcher
    disk: SegmentDisk
    queue: RetryScheduler
    settings: MediaSettings
    worker: str
    cancelled: Callable[[str], bool] = lambda _job_id: False
    clock: Callable[[], float] = time.time
    rng: random.Random = field(default_factory=random.Random)

    @property
    def policy(self) -> RetryPolicy:
        s = self.settings
        return RetryPolicy(delays=s.retry_delays, jitter=s.retry_jitter, retry_after_max=s.retry_after_max)

    def now(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.clock(), dt.UTC)


async def download_segment(work: SegmentWork, deps: SegmentDeps, *, deliveries: int = 1) -> Outcome:
    """Handle one work message delivered for the ``deliveries``-th time (see the module docstring).

    Returns ``ACK`` when the message is done with (whatever the segment's outcome), or ``nak`` with a delay when
    it must come back later (disk full or too little space: this process also pauses; the ``.part`` locked by
    another download).

    Raises:
        EventStoreError: the store failed (the message is redelivered after ``ack_wait``).
        SigningError: the first URL could not be signed (the same).
    """
    if deps.cancelled(work.job_id):
        return ACK  # a cancelled bulk download runs nothing more; the job ends without this segment
    segment = _Segment(work, deps, segment_decider(SegmentState.of(work), deps.policy))
    if (assumed := _as_queued(segment, deliveries)) is not None:
        outcome = await _handle(segment, assumed, deliveries)
        if outcome is not None:
            return outcome
        # The subject had moved on (e.g. this is a retry's message): triage again on the loaded history.
    agg = await load_aggregate(deps.store, segment.decider, MEDIA, segment.subject, str(work.segment_id))
    return await _handle(segment, agg, deliveries) or ACK  # None: another worker took the attempt


async def _handle(segment: _Segment, agg: Aggregate[SegmentState], deliveries: int) -> Outcome | None:
    """Triage the message on ``agg`` and act; None when the attempt it chose was not started (the subject had
    moved on since ``agg``: another worker started it, or ``agg`` was assumed and is stale)."""
    work, deps = segment.work, segment.deps
    step = triage(agg.state, deliveries=deliveries, now=deps.now(), max_crashes=deps.settings.max_crashes)
    if step.action is Action.DROP:
        log.debug("segment work dropped", segment_id=work.segment_id, why=step.reason)
        return ACK
    if step.action is Action.WAIT:
        assert step.due is not None
        await deps.queue.schedule(work, step.due, step.attempt)
        return ACK
    if step.action is Action.FAIL:
        await segment.record(agg, Fail(attempt=step.attempt, reason=step.reason or "failed"))
        return ACK
    return await _attempt(segment, agg, step)


def _as_queued(segment: _Segment, deliveries: int) -> Aggregate[SegmentState] | None:
    """The state queueing left, assumed without a read, for a first delivery of a message that carries its
    queued event's sequence and the catalogue's digest (None otherwise). Every append on it expects that
    sequence, so a stale assumption conflicts and is decided again on the loaded history. The digest matters:
    without it the skip check needs the digest a past download recorded, which only the history holds."""
    work = segment.work
    if deliveries != 1 or work.queued_sequence is None or work.expected_sha256 is None:
        return None
    state = dataclasses.replace(SegmentState.of(work), phase=Phase.QUEUED)
    return Aggregate(MEDIA, segment.subject, str(work.segment_id), state, work.queued_sequence)


@dataclass(frozen=True)
class _Segment:
    """One message's segment: its work, the handler's dependencies and the decider its steps run on."""

    work: SegmentWork
    deps: SegmentDeps
    decider: Decider[SegmentCommand, SegmentState]

    @property
    def subject(self) -> str:
        return MEDIA.aggregate_subject("segment", str(self.work.segment_id))

    async def record(self, agg: Aggregate[SegmentState], command: SegmentCommand) -> Decided[SegmentState]:
        """Decide ``command`` and append what it decides (nothing when the segment moved on meanwhile)."""
        return await run_command(self.deps.store, self.decider, agg, command, envelope=self.envelope)

    def envelope(self, event: Event) -> NewEvent:
        return segment_envelope(
            self.work.job_id, self.work.course_id, self.work.segment_id, event, self.work.correlation_id
        )

    def sign(self) -> SignedUrl:
        s, now = self.deps.settings, self.deps.clock()
        return self.deps.signer.sign(cdn_url(s.cdn_base_url, self.work.cdn_key), int(now + s.url_lifetime))


def segment_envelope(job_id: str, course_id: int, segment_id: int, event: Event, correlation: str | None) -> NewEvent:
    """A segment ``event`` with its job item report (item = segment, group = course) and, for a step that
    happens once per job, a deterministic id (:func:`~skillstream_media_downloader.domain.segment.event_id`)."""
    outcome, size, reason = job_item(event)
    report = JobReport(
        job_id=job_id,
        item_key=str(segment_id),
        item_outcome=None if outcome is None else outcome.value,
        item_group=str(course_id),
        item_bytes=size,
        reason=reason,
    )
    eid = event_id(job_id, segment_id, event) or new_event_id()
    return NewEvent(event=event, event_id=eid, correlation_id=correlation, job=report)


async def _attempt(segment: _Segment, agg: Aggregate[SegmentState], step: Step) -> Outcome | None:
    """Run attempt ``step.attempt``: the checks before a download, then the download. None when the attempt
    was not started because the subject had moved on since ``agg``."""
    work, deps, s = segment.work, segment.deps, segment.deps.settings
    try:
        target = deps.disk.target(work.target_path)
    except MediaError as e:  # never written outside the storage root, whatever the message says
        await segment.record(agg, Fail(attempt=step.attempt, reason=e.reason))
        return ACK
    evidence = skip_evidence(work.expected_size, work.expected_sha256, agg.state.recorded)
    found = None if evidence is None else await deps.disk.verified(target, evidence[0], evidence[1])
    if evidence is not None and found is not None:
        deps.disk.discard_partial(target)  # e.g. the ETag sidecar of a download killed right after its rename
        await segment.record(
            agg, RecordSkipped(attempt=step.attempt, size=found[0], sha256=found[1], reason=evidence[2])
        )
        return ACK
    have = deps.disk.partial_bytes(target)
    needed, free = max(0, (work.expected_size or 0) - have), deps.disk.free_bytes()
    if free < needed + s.disk_margin_bytes:
        log.warning("not enough free space: pausing downloads", free=free, needed=needed, target=str(target))
        return nak(s.disk_recheck, pause=s.disk_recheck)
    signed = segment.sign()
    start = StartAttempt(
        attempt=step.attempt,
        after_starts=agg.state.starts,
        url_expires_at=dt.datetime.fromtimestamp(signed.expires_at, dt.UTC),
        worker=deps.worker,
        resume_from=have,
    )
    # The request goes out while the start is appended (both take a round trip); no byte is written to the
    # .part before the start is stored, so an attempt another worker took (or a stale assumed state) writes none.
    starting = asyncio.ensure_future(segment.record(agg, start))

    async def begun() -> None:
        if not (await asyncio.shield(starting)).events:
            raise _NotStarted

    try:
        return await _download(segment, starting, begun, step.attempt, target, signed)
    finally:
        starting.cancel()  # a no-op once done; shutting down mid-append leaves the message to be redelivered


class _NotStarted(Exception):
    """The attempt's start was not appended: the subject had moved on (see :func:`_attempt`)."""


async def _download(
    segment: _Segment,
    starting: asyncio.Future[Decided[SegmentState]],
    begun: Callable[[], Awaitable[None]],
    attempt: int,
    target: Path,
    signed: SignedUrl,
) -> Outcome | None:
    """Stream the file and record the outcome of attempt ``attempt`` (None: it never started, see
    :func:`_attempt`)."""
    work, deps = segment.work, segment.deps
    first = [signed]  # the URL StartAttempt recorded the expiry of; later ones are signed when needed

    def sign() -> SignedUrl:
        return first.pop() if first else segment.sign()

    try:
        result = await deps.fetcher.fetch(
            sign, target, expected_size=work.expected_size, expected_sha256=work.expected_sha256, begun=begun
        )
    except _NotStarted:
        return None
    except MediaError as e:
        started = await starting
        return await _after_error(segment, started.aggregate, attempt, target, e) if started.events else None
    started = await starting
    if not started.events:
        return None
    recorded = RecordDownloaded(
        attempt=attempt, size=result.size, sha256=result.sha256, seconds=result.seconds, resumed=result.resumed_from > 0
    )
    await segment.record(started.aggregate, recorded)
    return ACK


async def _after_error(
    segment: _Segment, agg: Aggregate[SegmentState], attempt: int, target: Path, e: MediaError
) -> Outcome:
    """What a started attempt's error leads to: a pause (disk full), the message back later (the ``.part``
    busy), a failed attempt recorded (:func:`_after_failure`), or the segment failed (e.g. the key cannot
    sign: permanent for this segment)."""
    deps, s = segment.deps, segment.deps.settings
    if isinstance(e, DiskFullError):
        log.warning("disk full: pausing downloads", target=str(target), recheck=s.disk_recheck)
        return nak(s.disk_recheck, pause=s.disk_recheck)
    if isinstance(e, SegmentBusyError):
        return nak(s.ack_wait)
    if isinstance(e, FetchError):
        await _after_failure(segment, agg, attempt, target, e)
        return ACK
    deps.disk.discard_partial(target)
    await segment.record(agg, Fail(attempt=attempt, reason=e.reason))
    return ACK


async def _after_failure(
    segment: _Segment, agg: Aggregate[SegmentState], attempt: int, target: Path, e: FetchError
) -> None:
    """Record a failed attempt: a retry (published to wake a worker when due) or the segment's failure."""
    deps = segment.deps
    failed = RecordAttemptFailed(
        attempt=attempt,
        reason=e.reason,
        permanent=classify(e) is Verdict.FAIL,
        now=deps.now(),
        draw=deps.rng.random(),
        http_status=getattr(e, "status", None),
        retry_after=getattr(e, "retry_after", None),
        partial_bytes=e.partial_bytes,
    )
    decided = await segment.record(agg, failed)
    for new in decided.events:
        match new.event:
            case SegmentRetryScheduled(retry_at=due):
                await deps.queue.schedule(segment.work, due, attempt)
            case SegmentFailed():
                # a failed segment leaves nothing behind: a retry-failed job starts it over
                deps.disk.discard_partial(target)


__all__ = ["Fetcher", "RetryScheduler", "SegmentDeps", "SegmentDisk", "Signer", "download_segment", "segment_envelope"]
