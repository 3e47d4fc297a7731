"""What the CDN has done since start or the last reset (``GET /_sandbox/stats``; media-spec §4).

One :class:`Stats` per app, touched only from the app's event loop (no lock needed).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from skillstream_media_sandbox.errors import DeniedCause


class Flight:
    """One CDN request in flight. :meth:`land` is idempotent, so the body sender can land it the moment its
    last byte is written (before the event loop can serve the client's next request) and the CDN's
    ``finally`` can land it again safely."""

    def __init__(self, stats: Stats) -> None:
        self._stats: Stats | None = stats

    def land(self) -> None:
        if self._stats is not None:
            self._stats.in_flight -= 1
            self._stats = None


class Stats:
    """CDN counters plus the ``in_flight`` gauge and its peak.

    - ``requests``: CDN requests received; ``catalogue_requests``: catalogue API requests.
    - ``by_status``: CDN responses by status code; ``faults``: injected faults by name (outcomes of
      ``PUT /_sandbox/faults`` plus ``latency``, ``bandwidth`` and ``ignore_range`` when they shaped a
      response); ``denied``: signature refusals by cause.
    - ``in_flight``: CDN requests from arrival until their body is finished or aborted; ``peak_in_flight``
      its maximum.
    - ``bytes_sent``: body bytes written; ``completed``: per object key, 200/206 responses whose body reached
      the file's last byte with no body fault and no client disconnect.
    """

    def __init__(self) -> None:
        self.in_flight = 0
        self.reset()

    def reset(self) -> None:
        """Zero every counter. ``in_flight`` is a gauge of live requests and keeps its value; the peak
        restarts from it (0 when idle)."""
        self.requests = 0
        self.catalogue_requests = 0
        self.by_status: Counter[str] = Counter()
        self.faults: Counter[str] = Counter()
        self.denied: Counter[str] = Counter()
        self.peak_in_flight = self.in_flight
        self.bytes_sent = 0
        self.completed: Counter[str] = Counter()

    def arrive(self) -> Flight:
        """A CDN request arrived; land the returned :class:`Flight` when its response is finished or aborted."""
        self.requests += 1
        self.in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        return Flight(self)

    def status(self, code: int) -> None:
        self.by_status[str(code)] += 1

    def fault(self, name: str) -> None:
        self.faults[name] += 1

    def deny(self, cause: DeniedCause) -> None:
        self.denied[cause] += 1

    def sent(self, count: int) -> None:
        self.bytes_sent += count

    def complete(self, key: str) -> None:
        self.completed[key] += 1

    def snapshot(self) -> dict[str, Any]:
        """The JSON of ``GET /_sandbox/stats``."""
        return {
            "requests": self.requests,
            "catalogue_requests": self.catalogue_requests,
            "by_status": dict(self.by_status),
            "faults": dict(self.faults),
            "denied": {cause: self.denied[cause] for cause in ("expired", "bad_signature", "unknown_key", "missing")},
            "in_flight": self.in_flight,
            "peak_in_flight": self.peak_in_flight,
            "bytes_sent": self.bytes_sent,
            "completed": dict(self.completed),
        }


__all__ = ["Flight", "Stats"]
