"""A live media stack for end-to-end tests, the browser test and the benchmark: the media sandbox (catalogue
API + signed-URL CDN), the orchestrator, one or more media-downloader replicas and the gateway, each a real
process on a real nats-server and PostgreSQL.

A fresh RSA key pair is made per stack: the downloaders sign with the private key, the sandbox verifies with
the public one. :meth:`MediaStack.set_faults` replaces the CDN's faults (``PUT /_sandbox/faults``);
:meth:`MediaStack.segment_events` reads what the downloaders recorded, for exactness checks.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import nats
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from skillstream_contracts.registries import REGISTRIES
from skillstream_contracts.streams import MEDIA
from skillstream_gateway.tokens import mint_token
from skillstream_runtime.eventstore import EventStore, RecordedEvent
from skillstream_testing.services import ServiceProcess

KEY_PAIR_ID = "K2JCJMDEHXQW5F"
FAST_RETRIES = "0.2,0.4,0.6,0.8,1.0"
"""Seed 001's 30/60/120/300/600 s schedule scaled down (scheduled retries still wait to the next second)."""


def cdn_key(segment: dict[str, Any]) -> str:
    """The CDN object key a download of a catalogue ``segment`` (``video`` = ``mp4:<path>``) fetches at the
    default quality: ``<path>_med.mp4`` (what the sandbox's fault script and stats are keyed by)."""
    return str(segment["video"]).removeprefix("mp4:") + "_med.mp4"


def write_key_pair(directory: Path) -> tuple[Path, Path]:
    """A fresh RSA-2048 key pair as ``(private.pem, public.pem)`` in ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private, public = directory / "cloudfront-private.pem", directory / "cloudfront-public.pem"
    private.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    private.chmod(0o600)
    public.write_bytes(
        key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    return private, public


@dataclass
class MediaStack:
    """Handles on the running processes; ``storage_root`` is where the downloaders write."""

    nats_url: str
    database_url: str
    jwt_secret: str
    storage_root: Path
    sandbox: ServiceProcess
    orchestrator: ServiceProcess
    downloaders: list[ServiceProcess]
    gateway: ServiceProcess
    extra: dict[str, Any] = field(default_factory=dict)

    def token(self, role: str = "admin", subject: str | None = None, ttl: int = 3600) -> str:
        return mint_token(self.jwt_secret, subject=subject or f"test-{role}", roles=[role], ttl_seconds=ttl)

    def client(self, role: str = "admin", **kw: Any) -> httpx.AsyncClient:
        """An HTTP client of the gateway with a bearer token of ``role``."""
        return httpx.AsyncClient(
            base_url=self.gateway.url, headers={"Authorization": f"Bearer {self.token(role)}"}, timeout=30, **kw
        )

    async def _sandbox(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        async with httpx.AsyncClient(base_url=self.sandbox.url, timeout=30) as http:
            r = await http.request(method, path, json=body)
            r.raise_for_status()
            return dict(r.json()) if r.content else {}

    async def set_faults(self, **faults: Any) -> dict[str, Any]:
        """Replace the CDN's faults (keys as the sandbox README: ``latency_ms``, ``rates``, ``script`` …)."""
        return await self._sandbox("PUT", "/_sandbox/faults", faults)

    async def set_catalogue(self, **shape: Any) -> dict[str, Any]:
        """Regenerate the sandbox catalogue (``courses``, ``segments``, ``min_bytes``, ``max_bytes``, ``seed``)."""
        return await self._sandbox("PUT", "/_sandbox/catalogue", shape)

    async def sandbox_stats(self) -> dict[str, Any]:
        return await self._sandbox("GET", "/_sandbox/stats")

    async def reset_stats(self) -> None:
        await self._sandbox("POST", "/_sandbox/stats/reset")

    async def videos(self) -> dict[int, str]:
        """segment id → :func:`cdn_key`, for every segment of the catalogue with a video, in id order."""
        segments = [s for c in await self.courses() for ch in c["channels"] for s in ch["segments"]]
        return {s["id"]: cdn_key(s) for s in sorted(segments, key=lambda s: s["id"]) if s["video"].startswith("mp4:")}

    async def courses(self) -> list[dict[str, Any]]:
        """Every course document of the sandbox's catalogue API (all pages), in id order: what the
        downloaders read, for tests to compare against."""
        out: list[dict[str, Any]] = []
        async with httpx.AsyncClient(base_url=self.sandbox.url + "/catalogue/v1", timeout=60) as http:
            page, pages = 1, 1
            while page <= pages:
                listing = (await http.get("/courses", params={"page": page, "per_page": 500})).raise_for_status().json()
                pages = listing["pages"]
                for ref in listing["courses"]:
                    out.append((await http.get(f"/courses/{ref['id']}")).raise_for_status().json())
                page += 1
        return out

    async def segment_events(self) -> list[RecordedEvent]:
        """Every event on ``media.segment.>`` so far, oldest first."""
        nc = await nats.connect(self.nats_url)
        try:
            js = nc.jetstream()
            info = await js.stream_info(MEDIA.name)
            store = EventStore(nc, REGISTRIES)
            out: list[RecordedEvent] = []
            subjects = (await js.stream_info(MEDIA.name, subjects_filter="media.segment.>")).state.subjects or {}
            loads = await asyncio.gather(*(store.load(MEDIA, s) for s in subjects))
            for events in loads:
                out.extend(events)
            assert info.state.last_seq >= len(out)
            return sorted(out, key=lambda r: r.sequence)
        finally:
            await nc.close()

    def files(self) -> list[Path]:
        """Every regular file under the storage root (final files and leftovers alike)."""
        return sorted(p for p in self.storage_root.rglob("*") if p.is_file())


