"""One download attempt of one segment file from the signed-URL CDN (REFERENCE-OPERATIONS §1.4, §2.2, §2.3, §2.6).

- The body streams in ``chunk_bytes`` pieces into ``<target>.part`` (never whole in memory, unlike the original
  job's ``getContents()``); the strong ETag goes to ``<target>.part.etag``; the ``.part`` is flock-ed.
- Resume: a ``.part`` with a known ETag is hashed (in a thread) and continued with ``Range: bytes=<size>-`` and
  ``If-Range: <etag>``. 206 must start at our size (yt-dlp); 200 means the range was ignored (CloudFront with
  gzip, hf_hub) or the file changed: start over. ``Accept-Encoding: identity`` always.
- Signed URLs: CloudFront checks expiry when a request starts (§2.2), so a URL with less than
  ``url_min_remaining`` seconds left is re-signed before a request; a 403 on such a URL re-signs and retries at
  once (not an attempt); a 403 on a fresh URL re-signs once (clock skew), then raises HttpStatusError(403).
- Done = fsync, size == declared == expected, SHA-256 == expected, ``os.replace`` onto the target, directory
  fsync. A mismatch deletes the ``.part``; a broken transfer keeps the bytes fully written, for resuming.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import structlog

from skillstream_media_downloader.adapters.disk import PartFile
from skillstream_media_downloader.adapters.signing import SignedUrl, UrlLease
from skillstream_media_downloader.domain.retry import Verdict, parse_retry_after
from skillstream_media_downloader.errors import (
    HttpStatusError,
    MediaError,
    SegmentBusyError,
    TransferError,
    VerificationError,
)

_log = structlog.get_logger(__name__)
_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)")
_UNSATISFIED_RANGE = re.compile(r"bytes \*/(\d+)")
_STRONG_ETAG = re.compile(r'"[\x21\x23-\x7e]*"')  # RFC 9110 entity-tag without W/, ASCII only
_ERROR_CODE = re.compile(rb"<Code>([A-Za-z0-9.]{1,64})</Code>")
_ERROR_BODY_MAX = 16384
_RETRY_STATUSES = frozenset({408, 425, 429})


@dataclass(frozen=True, slots=True)
class FetchResult:
    """A verified file in place: ``size`` (bytes), ``sha256`` (lowercase hex), ``seconds`` the attempt took,
    ``resumed_from`` (bytes already on disk that the final response continued; 0 = whole file) and
    ``resigns`` (URLs signed after the first)."""

    size: int
    sha256: str
    seconds: float
    resumed_from: int
    resigns: int


async def fetch_segment(
    client: httpx.AsyncClient,
    sign: Callable[[], SignedUrl],
    target: Path,
    *,
    expected_size: int | None,
    expected_sha256: str | None,
    chunk_bytes: int = 262144,
    url_min_remaining: float = 60,
    max_resigns: int = 3,
    clock: Callable[[], float] = time.time,
    on_bytes: Callable[[int], None] | None = None,
    begun: Callable[[], Awaitable[None]] | None = None,
) -> FetchResult:
    """Download one file to ``target`` (its parent is created), resuming its ``.part`` when possible.

    ``sign()`` returns a freshly signed URL (called at the start and for re-signs); ``clock()`` is Unix time;
    ``on_bytes(n)`` is told of every ``n`` bytes written. ``begun()`` is awaited once, when the first response's
    headers are in and before a byte is written to the ``.part``, so the caller can record the attempt while the request
    is on its way; whatever it raises ends the download there. Errors carry ``partial_bytes`` (the ``.part``
    kept).

    Raises:
        SegmentBusyError: another download holds the ``.part`` lock.
        HttpStatusError: a status other than 200/206/416 (``retry_after`` parsed), or 403 after the re-signs.
        TransferError: network error, timeout, reset or truncated body (prefix kept); bad Content-Range or an
            unsatisfiable range on an incomplete file (``.part`` deleted).
        VerificationError: size or SHA-256 differs (``.part`` deleted).
        DiskFullError: ENOSPC while writing (``.part`` cut back to its last whole write; target untouched).
        SigningError: ``sign()`` failed or returned a URL with less than ``url_min_remaining`` left.
    """
    started = time.monotonic()
    part = PartFile.acquire(Path(target))
    try:
        await part.load(expected_size)
        urls = UrlLease(sign, clock, url_min_remaining, max_resigns)
        body: _Body | None = None
        while body is None:
            signed = urls.for_request()
            body = await _request(client, signed, part, urls, expected_size, chunk_bytes, on_bytes, begun)
            begun = None
        resource = signed.resource
        declared = body.total if body.total is not None else expected_size
        if declared is not None and part.size < declared:
            raise TransferError(f"only {part.size} of {declared} B arrived", resource=resource)
        for wanted, source in ((body.total, "the CDN declared"), (expected_size, "the catalogue expects")):
            if wanted is not None and part.size != wanted:
                why = f"size mismatch: wrote {part.size} B, {source} {wanted} B"
                part.discard()
                raise VerificationError(why, resource=resource)
        digest = part.hexdigest()
        if expected_sha256 is not None and digest != expected_sha256.lower():
            size = part.size
            part.discard()
            why = f"sha256 mismatch on {size} B: got {digest[:12]}…, expected {expected_sha256[:12]}…"
            raise VerificationError(why, resource=resource)
        await part.sync()
        size = part.size
        await part.commit()
        return FetchResult(size, digest, time.monotonic() - started, body.start, urls.resigns)
    except MediaError as exc:
        exc.partial_bytes = part.size
        raise
    finally:
        part.close()


def classify(exc: BaseException) -> Verdict:
    """The verdict on an error raised by an attempt (REFERENCE-OPERATIONS §1.4).

    403 → ``RESIGN``; 408, 425, 429, 5xx, :class:`TransferError`, :class:`VerificationError`,
    :class:`SegmentBusyError` and raw httpx transport errors → ``RETRY``; everything else → ``FAIL``, including
    :class:`DiskSpaceError` (the caller pauses or fails the job: waiting does not free disk space).
    """
    if isinstance(exc, HttpStatusError):
        if exc.status == 403:
            return Verdict.RESIGN
        if exc.status in _RETRY_STATUSES or exc.status >= 500:
            return Verdict.RETRY
        return Verdict.FAIL
    if isinstance(exc, TransferError | VerificationError | SegmentBusyError | httpx.TransportError):
        return Verdict.RETRY
    return Verdict.FAIL  # DiskSpaceError, UnsafePathError, SigningError, CatalogueError, unexpected errors


@dataclass(frozen=True, kw_only=True)
class CdnFetcher:
    """The CDN as the segment handler uses it: :func:`fetch_segment` through ``client`` (its timeouts and
    connection pool apply) with ``chunk_bytes`` per write, ``url_min_remaining`` seconds and Unix ``clock``."""

    client: httpx.AsyncClient
    chunk_bytes: int = 262144
    url_min_remaining: float = 60
    clock: Callable[[], float] = time.time

    async def fetch(
        self,
        sign: Callable[[], SignedUrl],
        target: Path,
        *,
        expected_size: int | None,
        expected_sha256: str | None,
        begun: Callable[[], Awaitable[None]] | None = None,
    ) -> FetchResult:
        """Download one file to ``target``; raises as :func:`fetch_segment` does."""
        return await fetch_segment(
            self.client,
            sign,
            target,
            expected_size=expected_size,
            expected_sha256=expected_sha256,
            chunk_bytes=self.chunk_bytes,
            url_min_remaining=self.url_min_remaining,
            clock=self.clock,
            begun=begun,
        )


@dataclass(frozen=True, slots=True)
class _Body:
    """What the final response delivered: the offset it continued from and the file's total size if known."""

    start: int
    total: int | None


