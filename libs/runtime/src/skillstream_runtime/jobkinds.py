"""The job work queue and the job kinds registry: where dispatches wait and which service runs which kind.

- :func:`ensure_work_stream` — the ``JOB_WORK`` work-queue stream the orchestrator dispatches into;
- :func:`register_kind` / :func:`list_kinds` / :func:`get_kind` — the ``job_kinds`` KV bucket;
- :func:`work_consumer_name` — the durable consumer of one kind's dispatches, shared by the owner's replicas.

The protocol is drawn in :mod:`skillstream_contracts.jobs`; :mod:`skillstream_runtime.jobs` runs the jobs.
"""

from __future__ import annotations

from typing import Any

import msgspec
import nats.js.errors
import structlog
from nats.aio.client import Client
from nats.js.api import DiscardPolicy, KeyValueConfig, RetentionPolicy, StorageType, StreamConfig

from skillstream_contracts.jobs import JOB_KINDS_BUCKET, JOB_WORK_STREAM, JobKindSpec

log = structlog.get_logger(__name__)


async def ensure_work_stream(nc: Client, replicas: int = 1, *, create_only: bool = False) -> None:
    """Create or update the ``JOB_WORK`` work-queue stream (file storage; a message leaves when acked).

    The orchestrator owns it and updates it to ``replicas``; an owning service passes ``create_only`` so
    that starting it never changes the orchestrator's settings (a cluster's R3 stream stays R3).
    """
    js = nc.jetstream()
    config = StreamConfig(
        name=JOB_WORK_STREAM,
        description="Job dispatches: one message per job, consumed by the owner of its kind",
        subjects=["work.jobs.>"],
        retention=RetentionPolicy.WORK_QUEUE,
        storage=StorageType.FILE,
        discard=DiscardPolicy.OLD,
        num_replicas=replicas,
        duplicate_window=120.0,
    )
    try:
        await js.stream_info(JOB_WORK_STREAM)
    except nats.js.errors.NotFoundError:
        await js.add_stream(config)
    else:
        if not create_only:
            await js.update_stream(config)


async def _kinds_bucket(nc: Client) -> Any:
    js = nc.jetstream()
    try:
        return await js.key_value(JOB_KINDS_BUCKET)
    except nats.js.errors.BucketNotFoundError:
        return await js.create_key_value(
            KeyValueConfig(bucket=JOB_KINDS_BUCKET, description="Registered job kinds", storage=StorageType.FILE)
        )


async def register_kind(nc: Client, spec: JobKindSpec) -> None:
    """Publish ``spec`` in the ``job_kinds`` KV bucket (created when missing); idempotent."""
    kv = await _kinds_bucket(nc)
    await kv.put(spec.kind, msgspec.json.encode(spec))


async def list_kinds(nc: Client) -> list[JobKindSpec]:
    """Every registered job kind, sorted by kind; an undecodable entry is logged and left out."""
    kv = await _kinds_bucket(nc)
    try:
        keys = await kv.keys()
    except nats.js.errors.NoKeysError:
        return []
    out = []
    for key in sorted(keys):
        entry = await kv.get(key)
        try:
            out.append(msgspec.json.decode(entry.value or b"", type=JobKindSpec))
        except msgspec.MsgspecError as e:
            log.warning("bad job kind entry", key=key, error=str(e))
    return out


async def get_kind(nc: Client, kind: str) -> JobKindSpec | None:
    """The registered spec of ``kind``, or None."""
    kv = await _kinds_bucket(nc)
    try:
        entry = await kv.get(kind)
    except nats.js.errors.KeyNotFoundError:
        return None
    return msgspec.json.decode(entry.value or b"", type=JobKindSpec)


def work_consumer_name(kind: str) -> str:
    """Durable consumer of one kind's dispatches: ``jobs_<kind with dots as underscores>``."""
    return "jobs_" + kind.replace(".", "_")


__all__ = ["ensure_work_stream", "get_kind", "list_kinds", "register_kind", "work_consumer_name"]
