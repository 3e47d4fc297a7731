"""fetch_segment / verify_existing against the fake CloudFront CDN (pure protocol logic: httpx.MockTransport)."""

from __future__ import annotations

import errno
import fcntl
import hashlib
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest

from skillstream_media_downloader.adapters.disk import verify_existing
from skillstream_media_downloader.adapters.fetch import classify, fetch_segment
from skillstream_media_downloader.adapters.signing import SignedUrl
from skillstream_media_downloader.domain.retry import Verdict
from skillstream_media_downloader.errors import (
    DiskFullError,
    HttpStatusError,
    SegmentBusyError,
    SigningError,
    TransferError,
    VerificationError,
)

from .conftest import FakeCdn, FakeClock

KEY = "bluesgtr_survival/intro_med.mp4"
SIZE = 300_000
CHUNK = 16384

Sign = Callable[[], SignedUrl]


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def part_of(target: Path) -> Path:
    return target.with_name(target.name + ".part")


def sidecar_of(target: Path) -> Path:
    return target.with_name(target.name + ".part.etag")


@pytest.fixture
async def setup(cdn: FakeCdn, make_sign: Callable[..., Sign], tmp_path: Path) -> AsyncIterator[tuple]:
    data = cdn.add(KEY, SIZE)
    async with cdn.client() as client:
        yield client, make_sign(cdn.url(KEY)), tmp_path / "1001-Course" / "700123-Intro_med.mp4", data


async def fetch(client: httpx.AsyncClient, sign: Sign, target: Path, data: bytes | None, clock: FakeClock, **kw):
    return await fetch_segment(
        client,
        sign,
        target,
        expected_size=None if data is None else len(data),
        expected_sha256=None if data is None else sha(data),
        chunk_bytes=CHUNK,
        clock=clock,
        **kw,
    )


async def test_fresh_download_writes_verified_file_and_cleans_up(setup, cdn: FakeCdn, clock: FakeClock) -> None:
    client, sign, target, data = setup
    seen: list[int] = []
    result = await fetch(client, sign, target, data, clock, on_bytes=seen.append)
    assert target.read_bytes() == data
    assert (result.size, result.sha256, result.resumed_from, result.resigns) == (SIZE, sha(data), 0, 0)
    assert not part_of(target).exists()
    assert not sidecar_of(target).exists()
    assert sum(seen) == SIZE
    assert max(seen) <= CHUNK
    request = cdn.requests[0]
    assert request.headers["Accept-Encoding"] == "identity"
    assert "Range" not in request.headers


async def test_resume_after_reset_requests_only_the_remaining_bytes(setup, cdn: FakeCdn, clock: FakeClock) -> None:
    client, sign, target, data = setup
    cdn.script[KEY] = ["reset"]
    with pytest.raises(TransferError) as failed:
        await fetch(client, sign, target, data, clock)
    kept = part_of(target).read_bytes()
    # what arrived, less the tail still in httpx's re-chunking buffer when the connection broke
    assert kept == data[: len(kept)]
    assert SIZE // 2 - CHUNK < len(kept) <= SIZE // 2
    assert failed.value.partial_bytes == len(kept)
    assert classify(failed.value) is Verdict.RETRY
    assert sidecar_of(target).read_text() == cdn.etag(KEY)
    sent_before = cdn.bytes_sent

    result = await fetch(client, sign, target, data, clock)
    assert cdn.requests[-1].headers["Range"] == f"bytes={len(kept)}-"
    assert cdn.requests[-1].headers["If-Range"] == cdn.etag(KEY)
    assert cdn.bytes_sent - sent_before == SIZE - len(kept)
    assert result.resumed_from == len(kept)
    assert result.sha256 == sha(data)
    assert target.read_bytes() == data


async def test_truncated_body_is_a_transfer_error_keeping_a_valid_prefix(setup, cdn: FakeCdn, clock) -> None:
    client, sign, target, data = setup
    cdn.script[KEY] = ["truncate"]
    with pytest.raises(TransferError, match="truncated"):
        await fetch(client, sign, target, data, clock)
    kept = part_of(target).read_bytes()
    assert 0 < len(kept) < SIZE
    assert kept == data[: len(kept)]
    assert not target.exists()