def _write(part: PartFile, data: bytearray, on_bytes: Callable[[int], None] | None) -> None:
    part.append(bytes(data))
    if on_bytes is not None:
        on_bytes(len(data))


async def _request(
    client: httpx.AsyncClient,
    signed: SignedUrl,
    part: PartFile,
    urls: UrlLease,
    expected_size: int | None,
    chunk_bytes: int,
    on_bytes: Callable[[int], None] | None,
    begun: Callable[[], Awaitable[None]] | None = None,
) -> _Body | None:
    """One GET: None after a 403 that re-signed (send again), else what the body completed. ``begun``: awaited
    once the headers are in (see :func:`fetch_segment`)."""
    resource = signed.resource
    headers = {"Accept-Encoding": "identity"}
    if part.size and part.etag:
        headers |= {"Range": f"bytes={part.size}-", "If-Range": part.etag}
    try:
        async with client.stream("GET", signed.url, headers=headers) as response:
            if begun is not None:
                await begun()
            status = response.status_code
            if status == 403:
                urls.after_403(await _error_code(response))
                return None
            if status == 416:
                return _Body(part.size, _unsatisfiable(response, part, expected_size, resource))
            if status not in {200, 206}:
                retry_after = parse_retry_after(response.headers.get("Retry-After"), urls.clock())
                code = await _error_code(response)
                raise HttpStatusError(status, resource=resource, retry_after=retry_after, code=code)
            length, total = _prepare(response, part, expected_size, resource)
            start, received = part.size, 0
            # Raw network chunks (identity only: see _prepare) coalesced up to chunk_bytes per write; whatever
            # arrived before a reset is still written, so the next attempt resumes from every byte received.
            buffer = bytearray()
            try:
                async for chunk in response.aiter_raw():
                    if length is not None and received + len(chunk) > length:
                        buffer.clear()
                        part.discard()
                        raise VerificationError(f"the body is longer than its {length} B", resource=resource)
                    buffer += chunk
                    received += len(chunk)
                    while len(buffer) >= chunk_bytes:
                        _write(part, buffer[:chunk_bytes], on_bytes)
                        del buffer[:chunk_bytes]
            finally:
                if buffer:
                    _write(part, buffer, on_bytes)
            if length is not None and received < length:
                raise TransferError(f"body truncated: {received} of {length} B", resource=resource)
            return _Body(start, total)
    except httpx.TimeoutException as exc:
        raise TransferError(f"timed out ({type(exc).__name__}) at {part.size} B", resource=resource) from exc
    except httpx.TransportError as exc:
        why = f"connection broke ({type(exc).__name__}: {exc}) at {part.size} B"
        raise TransferError(why, resource=resource) from exc


