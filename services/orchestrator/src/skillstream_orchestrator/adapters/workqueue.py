"""The ``JOB_WORK`` work queue as the orchestrator uses it: publish a job's dispatch to its kind's owner.

``work.jobs.<kind>`` of the work-queue stream ``JOB_WORK`` (see :mod:`skillstream_contracts.jobs`): every
replica of the owning service pulls from one durable consumer per kind. The message id is
``dispatch-<job id>``, so a dispatch published again after a crash is dropped by JetStream's dedupe.
"""

from __future__ import annotations

import msgspec
from nats.aio.client import Client

from skillstream_contracts.jobs import JOB_WORK_STREAM, JobDispatch, work_subject
from skillstream_runtime.jobs import get_kind


async def publish_dispatch(nc: Client, dispatch: JobDispatch) -> None:
    """Publish ``dispatch`` on its kind's work subject and wait for JetStream's ack.

    Raises:
        nats.errors.Error: NATS refused or timed out (the reaction is retried).
    """
    await nc.jetstream().publish(
        work_subject(dispatch.kind),
        msgspec.json.encode(dispatch),
        stream=JOB_WORK_STREAM,
        headers={"Nats-Msg-Id": f"dispatch-{dispatch.job_id}"},
    )


async def kind_registered(nc: Client, kind: str) -> bool:
    """True when a running service has registered job kind ``kind`` (the ``job_kinds`` KV bucket)."""
    return await get_kind(nc, kind) is not None


__all__ = ["kind_registered", "publish_dispatch"]