async def test_200_to_a_range_request_restarts_from_zero(setup, cdn: FakeCdn, clock: FakeClock) -> None:
    client, sign, target, data = setup
    cdn.script[KEY] = ["reset"]
    with pytest.raises(TransferError):
        await fetch(client, sign, target, data, clock)
    cdn.ignore_range = True
    result = await fetch(client, sign, target, data, clock)
    assert "Range" in cdn.requests[-1].headers
    assert result.resumed_from == 0
    assert target.read_bytes() == data


async def test_changed_etag_restarts_from_zero(setup, cdn: FakeCdn, clock: FakeClock) -> None:
    client, sign, target, data = setup
    cdn.script[KEY] = ["reset"]
    with pytest.raises(TransferError):
        await fetch(client, sign, target, data, clock)
    old_etag = cdn.etag(KEY)
    cdn.etag_salt = "v2"
    result = await fetch(client, sign, target, data, clock)
    assert cdn.requests[-1].headers["If-Range"] == old_etag
    assert result.resumed_from == 0
    assert target.read_bytes() == data


async def test_content_range_not_at_our_offset_discards_the_part(setup, cdn: FakeCdn, clock: FakeClock) -> None:
    client, sign, target, data = setup
    cdn.script[KEY] = ["reset", "bad_range"]
    with pytest.raises(TransferError):
        await fetch(client, sign, target, data, clock)
    with pytest.raises(TransferError, match="Content-Range") as failed:
        await fetch(client, sign, target, data, clock)
    assert not part_of(target).exists()
    assert not sidecar_of(target).exists()
    assert failed.value.partial_bytes == 0
    assert (await fetch(client, sign, target, data, clock)).resumed_from == 0


async def test_416_with_the_whole_file_on_disk_verifies_and_completes(setup, cdn: FakeCdn, clock) -> None:
    client, sign, target, data = setup
    target.parent.mkdir(parents=True)
    part_of(target).write_bytes(data)
    sidecar_of(target).write_text(cdn.etag(KEY))
    result = await fetch(client, sign, target, data, clock)
    assert cdn.requests[-1].headers["Range"] == f"bytes={SIZE}-"
    assert (result.size, result.resumed_from, cdn.bytes_sent) == (SIZE, SIZE, 0)
    assert target.read_bytes() == data
    assert not part_of(target).exists()


async def test_416_on_a_part_longer_than_the_file_discards_it(setup, cdn: FakeCdn, clock: FakeClock) -> None:
    client, sign, target, data = setup
    target.parent.mkdir(parents=True)
    part_of(target).write_bytes(data + b"extra")
    sidecar_of(target).write_text(cdn.etag(KEY))
    with pytest.raises(TransferError, match="416"):
        await fetch(client, sign, target, None, clock)
    assert not part_of(target).exists()
    assert not sidecar_of(target).exists()


async def test_wrong_bytes_fail_verification_and_leave_nothing(setup, cdn: FakeCdn, clock: FakeClock) -> None:
    client, sign, target, data = setup
    cdn.script[KEY] = ["wrong_bytes"]
    with pytest.raises(VerificationError, match="sha256 mismatch") as failed:
        await fetch(client, sign, target, data, clock)
    assert not target.exists()
    assert not part_of(target).exists()
    assert not sidecar_of(target).exists()
    assert failed.value.partial_bytes == 0
    assert classify(failed.value) is Verdict.RETRY


async def test_size_declared_by_cdn_differs_from_catalogue(setup, clock: FakeClock) -> None:
    client, sign, target, _ = setup
    with pytest.raises(VerificationError, match="catalogue expects"):
        await fetch_segment(client, sign, target, expected_size=SIZE + 1, expected_sha256=None, clock=clock)
    assert not part_of(target).exists()