@contextlib.asynccontextmanager
async def media_stack(
    nats_url: str,
    database_url: str,
    tmp_path: Path,
    *,
    replicas: int = 1,
    media_env: dict[str, str] | None = None,
    sandbox_env: dict[str, str] | None = None,
) -> AsyncIterator[MediaStack]:
    """Start the sandbox, orchestrator, ``replicas`` media-downloaders (sharing one storage root) and the
    gateway; stop them all on exit. ``media_env`` adds ``MEDIA_*`` settings (retries default to
    :data:`FAST_RETRIES`, ack wait 3 s, no disk margin)."""
    private, public = write_key_pair(tmp_path / "keys")
    secret = secrets.token_urlsafe(48)
    storage = tmp_path / "media"
    common = {"NATS_URL": nats_url, "DATABASE_URL": database_url, "DATA_DIR": str(tmp_path / "data")}
    sandbox = ServiceProcess(
        "media-sandbox",
        {
            "MEDIA_SANDBOX_PUBLIC_KEY_FILE": str(public),
            "MEDIA_SANDBOX_KEY_PAIR_ID": KEY_PAIR_ID,
            **(sandbox_env or {}),
        },
        tmp_path / "media-sandbox.log",
        ready_path="/healthz",
    )
    orchestrator = ServiceProcess(
        "orchestrator",
        {**common, "JOB_REPORT_STREAMS": '["MEDIA"]', "PROGRESS_PUBLISH_INTERVAL": "0.1"},
        tmp_path / "orchestrator.log",
    )
    env = {
        **common,
        "MEDIA_CATALOGUE_URL": sandbox.url + "/catalogue/v1",
        "MEDIA_CDN_BASE_URL": sandbox.url + "/cdn",
        "MEDIA_KEY_PAIR_ID": KEY_PAIR_ID,
        "MEDIA_PRIVATE_KEY_FILE": str(private),
        "MEDIA_STORAGE_ROOT": str(storage),
        "MEDIA_RETRY_DELAYS": FAST_RETRIES,
        "MEDIA_ACK_WAIT": "3",
        "MEDIA_DISK_MARGIN_BYTES": "0",
        "MEDIA_DISK_RECHECK": "1",
        "MEDIA_CATALOGUE_CACHE": "0",
        **(media_env or {}),
    }
    downloaders = [
        ServiceProcess("media-downloader", env, tmp_path / f"media-downloader-{i}.log") for i in range(replicas)
    ]
    gateway = ServiceProcess(
        "gateway", {**common, "JWT_SECRET": secret, "GATEWAY_DEV_LOGIN": "true"}, tmp_path / "gateway.log"
    )
    stack = MediaStack(nats_url, database_url, secret, storage, sandbox, orchestrator, downloaders, gateway)
    procs = (sandbox, orchestrator, *downloaders, gateway)
    try:
        await asyncio.to_thread(sandbox.start)
        await asyncio.gather(*(asyncio.to_thread(p.start) for p in procs[1:]))
        yield stack
    finally:
        await asyncio.gather(*(asyncio.to_thread(p.stop) for p in reversed(procs)), return_exceptions=True)


__all__ = ["FAST_RETRIES", "KEY_PAIR_ID", "MediaStack", "cdn_key", "media_stack", "write_key_pair"]
