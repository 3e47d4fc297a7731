"""Retry policy of segment downloads (seed 001: 5 retries after 30, 60, 120, 300, 600 s). Pure: no I/O.

The original Laravel job declared this schedule but failed after the third exception (``maxExceptions=3``), so
only the 30 s and 60 s delays were ever used (REFERENCE-OPERATIONS §2.6): here every delay is used, in order,
and the job fails only after the last one. ``Retry-After`` wins when it asks for longer (§1.4, aria2#2295).

What to do with an error (§1.4) is a :class:`Verdict`, given by the fetch adapter's
:func:`~skillstream_media_downloader.adapters.fetch.classify`: ``RETRY`` (408/425/429/5xx, network, truncated or
wrong bytes), ``RESIGN`` (403: sign a new URL; the caller knows whether the old one was fresh) or ``FAIL``
(400/404/410 and other 4xx, bad paths or keys, disk full: retrying cannot fix them).
"""

from __future__ import annotations

import datetime as dt
import email.utils
import enum
import random
from dataclasses import dataclass

DEFAULT_DELAYS: tuple[float, ...] = (30, 60, 120, 300, 600)
_default_rng = random.Random()


class Verdict(enum.StrEnum):
    """What the caller does after a failed attempt."""

    RETRY = "retry"  # wait next_delay() seconds, then another attempt
    RESIGN = "resign"  # sign a fresh URL and try again (not counted as an attempt when the URL was stale)
    FAIL = "fail"  # terminal: SegmentFailed


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """``delays`` (seconds) between attempts, each scaled by a random factor in ``[1 - jitter, 1 + jitter]``;
    a server's ``Retry-After`` is honoured up to ``retry_after_max`` seconds, which also caps every delay."""

    delays: tuple[float, ...] = DEFAULT_DELAYS
    jitter: float = 0.1
    retry_after_max: float = 3600

    def __post_init__(self) -> None:
        if not self.delays or any(d < 0 for d in self.delays):
            raise ValueError(f"delays must be non-empty and non-negative seconds, got {self.delays!r}")
        if not 0 <= self.jitter < 1:
            raise ValueError(f"jitter must be in [0, 1), got {self.jitter!r}")
        if self.retry_after_max <= 0:
            raise ValueError(f"retry_after_max must be positive seconds, got {self.retry_after_max!r}")

    @property
    def attempts_allowed(self) -> int:
        """Attempts in all: the first one plus one per delay."""
        return len(self.delays) + 1

    def next_delay(
        self, attempt: int, retry_after: float | None = None, rng: random.Random | None = None
    ) -> float | None:
        """Seconds to wait after attempt number ``attempt`` (1-based) failed; None when it was the last.

        ``max(delays[attempt - 1] * uniform(1 - jitter, 1 + jitter), retry_after)``, capped at
        ``retry_after_max``.

        Raises:
            ValueError: ``attempt`` < 1.
        """
        return self.delay_for(attempt, retry_after, (rng or _default_rng).random())

    def delay_for(self, attempt: int, retry_after: float | None, draw: float) -> float | None:
        """:meth:`next_delay` with the random draw given: ``draw`` in [0, 1) picks the jitter factor
        ``1 - jitter + 2 * jitter * draw`` (what ``uniform`` does with it), so a decider stays pure.

        Raises:
            ValueError: ``attempt`` < 1.
        """
        if attempt < 1:
            raise ValueError(f"attempt is 1-based, got {attempt}")
        if attempt >= self.attempts_allowed:
            return None
        delay = self.delays[attempt - 1] * (1 - self.jitter + 2 * self.jitter * draw)
        if retry_after is not None:
            delay = max(delay, retry_after)
        return min(delay, self.retry_after_max)


def parse_retry_after(value: str | None, now: float) -> float | None:
    """A ``Retry-After`` header in seconds from ``now`` (Unix seconds): delta-seconds (``"120"``) or an
    HTTP-date (``"Wed, 21 Oct 2015 07:28:00 GMT"``, RFC 9110 §10.2.3); a date in the past gives 0.0.
    None for a missing or unreadable value (the schedule applies then)."""
    if value is None:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # "-0000" or no zone: HTTP-dates are always GMT
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, when.timestamp() - now)


__all__ = ["DEFAULT_DELAYS", "RetryPolicy", "Verdict", "parse_retry_after"]
