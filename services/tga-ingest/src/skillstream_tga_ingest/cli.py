"""``skillstream tga …``: the operator's TGA commands (installed through the ``skillstream.cli`` entry point).

- ``parse FILE...``: parse AuthorIT XML files locally and print each component as JSON (no stack needed);
  a refused file prints ``{"file", "error", "failure"}`` and the exit code is 1.
- ``refresh``, ``download``, ``sync``, ``reparse``: start the matching job through the orchestrator of the
  running stack and follow its progress to the end; ``download`` then prints the job's outcome table (the
  demo's, :mod:`skillstream_tga_ingest.report`), the others the job's summary.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from skillstream_contracts.tga_queries import (
    KIND_DOWNLOAD_PACKAGES,
    KIND_DOWNLOAD_QUALIFICATIONS,
    KIND_DOWNLOAD_UNITS,
    KIND_REFRESH_CATALOGUE,
    KIND_REPARSE,
    KIND_SYNC,
)
from skillstream_runtime.errors import RequestError
from skillstream_runtime.settings import Settings
from skillstream_tga_ingest.parser import ParseError, parse_component, to_operator_json

app = typer.Typer(help="TGA ingest: parse unit/qualification XML, download, sync, re-parse.", no_args_is_help=True)


@app.command()
def parse(
    files: Annotated[list[Path], typer.Argument(help="AuthorIT XML files (units or qualifications)")],
    indent: Annotated[int | None, typer.Option(help="indent the JSON (default: one line per file)")] = None,
) -> None:
    """Parse each file and print it as JSON, one document per file, keys in a fixed order."""
    failed = False
    for path in files:
        try:
            out: dict[str, Any] = to_operator_json(parse_component(path.read_bytes()))
        except ParseError as e:
            failed = True
            out = {"file": str(path), "error": e.reason, "failure": e.failure.value}
        except OSError as e:
            failed = True
            out = {"file": str(path), "error": e.strerror or str(e), "failure": "unreadable"}
        sys.stdout.write(json.dumps(out, ensure_ascii=False, indent=indent) + "\n")
    raise typer.Exit(1 if failed else 0)


def _job(kind: str, parameters: dict[str, Any], *, outcome: str | None = None) -> None:
    """Run a job of ``kind`` to its end; with ``outcome`` (a title) print its outcome table, else its summary.
    Exit status: 0 completed with no failed item, 1 otherwise, 2 the stack refused or did not answer."""
    from skillstream_runtime.cliclient import connect, console
    from skillstream_runtime.jobclient import run_job
    from skillstream_tga_ingest.report import print_outcome

    async def go() -> int:
        async with connect(Settings(), database=False) as (nc, _):
            detail = await run_job(nc, kind, parameters, console=console)
            job = detail.job
            if outcome is not None:
                await print_outcome(nc, console, detail, title=outcome)
                return 0 if job.status.value == "completed" and not detail.progress.failed else 1
        console.print(f"job {job.job_id}: [bold]{job.status.value}[/] {json.dumps(job.summary)}")
        if job.reason:
            console.print(f"[red]{job.reason}[/]")
        for err in detail.progress.last_errors:
            console.print(f"[red]✗ {err.item_key}[/]: {err.reason}")
        return 0 if job.status.value == "completed" and not detail.progress.failed else 1

    try:
        code = asyncio.run(go())
    except RequestError as e:
        console.print(f"[red]{e}[/]")
        raise typer.Exit(2) from e
    raise typer.Exit(code)


Codes = Annotated[list[str] | None, typer.Option(help="national codes (repeat the option)")]


@app.command()
def refresh(
    types: Annotated[list[str] | None, typer.Option("--type", help="training_package|qualification|…")] = None,
) -> None:
    """List TGA's catalogue (Search) into the local catalogue."""
    _job(KIND_REFRESH_CATALOGUE, {"component_types": types} if types else {})


@app.command()
def download(
    packages: Codes = None,
    qualifications: Codes = None,
    units: Codes = None,
) -> None:
    """Download training packages (with their components), qualifications or units as jobs."""
    chosen = [(KIND_DOWNLOAD_PACKAGES, packages), (KIND_DOWNLOAD_QUALIFICATIONS, qualifications)]
    chosen.append((KIND_DOWNLOAD_UNITS, units))
    jobs = [(kind, codes) for kind, codes in chosen if codes]
    if len(jobs) != 1:
        raise typer.BadParameter("give exactly one of --packages, --qualifications, --units")
    kind, codes = jobs[0]
    what = {KIND_DOWNLOAD_PACKAGES: "training packages", KIND_DOWNLOAD_QUALIFICATIONS: "qualifications"}
    _job(kind, {"codes": codes}, outcome=f"TGA download of {what.get(kind, 'units')} {', '.join(codes)}")


@app.command()
def sync(
    since: Annotated[str | None, typer.Option(help="ISO 8601 start (default: where the last sync ended)")] = None,
) -> None:
    """Incremental sync: what TGA changed or deleted since then."""
    _job(KIND_SYNC, {"since": since} if since else {})


@app.command()
def reparse(codes: Annotated[list[str] | None, typer.Argument(help="codes (default: outdated ones)")] = None) -> None:
    """Re-parse kept XML without downloading it again (after a parser fix)."""
    _job(KIND_REPARSE, {"codes": codes} if codes else {})


__all__ = ["app"]
