"""Reactions: a service's handler run for each event of a stream, from a durable consumer.

A process manager or policy (the orchestrator dispatching requested jobs, following the owners' reports)
registers a :class:`Reaction`: which stream, which durable consumer, which subjects, and a plain async
handler taking the message. The loop here does the consumer plumbing every reaction needs:

- the durable pull consumer is created (or updated) with explicit acks, ``deliver_policy=all`` and no
  delivery limit; while the stream does not exist yet (its owner has not started) creation is retried;
- messages are fetched in batches of up to ``batch`` and handled one by one, in stream order;
- a message is acknowledged only after its handler returned, so a crash redelivers it; a handler that
  raises gets the message back after ``retry_delay`` seconds (``nak`` with a delay). Handlers must therefore
  be idempotent: decide on the aggregate's events and append with deterministic event ids;
- a NATS outage pauses the loop: creating the consumer, a fetch and a settle that fail with a transient error
  (:func:`skillstream_runtime.outage.is_transient`) are tried again until nats-py has reconnected.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import nats.js.errors
import structlog
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from skillstream_runtime.outage import is_transient, through_outage

if TYPE_CHECKING:
    from skillstream_runtime.host import ServiceContext

log = structlog.get_logger(__name__)

ReactionHandler = Callable[[Msg], Awaitable[None]]


@dataclass(frozen=True, kw_only=True)
class Reaction:
    """``handler`` run for each message of ``stream`` on ``subjects`` (all when empty), from the durable
    consumer ``durable``; ``retry_delay`` seconds before a failed message comes back; ``batch`` messages
    per fetch; ``max_ack_pending`` messages in hand at most."""

    stream: str
    durable: str
    handler: ReactionHandler
    subjects: Sequence[str] = ()
    retry_delay: float = 1.0
    batch: int = 200
    max_ack_pending: int = 1000
    ack_wait: float = 30.0


async def _bind(nc: Client, r: Reaction) -> Any:
    js = nc.jetstream()
    config = ConsumerConfig(
        durable_name=r.durable,
        ack_policy=AckPolicy.EXPLICIT,
        deliver_policy=DeliverPolicy.ALL,
        ack_wait=r.ack_wait,
        max_deliver=-1,
        max_ack_pending=r.max_ack_pending,
        filter_subjects=list(r.subjects) or None,
    )
    while True:
        try:
            await through_outage(lambda: js.add_consumer(r.stream, config), what=f"consumer {r.durable}")
            break
        except nats.js.errors.NotFoundError:  # the owner has not created its stream yet
            await asyncio.sleep(r.retry_delay)
    return await through_outage(lambda: js.pull_subscribe_bind(r.durable, stream=r.stream), what=r.durable)


async def run_reaction(nc: Client, r: Reaction) -> None:
    """Run ``r`` until cancelled (see the module docstring)."""
    psub = await _bind(nc, r)
    bound = log.bind(consumer=r.durable, stream=r.stream)
    try:
        while True:
            try:
                msgs = await psub.fetch(r.batch, timeout=2.0)
            except TimeoutError:
                continue
            except Exception as e:
                if not is_transient(e):
                    raise
                bound.warning("fetch failed: NATS unreachable", error=repr(e))
                await asyncio.sleep(r.retry_delay)
                continue
            for m in msgs:
                await _handle(r, m, bound)
    finally:
        # cancelled at shutdown: without this, NATS's drain waits out its timeout on the pull inbox
        with contextlib.suppress(Exception):
            await psub.unsubscribe()


async def _handle(r: Reaction, m: Msg, bound: Any) -> None:
    try:
        try:
            await r.handler(m)
        except Exception as e:  # noqa: BLE001 - retried after a delay; handlers are idempotent
            bound.warning("reaction failed, will retry", error=repr(e), sequence=m.metadata.sequence.stream)
            await m.nak(delay=r.retry_delay)
            return
        await m.ack()
    except Exception as e:
        if not is_transient(e):
            raise
        # NATS is unreachable: the message stays unsettled and is redelivered after ack_wait
        bound.warning("settle failed: NATS unreachable", error=repr(e), sequence=m.metadata.sequence.stream)


def reactions(
    build: Callable[[ServiceContext], Sequence[Reaction]],
) -> Callable[[ServiceContext], Coroutine[Any, Any, None]]:
    """A background coroutine for :class:`~skillstream_runtime.host.ServiceDefinition` running every
    reaction ``build(ctx)`` returns; it ends (and the service reports not ready) if any of them ends."""

    async def run(ctx: ServiceContext) -> None:
        await asyncio.gather(*(run_reaction(ctx.nc, r) for r in build(ctx)))

    return run


__all__ = ["Reaction", "ReactionHandler", "reactions", "run_reaction"]
