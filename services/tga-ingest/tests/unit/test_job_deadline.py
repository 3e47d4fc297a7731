"""A TGA job past its deadline (its kind's timeout, NATS outages included): the items it had not ended fail
without asking TGA, so a retry of the failed items runs them again, and the job ends failed once."""

from __future__ import annotations

import asyncio
from typing import Any

from skillstream_contracts.jobs import JobPhase
from skillstream_contracts.tga_queries import KIND_DOWNLOAD_UNITS
from skillstream_tga_ingest.handlers.deps import Deps
from skillstream_tga_ingest.handlers.download import download
from skillstream_tga_ingest.handlers.items import PAST_DEADLINE

from .conftest import BSB_UNITS, FakeTga, Ledger


async def test_past_its_deadline_a_job_fails_the_items_it_had_not_ended(
    deps: Deps, tga: FakeTga, new_job: Any, ledger: Ledger
) -> None:
    job = new_job(KIND_DOWNLOAD_UNITS, {"codes": list(BSB_UNITS)})
    job.deadline = asyncio.get_running_loop().time() - 1.0  # e.g. NATS was down until after the job's timeout
    await download(job, deps, kind=KIND_DOWNLOAD_UNITS)

    assert ledger.outcomes(job.job_id) == {f"unit:{c}": "failed" for c in BSB_UNITS}
    assert all(len(reports) == 1 for reports in ledger.terminal(job.job_id).values())
    assert sum(tga.calls.values()) == 0
    end = ledger.ended(job.job_id)
    assert end.phase == JobPhase.FAILED.value
    assert end.reason == "the job ran past its timeout"
    assert job.ended is JobPhase.FAILED
    reasons = {r.event.reason for reports in ledger.terminal(job.job_id).values() for r in reports}  # type: ignore[attr-defined]
    assert reasons == {PAST_DEADLINE}
