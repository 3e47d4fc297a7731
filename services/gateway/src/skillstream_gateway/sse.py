"""Live job progress for browsers: one NATS subscription per gateway, fanned out to SSE connections.

The orchestrator publishes each changed progress document on ``progress.jobs.<job_id>``, in sequence
order (``skillstream_orchestrator.projections.publisher``): a sequence is drawn in commit order, so once a document
numbered N is out, every change numbered below N is reflected in what came before. The :class:`ProgressHub`
decodes each document once and offers it to the connections that watch its job (or all jobs and may see it).

Each SSE connection (:func:`progress_events`):

1. registers with the hub first (so nothing published during step 2 is lost), then
2. sends an initial snapshot: the documents changed after ``Last-Event-ID`` (every one of them, paged), or
   without it the watched job / the 50 most recently changed jobs;
3. then sends what the hub offers, newest document per job, in sequence order, at most one flush per
   ``min_interval`` seconds (coalescing: a job that changes 20 times a second reaches a browser 4 times);
4. sends only documents above its high-water mark, so ``id`` is strictly increasing on a connection and a
   reconnect with the last id it received resumes with nothing missed;
5. ends when the session that opened it ends (``session_end()`` completes: the token's ``exp`` passed, or it was
   revoked by signing out), with a last comment ``: session expired`` / ``: session revoked`` and nothing
   after it. The browser then reconnects, and a fresh session continues from ``Last-Event-ID`` while an
   ended one gets 401.

Keep-alive comments and the ``retry:`` field come from sse-starlette and the first event.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from typing import Any

import msgspec
import structlog
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from sse_starlette import ServerSentEvent

from skillstream_contracts.jobs import PROGRESS_SINCE, PROGRESS_SUBJECT_PREFIX, JobProgress, ProgressPage, ProgressSince
from skillstream_runtime.endpoints import request
from skillstream_runtime.errors import RequestError

log = structlog.get_logger(__name__)

INITIAL_JOBS = 50
_RESUME_PAGE = 500


class Watcher:
    """One SSE connection's view of the hub: the newest pending document per job and a wake-up event."""

    def __init__(self, job_id: str | None, requested_by: str | None) -> None:
        self.job_id = job_id
        self.requested_by = requested_by
        self.high_water = 0
        self.pending: dict[str, tuple[JobProgress, str]] = {}
        self.wake = asyncio.Event()

    def offer(self, doc: JobProgress, raw: str) -> None:
        if doc.sequence <= self.high_water:
            return
        if self.requested_by is not None and doc.requested_by != self.requested_by:
            return
        held = self.pending.get(doc.job_id)
        if held is None or held[0].sequence < doc.sequence:
            self.pending[doc.job_id] = (doc, raw)
            self.wake.set()

    def take(self) -> list[tuple[JobProgress, str]]:
        """The pending documents above the high-water mark, in sequence order (advances the mark)."""
        docs = sorted(self.pending.values(), key=lambda d: d[0].sequence)
        self.pending.clear()
        self.wake.clear()
        out = [d for d in docs if d[0].sequence > self.high_water]
        if out:
            self.high_water = out[-1][0].sequence
        return out


class ProgressHub:
    """Receives progress documents from NATS and offers them to the :class:`Watcher` of each connection."""

    def __init__(self, nc: Client, stopping: asyncio.Event | None = None) -> None:
        self._nc = nc
        self.stopping = stopping or asyncio.Event()
        self._sub: Subscription | None = None
        self._lock = asyncio.Lock()
        self._by_job: dict[str, set[Watcher]] = {}
        self._all: set[Watcher] = set()
        self._decoder = msgspec.json.Decoder(JobProgress)
        self.received = 0

    @property
    def nc(self) -> Client:
        return self._nc

    @property
    def watchers(self) -> int:
        return len(self._all) + sum(len(w) for w in self._by_job.values())

    async def start(self) -> None:
        """Subscribe to ``progress.jobs.*`` (once; later calls return at once)."""
        async with self._lock:
            if self._sub is None:
                self._sub = await self._nc.subscribe(f"{PROGRESS_SUBJECT_PREFIX}.*", cb=self._on_message)

    async def stop(self) -> None:
        if self._sub is not None:
            with contextlib.suppress(Exception):
                await self._sub.unsubscribe()
            self._sub = None

    def watch(self, job_id: str | None, requested_by: str | None) -> Watcher:
        """A new watcher of one job (``job_id``) or of every job (None), limited to one requester's jobs
        when ``requested_by`` is set."""
        w = Watcher(job_id, requested_by)
        if job_id is None:
            self._all.add(w)
        else:
            self._by_job.setdefault(job_id, set()).add(w)
        return w

    def unwatch(self, w: Watcher) -> None:
        if w.job_id is None:
            self._all.discard(w)
        else:
            ws = self._by_job.get(w.job_id)
            if ws is not None:
                ws.discard(w)
                if not ws:
                    del self._by_job[w.job_id]

    async def _on_message(self, msg: Msg) -> None:
        try:
            doc = self._decoder.decode(msg.data)
        except msgspec.MsgspecError as e:
            log.warning("undecodable progress document", subject=msg.subject, error=str(e))
            return
        self.received += 1
        raw = msg.data.decode()
        for w in self._by_job.get(doc.job_id, ()):
            w.offer(doc, raw)
        for w in self._all:
            w.offer(doc, raw)


