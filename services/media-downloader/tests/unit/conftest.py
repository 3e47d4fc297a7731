"""Fixtures of the unit tests: an RSA key pair, a fake clock, a fake CloudFront CDN, and the handler harness.

:class:`FakeCdn` is an ``httpx.MockTransport`` handler that speaks the media spec §2 protocol: it verifies the
canned-policy signature with the public key and the expiry against its own clock, serves deterministic bytes
with strong ETags, ``Range``/``If-Range`` and 416, and plays scripted faults per object key. ``harness`` wires
the segment handler's dependencies to them (:mod:`.harness`).
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, unquote

import httpx
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from skillstream_contracts.media import MEDIA_EVENTS
from skillstream_contracts.streams import MEDIA
from skillstream_media_downloader.adapters.fetch import CdnFetcher
from skillstream_media_downloader.adapters.signing import CloudFrontSigner, SignedUrl
from skillstream_media_downloader.handlers.download import SegmentDeps
from skillstream_runtime.memorystore import InMemoryEventStore

from .harness import Harness, RecordingQueue, TmpDisk, settings

KEY_PAIR_ID = "K2JCJMDEHXQW5F"
CDN_BASE = "http://cdn.test/cdn"
T0 = 1_700_000_000.0


def content(key: str, size: int) -> bytes:
    """Deterministic bytes of an object, like the sandbox's generated blocks."""
    return hashlib.shake_128(f"7:{key}".encode()).digest(size)


@pytest.fixture(scope="session")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="session")
def private_pem(rsa_key: rsa.RSAPrivateKey) -> bytes:
    return rsa_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


@pytest.fixture(scope="session")
def signer(private_pem: bytes) -> CloudFrontSigner:
    return CloudFrontSigner(KEY_PAIR_ID, private_pem)


class FakeClock:
    """Unix time that only moves when told to."""

    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@dataclass
class FakeCdn:
    """The CDN. ``script[key]`` lists outcomes of the key's next requests: ``ok``, ``403``, ``404``, ``429``,
    ``503``, ``reset`` (half the body, then a read error), ``truncate`` (half the body, then the end),
    ``wrong_bytes``, ``bad_range`` (206 starting one byte late), ``gzip``; ``outcome@+S`` first advances the
    client clock by S seconds. ``skew`` is the CDN clock minus the client clock."""

    public_key: rsa.RSAPublicKey
    clock: FakeClock
    files: dict[str, bytes] = field(default_factory=dict)
    script: dict[str, list[str]] = field(default_factory=dict)
    etag_salt: str = ""
    ignore_range: bool = False
    skew: float = 0.0
    retry_after: str = "7"
    block: int = 65536
    requests: list[httpx.Request] = field(default_factory=list)
    denied: list[str] = field(default_factory=list)
    bytes_sent: int = 0

    def add(self, key: str, size: int) -> bytes:
        self.files[key] = data = content(key, size)
        return data

    def url(self, key: str) -> str:
        return f"{CDN_BASE}/{key}"

    def etag(self, key: str) -> str:
        return '"' + hashlib.sha256(self.files[key] + self.etag_salt.encode()).hexdigest()[:32] + '"'

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(self.handler))

    async def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        raw = request.url.raw_path.decode("ascii")
        path, _, query = raw.partition("?")
        denial = self._check_signature(request, query)
        if denial:
            self.denied.append(denial)
            return _xml(403, "AccessDenied", "Access denied")
        key = unquote(path.removeprefix("/cdn/"))
        queue = self.script.get(key)
        outcome = queue.pop(0) if queue else "ok"
        outcome, _, advance = outcome.partition("@+")
        self.clock.now += float(advance or 0)
        if key not in self.files or outcome == "404":
            return _xml(404, "NoSuchKey", "The specified key does not exist.")
        if outcome == "403":
            return _xml(403, "AccessDenied", "Access denied")
        if outcome in {"429", "503"}:
            return httpx.Response(int(outcome), headers={"Retry-After": self.retry_after}, content=b"busy")
        return self._serve(request, key, outcome)

    def _check_signature(self, request: httpx.Request, query: str) -> str | None:
        params = dict(parse_qsl(query, keep_blank_values=True))
        if "Key-Pair-Id" not in params or "Expires" not in params or "Signature" not in params:
            return "missing"
        if params["Key-Pair-Id"] != KEY_PAIR_ID:
            return "unknown_key"
        resource = str(request.url).split("?", 1)[0]
        kept = [p for p in query.split("&") if p.partition("=")[0] not in {"Expires", "Signature", "Key-Pair-Id"}]
        if kept:
            resource += "?" + "&".join(kept)
        expires = int(params["Expires"])
        policy = json.dumps(
            {"Statement": [{"Resource": resource, "Condition": {"DateLessThan": {"AWS:EpochTime": expires}}}]},
            separators=(",", ":"),
        ).encode()
        signature = base64.b64decode(params["Signature"].translate(str.maketrans("-_~", "+=/")))
        try:
            self.public_key.verify(signature, policy, padding.PKCS1v15(), hashes.SHA1())
        except InvalidSignature:
            return "bad_signature"
        if self.clock() + self.skew >= expires:
            return "expired"
        return None

    def _serve(self, request: httpx.Request, key: str, outcome: str) -> httpx.Response:
        data = self.files[key]
        etag = self.etag(key)
        start, status = 0, 200
        headers = {"ETag": etag, "Accept-Ranges": "bytes", "Content-Type": "video/mp4"}
        wanted = request.headers.get("Range")
        if_range = request.headers.get("If-Range")
        if wanted and not self.ignore_range and (if_range is None or if_range == etag):
            start = int(wanted.removeprefix("bytes=").split("-")[0])
            if start >= len(data):
                return httpx.Response(416, headers={"Content-Range": f"bytes */{len(data)}"})
            status = 206
            shown = start + 1 if outcome == "bad_range" else start
            headers["Content-Range"] = f"bytes {shown}-{len(data) - 1}/{len(data)}"
        body = data[start:]
        if outcome == "wrong_bytes":
            body = bytes([body[0] ^ 0xFF]) + body[1:]
        if outcome == "gzip":
            headers["Content-Encoding"] = "gzip"
        headers["Content-Length"] = str(len(body))
        cut = len(body) // 2 if outcome in {"reset", "truncate"} else len(body)
        return httpx.Response(status, headers=headers, content=self._stream(body[:cut], outcome == "reset"))

    async def _stream(self, body: bytes, reset: bool) -> AsyncIterator[bytes]:
        for i in range(0, len(body), self.block):
            piece = body[i : i + self.block]
            self.bytes_sent += len(piece)
            yield piece
        if reset:
            raise httpx.ReadError("Connection reset by peer")


