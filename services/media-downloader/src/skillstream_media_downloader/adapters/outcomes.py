"""The outcomes of one bulk download's segments, read live from the ``MEDIA`` stream's event headers.

A bulk download follows its segments to the end with an ordered, headers-only JetStream consumer from the job's
first event: cheap (no bodies are sent), never stored, and re-read from the start when a resumed job runs again,
so the fold (:class:`~skillstream_media_downloader.domain.tally.JobTally`) is exact after any crash.
"""

from __future__ import annotations

import asyncio
import contextlib

from nats.aio.client import Client
from nats.js.api import ConsumerConfig, DeliverPolicy

from skillstream_contracts.streams import MEDIA
from skillstream_media_downloader.domain.tally import JobTally


async def follow_outcomes(nc: Client, tally: JobTally, start_sequence: int, changed: asyncio.Event) -> None:
    """Fold every ``MEDIA`` event from stream sequence ``start_sequence`` on into ``tally``, live, setting
    ``changed`` whenever an item's state changes; runs until cancelled."""
    sub = await nc.jetstream().subscribe(
        f"{MEDIA.context}.>",
        ordered_consumer=True,
        headers_only=True,
        config=ConsumerConfig(deliver_policy=DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=start_sequence),
    )
    try:
        async for msg in sub.messages:
            if tally.apply(msg.headers or {}):
                changed.set()
    finally:
        with contextlib.suppress(Exception):
            await sub.unsubscribe()


__all__ = ["follow_outcomes"]
