"""Jobs end to end: the real orchestrator and gateway processes, real NATS and PostgreSQL, the test-only
job kind ``test.items`` (skillstream_testing.jobkit)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest_asyncio

from skillstream_testing.jobstack import JobStack, job_ended, job_stack, start_worker, terminal_reports


@pytest_asyncio.fixture
async def stack(nats_url: str, database_url: str, tmp_path: Path) -> AsyncIterator[JobStack]:
    async with job_stack(nats_url, database_url, tmp_path) as s:
        yield s


def _counts(p: dict[str, Any]) -> dict[str, Any]:
    return {k: p[k] for k in ("total", "queued", "processing", "succeeded", "failed", "skipped")}


async def test_job_runs_to_exact_counts(stack: JobStack) -> None:
    async with stack.client() as c:
        kinds = (await c.get("/api/job-kinds")).json()["items"]
        assert [k["kind"] for k in kinds] == ["test.items"]
        r = await c.post(
            "/api/jobs",
            json={"kind": "test.items", "parameters": {"count": 30, "fail": ["3", "17"], "skip": ["5"], "delay": 0.01}},
        )
        assert r.status_code == 201, r.text
        job_id = r.json()["job"]["job_id"]
        detail = await stack.wait_job(c, job_id, job_ended)
    p = detail["progress"]
    assert detail["job"]["status"] == "completed"
    assert _counts(p) == {"total": 30, "queued": 0, "processing": 0, "succeeded": 27, "failed": 2, "skipped": 1}
    assert p["percent"] == 100.0
    assert sorted(e["item_key"] for e in p["last_errors"]) == ["item-0003", "item-0017"]
    assert all("failed on purpose" in e["reason"] for e in p["last_errors"])
    assert {g: v["total"] for g, v in p["groups"].items()} == {"group-1": 15, "group-2": 15}
    assert sum(v["failed"] for v in p["groups"].values()) == 2
    assert p["bytes_done"] == sum(1000 + n for n in range(1, 31) if n not in (3, 17, 5))


async def _start(c: Any, **parameters: Any) -> str:
    r = await c.post("/api/jobs", json={"kind": "test.items", "parameters": parameters})
    assert r.status_code == 201, r.text
    return str(r.json()["job"]["job_id"])


def _done(p: dict[str, Any]) -> int:
    return int(p["succeeded"] + p["failed"] + p["skipped"])


async def test_orchestrator_killed_mid_job_loses_nothing(stack: JobStack) -> None:
    async with stack.client() as c:
        job_id = await _start(c, count=60, fail=["7"], skip=["8", "9"], delay=0.05)
        await stack.wait_job(c, job_id, lambda d: d["progress"]["succeeded"] >= 10)
        await asyncio.to_thread(stack.orchestrator.kill)
        await asyncio.sleep(1.0)  # the worker keeps reporting into JetStream meanwhile
        await asyncio.to_thread(stack.orchestrator.start)
        detail = await stack.wait_job(c, job_id, job_ended)
    assert detail["job"]["status"] == "completed"
    assert _counts(detail["progress"]) == {
        "total": 60,
        "queued": 0,
        "processing": 0,
        "succeeded": 57,
        "failed": 1,
        "skipped": 2,
    }
    reports = await terminal_reports(stack, job_id)
    assert len(reports) == 60
    assert set(reports.values()) == {1}


async def test_worker_crash_resumes_on_another_replica_without_redoing_items(stack: JobStack) -> None:
    async with stack.client() as c:
        job_id = await _start(c, count=40, delay=0.05)
        await stack.wait_job(c, job_id, lambda d: d["progress"]["succeeded"] >= 5)
        first = stack.workers.pop()
        first.cancel()  # the replica dies with the job unacknowledged
        await asyncio.gather(first, return_exceptions=True)
        await start_worker(stack)  # another replica takes it over after ack_wait
        detail = await stack.wait_job(c, job_id, job_ended)
    assert detail["job"]["status"] == "completed"
    assert _counts(detail["progress"])["succeeded"] == 40
    # an item interrupted mid-way may be processed again, but none reaches a terminal state twice
    reports = await terminal_reports(stack, job_id)
    assert len(reports) == 40
    assert set(reports.values()) == {1}


async def test_cancel_then_retry_failed(stack: JobStack) -> None:
    async with stack.client() as c:
        job_id = await _start(c, count=200, fail=["2", "4"], delay=0.03)
        r = await c.post(f"/api/jobs/{job_id}/retry-failed")
        assert r.status_code == 409, r.text  # not ended yet
        await stack.wait_job(c, job_id, lambda d: d["progress"]["succeeded"] >= 5)
        r = await c.post(f"/api/jobs/{job_id}/cancel")
        assert r.status_code == 202, r.text
        assert r.json()["cancel_requested"] is True
        detail = await stack.wait_job(c, job_id, job_ended)
        p = detail["progress"]
        assert detail["job"]["status"] == "cancelled"
        assert 5 <= _done(p) < 200  # dispatching stopped; items in flight finished
        assert p["processing"] == 0
        assert (p["queued"], p["cancelled"]) == (0, 200 - _done(p))  # the items not run ended with the job
        assert p["failed"] == 2
        assert _done(p) == sum((await terminal_reports(stack, job_id)).values())
        assert (await c.post(f"/api/jobs/{job_id}/cancel")).status_code == 409  # already ended

        r = await c.post(f"/api/jobs/{job_id}/retry-failed")
        assert r.status_code == 201, r.text
        retry = r.json()["job"]
        assert retry["retry_of"] == job_id
        assert retry["kind"] == "test.items"
        again = await c.post(f"/api/jobs/{job_id}/retry-failed")
        assert again.status_code == 200
        assert again.json()["job"]["job_id"] == retry["job_id"]
        detail = await stack.wait_job(c, retry["job_id"], job_ended)
        assert detail["job"]["status"] == "completed"
        assert _counts(detail["progress"]) == {
            "total": 2,
            "queued": 0,
            "processing": 0,
            "succeeded": 2,
            "failed": 0,
            "skipped": 0,
        }
        assert (await c.post(f"/api/jobs/{retry['job_id']}/retry-failed")).status_code == 409  # nothing failed
        assert (await c.post(f"/api/jobs/{retry['job_id']}/resume")).status_code == 409  # it completed

        # The worker reported only the items it started: the others' keys are unknown, so resuming runs the
        # whole request again (a kind whose owner skips finished work does only the rest).
        r = await c.post(f"/api/jobs/{job_id}/resume")
        assert r.status_code == 201, r.text
        resumed = r.json()["job"]
        assert (resumed["retry_of"], resumed["only_items"], resumed["parameters"]["count"]) == (job_id, [], 200)
        detail = await stack.wait_job(c, resumed["job_id"], job_ended)
        assert (detail["progress"]["total"], detail["progress"]["cancelled"]) == (200, 0)


async def test_idempotency_key_and_queries(stack: JobStack) -> None:
    async with stack.client() as c:
        body = {"kind": "test.items", "parameters": {"count": 3, "delay": 0}, "idempotency_key": "nightly-1"}
        first = await c.post("/api/jobs", json=body)
        second = await c.post("/api/jobs", json=body)
        assert (first.status_code, second.status_code) == (201, 200)
        assert first.json()["job"]["job_id"] == second.json()["job"]["job_id"]
        clash = await c.post("/api/jobs", json={**body, "parameters": {"count": 4}})
        assert clash.status_code == 409
        assert clash.json()["type"].endswith(":conflict")
        unknown = await c.post("/api/jobs", json={"kind": "no.such_kind"})
        assert unknown.status_code == 400, unknown.text
        job_id = first.json()["job"]["job_id"]
        await stack.wait_job(c, job_id, job_ended)
        other = await _start(c, count=1, delay=0)
        await stack.wait_job(c, other, job_ended)
        page = (await c.get("/api/jobs", params={"limit": 1})).json()
        assert [j["job_id"] for j in page["items"]] == [other]
        assert page["next_cursor"]
        page2 = (await c.get("/api/jobs", params={"limit": 1, "cursor": page["next_cursor"]})).json()
        assert [j["job_id"] for j in page2["items"]] == [job_id]
        assert page2["next_cursor"] is None
        assert (await c.get("/api/jobs", params={"status": "running"})).json()["items"] == []
        assert (await c.get("/api/jobs/" + "0" * 32)).status_code == 404
    # a caller without jobs.view_all sees only its own jobs
    async with stack.client("training_officer") as officer:
        assert (await officer.get("/api/jobs")).json()["items"] == []
        assert (await officer.get(f"/api/jobs/{job_id}")).status_code == 404