def _xml(status: int, code: str, message: str) -> httpx.Response:
    body = f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code><Message>{message}</Message></Error>'
    return httpx.Response(status, headers={"Content-Type": "text/xml"}, content=body.encode())


@pytest.fixture
def cdn(rsa_key: rsa.RSAPrivateKey, clock: FakeClock) -> FakeCdn:
    return FakeCdn(public_key=rsa_key.public_key(), clock=clock)


@pytest.fixture
def make_sign(signer: CloudFrontSigner, clock: FakeClock) -> Callable[..., Callable[[], SignedUrl]]:
    """``make_sign(url, lifetime=7200)`` → the ``sign()`` callable fetch_segment takes, counting its calls."""

    def make(url: str, lifetime: float = 7200) -> Callable[[], SignedUrl]:
        def sign() -> SignedUrl:
            sign.calls += 1  # type: ignore[attr-defined]
            return signer.sign_for(url, lifetime, now=clock())

        sign.calls = 0  # type: ignore[attr-defined]
        return sign

    return make


@pytest.fixture
async def harness(tmp_path: Path, cdn: FakeCdn, clock: FakeClock, signer: CloudFrontSigner) -> AsyncIterator[Harness]:
    store = InMemoryEventStore({MEDIA.name: MEDIA_EVENTS})
    disk = TmpDisk((tmp_path / "media").resolve())
    queue = RecordingQueue()
    async with httpx.AsyncClient(transport=httpx.MockTransport(cdn.handler)) as client:
        deps = SegmentDeps(
            store=store,
            signer=signer,
            fetcher=CdnFetcher(client=client, chunk_bytes=16384, url_min_remaining=60, clock=clock),
            disk=disk,
            queue=queue,
            settings=settings(disk.root, CDN_BASE),
            worker="test-1",
            clock=clock,
            rng=random.Random(5),
        )
        yield Harness(store=store, cdn=cdn, clock=clock, disk=disk, queue=queue, deps=deps)
