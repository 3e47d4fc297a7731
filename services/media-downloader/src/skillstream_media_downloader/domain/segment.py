"""What to do with a work message: decided from the segment's own event history (pure logic, no I/O).

The segment subject ``media.segment.<id>`` of the ``MEDIA`` stream is the truth about a segment's attempts;
work messages only wake a worker up and may be duplicated (a planner resumed after a crash re-publishes) or
redelivered (a worker was killed mid-download). :func:`decide` turns (history, delivery count, clock) into one
:class:`Decision`:

- the job already holds a terminal event for the segment → ``drop`` (a duplicate; never downloaded twice);
- the latest event of the job is ``SegmentRetryScheduled`` whose time has not come → ``wait`` (a message woke
  up early, e.g. the redelivered original after a crash: re-schedule, do nothing else);
- the latest event is ``SegmentDownloadStarted`` and the message is on its first delivery → ``drop``: another
  worker is running that attempt (its append came after this message was published);
- ... and on a later delivery, the worker running it died → ``run`` the same attempt again (a crash is not a
  failed attempt, so it spends no retry), unless it has died ``max_crashes`` times → ``fail``;
- otherwise → ``run`` the next attempt (1 after ``SegmentQueued``, k+1 after the k-th retry was scheduled).
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Sequence
from dataclasses import dataclass

from skillstream_contracts.media import (
    SegmentDownloaded,
    SegmentDownloadStarted,
    SegmentFailed,
    SegmentRetryScheduled,
    SegmentSkipped,
)
from skillstream_runtime.eventstore import RecordedEvent

_TERMINAL = (SegmentDownloaded, SegmentSkipped, SegmentFailed)
EARLY_TOLERANCE = dt.timedelta(seconds=1)
"""A scheduled retry may fire this much before its ``retry_at`` (``@at`` has one-second precision)."""


class Action(enum.StrEnum):
    RUN = "run"
    DROP = "drop"
    WAIT = "wait"
    FAIL = "fail"


@dataclass(frozen=True, kw_only=True)
class SegmentState:
    """One segment as one bulk download sees it.

    ``last_sequence``: stream sequence of the subject's latest event, whatever its job (0 = none), the
    optimistic-concurrency guard of the next append. ``attempt``: the highest attempt number started in this
    job; ``started``: an attempt of this job has started (a verified file on disk is then this job's download,
    not a skip). ``recorded``: size and SHA-256 of the latest ``SegmentDownloaded`` of any job to the same
    target path (skip-existing's "recorded digest").
    """

    last_sequence: int = 0
    terminal: bool = False
    latest: object | None = None
    attempt: int = 0
    started: bool = False
    recorded: tuple[int, str] | None = None


@dataclass(frozen=True, kw_only=True)
class Decision:
    action: Action
    attempt: int = 0
    restarted: bool = False
    due: dt.datetime | None = None
    reason: str | None = None


def segment_state(history: Sequence[RecordedEvent], job_id: str, target_path: str) -> SegmentState:
    """Fold a segment subject's events (oldest first) into the state one job needs."""
    last_sequence, terminal, latest, attempt, started = 0, False, None, 0, False
    recorded: tuple[int, str] | None = None
    for r in history:
        last_sequence = r.sequence
        e = r.event
        if isinstance(e, SegmentDownloaded) and e.target_path == target_path:
            recorded = (e.size, e.sha256)
        if getattr(e, "job_id", None) != job_id:
            continue
        latest = e
        if isinstance(e, _TERMINAL):
            terminal = True
        elif isinstance(e, SegmentDownloadStarted):
            started, attempt = True, max(attempt, e.attempt)
        elif isinstance(e, SegmentRetryScheduled):
            attempt = max(attempt, e.attempt)
    return SegmentState(
        last_sequence=last_sequence,
        terminal=terminal,
        latest=latest,
        attempt=attempt,
        started=started,
        recorded=recorded,
    )


def decide(state: SegmentState, *, deliveries: int, now: dt.datetime, max_crashes: int) -> Decision:
    """The action for a work message delivered for the ``deliveries``-th time (see the module docstring)."""
    latest = state.latest
    if state.terminal:
        return Decision(action=Action.DROP, reason="the segment already ended in this job")
    if isinstance(latest, SegmentRetryScheduled):
        if now + EARLY_TOLERANCE < latest.retry_at:
            return Decision(action=Action.WAIT, attempt=latest.attempt, due=latest.retry_at)
        return Decision(action=Action.RUN, attempt=latest.attempt + 1)
    if isinstance(latest, SegmentDownloadStarted):
        if deliveries <= 1:
            return Decision(action=Action.DROP, reason="another worker is running this attempt")
        if deliveries > max_crashes:
            return Decision(
                action=Action.FAIL,
                attempt=latest.attempt,
                reason=f"attempt {latest.attempt} was interrupted {deliveries - 1} times (worker crashes)",
            )
        return Decision(action=Action.RUN, attempt=latest.attempt, restarted=True)
    return Decision(action=Action.RUN, attempt=max(1, state.attempt + 1))


__all__ = ["EARLY_TOLERANCE", "Action", "Decision", "SegmentState", "decide", "segment_state"]
