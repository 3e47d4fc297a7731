"""Projections: fold events from JetStream into PostgreSQL read models, exactly once in effect.

A :class:`Projection` names its sources (stream → subject filters), the tables it owns and two coroutines:
``create_tables(conn, schema)`` and ``apply(conn, schema, events)``. Tables live in a *generation* schema
``proj_<name>_g<N>``; readers use views of the same names in the projection's ``read_schema``, which point at
the active generation (see :mod:`skillstream_runtime.replay` for the blue/green rebuild).

:class:`ProjectionRunner` drives one (projection, generation, stream) with a durable pull consumer:

- fetches a batch, skips events at or below the checkpoint (redelivery), applies the rest and writes the
  checkpoint in **one transaction**, then acks;
- if the batch fails, replays it one event at a time to isolate the failing event, keeping stream order;
- retries a failing event with exponential backoff (``stamina``) until it has been delivered
  ``max_deliver`` times, then stores it in ``skillstream.dead_letters`` with the error and moves on
  (the dead-letter row and the checkpoint are written in one transaction);
- treats connection failures (PostgreSQL down) as transient: retried without limit and never dead-lettered.

Order matters to a projection, so one runner per (projection, generation, stream) is active at a time
(:class:`~skillstream_runtime.generations.ProjectionWorker` holds a PostgreSQL advisory lock; standby replicas
wait), and the retry schedule is kept here rather than by consumer ``backoff``/``max_deliver``, which would
redeliver a failed event *after* newer ones. A consumer deleted by a swap ends its runner with ``GenerationRetired``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
import nats.errors
import nats.js.errors
import stamina
import structlog
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from prometheus_client import Counter, Gauge

from skillstream_contracts import ContractError
from skillstream_contracts.events import Headers
from skillstream_runtime.envelope import stream_position
from skillstream_runtime.eventstore import RecordedEvent, decode_message
from skillstream_runtime.readmodel import Projection, consumer_name, generation_schema
from skillstream_runtime.subjectfilter import SubjectFilter

log = structlog.get_logger(__name__)

EVENTS_APPLIED = Counter("skillstream_projection_events_applied_total", "Events applied", ["projection"])
DEAD_LETTERED = Counter("skillstream_projection_dead_letters_total", "Events dead-lettered", ["projection"])
CHECKPOINT = Gauge("skillstream_projection_checkpoint", "Last applied stream sequence", ["projection", "stream"])

TRANSIENT_ERRORS: tuple[type[Exception], ...] = (
    OSError,
    asyncio.TimeoutError,
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.InterfaceError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.AdminShutdownError,  # PostgreSQL shutting down ends the connection mid-batch
    asyncpg.exceptions.CrashShutdownError,
    asyncpg.exceptions.TooManyConnectionsError,
    asyncpg.exceptions.SerializationError,
    asyncpg.exceptions.DeadlockDetectedError,
)
"""Errors that say nothing about the event: retried forever, never dead-lettered."""


class GenerationRetired(Exception):
    """The generation this runner feeds is no longer the active one (a rebuild was swapped in)."""


@dataclass(frozen=True, kw_only=True)
class RunnerSettings:
    """``batch_size`` events per fetch; ``fetch_timeout`` seconds to wait for a batch; ``max_deliver``
    deliveries before dead-lettering; ``backoff_initial``/``backoff_max`` seconds between retries;
    ``ack_wait`` seconds JetStream waits for an ack before redelivering (a crashed runner's batch is
    re-read from the checkpoint at restart, not after ``ack_wait``)."""

    batch_size: int = 500
    fetch_timeout: float = 1.0
    max_deliver: int = 5
    backoff_initial: float = 0.2
    backoff_max: float = 10.0
    ack_wait: float = 30.0


class ProjectionRunner:
    """Feeds one projection generation from one stream through a durable pull consumer."""

    def __init__(
        self,
        projection: Projection,
        generation: int,
        stream: str,
        nc: Client,
        pool: asyncpg.Pool,
        settings: RunnerSettings | None = None,
        *,
        check_active: bool = True,
    ) -> None:
        self.projection = projection
        self.generation = generation
        self.stream = stream
        self.schema = generation_schema(projection.name, generation)
        self.durable = consumer_name(projection.name, generation)
        self.settings = settings or RunnerSettings()
        self.check_active = check_active
        self._nc = nc
        self._js = nc.jetstream()
        self._pool = pool
        self._registry = projection.registries[stream]
        self._subjects = SubjectFilter(projection.sources[stream])
        self._log = log.bind(projection=projection.name, generation=generation, stream=stream)
        self._stop = asyncio.Event()
        self.checkpoint = 0

    def stop(self) -> None:
        """Ask the runner to stop after the batch in hand (graceful: nothing in flight is lost)."""
        self._stop.set()

    async def reset_consumer(self, start_sequence: int) -> None:
        """(Re)create this generation's durable pull consumer so it delivers from ``start_sequence``.

        Called at every start: the checkpoint in PostgreSQL, not the consumer's ack state, is the truth, and
        starting exactly after it keeps stream order even when a crash left a batch unacknowledged (JetStream
        would otherwise redeliver that batch after newer events). The consumer redelivers without limit;
        ``max_deliver`` is enforced here, in order, by :meth:`_apply_with_retries`. Acks are cumulative
        (``AckPolicy.ALL``, one ack per batch): the consumer's ack state only keeps JetStream from redelivering,
        and events after the PostgreSQL checkpoint are re-applied (idempotently) after a crash whatever was acked.
        """
        config = ConsumerConfig(
            durable_name=self.durable,
            ack_policy=AckPolicy.ALL,
            deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
            opt_start_seq=start_sequence,
            ack_wait=self.settings.ack_wait,
            max_deliver=-1,
            max_ack_pending=self.settings.batch_size * 2,
            filter_subjects=self._subjects.consumer_filters,
        )
        with contextlib.suppress(nats.js.errors.NotFoundError):
            await self._js.delete_consumer(self.stream, self.durable)
        await self._js.add_consumer(self.stream, config)

    async def pending(self) -> int:
        """Events the consumer has not delivered yet plus those delivered but not acked."""
        info = await self._js.consumer_info(self.stream, self.durable)
        return int(info.num_pending or 0) + int(info.num_ack_pending or 0)

    async def _load_checkpoint(self) -> int:
        async with self._pool.acquire() as conn:
            row = await conn.fetchval(
                "SELECT last_sequence FROM skillstream.projection_checkpoints"
                " WHERE projection = $1 AND generation = $2 AND stream = $3",
                self.projection.name,
                self.generation,
                self.stream,
            )
        return int(row or 0)

    async def run(self, *, until_caught_up: bool = False) -> None:
        """Consume until :meth:`stop` (or, with ``until_caught_up``, until nothing is pending).

        Raises:
            GenerationRetired: the generation was swapped out (only when ``check_active``; also mid-fetch).
            nats.js.errors.APIError: the consumer failed or vanished while the generation is still active.
        """
        self.checkpoint = await self._load_checkpoint()
        await self.reset_consumer(self.checkpoint + 1)
        psub = await self._js.pull_subscribe_bind(self.durable, stream=self.stream)

        async def fetch() -> tuple[list[Msg], list[RecordedEvent] | None]:
            try:
                msgs = list(await psub.fetch(self.settings.batch_size, timeout=self.settings.fetch_timeout))
            except TimeoutError:  # nats.errors.TimeoutError, or asyncio's own from inside fetch
                return [], None
            return msgs, self._decode_ahead(msgs)

        # The next batch is fetched and decoded while the current one is written to PostgreSQL (max_ack_pending
        # allows two batches in flight); batches are still applied strictly one after the other.
        prefetch = asyncio.create_task(fetch())
        try:
            while not self._stop.is_set():
                try:
                    msgs, decoded = await prefetch
                except nats.js.errors.APIError:  # the consumer is gone: deleted by the swap that retired it?
                    await self._transient_retry(self._assert_active)
                    raise
                prefetch = asyncio.create_task(fetch())
                if not msgs:
                    if until_caught_up and await self.pending() == 0:
                        return
                    continue
                await self._handle_batch(msgs, decoded)
        finally:
            prefetch.cancel()
            with contextlib.suppress(BaseException):
                await prefetch
            await psub.unsubscribe()

    # --- one batch ---------------------------------------------------------------------------------

    def _decode_ahead(self, msgs: list[Msg]) -> list[RecordedEvent] | None:
        """The events of the wanted subjects of ``msgs``, decoded before their batch's turn; None when one does
        not decode (the batch is then decoded again in its turn, where the failure is isolated)."""
        try:
            return [decode_message(self._registry, m) for m in self._subjects.select(msgs)]
        except Exception:  # noqa: BLE001 - reported by _handle_batch, which decodes the batch again
            return None

    async def _handle_batch(self, msgs: list[Msg], decoded: list[RecordedEvent] | None = None) -> None:
        # Messages at or below the checkpoint are redeliveries, already applied: skipped, and acked with the rest.
        fresh = [m for m in msgs if stream_position(m)[1] > self.checkpoint]
        if fresh:
            try:
                # Subjects the source does not want (a consumer reading the whole stream) are not decoded, and
                # the checkpoint moves past them with the batch.
                if decoded is None:
                    decoded = [decode_message(self._registry, m) for m in self._subjects.select(fresh)]
                else:
                    decoded = [e for e in decoded if e.sequence > self.checkpoint]
                await self._transient_retry(self._commit, decoded, stream_position(fresh[-1])[1])
            except GenerationRetired:
                raise
            except Exception as e:  # noqa: BLE001 - a handler may raise anything; isolate it below
                self._log.warning("batch failed, isolating the failing event", error=repr(e), size=len(fresh))
                await self._one_by_one(fresh)
                return
        # AckPolicy.ALL: one ack of the batch's last message acks the whole batch (and anything before it).
        await msgs[-1].ack()

    async def _commit(self, events: Sequence[RecordedEvent], last_sequence: int) -> None:
        async with self._pool.acquire() as conn, conn.transaction():
            await self._assert_active(conn)
            if events:
                await self.projection.apply(conn, self.schema, events)
            await self._write_checkpoint(conn, last_sequence)
        self._advance(last_sequence, len(events))

    async def _assert_active(self, conn: asyncpg.Connection | None = None) -> None:
        if conn is None and self.check_active:  # a check of its own, outside a batch
            async with self._pool.acquire() as own, own.transaction():
                await self._assert_active(own)
        if conn is None or not self.check_active:
            return
        # FOR SHARE: a swap (FOR UPDATE on this row) waits for this batch, and this batch sees the swap.
        active = await conn.fetchval(
            "SELECT active_generation FROM skillstream.projections WHERE name = $1 FOR SHARE",
            self.projection.name,
        )
        if active != self.generation:
            raise GenerationRetired(f"{self.projection.name}: generation {self.generation} is not active ({active})")

    async def _write_checkpoint(self, conn: asyncpg.Connection, last_sequence: int) -> None:
        await conn.execute(
            "INSERT INTO skillstream.projection_checkpoints (projection, generation, stream, last_sequence)"
            " VALUES ($1, $2, $3, $4) ON CONFLICT (projection, generation, stream)"
            " DO UPDATE SET last_sequence = EXCLUDED.last_sequence, updated_at = now()",
            self.projection.name,
            self.generation,
            self.stream,
            last_sequence,
        )

    def _advance(self, last_sequence: int, applied: int) -> None:
        self.checkpoint = last_sequence
        EVENTS_APPLIED.labels(self.projection.name).inc(applied)
        CHECKPOINT.labels(self.projection.name, self.stream).set(last_sequence)

    async def _transient_retry(self, fn: Any, *args: Any) -> None:
        """Retry ``fn`` while PostgreSQL/NATS are unreachable; other errors propagate at once."""
        async for attempt in stamina.retry_context(
            on=TRANSIENT_ERRORS,
            attempts=None,
            timeout=None,
            wait_initial=self.settings.backoff_initial,
            wait_max=self.settings.backoff_max,
        ):
            with attempt:
                await fn(*args)

    async def _one_by_one(self, msgs: list[Msg]) -> None:
        for i, msg in enumerate(msgs):
            if not self._subjects.wants(msg.subject):
                await msg.ack()  # not this source's subject: nothing to apply
                continue
            seq = stream_position(msg)[1]
            with structlog.contextvars.bound_contextvars(stream_sequence=seq, subject=msg.subject):
                error, attempts = await self._apply_with_retries(msg, rest=msgs[i + 1 :])
                if error is None:
                    await msg.ack()
                    continue
                await self._transient_retry(self._dead_letter, msg, error, attempts)
                await msg.term()

    async def _apply_with_retries(self, msg: Msg, rest: list[Msg]) -> tuple[str | None, int]:
        """Apply one event, retrying with backoff up to ``max_deliver`` attempts (the consumer restarts at
        the checkpoint, so attempts are counted here). Returns ``(None, 1)`` on success, else
        ``(last error, attempts)`` for the dead-letter row."""
        try:
            event = decode_message(self._registry, msg)
        except ContractError as e:  # cannot get better by retrying
            return f"undecodable event: {e}", 1
        attempts = self.settings.max_deliver
        try:
            async for attempt in stamina.retry_context(
                on=lambda e: not isinstance(e, GenerationRetired),
                attempts=attempts,
                timeout=None,
                wait_initial=self.settings.backoff_initial,
                wait_max=self.settings.backoff_max,
            ):
                with attempt:
                    for m in (msg, *rest):  # keep the event and those queued behind it from redelivery
                        await m.in_progress()
                    await self._transient_retry(self._commit, [event], event.sequence)
        except GenerationRetired:
            raise
        except Exception as e:  # noqa: BLE001 - whatever the handler raised goes in the dead letter
            self._log.error("event failed after retries", error=repr(e), attempts=attempts)
            return f"{type(e).__name__}: {e}", attempts
        return None, 1

    async def _dead_letter(self, msg: Msg, error: str, attempts: int) -> None:
        """Store the event in ``skillstream.dead_letters`` and move the checkpoint past it, in one
        transaction (idempotent per projection, generation, stream and sequence)."""
        seq = stream_position(msg)[1]
        headers = dict(msg.headers or {})
        async with self._pool.acquire() as conn, conn.transaction():
            await self._assert_active(conn)
            await conn.execute(
                "INSERT INTO skillstream.dead_letters (projection, generation, stream, stream_sequence, subject,"
                " event_type, headers, data, error, attempts)"
                " VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9, $10)"
                " ON CONFLICT (projection, generation, stream, stream_sequence)"
                " DO UPDATE SET error = EXCLUDED.error, attempts = EXCLUDED.attempts, failed_at = now()",
                self.projection.name,
                self.generation,
                self.stream,
                seq,
                msg.subject,
                headers.get(Headers.EVENT_TYPE),
                json.dumps(headers),
                msg.data,
                error,
                attempts,
            )
            await self._write_checkpoint(conn, seq)
        self._advance(seq, 0)
        DEAD_LETTERED.labels(self.projection.name).inc()
        self._log.error("event dead-lettered", stream_sequence=seq, error=error)


__all__ = [
    "TRANSIENT_ERRORS",
    "GenerationRetired",
    "Projection",
    "ProjectionRunner",
    "RunnerSettings",
    "consumer_name",
    "generation_schema",
]
