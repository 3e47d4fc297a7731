"""TGA ingest end to end: the sandbox, orchestrator, tga-ingest and gateway as real processes on a real
nats-server and PostgreSQL; the real catalogue and XML from ``shared/real-data/tga``.

What is checked against the documents themselves: the parsed unit the gateway serves equals the parser's
reading of the real file, and its first element / performance criterion are the text the file writes.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import nats
import pytest
from nats.js.api import DeliverPolicy

from skillstream_contracts.events import Headers
from skillstream_contracts.tga_queries import (
    KIND_DOWNLOAD_PACKAGES,
    KIND_REFRESH_CATALOGUE,
    KIND_REPARSE,
    KIND_SYNC,
)
from skillstream_runtime.realdata import real_data
from skillstream_testing.tgastack import TgaStack, tga_stack
from skillstream_tga_ingest.parser import parse_qualification, parse_unit

pytestmark = pytest.mark.slow

UNITS = real_data("tga", "units")
QUALIFICATIONS = real_data("tga", "qualifications")


def _real_units(prefix: str) -> set[str]:
    return {p.name.removesuffix("_XML.xml") for p in UNITS.glob(f"{prefix}*_XML.xml")}


async def _available(client: httpx.AsyncClient, path: str, **params: Any) -> dict[str, Any]:
    r = await client.get(f"/api/{path}/available", params=params)
    assert r.status_code == 200, r.text
    return dict(r.json())


async def _failed_items(client: httpx.AsyncClient, job_id: str) -> dict[str, str]:
    detail = (await client.get(f"/api/jobs/{job_id}")).json()
    return {e["item_key"]: e["reason"] for e in detail["progress"]["last_errors"]}


@pytest.fixture
async def stack(nats_url: str, database_url: str, tmp_path: Path) -> Any:
    async with tga_stack(nats_url, database_url, tmp_path) as s:
        yield s


async def test_package_bulk_download_parses_the_real_units(stack: TgaStack) -> None:
    async with stack.client() as client:
        before = await _available(client, "training-packages", search="BSB")
        assert before["refreshed_at"] is None
        refresh = await stack.run_job(client, KIND_REFRESH_CATALOGUE, {})
        assert refresh["job"]["status"] == "completed", refresh

        packages = await _available(client, "training-packages", page_size=100)
        assert packages["total"] == 59  # the packages of catalogue/data.txt
        bsb = await _available(client, "training-packages", search="bsb")
        assert [i["code"] for i in bsb["items"]] == ["BSB"]
        assert bsb["items"][0]["downloaded"] is False

        r = await client.post("/api/training-packages/bulk-download", json={"codes": ["BSB"]})
        assert r.status_code == 201, r.text
        job_id = r.json()["job"]["job_id"]
        assert r.headers["location"] == f"/api/training-packages/download-status/{job_id}"
        detail = await stack.wait_job(client, job_id)
        assert detail["job"]["status"] == "completed", detail
        progress = detail["progress"]
        # every item is terminal exactly once, nothing failed, the package plus every component it lists
        assert progress["failed"] == 0, progress["last_errors"]
        assert progress["succeeded"] == progress["total"] > len(_real_units("BSB"))
        assert progress["groups"]["BSB"]["succeeded"] == progress["total"]
        summary = detail["job"]["summary"]
        assert summary["units_parsed"] == len(_real_units("BSB"))

        status = await client.get(f"/api/training-packages/download-status/{job_id}")
        assert status.status_code == 200
        assert status.json()["job"]["job_id"] == job_id
        assert (await client.get(f"/api/units/download-status/{job_id}")).status_code == 404

        bsb = await _available(client, "training-packages", search="BSB")
        assert bsb["items"][0]["downloaded"] is True
        units = await _available(client, "units", training_package="BSB", downloaded="true")
        assert {i["code"] for i in units["items"]} == _real_units("BSB")
        assert all(i["processed"] for i in units["items"])

        # the served unit is the parser's reading of the real file, to the last criterion
        expected = parse_unit((UNITS / "BSBCMM412_XML.xml").read_bytes())
        unit = (await client.get("/api/units/BSBCMM412/comprehensive")).json()
        assert unit["format"] == "2012"
        assert [(e["number"], e["title"]) for e in unit["elements"]] == [(e.number, e.title) for e in expected.elements]
        assert unit["elements"][0]["number"] == "1"
        assert unit["elements"][0]["title"] == "Prepare for conversation"  # as the file writes it
        assert unit["performance_evidence"] == expected.performance_evidence
        assert unit["knowledge_evidence"] == expected.knowledge_evidence
        assert unit["source"]["relative_path"] == "BSB/BSBCMM412_Complete_R2.xml"
        elements = (await client.get("/api/units/BSBCMM412/elements")).json()["elements"]
        assert [e["performance_criteria_count"] for e in elements] == [
            len(e.performance_criteria) for e in expected.elements
        ]
        criteria = (await client.get("/api/units/BSBCMM412/performance-criteria")).json()["performance_criteria"]
        assert [(c["element_number"], c["number"], c["text"]) for c in criteria] == [
            (e.number, pc.number, pc.text) for e in expected.elements for pc in e.performance_criteria
        ]
        qual = (await client.get("/api/qualifications/BSB41419/comprehensive")).json()
        expected_q = parse_qualification((QUALIFICATIONS / "BSB41419_XML.xml").read_bytes())
        assert [u["code"] for u in qual["units"] if u["core"]] == expected_q.core_units
        assert (await client.get("/api/units/NOPE999/comprehensive")).status_code == 404

        # members and training officers may not use the catalogue routes
        async with stack.client("training_officer") as officer:
            assert (await officer.get("/api/units/available")).status_code == 403


async def test_faults_fail_only_their_items_and_retry_completes_them(stack: TgaStack) -> None:
    async with stack.client() as client:
        await stack.set_faults(latency_ms=20, soap_fault_codes=["CPC"], truncated_files=["BSBCMM412"])
        r = await client.post("/api/training-packages/bulk-download", json={"codes": ["BSB", "CPC", "UEG"]})
        job_id = r.json()["job"]["job_id"]
        detail = await stack.wait_job(client, job_id)
        progress = detail["progress"]
        assert detail["job"]["status"] == "completed"
        failed = await _failed_items(client, job_id)
        assert set(failed) == {"training_package:CPC", "unit:BSBCMM412"}, failed
        assert "CPC" in failed["training_package:CPC"]
        assert "truncat" in failed["unit:BSBCMM412"].lower()
        assert progress["failed"] == 2
        assert progress["succeeded"] == progress["total"] - 2  # every other item completed

        await stack.set_faults()
        r = await client.post(f"/api/jobs/{job_id}/retry-failed")
        assert r.status_code == 201, r.text
        retry = await stack.wait_job(client, r.json()["job"]["job_id"])
        assert retry["job"]["status"] == "completed"
        assert retry["progress"]["failed"] == 0, retry["progress"]["last_errors"]
        # the retried package expands again: CPC's components are downloaded now
        assert retry["progress"]["total"] > 2
        cpc_units = await _available(client, "units", training_package="CPC", downloaded="true")
        # CPCCBC4047A and CPCCSI2005A belong to CPC08, the older package (SOURCES.md: `CPC08\\…_R1.xml`)
        assert {i["code"] for i in cpc_units["items"]} == _real_units("CPC") - {"CPCCBC4047A", "CPCCSI2005A"}
        unit = (await client.get("/api/units/BSBCMM412/comprehensive")).json()
        assert unit["elements"]


async def test_sync_redownloads_changed_and_marks_deleted_then_reparse_needs_no_download(stack: TgaStack) -> None:
    async with stack.client() as client:
        await stack.run_job(client, KIND_DOWNLOAD_PACKAGES, {"codes": ["RII"]})
        first = await stack.run_job(client, KIND_SYNC, {"since": "2026-06-01T00:00:00Z"})  # after every sandbox date
        assert first["job"]["status"] == "completed", first["job"]["reason"]
        assert first["job"]["status"] == "completed"
        async with httpx.AsyncClient(base_url=stack.sandbox_url) as sandbox:
            r = await sandbox.put("/_sandbox/modified", json={"code": "RIICOM201E"})
            assert r.status_code == 200, r.text
            r = await sandbox.put("/_sandbox/deleted", json={"code": "RIIDES301D", "operation": "LogicalDelete"})
            assert r.status_code == 200, r.text
        second = await stack.run_job(client, KIND_SYNC, {})  # since the end of the last sync
        assert second["job"]["status"] == "completed", second
        assert second["job"]["summary"].get("deleted") == 1
        # only what changed since: the modified unit, and the deleted one (a deletion bumps UpdatedDate too)
        assert second["progress"]["total"] == second["progress"]["succeeded"] == 2
        assert second["progress"]["groups"]["unit"]["succeeded"] == 2
        # the units read model follows the TGA stream on its own: give it a moment after the job's end
        for _ in range(100):
            unit = (await client.get("/api/units/RIIDES301D/comprehensive")).json()
            if unit["deleted_at"] is not None:
                break
            await asyncio.sleep(0.2)
        assert unit["deleted_at"] is not None

        files_before = (await stack.sandbox_stats())["files_served"]
        reparse = await stack.run_job(client, KIND_REPARSE, {"codes": ["RIICOM201E", "RIIDES301D"]})
        assert reparse["job"]["status"] == "completed"
        assert reparse["progress"]["succeeded"] == 2
        assert (await stack.sandbox_stats())["files_served"] == files_before


async def _terminal_reports(nats_url: str, job_id: str) -> Counter[str]:
    """Terminal item reports of ``job_id`` per item key, read back from the ``TGA`` stream (the truth)."""
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    last = (await js.stream_info("TGA")).state.last_seq
    sub = await js.subscribe("tga.>", ordered_consumer=True, deliver_policy=DeliverPolicy.ALL)
    counts: Counter[str] = Counter()
    try:
        while True:
            msg = await sub.next_msg(timeout=5)
            h = msg.headers or {}
            if h.get(Headers.JOB_ID) == job_id and h.get(Headers.ITEM_OUTCOME) in ("succeeded", "failed", "skipped"):
                counts[h[Headers.ITEM_KEY]] += 1
            if msg.metadata.sequence.stream >= last:
                break
    finally:
        await sub.unsubscribe()
        await nc.close()
    return counts


async def test_tga_ingest_killed_mid_job_resumes_without_downloading_twice(stack: TgaStack) -> None:
    async with stack.client() as client:
        await stack.set_faults(latency_ms=150)
        r = await client.post("/api/training-packages/bulk-download", json={"codes": ["BSB", "RII", "CHC"]})
        job_id = r.json()["job"]["job_id"]
        await stack.wait_job(client, job_id, lambda d: d["progress"]["succeeded"] >= 8, within=60)
        await asyncio.to_thread(stack.tga_ingest.kill)
        await stack.set_faults()
        await asyncio.to_thread(stack.tga_ingest.start)  # the job is redelivered after TGA_JOB_ACK_WAIT
        detail = await stack.wait_job(client, job_id, within=120)
        progress = detail["progress"]
        assert detail["job"]["status"] == "completed"
        assert progress["failed"] == 0
        assert progress["succeeded"] == progress["total"]
        reports = await _terminal_reports(stack.nats_url, job_id)
        assert len(reports) == progress["total"]
        assert set(reports.values()) == {1}, {k: n for k, n in reports.items() if n != 1}
        assert detail["job"]["summary"]["units_parsed"] == len(
            _real_units("BSB") | _real_units("RII") | _real_units("CHC")
        )


def _with_files(prefix: str) -> set[str]:
    return {p.name.removesuffix("_XML.xml") for p in QUALIFICATIONS.glob(f"{prefix}*_XML.xml")}


async def test_download_command_prints_the_outcome_table_and_metadata_only_is_shown(
    stack: TgaStack, tmp_path: Path
) -> None:
    """``skillstream tga download`` prints the job's outcome table (as the demo does); the qualifications of
    the package with no real XML file are metadata only everywhere the catalogue shows them; a code TGA does
    not know is listed among the failures with its code, kind and reason."""
    env = {**os.environ, "NATS_URL": stack.nats_url, "DATA_DIR": str(tmp_path / "cli")}
    command = [str(Path(sys.executable).with_name("skillstream")), "tga", "download", "--packages", "CPC"]
    done = await asyncio.to_thread(subprocess.run, command, env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "TGA download of training packages CPC: completed" in out
    async with stack.client() as client:
        listed = (await _available(client, "qualifications", training_package="CPC", page_size=500))["items"]
        codes = {i["code"] for i in listed}
        bare = codes - _with_files("CPC")
        assert bare, "CPC lists qualifications the real data has no XML file for"
        rows = {line.split("│")[1].strip(): line for line in out.splitlines() if line.count("│") >= 3}
        assert rows["metadata only (no content file)"].split("│")[2].strip() == str(len(bare))
        units = (await _available(client, "units", training_package="CPC", downloaded="true"))["total"]
        assert rows["components downloaded"].split("│")[2].strip() == str(1 + len(codes) - len(bare) + units)
        assert rows["failures"].split("│")[2].strip() == "0"

        only = await _available(client, "qualifications", state="metadata_only", page_size=500)
        assert {i["code"] for i in only["items"]} == bare
        assert all(i["metadata_only_reason"].startswith("TGA lists no content file") for i in only["items"])
        assert not any(i["processed"] for i in only["items"])
        parsed = await _available(client, "qualifications", state="downloaded", page_size=500)
        assert {i["code"] for i in parsed["items"]} == codes - bare
        assert all(i["description"] for i in parsed["items"])
        one = (await client.get(f"/api/qualifications/{min(bare)}/comprehensive")).json()
        assert one["metadata_only_reason"].startswith("TGA lists no content file")

        r = await client.post("/api/training-packages/bulk-download", json={"codes": ["NOPE99"]})
        failed = await stack.wait_job(client, r.json()["job"]["job_id"])
        assert failed["progress"]["failed"] == 1
        stats = (await client.get("/api/catalogue/stats")).json()
        assert stats["metadata_only"] == {"qualification": len(bare)}
        assert [(f["kind"], f["count"]) for f in stats["failures"]] == [("download", 1)]
        (item,) = stats["failed"]
        assert (item["code"], item["component_type"], item["kind"]) == ("NOPE99", "training_package", "download")
        assert "NOPE99" in item["reason"]
        packages = await _available(client, "training-packages", state="failed")
        assert [(i["code"], i["failure_kind"]) for i in packages["items"]] == [("NOPE99", "download")]


async def test_superseded_statuses_and_package_releases_come_from_the_real_data(stack: TgaStack) -> None:
    """The sandbox serves what the real files state (deploy/tga-sandbox lineage.py): the superseded filter
    finds data.txt's versioned packages and the dump qualifications a real file supersedes; a downloaded
    package's release is the highest its components were "released with"."""
    stated = "Supersedes and is equivalent to BSB41415 Certificate IV in Work Health and Safety."
    assert stated in (QUALIFICATIONS / "BSB41419_XML.xml").read_text(encoding="utf-8")
    async with stack.client() as client:
        refresh = await stack.run_job(client, KIND_REFRESH_CATALOGUE, {})
        assert refresh["job"]["status"] == "completed", refresh
        old = await _available(client, "training-packages", status="superseded")
        assert {i["code"] for i in old["items"]} == {
            "ACM10", "CPC08", "CPP07", "LMT07", "MEM05", "MSA07", "SIS10", "UEE11"
        }  # fmt: skip
        current = await _available(client, "training-packages", status="current", page_size=100)
        assert current["total"] == 59 - old["total"]
        quals = await _available(client, "qualifications", status="superseded", search="BSB414")
        assert [i["code"] for i in quals["items"]] == ["BSB41415"]

        detail = await stack.run_job(client, KIND_DOWNLOAD_PACKAGES, {"codes": ["CPC"]})
        assert detail["job"]["status"] == "completed", detail
        cpc = (await _available(client, "training-packages", search="CPC"))["items"]
        by_code = {i["code"]: i for i in cpc}
        # "… released with CPC Construction, Plumbing and Services Training Package Release 9.0." (CPC units)
        assert by_code["CPC"]["release"] == "9.0"
        assert by_code["CPC"]["release_date"] == "2015-06-05"  # catalogue/data.txt
        assert by_code["CPC08"]["usage_recommendation"] == "superseded"
