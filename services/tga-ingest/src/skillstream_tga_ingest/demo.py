"""The TGA part of ``make demo``: refresh the catalogue, bulk-download several real training packages from
the TGA sandbox through the orchestrator (progress in the terminal and on the dashboard), then a summary.

The packages (``DEMO_PACKAGES``) are ones whose real unit and qualification XML is in
``shared/real-data/tga``, so the run parses real documents end to end.
"""

from __future__ import annotations

import json
import os

from nats.aio.client import Client
from rich.console import Console
from rich.table import Table

from skillstream_contracts.tga_queries import (
    CATALOGUE_STATS,
    KIND_DOWNLOAD_PACKAGES,
    KIND_REFRESH_CATALOGUE,
    CatalogueStats,
    GetCatalogueStats,
)
from skillstream_runtime.endpoints import request
from skillstream_runtime.jobclient import run_job

DEMO_PACKAGES = ("BSB", "CPC", "RII", "CHC", "UEG")


async def run(nc: Client, console: Console) -> None:
    """Run the demo jobs and print their summary (``DEMO_TGA_PACKAGES`` = comma-separated codes overrides)."""
    packages = [c.strip() for c in os.environ.get("DEMO_TGA_PACKAGES", ",".join(DEMO_PACKAGES)).split(",") if c]
    refresh = await run_job(nc, KIND_REFRESH_CATALOGUE, {}, console=console, requested_by="demo")
    console.print(f"catalogue refresh: {refresh.job.status.value} {json.dumps(refresh.job.summary)}")
    download = await run_job(nc, KIND_DOWNLOAD_PACKAGES, {"codes": packages}, console=console, requested_by="demo")
    stats = await request(nc, CATALOGUE_STATS, GetCatalogueStats(), CatalogueStats)
    summary = download.job.summary
    table = Table(
        title=f"TGA bulk download of {', '.join(packages)}: {download.job.status.value}", title_justify="left"
    )
    table.add_column("what")
    table.add_column("this job", justify="right")
    table.add_column("catalogue now", justify="right")
    table.add_row("components downloaded", str(summary.get("components", 0)), "")
    table.add_row("training packages", "", str(stats.training_packages))
    table.add_row("qualifications", "", str(stats.qualifications))
    table.add_row("units parsed", str(summary.get("units_parsed", 0)), str(stats.units))
    table.add_row("elements", str(summary.get("elements", 0)), str(stats.elements))
    table.add_row("performance criteria", str(summary.get("performance_criteria", 0)), str(stats.performance_criteria))
    table.add_row("failures", str(download.progress.failed), str(sum(f.count for f in stats.failures)))
    console.print(table)
    for err in download.progress.last_errors:
        console.print(f"[red]✗ {err.item_key}[/]: {err.reason}")
    console.print(f"dashboard: job {download.job.job_id}")


__all__ = ["DEMO_PACKAGES", "run"]
