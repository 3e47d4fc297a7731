"""The outcome of a TGA download job as a table, printed by the demo (``make demo``) and by
``skillstream tga download``.

One row per counter: what the job did (its summary, ``domain.outcomes.counts_of``: components downloaded
with their content, metadata-only ones — TGA lists no content file —, units parsed, elements, performance
criteria, failures) beside what the catalogue holds now (``qry.tga.catalogue_stats``); then each failed
item with its reason, and where to watch the job on the dashboard.
"""

from __future__ import annotations

from nats.aio.client import Client
from rich.console import Console
from rich.table import Table

from skillstream_contracts.jobs import JobDetail
from skillstream_contracts.tga_queries import CATALOGUE_STATS, CatalogueStats, GetCatalogueStats
from skillstream_runtime.endpoints import request


def outcome_table(detail: JobDetail, stats: CatalogueStats, *, title: str) -> Table:
    """The job's counters (``detail.job.summary``, ``detail.progress.failed``) beside the catalogue's
    (``stats``), under ``title`` followed by the job's status."""
    summary = detail.job.summary
    table = Table(title=f"{title}: {detail.job.status.value}", title_justify="left")
    table.add_column("what")
    table.add_column("this job", justify="right")
    table.add_column("catalogue now", justify="right")

    def row(what: str, job: int | None, now: int | None) -> None:
        table.add_row(what, "" if job is None else str(job), "" if now is None else str(now))

    row("components downloaded", summary.get("components", 0), None)
    row("metadata only (no content file)", summary.get("metadata_only", 0), sum(stats.metadata_only.values()))
    row("training packages", None, stats.training_packages)
    row("qualifications", None, stats.qualifications)
    row("units parsed", summary.get("units_parsed", 0), stats.units)
    row("elements", summary.get("elements", 0), stats.elements)
    row("performance criteria", summary.get("performance_criteria", 0), stats.performance_criteria)
    row("failures", detail.progress.failed, sum(f.count for f in stats.failures))
    return table


async def print_outcome(nc: Client, console: Console, detail: JobDetail, *, title: str) -> None:
    """Print :func:`outcome_table` (the catalogue's counts asked of tga-ingest over ``nc``), each failed item
    with its reason, and the job's id for the dashboard.

    Raises:
        RequestError: tga-ingest did not answer the stats query.
    """
    stats = await request(nc, CATALOGUE_STATS, GetCatalogueStats(), CatalogueStats)
    console.print(outcome_table(detail, stats, title=title))
    if detail.job.reason:
        console.print(f"[red]{detail.job.reason}[/]")
    for err in detail.progress.last_errors:
        console.print(f"[red]✗ {err.item_key}[/]: {err.reason}")
    console.print(f"dashboard: job {detail.job.job_id}")


__all__ = ["outcome_table", "print_outcome"]
