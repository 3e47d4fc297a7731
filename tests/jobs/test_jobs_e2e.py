"""Jobs end to end: the real orchestrator and gateway processes, real NATS and PostgreSQL, the test-only
job kind ``test.items`` (skillstream_testing.jobkit)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest_asyncio

from skillstream_testing.jobstack import JobStack, job_ended, job_stack


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
