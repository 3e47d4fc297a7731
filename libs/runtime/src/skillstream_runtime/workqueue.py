"""Work-queue consumers: a service's handler run for each message of a durable pull consumer shared by every
replica (DESIGN.md "Work distribution").

A service registers a :class:`WorkConsumer` — which stream and durable consumer, how to decode a message body,
and a plain async handler ``handler(work, delivery) -> Outcome`` — and the loop here does the plumbing every
work queue needs:

- it fetches as many messages as it has free slots (``concurrency`` in this process; the consumer's
  ``max_ack_pending`` is the cap across the fleet, :func:`consumer_config`);
- while a handler runs, its message is kept alive with ``in_progress`` heartbeats every third of ``ack_wait``
  (:func:`keep_alive`), so long work is not redelivered;
- the handler's :class:`Outcome` settles the message: ``ACK`` (done), ``nak(delay)`` (hand it back, redelivered
  after ``delay`` seconds) or ``TERM`` (never redeliver); an outcome with a ``pause`` also stops this process
  taking new work for that many seconds (e.g. a full disk: other replicas may have room);
- a body that does not decode is logged and terminated; a handler that raises is logged and its message left
  unsettled, so JetStream redelivers it after ``ack_wait`` (to any replica); a cancelled loop (shutdown) leaves
  the messages in hand unsettled too. Handlers must therefore be idempotent: decide on the aggregate's events.
- a message redelivered while this process still handles it (its heartbeats were lost in an outage, so
  JetStream handed it out again) is left to the handler that has it, which settles it: one message, one
  handler at a time in a process;
- a NATS outage pauses the loop: a fetch or a settle that fails with a transient error
  (:func:`skillstream_runtime.outage.is_transient`) is tried again after a second (an unsettled message is
  redelivered), until nats-py has reconnected.

:attr:`Delivery.number` is JetStream's delivery count (1 on the first delivery): a handler tells a crashed
attempt (redelivered) from a duplicate message (first delivery) by it.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import functools
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final, Generic, Protocol, TypeVar

import structlog
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from skillstream_runtime.outage import is_transient

log = structlog.get_logger(__name__)

T = TypeVar("T")

_OUTAGE_PAUSE = 1.0  # seconds between fetches while NATS is unreachable


async def keep_alive(msg: Msg, ack_wait: float) -> None:
    """Tell JetStream every third of ``ack_wait`` seconds that ``msg`` is still being worked on (``+WPI``), so
    long work is not redelivered; runs until cancelled. A failed heartbeat is ignored: the next one retries."""
    while True:
        await asyncio.sleep(ack_wait / 3)
        with contextlib.suppress(Exception):
            await msg.in_progress()


class Settle(enum.StrEnum):
    """How a handled message is settled with JetStream."""

    ACK = "ack"  # done: the work-queue stream drops it
    NAK = "nak"  # not done: redelivered after Outcome.delay seconds
    TERM = "term"  # never to be redelivered (it cannot be handled, ever)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a handler did with a message: ``settle`` it; for ``NAK``, ``delay`` seconds before redelivery
    (None: at once); ``pause``: seconds this consumer takes no new work afterwards (0: none)."""

    settle: Settle
    delay: float | None = None
    pause: float = 0.0


ACK: Final = Outcome(Settle.ACK)
TERM: Final = Outcome(Settle.TERM)


def nak(delay: float | None = None, *, pause: float = 0.0) -> Outcome:
    """Hand the message back, redelivered after ``delay`` seconds; stop taking work for ``pause`` seconds."""
    return Outcome(Settle.NAK, delay=delay, pause=pause)


@dataclass(frozen=True, kw_only=True)
class Delivery:
    """The message a handler got: its ``subject`` and JetStream's delivery ``number`` (1 = first delivery)."""

    subject: str
    number: int


WorkHandler = Callable[[T, Delivery], Awaitable[Outcome]]
"""``handler(work, delivery) -> Outcome``: one decoded message; no consumer plumbing inside."""


class PullSubscription(Protocol):
    """The part of a nats-py pull subscription the loop uses (a fake in unit tests)."""

    async def fetch(self, batch: int = 1, timeout: float | None = 5) -> list[Msg]: ...  # noqa: ASYNC109 - nats-py's

    async def unsubscribe(self) -> None: ...


def consumer_config(durable: str, *, filter_subject: str, max_ack_pending: int, ack_wait: float) -> ConsumerConfig:
    """The configuration of a shared work consumer: explicit acks, every message from the start, no delivery
    limit (a handler bounds crash loops itself, with an event saying so), ``max_ack_pending`` messages in hand
    across the fleet, ``ack_wait`` seconds without a heartbeat before a message is redelivered."""
    return ConsumerConfig(
        durable_name=durable,
        ack_policy=AckPolicy.EXPLICIT,
        deliver_policy=DeliverPolicy.ALL,
        ack_wait=ack_wait,
        max_deliver=-1,
        max_ack_pending=max_ack_pending,
        filter_subject=filter_subject,
    )


