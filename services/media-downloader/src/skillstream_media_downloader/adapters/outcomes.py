"""The outcomes of one bulk download's segments, read live from the ``MEDIA`` stream's event headers.

A bulk download follows its segments to the end with an ephemeral, headers-only JetStream pull consumer from
the job's first event: cheap (no bodies are sent), never stored, and re-read from the start when a resumed job
runs again, so the fold (:class:`~skillstream_media_downloader.domain.tally.JobTally`) is exact after any
crash.

Pulled in batches of :data:`BATCH` rather than pushed: a push consumer's flow control lets the server send
tens of megabytes of headers ahead of the reader, and while a job queues its segments the reader shares the
event loop with the appends and falls behind, so tens of thousands of decoded messages (about 2 KiB of Python
objects each) waited in the subscription — over 100 MiB at a 100,000-segment job. A pull holds one batch.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets

import nats.errors
import nats.js.errors
from nats.aio.client import Client
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.client import JetStreamContext

from skillstream_contracts.streams import MEDIA
from skillstream_media_downloader.domain.tally import JobTally
from skillstream_runtime.envelope import stream_position

BATCH = 256
"""Messages per pull: what the follower holds at once (a few hundred KiB of headers)."""
_WAIT = 1.0  # seconds a pull waits for a message before the consumer is checked
_INACTIVE = 300.0  # seconds before the server drops a consumer nobody pulls from (its follower died)
_UNAVAILABLE = (
    nats.js.errors.NotFoundError,  # the consumer is gone
    nats.js.errors.ServiceUnavailableError,  # a pull from a consumer that is gone
    nats.errors.NoRespondersError,
    nats.errors.TimeoutError,
)


async def follow_outcomes(nc: Client, tally: JobTally, start_sequence: int, changed: asyncio.Event) -> None:
    """Fold every ``MEDIA`` event from stream sequence ``start_sequence`` on into ``tally``, live, setting
    ``changed`` whenever an item's state changes; runs until cancelled. A consumer the server lost (a restart,
    or idle past its inactivity threshold) is made again from the first event not yet folded, so no event is
    folded twice or skipped."""
    js = nc.jetstream()
    next_sequence = start_sequence
    while True:
        name = f"outcomes-{secrets.token_hex(8)}"
        config = ConsumerConfig(
            name=name,
            filter_subject=f"{MEDIA.context}.>",
            deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
            opt_start_seq=next_sequence,
            ack_policy=AckPolicy.NONE,
            headers_only=True,
            mem_storage=True,
            inactive_threshold=_INACTIVE,
        )
        try:
            await js.add_consumer(MEDIA.name, config)
            sub = await js.pull_subscribe_bind(consumer=name, stream=MEDIA.name)
        except _UNAVAILABLE:
            await asyncio.sleep(_WAIT)  # JetStream is restarting or unreachable: try again
            continue
        try:
            next_sequence = await _fold(sub, tally, changed, next_sequence)
        finally:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()
            with contextlib.suppress(Exception):  # else the server drops it after _INACTIVE seconds
                await js.delete_consumer(MEDIA.name, name)


async def _fold(sub: JetStreamContext.PullSubscription, tally: JobTally, changed: asyncio.Event, sequence: int) -> int:
    """Pull and fold until the consumer is lost; the stream sequence of the first event not yet folded."""
    while True:
        try:
            msgs = await sub.fetch(BATCH, timeout=_WAIT)
        except nats.errors.TimeoutError:
            try:
                await sub.consumer_info()
            except _UNAVAILABLE:
                return sequence
            continue
        except _UNAVAILABLE:
            return sequence
        for msg in msgs:
            sequence = stream_position(msg)[1] + 1
            if tally.apply(msg.headers or {}):
                changed.set()


__all__ = ["BATCH", "follow_outcomes"]
