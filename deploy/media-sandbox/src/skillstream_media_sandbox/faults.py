"""The switchable CDN faults (``PUT /_sandbox/faults``; media-spec §3) and the plan that draws them.

:class:`Faults` is the JSON document, validated strictly (unknown field, rate or outcome → a
``pydantic.ValidationError`` the control API answers with 400). :class:`FaultPlan` is one installed
document plus what it has consumed: each key's script is used up in order first, then the rates apply.

A rate draw is ``sha256(f"{seed}:{key}:{n}")`` read as a fraction in [0, 1), ``n`` being how many draws that
key has had; so outcomes depend only on the seed and the order of requests per key, not on other keys'
traffic, and no per-key RNG object is kept (a 100,000-file run keeps one integer per key).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from collections import Counter, deque
from email.utils import format_datetime
from typing import Annotated, Any, Literal, Self, get_args

from pydantic import BaseModel, ConfigDict, Field, model_validator

RateName = Literal["403", "429", "500", "503", "reset", "truncate", "wrong_bytes"]
"""The faults drawn at a rate (``rates`` keys), tried in this order against one draw."""
Outcome = Literal["ok", "403", "404", "429", "500", "503", "reset", "truncate", "wrong_bytes"]
"""What one CDN request gets: ``ok`` or a fault (``script`` entries)."""
RATE_NAMES: tuple[RateName, ...] = get_args(RateName)
BODY_FAULTS: frozenset[Outcome] = frozenset({"reset", "truncate", "wrong_bytes"})
"""Outcomes that spoil the body of an otherwise normal 200/206 response."""

_Rate = Annotated[float, Field(ge=0.0, le=1.0)]
_Key = Annotated[str, Field(min_length=1)]


class Faults(BaseModel):
    """The whole fault set (``{}`` = none). Units: milliseconds, bytes per second, seconds.

    - ``latency_ms``: sleep before the response headers of every CDN request.
    - ``bandwidth_bytes_per_second``: per-response throttle of the body (``null`` = unthrottled).
    - ``seed`` + ``rates``: probability per request of each :data:`RateName` (each 0..1, sum ≤ 1).
    - ``retry_after_seconds`` / ``retry_after_http_date``: the ``Retry-After`` of 429 and 503 responses,
      as delta-seconds or as an HTTP-date that many seconds ahead.
    - ``ignore_range``: answer a Range request with 200 and the whole file (CloudFront with gzip).
    - ``etag_salt``: mixed into every ETag, so changing it makes a resumed ``If-Range`` miss.
    - ``script``: per object key, the outcomes of its next requests in order, before the rates apply.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    latency_ms: int = Field(default=0, ge=0, le=600_000)
    bandwidth_bytes_per_second: int | None = Field(default=None, ge=1)
    seed: int = 1
    rates: dict[RateName, _Rate] = Field(default_factory=dict)
    retry_after_seconds: int = Field(default=1, ge=0)
    retry_after_http_date: bool = False
    ignore_range: bool = False
    etag_salt: str = ""
    script: dict[_Key, list[Outcome]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _rates_sum_to_at_most_one(self) -> Self:
        total = math.fsum(self.rates.values())
        if total > 1.0 + 1e-9:
            raise ValueError(f"rates add up to {total:g}; their sum must be at most 1")
        return self


def _fraction(seed: int, key: str, n: int) -> float:
    digest = hashlib.sha256(f"{seed}:{key}:{n}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


class FaultPlan:
    """One installed :class:`Faults` document and its consumption (scripts left, draws per key).

    Touched only from the app's event loop, so it needs no lock.
    """

    def __init__(self, faults: Faults) -> None:
        self.faults = faults
        self._scripts = {key: deque(outcomes) for key, outcomes in faults.script.items() if outcomes}
        self._draws: Counter[str] = Counter()

    def next_outcome(self, key: str) -> Outcome:
        """The outcome of the next request for object ``key``: its script's next entry, else a rate draw."""
        queue = self._scripts.get(key)
        if queue:
            outcome = queue.popleft()
            if not queue:
                del self._scripts[key]
            return outcome
        if not self.faults.rates:
            return "ok"
        draw = _fraction(self.faults.seed, key, self._draws[key])
        self._draws[key] += 1
        threshold = 0.0
        for name in RATE_NAMES:
            threshold += self.faults.rates.get(name, 0.0)
            if draw < threshold:
                return name
        return "ok"

    def retry_after(self, now: dt.datetime) -> str:
        """The ``Retry-After`` header value (RFC 9110 §10.2.3) for a 429/503 sent at ``now`` (aware)."""
        seconds = self.faults.retry_after_seconds
        if not self.faults.retry_after_http_date:
            return str(seconds)
        # an HTTP-date has whole seconds: round up so the client never retries early
        when = now.astimezone(dt.UTC).replace(microsecond=0) + dt.timedelta(seconds=seconds + (now.microsecond > 0))
        return format_datetime(when, usegmt=True)

    def snapshot(self) -> dict[str, Any]:
        """``GET /_sandbox/faults``: the document, with ``script`` showing only the entries not yet used."""
        document = self.faults.model_dump()
        document["script"] = {key: list(queue) for key, queue in self._scripts.items()}
        return document


__all__ = ["BODY_FAULTS", "RATE_NAMES", "FaultPlan", "Faults", "Outcome", "RateName"]