def _event(doc: JobProgress, raw: str) -> ServerSentEvent:
    return ServerSentEvent(data=raw, event="progress", id=str(doc.sequence))


async def _initial(nc: Client, w: Watcher, last_event_id: int) -> list[JobProgress]:
    if last_event_id == 0:
        limit = 1 if w.job_id is not None else INITIAL_JOBS
        page = await request(
            nc,
            PROGRESS_SINCE,
            ProgressSince(after_sequence=0, job_id=w.job_id, requested_by=w.requested_by, limit=limit),
            ProgressPage,
        )
        return page.items
    out: list[JobProgress] = []
    after = last_event_id
    while True:  # every document changed since the client's last id, however many
        page = await request(
            nc,
            PROGRESS_SINCE,
            ProgressSince(after_sequence=after, job_id=w.job_id, requested_by=w.requested_by, limit=_RESUME_PAGE),
            ProgressPage,
        )
        out.extend(page.items)
        if len(page.items) < _RESUME_PAGE:
            return out
        after = page.items[-1].sequence


async def progress_events(
    hub: ProgressHub,
    *,
    job_id: str | None,
    requested_by: str | None,
    last_event_id: int,
    retry_ms: int,
    min_interval: float,
    session_end: Callable[[], Awaitable[str]] | None = None,
) -> AsyncIterator[ServerSentEvent]:
    """The SSE events of one connection (see the module docstring). Ends when the client goes away, the gateway
    stops, or what ``session_end()`` returns completes (its result, e.g. ``"expired"``, goes into the last
    comment)."""
    await hub.start()
    w = hub.watch(job_id, requested_by)
    w.high_water = last_event_id
    ended = asyncio.ensure_future(session_end() if session_end is not None else asyncio.Event().wait())
    try:
        async with contextlib.aclosing(_stream(hub, w, last_event_id, retry_ms, min_interval, ended)) as events:
            async for event in events:
                yield event
        if ended.done() and not ended.cancelled() and ended.exception() is None:
            log.info("event stream ended with its session", reason=ended.result())
            yield ServerSentEvent(comment=f"session {ended.result()}")
    finally:
        ended.cancel()
        hub.unwatch(w)


async def _stream(
    hub: ProgressHub,
    w: Watcher,
    last_event_id: int,
    retry_ms: int,
    min_interval: float,
    ended: asyncio.Future[Any],
) -> AsyncGenerator[ServerSentEvent]:
    """The connection's events until the hub stops or ``ended`` completes (checked before every event)."""
    yield ServerSentEvent(retry=retry_ms, comment="connected")
    try:
        initial = await _initial(hub.nc, w, last_event_id)
    except RequestError as e:  # orchestrator away: live updates still flow, the snapshot comes with them
        log.warning("initial progress snapshot unavailable", error=str(e))
        initial = []
    for doc in sorted(initial, key=lambda d: d.sequence):
        if ended.done():
            return
        if doc.sequence > w.high_water:
            w.high_water = doc.sequence
            yield _event(doc, msgspec.json.encode(doc).decode())
    stopping = asyncio.ensure_future(hub.stopping.wait())
    try:
        while not hub.stopping.is_set() and not ended.done():
            wake = asyncio.ensure_future(w.wake.wait())
            await asyncio.wait({wake, stopping, ended}, return_when=asyncio.FIRST_COMPLETED)
            wake.cancel()
            if ended.done():
                return
            for doc, raw in w.take():
                yield _event(doc, raw)
            # the pause that coalesces updates also ends at once with the session
            await asyncio.wait({ended}, timeout=min_interval)
    finally:
        stopping.cancel()
    # the gateway is stopping: end the stream; the browser reconnects (to another replica) with its
    # Last-Event-ID and misses nothing


__all__ = ["ProgressHub", "Watcher", "progress_events"]
