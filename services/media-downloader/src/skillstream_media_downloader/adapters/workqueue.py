"""The download work queue: one JetStream message per segment to download, shared by every replica.

``MEDIA_WORK`` is a work-queue stream (a message leaves when acknowledged; file storage) with two subject
families (DESIGN.md "Work distribution"; REFERENCE-OPERATIONS.md §1.4):

- ``work.media.segment.<job_id>.<segment_id>`` — a segment to download
  (:class:`~skillstream_media_downloader.domain.work.SegmentWork`), consumed by the durable pull consumer
  ``media_segments``. Its ``max_ack_pending`` is the **fleet-wide** cap on downloads in flight (seed 001: 10):
  the server hands out no more unacknowledged messages than that, whichever replica asks;
- ``work.media.retry.<job_id>.<segment_id>`` — a retry waiting for its time: a JetStream scheduled message
  (``Nats-Schedule: @at …``, NATS ≥ 2.12, ADR-51) whose target is the segment subject. The server publishes it
  when due, so a retry survives any process crash and waits **outside** the cap — a ``nak`` with a delay would
  keep the message pending and let ten slow retries block every download.

Work messages carry no URL: URLs are signed when a download starts (seed 001's expired-URL defect). The consumer
loop itself is the runtime's (:class:`skillstream_runtime.workqueue.WorkConsumer`); this module defines the
stream, the consumer and the messages. Publishing and purging ride out a NATS outage
(:func:`skillstream_runtime.outage.through_outage`); a re-sent message carries the same ``Nats-Msg-Id``, so the
stream stores it once.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any, Final

import msgspec
import nats.js.errors
from nats.aio.client import Client
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig

from skillstream_media_downloader.domain.work import SegmentWork
from skillstream_runtime.outage import through_outage
from skillstream_runtime.workqueue import consumer_config

WORK_STREAM: Final = "MEDIA_WORK"
CONSUMER: Final = "media_segments"
_SEGMENT = "work.media.segment"
_RETRY = "work.media.retry"
_DECODER = msgspec.json.Decoder(SegmentWork)


def segment_subject(job_id: str, segment_id: int) -> str:
    return f"{_SEGMENT}.{job_id}.{segment_id}"


def retry_subject(job_id: str, segment_id: int) -> str:
    return f"{_RETRY}.{job_id}.{segment_id}"


def decode_work(body: bytes) -> SegmentWork:
    """A work message's body. Raises ``msgspec.MsgspecError`` when it is not a :class:`SegmentWork`."""
    return _DECODER.decode(body)


async def ensure_work_queue(nc: Client, *, concurrency: int, ack_wait: float, replicas: int = 1) -> None:
    """Create or update ``MEDIA_WORK`` and the ``media_segments`` consumer (idempotent; every replica calls it,
    so a restart with another ``concurrency`` updates the fleet-wide cap). ``ack_wait`` in seconds."""
    js = nc.jetstream()
    config = StreamConfig(
        name=WORK_STREAM,
        description="Media downloads to run: one message per segment; scheduled retries",
        subjects=["work.media.>"],
        retention=RetentionPolicy.WORK_QUEUE,
        storage=StorageType.FILE,
        discard=DiscardPolicy.OLD,
        num_replicas=replicas,
        duplicate_window=600.0,
        allow_msg_schedules=True,
    )
    try:
        await js.stream_info(WORK_STREAM)
    except nats.js.errors.NotFoundError:
        await js.add_stream(config)
    else:
        await js.update_stream(config)
    # max_deliver is unlimited: crash loops are bounded by the handler (MediaSettings.max_crashes), with an event
    consumer = consumer_config(CONSUMER, filter_subject=f"{_SEGMENT}.>", max_ack_pending=concurrency, ack_wait=ack_wait)
    await js.add_consumer(WORK_STREAM, consumer)


class MediaWorkQueue:
    """Publishing to ``MEDIA_WORK`` and reading its counts, over the connection ``nc``."""

    def __init__(self, nc: Client) -> None:
        self._nc = nc

    async def enqueue(self, work: SegmentWork) -> None:
        """Publish ``work`` now (deduplicated per job and segment within the stream's duplicate window)."""
        subject = segment_subject(work.job_id, work.segment_id)
        body, headers = msgspec.json.encode(work), {"Nats-Msg-Id": f"seg-{work.job_id}-{work.segment_id}"}
        await through_outage(
            lambda: self._nc.jetstream().publish(subject, body, stream=WORK_STREAM, headers=headers), what=subject
        )

    async def schedule(self, work: SegmentWork, due: dt.datetime, attempt: int) -> None:
        """Publish ``work`` to be delivered at ``due`` (rounded up to the second: ``@at`` has second precision)
        after attempt ``attempt``; a repeat for the same attempt is deduplicated."""
        at = dt.datetime.fromtimestamp(math.ceil(due.timestamp()), dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        # A retry comes after events the queued sequence does not cover: its handler reads the subject.
        retry = msgspec.structs.replace(work, queued_sequence=None)
        subject, body = retry_subject(work.job_id, work.segment_id), msgspec.json.encode(retry)
        headers = {
            "Nats-Schedule": f"@at {at}",
            "Nats-Schedule-Target": segment_subject(work.job_id, work.segment_id),
            "Nats-Msg-Id": f"retry-{work.job_id}-{work.segment_id}-{attempt}",
        }
        await through_outage(
            lambda: self._nc.jetstream().publish(subject, body, stream=WORK_STREAM, headers=headers), what=subject
        )

    async def purge_job(self, job_id: str) -> None:
        """Drop every queued download and scheduled retry of ``job_id`` (a cancelled bulk download)."""
        js = self._nc.jetstream()
        for prefix in (_SEGMENT, _RETRY):
            subject = f"{prefix}.{job_id}.>"

            async def purge(subject: str = subject) -> None:
                await js.purge_stream(WORK_STREAM, subject=subject)

            await through_outage(purge, what=f"purge {subject}")

    async def counts(self) -> dict[str, Any]:
        """``pending`` (not yet delivered), ``in_flight`` (delivered, not acknowledged), ``max_in_flight`` (the
        cap) and ``scheduled_retries`` (waiting retry messages) of the work queue now."""
        js = self._nc.jetstream()
        stream = await js.stream_info(WORK_STREAM)
        consumer = await js.consumer_info(WORK_STREAM, CONSUMER)
        pending, in_flight = int(consumer.num_pending or 0), int(consumer.num_ack_pending or 0)
        return {
            "pending": pending,
            "in_flight": in_flight,
            "max_in_flight": int(consumer.config.max_ack_pending or 0),
            "scheduled_retries": max(0, int(stream.state.messages) - pending - in_flight),
        }


__all__ = [
    "CONSUMER",
    "WORK_STREAM",
    "MediaWorkQueue",
    "decode_work",
    "ensure_work_queue",
    "retry_subject",
    "segment_subject",
]
