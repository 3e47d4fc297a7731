"""Revoked sessions, shared by every gateway replica: the JetStream KV bucket ``gateway_revoked_tokens``.

``DELETE /auth/session`` writes the token's key with a per-key TTL equal to the token's remaining life plus the
verification leeway, so an entry lives exactly as long as the token could still be accepted and then the
server removes it (no bucket ``max_age``: token lives differ). Keys (:func:`revocation_key`): ``jti.<jti>``
for a token with a ``jti`` claim in the KV key alphabet (the gateway's own tokens: 32 hex digits),
``jti.<sha256 of the jti>`` for any other ``jti``, and ``token.<sha256 of the token>`` for a token without
one (an identity provider's), so every token can be revoked on its own. Value: JSON ``{"sub", "exp"}``.

Each replica keeps the revoked keys in memory, fed by a watch of the bucket (every current key first, then
each new one as it is written), so checking a request is a set lookup; a revocation made on another replica
arrives within the watch's delivery time (milliseconds). Until the first full read of the bucket a check
waits up to ``ready_timeout`` seconds, then fails closed (:class:`RevocationUnavailable`); while NATS is away
afterwards, checks use the copy and the watch is retried every second (it delivers every current key again).
An open event stream waits on :meth:`RevocationList.wait_revoked` and ends when its token is revoked.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import re
import time
from datetime import datetime

import nats.errors
import nats.js.errors
import structlog
from nats.aio.client import Client
from nats.js.api import KeyValueConfig, StorageType
from nats.js.kv import KV_DEL, KV_PURGE, KeyValue

REVOKED_BUCKET = "gateway_revoked_tokens"
"""Name of the KV bucket of revoked tokens."""

_PLAIN_JTI = re.compile(r"[A-Za-z0-9_-]{1,128}")
_MIN_TTL_SECONDS = 1.0
_RETRY_SECONDS = 1.0
log = structlog.get_logger(__name__)


class RevocationUnavailable(Exception):
    """The revocation list could not be read (NATS or the bucket unavailable): a request cannot be allowed."""


def revocation_key(jti: str | None, token: str) -> str:
    """The bucket key of a token: ``jti.<jti>``, ``jti.<sha256(jti)>`` or ``token.<sha256(token)>``."""
    if jti:
        if _PLAIN_JTI.fullmatch(jti):
            return f"jti.{jti}"
        return "jti." + hashlib.sha256(jti.encode()).hexdigest()
    return "token." + hashlib.sha256(token.encode()).hexdigest()


async def open_bucket(nc: Client, replicas: int = 1) -> KeyValue:
    """The revocation bucket, created when missing (file storage, history 1, per-key TTLs allowed).

    Raises:
        nats.errors.Error: NATS or JetStream unavailable.
    """
    js = nc.jetstream()
    try:
        return await js.key_value(REVOKED_BUCKET)
    except nats.js.errors.BucketNotFoundError:
        config = KeyValueConfig(
            bucket=REVOKED_BUCKET,
            description="Revoked gateway sessions (key per token, TTL = the token's remaining life)",
            storage=StorageType.FILE,
            history=1,
            replicas=replicas,
        )
        return await js.create_key_value(config)


class RevocationList:
    """The revoked tokens of one gateway replica: writes go to the bucket, reads to the watched copy.

    ``leeway``: seconds a token is still accepted after its ``exp`` (the verifier's clock skew), added to each
    entry's TTL. ``stopping``: set at shutdown, ends the watch.
    """

    def __init__(
        self,
        nc: Client,
        *,
        replicas: int = 1,
        leeway: float = 30.0,
        ready_timeout: float = 5.0,
        stopping: asyncio.Event | None = None,
    ) -> None:
        self._nc = nc
        self._replicas = replicas
        self._leeway = leeway
        self._ready_timeout = ready_timeout
        self._stopping = stopping or asyncio.Event()
        self._revoked: dict[str, float] = {}  # key -> exp (seconds since the epoch)
        self._waiters: dict[str, tuple[asyncio.Event, int]] = {}  # key -> (event, streams waiting on it)
        self._ready = asyncio.Event()
        self._kv: KeyValue | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def awaited(self) -> int:
        """How many tokens open streams are waiting on (each forgotten when its last stream ends)."""
        return len(self._waiters)

    def start(self) -> None:
        """Start watching the bucket (once; later calls do nothing)."""
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._watch(), name="revocation-watch")

    async def stop(self) -> None:
        """Stop watching."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None

    async def is_revoked(self, key: str) -> bool:
        """Whether ``key`` (:func:`revocation_key`) is revoked.

        Raises:
            RevocationUnavailable: the bucket has not been read within ``ready_timeout`` seconds.
        """
        await self._wait_ready()
        return key in self._revoked

    async def revoke(self, key: str, expires_at: datetime, sub: str) -> None:
        """Revoke ``key`` until ``expires_at`` (the token's ``exp``) plus the leeway; idempotent.

        Raises:
            RevocationUnavailable: the bucket could not be written.
        """
        exp = expires_at.timestamp()
        ttl = max(_MIN_TTL_SECONDS, exp + self._leeway - time.time())
        value = json.dumps({"sub": sub, "exp": int(exp)}).encode()
        try:
            kv = await self._bucket()
            await kv.create(key, value, msg_ttl=ttl)
        except nats.js.errors.KeyWrongLastSequenceError:
            pass  # already revoked (by another request or replica)
        except (nats.errors.Error, OSError) as e:
            raise RevocationUnavailable(f"the revocation list could not be written: {e!r}") from e
        self._add(key, exp)

    async def wait_revoked(self, key: str) -> None:
        """Return once ``key`` is revoked (at once when it already is)."""
        if key in self._revoked:
            return
        event, waiting = self._waiters.get(key, (asyncio.Event(), 0))
        self._waiters[key] = (event, waiting + 1)
        try:
            await event.wait()
        finally:  # the last stream of a session forgets its event, whether revoked, expired or gone
            held = self._waiters.get(key)
            if held is not None and held[0] is event:
                if held[1] <= 1:
                    del self._waiters[key]
                else:
                    self._waiters[key] = (event, held[1] - 1)

    def _add(self, key: str, exp: float) -> None:
        self._revoked[key] = exp
        held = self._waiters.pop(key, None)
        if held is not None:
            held[0].set()
        if len(self._revoked) % 256 == 0:
            self._prune()

    def _prune(self) -> None:
        """Forget entries whose tokens can no longer be accepted anyway (the bucket drops them by TTL)."""
        cutoff = time.time() - self._leeway
        for key in [k for k, exp in self._revoked.items() if exp < cutoff]:
            del self._revoked[key]

    async def _bucket(self) -> KeyValue:
        if self._kv is None:
            self._kv = await open_bucket(self._nc, self._replicas)
        return self._kv

    async def _wait_ready(self) -> None:
        self.start()
        if self._ready.is_set():
            return
        try:
            await asyncio.wait_for(self._ready.wait(), self._ready_timeout)
        except TimeoutError as e:
            raise RevocationUnavailable("the revocation list has not been read yet") from e

    def _apply(self, entry: KeyValue.Entry | None) -> None:
        if entry is None:  # every key present when the watch began has been delivered
            self._ready.set()
        elif entry.operation in (KV_DEL, KV_PURGE):
            self._revoked.pop(entry.key, None)
        else:
            self._add(entry.key, _expiry(entry.value))

    async def _watch(self) -> None:
        """Copy the bucket into memory and follow it; on a failure, retry every second until stopped."""
        while not self._stopping.is_set():
            try:
                kv = await self._bucket()
                watcher = await kv.watchall()
                try:
                    while not self._stopping.is_set():
                        try:
                            entry = await watcher.updates(timeout=_RETRY_SECONDS)  # type: ignore[no-untyped-call]
                        except nats.errors.TimeoutError:
                            continue  # nothing new: look at the stopping flag again
                        self._apply(entry)
                finally:
                    with contextlib.suppress(Exception):
                        await watcher.stop()  # type: ignore[no-untyped-call]
            except asyncio.CancelledError:
                raise
            except Exception as e:  # noqa: BLE001 - NATS away or the bucket missing: keep trying
                log.warning("revocation watch interrupted", error=repr(e))
                self._kv = None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), _RETRY_SECONDS)


def _expiry(value: bytes | None) -> float:
    """The ``exp`` of an entry's value; far in the future when unreadable (keep it revoked)."""
    try:
        exp = json.loads(value or b"{}")["exp"]
        return float(exp)
    except (ValueError, KeyError, TypeError):
        return float("inf")


__all__ = ["REVOKED_BUCKET", "RevocationList", "RevocationUnavailable", "open_bucket", "revocation_key"]
