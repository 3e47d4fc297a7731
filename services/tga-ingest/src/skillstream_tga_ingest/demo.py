"""The TGA part of ``make demo``: refresh the catalogue, bulk-download several real training packages from
the TGA sandbox through the orchestrator (progress in the terminal and on the dashboard), then the job's
outcome table (:mod:`skillstream_tga_ingest.report`, shared with ``skillstream tga download``).

The packages (``DEMO_PACKAGES``) are ones whose real unit and qualification XML is in
``shared/real-data/tga``, so the run parses real documents end to end.
"""

from __future__ import annotations

import json
import os

from nats.aio.client import Client
from rich.console import Console

from skillstream_contracts.tga_queries import KIND_DOWNLOAD_PACKAGES, KIND_REFRESH_CATALOGUE
from skillstream_runtime.jobclient import run_job
from skillstream_tga_ingest.report import print_outcome

DEMO_PACKAGES = ("BSB", "CPC", "RII", "CHC", "UEG")


async def run(nc: Client, console: Console) -> None:
    """Run the demo jobs and print their outcome (``report.print_outcome``; ``DEMO_TGA_PACKAGES`` =
    comma-separated codes overrides the packages)."""
    packages = [c.strip() for c in os.environ.get("DEMO_TGA_PACKAGES", ",".join(DEMO_PACKAGES)).split(",") if c]
    refresh = await run_job(nc, KIND_REFRESH_CATALOGUE, {}, console=console, requested_by="demo")
    console.print(f"catalogue refresh: {refresh.job.status.value} {json.dumps(refresh.job.summary)}")
    download = await run_job(nc, KIND_DOWNLOAD_PACKAGES, {"codes": packages}, console=console, requested_by="demo")
    await print_outcome(nc, console, download, title=f"TGA bulk download of {', '.join(packages)}")


__all__ = ["DEMO_PACKAGES", "run"]