async def test_expired_url_is_resigned_before_the_request(setup, cdn: FakeCdn, make_sign, clock) -> None:
    client, _, target, data = setup
    fresh = make_sign(cdn.url(KEY))
    stale = [make_sign(cdn.url(KEY), lifetime=-5)()]  # signed earlier, already expired

    def sign() -> SignedUrl:
        return stale.pop() if stale else fresh()

    result = await fetch(client, sign, target, data, clock)
    assert result.resigns == 1
    assert cdn.denied == []
    assert target.read_bytes() == data


async def test_403_on_a_url_that_went_stale_resigns_at_once(setup, cdn: FakeCdn, make_sign, clock) -> None:
    client, _, target, data = setup
    sign = make_sign(cdn.url(KEY), lifetime=100)
    # the first 403 arrives after 50 s: the URL has < 60 s left, so it is re-signed without using the
    # single clock-skew re-sign, which the second 403 (on a fresh URL) still gets
    cdn.script[KEY] = ["403@+50", "403", "ok"]
    result = await fetch(client, sign, target, data, clock)
    assert result.resigns == 2
    assert sign.calls == 3
    assert target.read_bytes() == data


async def test_403_on_a_fresh_url_resigns_once_then_fails_keeping_the_part(setup, cdn: FakeCdn, clock) -> None:
    client, sign, target, data = setup
    cdn.script[KEY] = ["reset"]
    with pytest.raises(TransferError):
        await fetch(client, sign, target, data, clock)
    cdn.skew = 10_000  # the CDN's clock is far ahead: every URL we sign is expired there
    with pytest.raises(HttpStatusError) as failed:
        await fetch(client, sign, target, data, clock)
    assert (failed.value.status, failed.value.code) == (403, "AccessDenied")
    assert cdn.denied == ["expired", "expired"]
    assert classify(failed.value) is Verdict.RESIGN
    kept = part_of(target).stat().st_size
    assert failed.value.partial_bytes == kept
    assert SIZE // 2 - CHUNK < kept <= SIZE // 2
    assert "Signature" not in str(failed.value)


async def test_403_loop_on_stale_urls_stops_after_max_resigns(setup, cdn: FakeCdn, make_sign, clock) -> None:
    client, _, target, data = setup
    sign = make_sign(cdn.url(KEY), lifetime=100)
    cdn.script[KEY] = ["403@+50"] * 10
    with pytest.raises(HttpStatusError, match="after 3 re-signs"):
        await fetch(client, sign, target, data, clock, max_resigns=3)
    assert len(cdn.requests) == 4


async def test_sign_returning_short_lived_urls_is_a_signing_error(setup, cdn: FakeCdn, make_sign, clock) -> None:
    client, _, target, data = setup
    with pytest.raises(SigningError, match="url_min_remaining"):
        await fetch(client, make_sign(cdn.url(KEY), lifetime=30), target, data, clock)
    assert cdn.requests == []


async def test_429_retry_after_seconds_and_http_date(setup, cdn: FakeCdn, clock: FakeClock) -> None:
    client, sign, target, data = setup
    cdn.script[KEY] = ["429"]
    with pytest.raises(HttpStatusError) as failed:
        await fetch(client, sign, target, data, clock)
    assert (failed.value.status, failed.value.retry_after) == (429, 7.0)
    assert classify(failed.value) is Verdict.RETRY
    cdn.retry_after = "Tue, 14 Nov 2023 22:15:20 GMT"  # T0 = 22:13:20 UTC
    cdn.script[KEY] = ["503"]
    with pytest.raises(HttpStatusError) as again:
        await fetch(client, sign, target, data, clock)
    assert (again.value.status, again.value.retry_after) == (503, 120.0)


async def test_404_carries_the_xml_code_and_is_final(setup, cdn: FakeCdn, clock: FakeClock) -> None:
    client, sign, target, data = setup
    cdn.script[KEY] = ["404"]
    with pytest.raises(HttpStatusError) as failed:
        await fetch(client, sign, target, data, clock)
    assert (failed.value.status, failed.value.code, failed.value.reason) == (404, "NoSuchKey", "HTTP 404 NoSuchKey")
    assert classify(failed.value) is Verdict.FAIL


