"""Server-sent progress through the real gateway: resume with Last-Event-ID, coalescing, keep-alive, auth."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest_asyncio
from httpx_sse import aconnect_sse

from skillstream_testing.jobstack import JobStack, job_ended, job_stack


@pytest_asyncio.fixture
async def stack(nats_url: str, database_url: str, tmp_path: Path) -> AsyncIterator[JobStack]:
    async with job_stack(nats_url, database_url, tmp_path) as s:
        yield s


def _done(p: dict[str, Any]) -> int:
    return int(p["succeeded"] + p["failed"] + p["skipped"])


async def _read(
    c: httpx.AsyncClient, url: str, *, last_id: str | None, stop: Any, seen: list[tuple[int, dict[str, Any]]]
) -> None:
    headers = {"Last-Event-ID": last_id} if last_id else {}
    async with aconnect_sse(c, "GET", url, headers=headers) as source:
        assert source.response.headers["content-type"].startswith("text/event-stream")
        async for sse in source.aiter_sse():
            if sse.event != "progress":
                continue
            doc = json.loads(sse.data)
            assert int(sse.id) == doc["sequence"]
            seen.append((int(sse.id), doc))
            if stop(doc):
                return


async def test_reconnect_with_last_event_id_resumes_without_gap(stack: JobStack) -> None:
    async with stack.client() as c:
        r = await c.post("/api/jobs", json={"kind": "test.items", "parameters": {"count": 60, "delay": 0.04}})
        job_id = r.json()["job"]["job_id"]
        url = f"/api/jobs/{job_id}/events"
        before: list[tuple[int, dict[str, Any]]] = []
        await asyncio.wait_for(_read(c, url, last_id=None, stop=lambda d: _done(d) >= 10, seen=before), 60)
        last_id, last_doc = before[-1]
        await asyncio.sleep(1.0)  # the job moves on while the client is away
        after: list[tuple[int, dict[str, Any]]] = []
        await asyncio.wait_for(
            _read(c, url, last_id=str(last_id), stop=lambda d: d["status"] == "completed", seen=after), 60
        )
        final = await stack.wait_job(c, job_id, job_ended)
    ids = [i for i, _ in before + after]
    assert ids == sorted(set(ids)), "ids strictly increase across the reconnect"
    first_id, first_doc = after[0]
    assert first_id > last_id
    # the first snapshot after the reconnect already holds what happened while away: nothing missed
    assert _done(first_doc) > _done(last_doc)
    dones = [_done(d) for _, d in before + after]
    assert dones == sorted(dones)
    assert {k: after[-1][1][k] for k in ("succeeded", "failed", "skipped", "total")} == {
        k: final["progress"][k] for k in ("succeeded", "failed", "skipped", "total")
    }
    assert after[-1][1]["succeeded"] == 60
    # coalesced: at most ~4 flushes a second on a connection, far fewer than the 120+ item changes
    assert len(before) + len(after) < 60


async def test_all_jobs_stream_initial_snapshot_and_visibility(stack: JobStack) -> None:
    async with stack.client() as admin, stack.client("training_officer") as officer:
        r = await admin.post("/api/jobs", json={"kind": "test.items", "parameters": {"count": 3, "delay": 0}})
        job_id = r.json()["job"]["job_id"]
        await stack.wait_job(admin, job_id, job_ended)
        seen: list[tuple[int, dict[str, Any]]] = []
        # a late joiner gets the finished job as its initial snapshot
        await asyncio.wait_for(
            _read(admin, "/api/events", last_id=None, stop=lambda d: d["job_id"] == job_id, seen=seen), 30
        )
        assert seen[-1][1]["status"] == "completed"
        # the officer may not see the admin's job: not in its stream, 404 for its own stream
        assert (await officer.get(f"/api/jobs/{job_id}/events")).status_code == 404
        officer_seen: list[tuple[int, dict[str, Any]]] = []
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(
                _read(officer, "/api/events", last_id=None, stop=lambda d: True, seen=officer_seen), 1.5
            )
        assert officer_seen == []


async def test_event_stream_needs_a_session(stack: JobStack) -> None:
    async with httpx.AsyncClient(base_url=stack.gateway.url) as anonymous:
        r = await anonymous.get("/api/events")
        assert r.status_code == 401
        assert r.headers["content-type"].startswith("application/problem+json")
        # the browser way: the HttpOnly cookie from POST /auth/session, no token in the URL
        signed = await anonymous.post("/auth/session", headers={"Authorization": f"Bearer {stack.token('admin')}"})
        assert signed.status_code == 200
        set_cookie = signed.headers["set-cookie"].lower()
        assert "httponly" in set_cookie
        assert "samesite=strict" in set_cookie
        async with anonymous.stream("GET", "/api/events") as resp:
            assert resp.status_code == 200
            first = await resp.aiter_lines().__anext__()
            assert first.startswith(("retry:", ":"))


async def test_gateway_stops_gracefully_with_streams_open(stack: JobStack) -> None:
    async with stack.client() as c:
        streams = [c.stream("GET", "/api/events") for _ in range(3)]
        responses = [await s.__aenter__() for s in streams]
        assert all(r.status_code == 200 for r in responses)
        # SIGTERM: the streams end and the process exits by itself (a SIGKILL after the grace would be -9)
        code = await asyncio.to_thread(stack.gateway.stop, 15.0)
        for s in streams:
            with contextlib.suppress(httpx.HTTPError):
                await s.__aexit__(None, None, None)
    assert code == 0, stack.gateway.output()
    assert "service stopped" in stack.gateway.output()
