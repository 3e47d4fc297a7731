"""The download work queue: one JetStream message per segment to download, shared by every replica.

``MEDIA_WORK`` is a work-queue stream (a message leaves when acknowledged; file storage) with two subject
families (DESIGN.md "Work distribution"; REFERENCE-OPERATIONS.md §1.4):

- ``work.media.segment.<job_id>.<segment_id>`` — a segment to download (:class:`SegmentWork`), consumed by the
  durable pull consumer ``media_segments``. Its ``max_ack_pending`` is the **fleet-wide** cap on downloads in
  flight (seed 001: 10): the server hands out no more unacknowledged messages than that, whichever replica asks;
- ``work.media.retry.<job_id>.<segment_id>`` — a retry waiting for its time: a JetStream scheduled message
  (``Nats-Schedule: @at …``, NATS ≥ 2.12, ADR-51) whose target is the segment subject. The server publishes it
  when due, so a retry survives any process crash and waits **outside** the cap — a ``nak`` with a delay would
  keep the message pending and let ten slow retries block every download.

A work message carries what a download needs except a URL: URLs are signed when the download starts
(issue #5; the V2 defect of seed 001). The segment's own event subject is the truth about its attempts; a
message is only a wake-up call, so duplicates are harmless.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any, Final

import msgspec
import nats.js.errors
from nats.aio.client import Client
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    DeliverPolicy,
    DiscardPolicy,
    RetentionPolicy,
    StorageType,
    StreamConfig,
)

WORK_STREAM: Final = "MEDIA_WORK"
CONSUMER: Final = "media_segments"
_SEGMENT = "work.media.segment"
_RETRY = "work.media.retry"


class SegmentWork(msgspec.Struct, frozen=True, kw_only=True):
    """One segment to download in one bulk download: the catalogue facts frozen at queue time.

    ``cdn_key`` is the object key signed when a download starts; ``target_path`` is relative to the storage
    root and already sanitised; ``expected_size`` (bytes) and ``expected_sha256`` come from the catalogue.
    """

    job_id: str
    course_id: int
    segment_id: int
    cdn_key: str
    target_path: str
    expected_size: int | None = None
    expected_sha256: str | None = None
    correlation_id: str | None = None


def segment_subject(job_id: str, segment_id: int) -> str:
    return f"{_SEGMENT}.{job_id}.{segment_id}"


def retry_subject(job_id: str, segment_id: int) -> str:
    return f"{_RETRY}.{job_id}.{segment_id}"


async def ensure_work_queue(nc: Client, *, concurrency: int, ack_wait: float, replicas: int = 1) -> None:
    """Create or update ``MEDIA_WORK`` and the ``media_segments`` consumer (idempotent; every replica calls it,
    so a restart with another ``concurrency`` updates the fleet-wide cap)."""
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
    await js.add_consumer(
        WORK_STREAM,
        ConsumerConfig(
            durable_name=CONSUMER,
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            ack_wait=ack_wait,
            max_deliver=-1,  # crash loops are bounded by the worker (MediaSettings.max_crashes), with an event
            max_ack_pending=concurrency,
            filter_subject=f"{_SEGMENT}.>",
        ),
    )


async def enqueue(nc: Client, work: SegmentWork) -> None:
    """Publish ``work`` now (deduplicated per job and segment within the stream's duplicate window)."""
    js = nc.jetstream()
    await js.publish(
        segment_subject(work.job_id, work.segment_id),
        msgspec.json.encode(work),
        stream=WORK_STREAM,
        headers={"Nats-Msg-Id": f"seg-{work.job_id}-{work.segment_id}"},
    )


async def schedule(nc: Client, work: SegmentWork, due: dt.datetime, attempt: int) -> None:
    """Publish ``work`` to be delivered at ``due`` (rounded up to the second: ``@at`` has second precision)
    for attempt ``attempt``; a repeat for the same attempt is deduplicated."""
    js = nc.jetstream()
    at = dt.datetime.fromtimestamp(math.ceil(due.timestamp()), dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    await js.publish(
        retry_subject(work.job_id, work.segment_id),
        msgspec.json.encode(work),
        stream=WORK_STREAM,
        headers={
            "Nats-Schedule": f"@at {at}",
            "Nats-Schedule-Target": segment_subject(work.job_id, work.segment_id),
            "Nats-Msg-Id": f"retry-{work.job_id}-{work.segment_id}-{attempt}",
        },
    )


async def purge_job(nc: Client, job_id: str) -> None:
    """Drop every queued download and scheduled retry of ``job_id`` (a cancelled bulk download)."""
    js = nc.jetstream()
    for prefix in (_SEGMENT, _RETRY):
        await js.purge_stream(WORK_STREAM, subject=f"{prefix}.{job_id}.>")


async def queue_counts(nc: Client) -> dict[str, Any]:
    """``pending`` (not yet delivered), ``in_flight`` (delivered, not acknowledged), ``max_in_flight`` (the cap)
    and ``scheduled_retries`` (waiting retry messages) of the work queue now."""
    js = nc.jetstream()
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
    "SegmentWork",
    "enqueue",
    "ensure_work_queue",
    "purge_job",
    "queue_counts",
    "retry_subject",
    "schedule",
    "segment_subject",
]