async def test_content_encoding_is_refused(setup, cdn: FakeCdn, clock: FakeClock) -> None:
    client, sign, target, data = setup
    cdn.script[KEY] = ["gzip"]
    with pytest.raises(TransferError, match="Content-Encoding gzip"):
        await fetch(client, sign, target, data, clock)


async def test_connection_error_is_a_transfer_error(make_sign, tmp_path: Path, clock: FakeClock) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(refuse)) as client:
        with pytest.raises(TransferError, match="ConnectError"):
            await fetch(client, make_sign("http://cdn.test/cdn/x.mp4"), tmp_path / "x.mp4", b"x", clock)


async def test_enospc_cuts_the_part_back_and_never_creates_the_target(
    setup, cdn: FakeCdn, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    client, sign, target, data = setup
    real_write = os.write
    budget = [100_000 + 123]  # not a multiple of the chunk size: the last write is a short one

    def write(fd: int, buf: bytes) -> int:
        if not os.readlink(f"/proc/self/fd/{fd}").endswith(".part"):
            return real_write(fd, buf)
        if budget[0] == 0:
            raise OSError(errno.ENOSPC, "No space left on device")
        n = real_write(fd, bytes(buf[: budget[0]]))
        budget[0] -= n
        return n

    monkeypatch.setattr(os, "write", write)
    with pytest.raises(DiskFullError) as failed:
        await fetch(client, sign, target, data, clock)
    assert failed.value.written == 100_123
    assert failed.value.partial_bytes == 100_123
    assert part_of(target).read_bytes() == data[:100_123]
    assert not target.exists()
    assert classify(failed.value) is Verdict.FAIL

    monkeypatch.setattr(os, "write", real_write)
    result = await fetch(client, sign, target, data, clock)
    assert result.resumed_from == 100_123
    assert target.read_bytes() == data


async def test_a_held_lock_is_segment_busy(setup, cdn: FakeCdn, clock: FakeClock) -> None:
    client, sign, target, data = setup
    target.parent.mkdir(parents=True)
    fd = os.open(part_of(target), os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(SegmentBusyError):
            await fetch(client, sign, target, data, clock)
    finally:
        os.close(fd)
    assert cdn.requests == []
    assert (await fetch(client, sign, target, data, clock)).size == SIZE


async def test_50_mb_streams_in_bounded_chunked_writes(
    cdn: FakeCdn, make_sign, tmp_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    size, chunk = 50 * 1024 * 1024, 262144
    data = cdn.add("big/file_hi.mp4", size)
    real_write = os.write
    writes: list[int] = []

    def write(fd: int, buf: bytes) -> int:
        if os.readlink(f"/proc/self/fd/{fd}").endswith(".part"):
            writes.append(len(buf))
        return real_write(fd, buf)

    monkeypatch.setattr(os, "write", write)
    async with cdn.client() as client:
        result = await fetch_segment(
            client,
            make_sign(cdn.url("big/file_hi.mp4")),
            tmp_path / "big.mp4",
            expected_size=size,
            expected_sha256=sha(data),
            chunk_bytes=chunk,
            clock=clock,
        )
    assert result.size == size
    assert sum(writes) == size
    assert max(writes) <= chunk
    assert len(writes) >= size // chunk


async def test_verify_existing(tmp_path: Path) -> None:
    target = tmp_path / "f.mp4"
    data = b"x" * 5000
    assert await verify_existing(target, len(data), sha(data)) is None
    target.write_bytes(data)
    assert await verify_existing(target, len(data), sha(data)) == (len(data), sha(data))
    assert await verify_existing(target, None, sha(data)) == (len(data), sha(data))
    assert await verify_existing(target, len(data) + 1, sha(data)) is None
    assert await verify_existing(target, len(data), sha(b"other")) is None
    assert await verify_existing(target, len(data), None) is None  # a size alone proves nothing
    assert await verify_existing(tmp_path, None, sha(data)) is None
