"""What a work message asks for, decided from the segment's state (pure: no I/O, no asyncio).

A work message is a wake-up call that may be duplicated (a planner resumed after a crash publishes again) or
redelivered (a worker died mid-download); the segment's subject is the truth. :func:`triage` turns (state,
delivery count, now) into a :class:`Step`:

- the segment already ended in this job → ``drop`` (never downloaded twice);
- a retry is scheduled and its time has not come (with :data:`EARLY_TOLERANCE`) → ``wait``: re-schedule, as
  the redelivered original of a crashed attempt arrives early;
- an attempt started and the message is on its first delivery → ``drop``: another worker runs it;
- … on a later delivery its worker died → ``run`` the same attempt again (a crash spends no retry), unless the
  message has been delivered more than ``max_crashes`` times → ``fail``;
- otherwise → ``run`` the next attempt (1 after ``SegmentQueued``, k+1 after the k-th retry was scheduled).

Before a ``run`` downloads, :func:`skip_evidence` says what a file already on disk must match to count as done.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass

from skillstream_contracts.media import SkipReason
from skillstream_media_downloader.domain.segment import Phase, SegmentState

EARLY_TOLERANCE = dt.timedelta(seconds=1)
"""A scheduled retry may fire this much before its ``retry_at`` (``@at`` has one-second precision)."""


class Action(enum.StrEnum):
    RUN = "run"
    DROP = "drop"
    WAIT = "wait"
    FAIL = "fail"


@dataclass(frozen=True, kw_only=True)
class Step:
    """What a work message asks for: ``action``; the ``attempt`` it concerns; ``restarted`` when a crashed
    attempt runs again; ``due`` (``wait``): when the retry is due; ``reason`` (``drop``, ``fail``): why."""

    action: Action
    attempt: int = 0
    restarted: bool = False
    due: dt.datetime | None = None
    reason: str | None = None


def triage(state: SegmentState, *, deliveries: int, now: dt.datetime, max_crashes: int) -> Step:
    """The step for a work message delivered for the ``deliveries``-th time (see the module docstring)."""
    if state.phase.terminal:
        return Step(action=Action.DROP, reason="the segment already ended in this job")
    if state.phase is Phase.RETRYING and state.retry_at is not None:
        if now + EARLY_TOLERANCE < state.retry_at:
            return Step(action=Action.WAIT, attempt=state.attempt, due=state.retry_at)
        return Step(action=Action.RUN, attempt=state.attempt + 1)
    if state.phase is Phase.STARTED:
        if deliveries <= 1:
            return Step(action=Action.DROP, reason="another worker is running this attempt")
        if deliveries > max_crashes:
            why = f"attempt {state.attempt} was interrupted {deliveries - 1} times (worker crashes)"
            return Step(action=Action.FAIL, attempt=state.attempt, reason=why)
        return Step(action=Action.RUN, attempt=state.attempt, restarted=True)
    return Step(action=Action.RUN, attempt=max(1, state.attempt + 1))


def skip_evidence(
    expected_size: int | None, expected_sha256: str | None, recorded: tuple[int, str] | None
) -> tuple[int | None, str, SkipReason] | None:
    """What a file already on disk must match to count as complete: ``(size or None, sha256, reason)`` — the
    catalogue's digest, else the digest recorded for the same path; None when there is nothing to verify
    against (a size alone never proves a file complete: REFERENCE-OPERATIONS §2.6's "over 1 KB" rule)."""
    if expected_sha256 is not None:
        return expected_size, expected_sha256, SkipReason.VERIFIED_ON_DISK
    if recorded is not None:
        return recorded[0], recorded[1], SkipReason.RECORDED_DIGEST
    return None


__all__ = ["EARLY_TOLERANCE", "Action", "Step", "skip_evidence", "triage"]
