"""The download and re-parse job handlers against the in-memory event store, a fake TGA serving the real XML
of ``real-data/tga`` and a fake raw store: downloaded, failed (SOAP fault, malformed XML, unexpected error)
while the other items complete, resumed after a crash, cancelled, two jobs on the same components, re-parse.
Expected values come from the real files (the parser's own reading is not assumed)."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Callable
from typing import Any

import pytest

from skillstream_contracts.jobs import JobPhase
from skillstream_contracts.tga import (
    ComponentDownloadFailed,
    ComponentDownloadStarted,
    ComponentType,
    IngestJobPlanned,
    PackageDownloaded,
    ParseFailure,
    UnitDownloaded,
    UnitParseFailed,
)
from skillstream_contracts.tga_queries import KIND_DOWNLOAD_PACKAGES, KIND_DOWNLOAD_UNITS, KIND_REPARSE
from skillstream_runtime.errors import ConcurrencyError
from skillstream_runtime.jobs import JobContext
from skillstream_tga_ingest.adapters.client import TgaTransportError, TgaValidationFault
from skillstream_tga_ingest.domain.component import StartDownload
from skillstream_tga_ingest.handlers.deps import Deps
from skillstream_tga_ingest.handlers.download import download, reparse
from skillstream_tga_ingest.handlers.record import load_component, record

from .conftest import BSB_QUALIFICATIONS, BSB_UNITS, RII_UNITS, FakeTga, Ledger, real_xml

UNIT = ComponentType.UNIT
NewJob = Callable[..., JobContext]


def _units(codes: tuple[str, ...]) -> set[str]:
    return {f"unit:{c}" for c in codes}


async def test_a_package_job_downloads_the_package_then_every_component_it_lists(
    deps: Deps, tga: FakeTga, new_job: NewJob, ledger: Ledger
) -> None:
    job = new_job(KIND_DOWNLOAD_PACKAGES, {"codes": ["bsb "]})
    await download(job, deps, kind=KIND_DOWNLOAD_PACKAGES)

    outcomes = ledger.outcomes(job.job_id)
    expected = {"training_package:BSB", "qualification:BSB41419", *_units(BSB_UNITS)}
    assert outcomes == dict.fromkeys(expected, "succeeded")
    assert all(len(reports) == 1 for reports in ledger.terminal(job.job_id).values())
    (planned_record,) = [e for e in ledger.events() if isinstance(e.event, IngestJobPlanned)]
    planned = planned_record.event
    assert isinstance(planned, IngestJobPlanned)
    assert (planned.total, planned.groups) == (len(expected), {"BSB": len(expected)})
    (package,) = [e.event for e in ledger.events() if isinstance(e.event, PackageDownloaded)]
    assert planned_record.metadata.job is not None
    assert planned_record.metadata.job.summary is not None
    report = json.loads(planned_record.metadata.job.summary)
    assert package.title  # the job page names the group by the package's title
    assert report["group_labels"] == {"BSB": package.title}
    end = ledger.ended(job.job_id)
    assert end.phase == JobPhase.COMPLETED.value
    assert end.summary["units_parsed"] == len(BSB_UNITS)
    assert end.summary["components"] == len(expected)
    assert tga.files_served == len(BSB_UNITS) + len(BSB_QUALIFICATIONS)
    (unit,) = [e.event for e in ledger.on(UNIT, "BSBCMM412") if isinstance(e.event, UnitDownloaded)]
    assert unit.source.size == len(real_xml("BSBCMM412"))
    assert unit.elements
    assert unit.training_package == "BSB"


async def test_a_soap_fault_and_a_malformed_file_fail_only_their_items_with_where_and_why(
    deps: Deps, tga: FakeTga, new_job: NewJob, ledger: Ledger
) -> None:
    tga.faults["BSBESB302"] = TgaValidationFault(
        "Training component BSBESB302 not found", operation="GetDetails", component="BSBESB302", code="NotFound"
    )
    tga.faults["BSBSTR602"] = TgaTransportError("HTTP 503 after 3 tries", operation="GetDetails", status=503)
    tga.faults["BSBSTR802"] = RuntimeError("a reply nobody foresaw")
    tga.corrupt.add("BSBITU111")
    job = new_job(KIND_DOWNLOAD_UNITS, {"codes": list(BSB_UNITS)})
    await download(job, deps, kind=KIND_DOWNLOAD_UNITS)

    assert ledger.outcomes(job.job_id) == {
        "unit:BSBCMM412": "succeeded",
        "unit:BSBESB302": "failed",
        "unit:BSBITU111": "failed",
        "unit:BSBSTR602": "failed",
        "unit:BSBSTR802": "failed",
    }
    terminal = {k: v[0] for k, v in ledger.terminal(job.job_id).items()}
    fault = terminal["unit:BSBESB302"].event
    assert isinstance(fault, ComponentDownloadFailed)
    assert (fault.fault_code, fault.reason) == (
        "NotFound",
        "TGA GetDetails BSBESB302: Training component BSBESB302 not found",
    )
    transport = terminal["unit:BSBSTR602"].event
    assert isinstance(transport, ComponentDownloadFailed)
    assert transport.http_status == 503
    refused = terminal["unit:BSBITU111"]
    assert isinstance(refused.event, UnitParseFailed)
    assert refused.event.failure is ParseFailure.MALFORMED
    assert refused.event.reason.startswith("line ")  # where in the file, then why
    assert refused.metadata.job is not None
    assert refused.metadata.job.reason == f"malformed: {refused.event.reason}"[:500]
    assert refused.metadata.job.item_bytes == len(real_xml("BSBITU111")) // 2
    unexpected = terminal["unit:BSBSTR802"].event
    assert isinstance(unexpected, ComponentDownloadFailed)
    assert unexpected.reason == "RuntimeError: a reply nobody foresaw"
    end = ledger.ended(job.job_id)
    assert end.phase == JobPhase.COMPLETED.value
    assert (end.summary["failures"], end.summary["parse_failures"], end.summary["units_parsed"]) == (4, 1, 1)


async def test_a_job_resumed_after_a_crash_does_not_redo_the_items_it_ended(
    deps: Deps, tga: FakeTga, new_job: NewJob, ledger: Ledger
) -> None:
    codes = (*BSB_UNITS, *RII_UNITS)
    job = new_job(KIND_DOWNLOAD_UNITS, {"codes": list(codes)})
    reached = asyncio.Event()

    async def crash_at_the_sixth(code: str) -> None:
        if sum(tga.calls.values()) >= 6:
            reached.set()
            await asyncio.Event().wait()  # hangs until the process "dies"

    tga.on_details = crash_at_the_sixth
    first = asyncio.create_task(download(job, deps, kind=KIND_DOWNLOAD_UNITS))
    await asyncio.wait_for(reached.wait(), 5)
    first.cancel()  # the worker process is killed: items in flight stop half done
    with pytest.raises(asyncio.CancelledError):
        await first
    ended_before = set(ledger.terminal(job.job_id))
    assert 0 < len(ended_before) < len(codes)

    tga.on_details = None
    calls_before = tga.calls.copy()
    redelivered = new_job(KIND_DOWNLOAD_UNITS, {"codes": list(codes)}, job_id=job.job_id)
    await download(redelivered, deps, kind=KIND_DOWNLOAD_UNITS)

    assert all(tga.calls[key.split(":")[1]] == calls_before[key.split(":")[1]] for key in ended_before)
    terminal = ledger.terminal(job.job_id)
    assert set(terminal) == _units(codes)
    assert all(len(reports) == 1 for reports in terminal.values())
    assert len(ledger.started(job.job_id)) == 1
    end = ledger.ended(job.job_id)
    assert end.phase == JobPhase.COMPLETED.value
    assert end.summary["units_parsed"] == len(codes)  # the items ended before the crash are counted back


async def test_cancel_stops_taking_items_lets_the_one_in_flight_finish_and_ends_cancelled(
    deps: Deps, tga: FakeTga, new_job: NewJob, ledger: Ledger
) -> None:
    job = new_job(KIND_DOWNLOAD_UNITS, {"codes": list(BSB_UNITS)})

    async def cancel_during_the_second(code: str) -> None:
        if sum(tga.calls.values()) == 2:
            job.cancel_event.set()

    tga.on_details = cancel_during_the_second
    await download(job, dataclasses.replace(deps, item_concurrency=1), kind=KIND_DOWNLOAD_UNITS)

    assert ledger.outcomes(job.job_id) == {f"unit:{c}": "succeeded" for c in BSB_UNITS[:2]}
    started = [e for e in ledger.events() if isinstance(e.event, ComponentDownloadStarted)]
    assert len(started) == 2
    end = ledger.ended(job.job_id)
    assert end.phase == JobPhase.CANCELLED.value
    assert end.summary["units_parsed"] == 2


async def test_two_jobs_downloading_the_same_units_at_once_both_record_their_facts(
    deps: Deps, new_job: NewJob, ledger: Ledger
) -> None:
    a = new_job(KIND_DOWNLOAD_UNITS, {"codes": list(RII_UNITS)})
    b = new_job(KIND_DOWNLOAD_UNITS, {"codes": list(reversed(RII_UNITS))})
    await asyncio.gather(download(a, deps, kind=KIND_DOWNLOAD_UNITS), download(b, deps, kind=KIND_DOWNLOAD_UNITS))

    for job in (a, b):
        terminal = ledger.terminal(job.job_id)
        assert set(terminal) == _units(RII_UNITS)
        assert all(len(reports) == 1 for reports in terminal.values())
        assert ledger.ended(job.job_id).phase == JobPhase.COMPLETED.value
    for code in RII_UNITS:
        assert sum(isinstance(e.event, UnitDownloaded) for e in ledger.on(UNIT, code)) == 2


async def test_an_item_keeps_going_when_its_subject_stays_contended(
    deps: Deps, new_job: NewJob, ledger: Ledger
) -> None:
    job = new_job(KIND_DOWNLOAD_UNITS, {"codes": ["BSBCMM412"]})

    class AlwaysContended:
        """Every conditional append loses the race (other jobs keep writing the subject)."""

        def __init__(self, inner: Any) -> None:
            self.inner = inner

        def __getattr__(self, name: str) -> Any:
            return getattr(self.inner, name)

        async def append(self, stream: Any, subject: str, aggregate_id: str, events: Any, **kw: Any) -> Any:
            if kw.get("expected_last_sequence") is not None:
                raise ConcurrencyError(subject, kw["expected_last_sequence"], "someone else was first")
            return await self.inner.append(stream, subject, aggregate_id, events)

    store = AlwaysContended(deps.store)
    component = await load_component(store, UNIT, "BSBCMM412")
    start = StartDownload(job_id=job.job_id, item_key="unit:BSBCMM412", code="BSBCMM412", component_type=UNIT)
    decided = await record(store, component, start, job.new_event)

    assert [type(e.event) for e in decided.events] == [ComponentDownloadStarted]
    assert len(ledger.on(UNIT, "BSBCMM412")) == 1


async def test_reparse_reads_the_kept_xml_without_asking_tga(
    deps: Deps, tga: FakeTga, new_job: NewJob, ledger: Ledger
) -> None:
    downloaded = new_job(KIND_DOWNLOAD_UNITS, {"codes": list(RII_UNITS)})
    await download(downloaded, deps, kind=KIND_DOWNLOAD_UNITS)
    asked, served = sum(tga.calls.values()), tga.files_served

    job = new_job(KIND_REPARSE, {"codes": [c.lower() for c in RII_UNITS]})
    await reparse(job, deps)
    never_kept = new_job(KIND_REPARSE, {}, only_items=["unit:BSBCMM412"])
    await reparse(never_kept, deps)

    assert ledger.outcomes(job.job_id) == dict.fromkeys(_units(RII_UNITS), "succeeded")
    assert (sum(tga.calls.values()), tga.files_served) == (asked, served)
    for code in RII_UNITS:
        first, again = [e.event for e in ledger.on(UNIT, code) if isinstance(e.event, UnitDownloaded)]
        assert again.source == first.source
        assert again.elements == first.elements
    (failed,) = ledger.terminal(never_kept.job_id)["unit:BSBCMM412"]
    assert isinstance(failed.event, ComponentDownloadFailed)
    assert failed.event.reason == "ValueError: BSBCMM412: no kept XML to re-parse"


async def test_a_retry_job_runs_only_the_given_items_grouped_under_their_package(
    deps: Deps, new_job: NewJob, ledger: Ledger
) -> None:
    job = new_job(KIND_DOWNLOAD_PACKAGES, {"codes": ["BSB"]}, only_items=["unit:BSBCMM412"])
    await download(job, deps, kind=KIND_DOWNLOAD_PACKAGES)

    (report,) = ledger.terminal(job.job_id)["unit:BSBCMM412"]
    assert report.metadata.job is not None
    assert report.metadata.job.item_group == "BSB"
    assert set(ledger.terminal(job.job_id)) == {"unit:BSBCMM412"}


async def test_a_job_without_codes_is_refused(deps: Deps, new_job: NewJob) -> None:
    with pytest.raises(ValueError, match="no codes given"):
        await download(new_job(KIND_DOWNLOAD_UNITS, {"codes": [" "]}), deps, kind=KIND_DOWNLOAD_UNITS)
