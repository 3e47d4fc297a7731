"""The media part of ``make demo``: a test-mode bulk download (seed 001's ``?test=true``: one course) from the
media sandbox through the orchestrator, with progress in the terminal and on the dashboard, then a summary."""

from __future__ import annotations

from nats.aio.client import Client
from rich.console import Console
from rich.table import Table

from skillstream_contracts.media_queries import (
    BULK_STATUS,
    KIND_BULK_DOWNLOAD,
    LIBRARY_SUMMARY,
    BulkStatus,
    GetBulkStatus,
    GetLibrarySummary,
    LibrarySummary,
)
from skillstream_runtime.endpoints import request
from skillstream_runtime.jobclient import run_job


async def run(nc: Client, console: Console) -> None:
    """Run the test-mode bulk download and print what it did."""
    library = await request(nc, LIBRARY_SUMMARY, GetLibrarySummary(), LibrarySummary, timeout=60)
    size = "unknown" if library.estimated_bytes is None else f"{library.estimated_bytes / 1e6:,.1f} MB"
    console.print(
        f"media library: {library.courses} courses, {library.segments:,} segments, {size} ({library.quality.value})"
    )
    done = await run_job(nc, KIND_BULK_DOWNLOAD, {"test_mode": True}, console=console, requested_by="demo")
    status = await request(nc, BULK_STATUS, GetBulkStatus(job_id=done.job.job_id), BulkStatus)
    table = Table(title=f"Media bulk download (test mode): {done.job.status.value}", title_justify="left")
    for column in ("course", "segments", "downloaded", "skipped", "failed", "MB written"):
        table.add_column(column, justify="left" if column == "course" else "right")
    for c in status.courses:
        table.add_row(
            f"{c.course_id} {c.title}",
            str(c.counts.total),
            str(c.counts.succeeded),
            str(c.counts.skipped),
            str(c.counts.failed),
            f"{c.bytes_written / 1e6:,.2f}",
        )
    console.print(table)
    for err in done.progress.last_errors:
        console.print(f"[red]✗ segment {err.item_key}[/]: {err.reason}")
    console.print(f"dashboard: #/media (job {done.job.job_id})")


__all__ = ["run"]
