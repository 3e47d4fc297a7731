"""Starting a job from a command line and following it to its end with a rich progress bar.

Used by operator commands (``skillstream tga sync``…) and the demo. The job goes through the orchestrator
like any other (``REQUEST_JOB``); progress comes from the orchestrator's ``progress.jobs.<id>`` documents,
with a ``GET_JOB`` poll every few seconds so a missed document never stalls the bar.
"""

from __future__ import annotations

import contextlib
from typing import Any

import msgspec
import nats.errors
from nats.aio.client import Client
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from skillstream_contracts.jobs import (
    GET_JOB,
    REQUEST_JOB,
    GetJob,
    JobAccepted,
    JobDetail,
    JobProgress,
    RequestJob,
    progress_subject,
)
from skillstream_runtime.endpoints import request


async def run_job(
    nc: Client,
    kind: str,
    parameters: dict[str, Any],
    *,
    console: Console,
    requested_by: str = "cli",
    idempotency_key: str | None = None,
    poll_seconds: float = 3.0,
) -> JobDetail:
    """Request a job of ``kind`` and show its progress until it ends; returns its final detail.

    Raises:
        RequestError: the orchestrator refused the job (unknown kind…) or did not answer.
    """
    cmd = RequestJob(kind=kind, parameters=parameters, requested_by=requested_by, idempotency_key=idempotency_key)
    accepted = await request(nc, REQUEST_JOB, cmd, JobAccepted)
    job_id = accepted.job.job_id
    sub = await nc.subscribe(progress_subject(job_id))
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("[yellow]{task.fields[retrying]} retrying[/]"),
        TextColumn("[red]{task.fields[failed]} failed[/]"),
        TimeElapsedColumn(),
        TextColumn("[dim]{task.fields[current]}"),
    )
    try:
        with Progress(*columns, console=console, transient=False) as bar:
            task = bar.add_task(kind, total=None, failed=0, retrying=0, current="")
            while True:
                try:
                    msg = await sub.next_msg(timeout=poll_seconds)
                    progress = msgspec.json.decode(msg.data, type=JobProgress)
                except (nats.errors.TimeoutError, msgspec.MsgspecError):
                    progress = (await request(nc, GET_JOB, GetJob(job_id=job_id), JobDetail)).progress
                done = progress.succeeded + progress.failed + progress.skipped
                current = ", ".join(progress.current_items[:3])
                bar.update(
                    task,
                    total=progress.total,
                    completed=done,
                    failed=progress.failed,
                    retrying=progress.retrying,
                    current=current,
                )
                if progress.status.is_terminal:
                    break
    finally:
        with contextlib.suppress(Exception):
            await sub.unsubscribe()
    return await request(nc, GET_JOB, GetJob(job_id=job_id), JobDetail)


__all__ = ["run_job"]
