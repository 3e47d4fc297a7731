"""When a signed CDN URL is replaced (REFERENCE-OPERATIONS §2.2). Pure: no I/O, no clock of its own.

CloudFront checks a URL's ``Expires`` when a request starts, not while the body streams, so a download needs a URL
that is still valid when each request (the first, or a resumed ``Range`` request) begins:

- before a request, a URL with at most ``min_remaining`` seconds left is re-signed (:func:`needs_new_url`);
- after a 403 (:func:`after_403`): a stale URL (expired or about to) is re-signed at once; a fresh one is
  re-signed once only (the CDN's clock may be ahead of ours); a second 403 on a fresh URL, or more than
  ``max_resigns`` re-signs in one attempt, refuses — the attempt then fails with the 403.

None of this spends a retry: re-signing happens inside one attempt and appends no event. A 403 that is refused
becomes the attempt's failure, retried on the schedule (:class:`~skillstream_media_downloader.domain.retry
.RetryPolicy`) like any other transient error.
"""

from __future__ import annotations

import enum


class Renewal(enum.StrEnum):
    """What a 403 leads to; the value is the reason logged (or the refusal's reason)."""

    STALE = "403 on an expired URL"  # re-sign and send again at once
    SKEW = "403 on a fresh URL (clock skew?)"  # re-sign once and send again
    REFUSED = "refused although freshly signed"  # the attempt fails with the 403
    EXHAUSTED = "refused after too many re-signs"  # the attempt fails with the 403

    @property
    def resign(self) -> bool:
        return self in (Renewal.STALE, Renewal.SKEW)


def needs_new_url(expires_at: float, now: float, min_remaining: float) -> bool:
    """True when a URL valid until ``expires_at`` (Unix seconds, exclusive) has at most ``min_remaining``
    seconds left at ``now``: it must be re-signed before a request."""
    return expires_at - now <= min_remaining


def after_403(*, stale: bool, skew_resign_used: bool, resigns: int, max_resigns: int) -> Renewal:
    """The answer to a 403 on a URL that was ``stale`` (see :func:`needs_new_url`) when it was refused, given
    whether the one clock-skew re-sign was used already and how many re-signs (``resigns``) this attempt made."""
    if not stale and skew_resign_used:
        return Renewal.REFUSED
    if resigns >= max_resigns:
        return Renewal.EXHAUSTED
    return Renewal.STALE if stale else Renewal.SKEW


__all__ = ["Renewal", "after_403", "needs_new_url"]