@dataclass(frozen=True, kw_only=True)
class WorkConsumer(Generic[T]):
    """``handler`` run for each message of the durable consumer ``durable`` on ``stream``, bodies decoded by
    ``decode`` (raising on a bad body). ``concurrency``: messages in hand in this process; ``ack_wait``:
    the consumer's, in seconds (heartbeats go every third of it); ``fetch_timeout``: seconds per idle fetch."""

    stream: str
    durable: str
    decode: Callable[[bytes], T]
    handler: WorkHandler[T]
    concurrency: int = 1
    ack_wait: float = 30.0
    fetch_timeout: float = 2.0

    async def run(self, nc: Client) -> None:
        """Bind to the (existing) durable consumer and :meth:`serve` until cancelled."""
        psub = await nc.jetstream().pull_subscribe_bind(self.durable, stream=self.stream)
        await self.serve(psub)

    async def serve(self, psub: PullSubscription) -> None:
        """Take and handle messages from ``psub`` until cancelled (see the module docstring)."""
        running: set[asyncio.Task[None]] = set()
        in_hand: dict[int, asyncio.Task[None]] = {}  # stream sequence → the task handling that message
        paused_until = 0.0

        def settled(outcome: Outcome) -> None:
            nonlocal paused_until
            if outcome.pause > 0:
                paused_until = max(paused_until, time.monotonic() + outcome.pause)

        try:
            while True:
                if (pause := paused_until - time.monotonic()) > 0:
                    await asyncio.sleep(pause)
                    continue
                if len(running) >= self.concurrency:
                    await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                    continue
                try:
                    msgs = await psub.fetch(self.concurrency - len(running), timeout=self.fetch_timeout)
                except TimeoutError:  # nats.errors.TimeoutError is one: nothing to do yet
                    continue
                except Exception as e:
                    if not is_transient(e):
                        raise
                    log.warning("fetch failed: NATS unreachable", consumer=self.durable, error=repr(e))
                    await asyncio.sleep(_OUTAGE_PAUSE)
                    continue
                for msg in msgs:
                    sequence = msg.metadata.sequence.stream
                    if sequence in in_hand:
                        log.info("redelivered while handled here", consumer=self.durable, subject=msg.subject)
                        continue
                    task = asyncio.create_task(self._one(msg, settled))
                    running.add(task)
                    in_hand[sequence] = task
                    task.add_done_callback(running.discard)
                    task.add_done_callback(functools.partial(_forget, in_hand, sequence))
        finally:
            # Shutdown: messages in hand stay unsettled and go to another replica after ack_wait.
            for t in running:
                t.cancel()
            await asyncio.gather(*running, return_exceptions=True)
            # Without this, NATS's drain waits out its timeout on the pull inbox.
            with contextlib.suppress(Exception):
                await psub.unsubscribe()

    async def _one(self, msg: Msg, settled: Callable[[Outcome], None]) -> None:
        try:
            work = self.decode(msg.data)
        except Exception as e:  # noqa: BLE001 - any decode failure means the body can never be handled
            log.error("undecodable work message terminated", consumer=self.durable, subject=msg.subject, error=str(e))
            await msg.term()
            return
        delivery = Delivery(subject=msg.subject, number=int(msg.metadata.num_delivered or 1))
        heartbeat = asyncio.create_task(keep_alive(msg, self.ack_wait))
        try:
            outcome = await self.handler(work, delivery)
        except asyncio.CancelledError:
            raise  # shutting down: unsettled, the message is redelivered
        except Exception:
            # A bug or an outage (NATS, disk): leave the message to be redelivered after ack_wait.
            log.exception("work failed; left for redelivery", consumer=self.durable, subject=msg.subject)
            return
        finally:
            heartbeat.cancel()
        await _settle(msg, outcome)
        settled(outcome)


def _forget(in_hand: dict[int, asyncio.Task[None]], sequence: int, _: asyncio.Task[None]) -> None:
    in_hand.pop(sequence, None)


async def _settle(msg: Msg, outcome: Outcome) -> None:
    try:
        if outcome.settle is Settle.ACK:
            await msg.ack()
        elif outcome.settle is Settle.NAK:
            await msg.nak(delay=outcome.delay)
        else:
            await msg.term()
    except Exception as e:
        if not is_transient(e):
            raise
        # NATS is unreachable: the message stays unsettled and is redelivered; its handler is idempotent
        log.warning("settle failed: NATS unreachable", subject=msg.subject, settle=outcome.settle.value, error=repr(e))


__all__ = [
    "ACK",
    "TERM",
    "Delivery",
    "Outcome",
    "PullSubscription",
    "Settle",
    "WorkConsumer",
    "WorkHandler",
    "consumer_config",
    "keep_alive",
    "nak",
]