def _prepare(
    response: httpx.Response, part: PartFile, expected_size: int | None, resource: str
) -> tuple[int | None, int | None]:
    """Check a 200/206's headers against the ``.part``; ``(body length, total size)``, None when unknown."""
    encoding = response.headers.get("Content-Encoding", "identity").strip().lower()
    if encoding not in {"", "identity"}:
        raise TransferError(f"Content-Encoding {encoding} despite Accept-Encoding: identity", resource=resource)
    raw_length = response.headers.get("Content-Length", "")
    length = int(raw_length) if raw_length.isdigit() else None
    raw_etag = response.headers.get("ETag", "").strip()
    etag = raw_etag if _STRONG_ETAG.fullmatch(raw_etag) else None
    if response.status_code == 200:
        if part.size:
            _log.info("range ignored or file changed: restarting", resource=resource, discarded=part.size)
        part.restart(etag)
        total = length
    else:
        value = response.headers.get("Content-Range", "").strip()
        match = _CONTENT_RANGE.fullmatch(value)
        start, end = (int(match[1]), int(match[2])) if match else (-1, -1)
        total = int(match[3]) if match and match[3] != "*" else None
        offset = part.size
        problem = _range_problem(match is not None, start, end, total, offset, length)
        if problem is None and offset and etag is not None and etag != part.etag:
            problem = "its ETag differs from the one resumed"
        if problem:
            part.discard()
            raise TransferError(f"206 with Content-Range {value!r}: {problem}", resource=resource)
        if offset == 0:
            part.restart(etag)
        length = end - start + 1
    if total is not None and expected_size is not None and total != expected_size:
        part.discard()
        raise VerificationError(f"the CDN serves {total} B, the catalogue expects {expected_size} B", resource=resource)
    return length, total


def _range_problem(
    parsed: bool, start: int, end: int, total: int | None, offset: int, length: int | None
) -> str | None:
    if not parsed or end < start or (total is not None and end >= total):
        return "no usable Content-Range"
    if start != offset:
        return f"it starts at {start}, not at the {offset} B on disk"
    if length is not None and length != end - start + 1:
        return "Content-Length disagrees with it"
    return None


def _unsatisfiable(response: httpx.Response, part: PartFile, expected_size: int | None, resource: str) -> int:
    """416: the ``.part`` is complete when it already holds the total size (verified by the caller)."""
    match = _UNSATISFIED_RANGE.fullmatch(response.headers.get("Content-Range", "").strip())
    total = int(match[1]) if match else expected_size
    if part.size and total == part.size:
        return total
    held = part.size
    part.discard()
    raise TransferError(f"416 for a {held} B partial file of {total} B; restarting", resource=resource)


async def _error_code(response: httpx.Response) -> str | None:
    """The ``<Code>`` of a CloudFront/S3 XML error body, reading at most 16 KiB of it."""
    body = bytearray()
    with contextlib.suppress(httpx.TransportError, httpx.DecodingError):  # the status is the answer already
        async for chunk in response.aiter_bytes():
            body += chunk
            if len(body) >= _ERROR_BODY_MAX:
                break
    match = _ERROR_CODE.search(body)
    return match[1].decode("ascii") if match else None


__all__ = ["CdnFetcher", "FetchResult", "classify", "fetch_segment"]
