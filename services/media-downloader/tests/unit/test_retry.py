"""Retry schedule, Retry-After parsing and error classification (seed 001, REFERENCE-OPERATIONS §1.4, §2.6)."""

from __future__ import annotations

import random
from pathlib import Path

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from skillstream_media_downloader.adapters.fetch import classify
from skillstream_media_downloader.domain.retry import RetryPolicy, Verdict, parse_retry_after
from skillstream_media_downloader.errors import (
    CatalogueError,
    DiskFullError,
    HttpStatusError,
    InsufficientSpaceError,
    SegmentBusyError,
    SigningError,
    TransferError,
    UnsafePathError,
    VerificationError,
)

NOW = 1_700_000_000.0  # Tue, 14 Nov 2023 22:13:20 GMT


def test_every_delay_is_used_in_order_then_none() -> None:
    policy = RetryPolicy(jitter=0)
    delays = [policy.next_delay(attempt) for attempt in range(1, policy.attempts_allowed + 1)]
    assert policy.attempts_allowed == 6
    assert delays == [30, 60, 120, 300, 600, None]
    assert policy.next_delay(99) is None


def test_retry_after_wins_only_when_longer_and_is_capped() -> None:
    policy = RetryPolicy(jitter=0, retry_after_max=3600)
    assert policy.next_delay(1, retry_after=90) == 90
    assert policy.next_delay(4, retry_after=90) == 300
    assert policy.next_delay(2, retry_after=86400) == 3600
    assert policy.next_delay(5, retry_after=86400) == 3600
    assert policy.next_delay(6, retry_after=10) is None  # the last attempt failed: no Retry-After revives it


def test_attempt_is_one_based() -> None:
    with pytest.raises(ValueError, match="1-based"):
        RetryPolicy().next_delay(0)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"delays": ()}, "delays"),
        ({"delays": (30, -1)}, "delays"),
        ({"jitter": 1.0}, "jitter"),
        ({"retry_after_max": 0}, "retry_after_max"),
    ],
)
def test_bad_policies_are_refused(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        RetryPolicy(**kwargs)


@given(
    jitter=st.floats(min_value=0, max_value=0.5),
    attempt=st.integers(min_value=1, max_value=5),
    seed=st.integers(min_value=0, max_value=2**32),
    retry_after=st.none() | st.floats(min_value=0, max_value=10_000),
)
def test_jitter_bounds(jitter: float, attempt: int, seed: int, retry_after: float | None) -> None:
    policy = RetryPolicy(jitter=jitter)
    delay = policy.next_delay(attempt, retry_after, random.Random(seed))
    assert delay is not None
    step = policy.delays[attempt - 1]
    low = max(step * (1 - jitter), retry_after or 0)
    high = max(step * (1 + jitter), retry_after or 0)
    assert min(low, 3600) - 1e-9 <= delay <= min(high, 3600) + 1e-9


def test_jitter_actually_varies() -> None:
    rng = random.Random(1)
    delays = {RetryPolicy().next_delay(1, rng=rng) for _ in range(20)}
    assert len(delays) > 1
    assert all(27 <= d <= 33 for d in delays if d is not None)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", 120.0),
        (" 7 ", 7.0),
        ("0", 0.0),
        ("Tue, 14 Nov 2023 22:15:20 GMT", 120.0),
        ("Tue, 14 Nov 2023 22:13:00 GMT", 0.0),  # in the past
        ("Tue, 14 Nov 2023 22:15:20 -0000", 120.0),
        (None, None),
        ("", None),
        ("soon", None),
        ("-5", None),
        ("1.5", None),
        ("١٢", None),  # Arabic-Indic digits are not delta-seconds
    ],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, NOW) == expected


@pytest.mark.parametrize(
    ("exc", "verdict"),
    [
        (HttpStatusError(403), Verdict.RESIGN),
        (HttpStatusError(404), Verdict.FAIL),
        (HttpStatusError(410), Verdict.FAIL),
        (HttpStatusError(400), Verdict.FAIL),
        (HttpStatusError(401), Verdict.FAIL),
        (HttpStatusError(408), Verdict.RETRY),
        (HttpStatusError(425), Verdict.RETRY),
        (HttpStatusError(429), Verdict.RETRY),
        (HttpStatusError(500), Verdict.RETRY),
        (HttpStatusError(503), Verdict.RETRY),
        (TransferError("reset"), Verdict.RETRY),
        (VerificationError("sha256 mismatch"), Verdict.RETRY),
        (SegmentBusyError(Path("x.part")), Verdict.RETRY),
        (httpx.ReadTimeout("slow"), Verdict.RETRY),
        (DiskFullError(path=Path("x.part"), written=3), Verdict.FAIL),
        (InsufficientSpaceError(path=Path("/srv"), free=1, needed=2, margin=3), Verdict.FAIL),
        (UnsafePathError("no", value="../x"), Verdict.FAIL),
        (SigningError("bad key"), Verdict.FAIL),
        (CatalogueError("down", url="http://c"), Verdict.FAIL),
        (RuntimeError("bug"), Verdict.FAIL),
    ],
)
def test_classify(exc: BaseException, verdict: Verdict) -> None:
    assert classify(exc) is verdict
