"""Pure pieces: block generation and ranges, the fault plan, the verifier's resource rebuilding."""

from __future__ import annotations

import datetime as dt
import hashlib
from email.utils import parsedate_to_datetime

import pytest
from pydantic import ValidationError

from skillstream_media_sandbox.content import BLOCK_SIZE, ByteRange, iter_bytes, parse_range, sha256_of
from skillstream_media_sandbox.errors import RangeNotSatisfiable
from skillstream_media_sandbox.faults import FaultPlan, Faults
from skillstream_media_sandbox.signing import split_query

SIZE = 3 * BLOCK_SIZE + 123


def test_any_slice_equals_the_same_slice_of_the_whole_file() -> None:
    whole = b"".join(iter_bytes(7, "a/b_med.mp4", 0, SIZE))
    assert len(whole) == SIZE
    assert hashlib.sha256(whole).hexdigest() == sha256_of(7, "a/b_med.mp4", SIZE)
    for start, stop, chunk in [(0, 1, 5), (BLOCK_SIZE - 3, BLOCK_SIZE + 3, 2), (100, SIZE, 7000), (SIZE - 1, SIZE, 1)]:
        pieces = list(iter_bytes(7, "a/b_med.mp4", start, stop, chunk))
        assert b"".join(pieces) == whole[start:stop]
        assert max(len(p) for p in pieces) <= chunk
    assert b"".join(iter_bytes(8, "a/b_med.mp4", 0, 64)) != whole[:64]
    assert b"".join(iter_bytes(7, "a/b_low.mp4", 0, 64)) != whole[:64]


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("bytes=0-", ByteRange(0, 999, 1000)),
        ("bytes=10-19", ByteRange(10, 19, 1000)),
        ("bytes=990-5000", ByteRange(990, 999, 1000)),
        ("bytes=-10", ByteRange(990, 999, 1000)),
        ("bytes=-5000", ByteRange(0, 999, 1000)),
        ("BYTES=1-2", ByteRange(1, 2, 1000)),
        ("bytes=5-1", None),
        ("bytes=0-1,5-6", None),
        ("items=0-1", None),
        ("bytes=-", None),
        ("bytes=a-b", None),
    ],
)
def test_parse_range(header: str | None, expected: ByteRange | None) -> None:
    assert parse_range(header, 1000) == expected


@pytest.mark.parametrize("header", ["bytes=1000-", "bytes=1000-1001", "bytes=-0"])
def test_unsatisfiable_ranges(header: str) -> None:
    with pytest.raises(RangeNotSatisfiable):
        parse_range(header, 1000)


def test_fault_plan_scripts_then_rates() -> None:
    plan = FaultPlan(Faults(script={"k": ["503", "ok", "reset"]}, rates={"500": 1.0}))
    assert [plan.next_outcome("k") for _ in range(5)] == ["503", "ok", "reset", "500", "500"]
    assert plan.snapshot()["script"] == {}
    assert FaultPlan(Faults()).next_outcome("k") == "ok"


def test_rate_draws_depend_on_seed_and_per_key_order_only() -> None:
    faults = Faults(seed=5, rates={"429": 0.3, "reset": 0.3})
    one, two = FaultPlan(faults), FaultPlan(faults)
    first = [one.next_outcome("a") for _ in range(200)]
    for _ in range(50):
        two.next_outcome("b")
    assert [two.next_outcome("a") for _ in range(200)] == first
    shares = {name: first.count(name) / 200 for name in ("429", "reset", "ok")}
    assert all(0.15 < share < 0.55 for share in shares.values())


def test_retry_after_forms() -> None:
    now = dt.datetime(2026, 3, 1, 12, 0, 0, 250_000, tzinfo=dt.UTC)
    assert FaultPlan(Faults(retry_after_seconds=30)).retry_after(now) == "30"
    text = FaultPlan(Faults(retry_after_seconds=30, retry_after_http_date=True)).retry_after(now)
    assert text == "Sun, 01 Mar 2026 12:00:31 GMT"  # rounded up to a whole second
    assert parsedate_to_datetime(text) > now + dt.timedelta(seconds=30)


def test_fault_documents_are_strict() -> None:
    with pytest.raises(ValidationError, match="at most 1"):
        Faults(rates={"500": 0.6, "503": 0.6})
    with pytest.raises(ValidationError):
        Faults.model_validate({"script": {"": ["ok"]}})


def test_resource_is_the_url_as_sent_without_signing_parameters() -> None:
    resource, params = split_query(
        "http",
        "127.0.0.1:8191",
        b"/cdn/a%20b/%25%32e_med.mp4",
        b"x=1&Expires=9&Signature=ab-c_~&y=%7E&Key-Pair-Id=K1&Hash-Algorithm=SHA256",
    )
    assert resource == "http://127.0.0.1:8191/cdn/a%20b/%25%32e_med.mp4?x=1&y=%7E"
    assert params == {"Expires": "9", "Signature": "ab-c_~", "Key-Pair-Id": "K1", "Hash-Algorithm": "SHA256"}
