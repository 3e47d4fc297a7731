"""PostgreSQL stopped for :data:`OUTAGE_SECONDS` under a running stack (the media sandbox, the orchestrator,
tga-ingest, the media-downloader and the gateway as real processes): every read route whose answer comes from
a read model answers 503 with ``Retry-After`` the whole time (no route ever answers 500), and once the server
is back the routes answer again and the projections catch up: a job requested during the outage and one
requested after it both show in ``GET /api/jobs``.

The PostgreSQL is the test's own (the ``pgserver`` wheel's binaries on a private data directory), so stopping
it touches no other test; it is stopped and its directory removed however the test ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from skillstream_devstack.embedded import EmbeddedPostgres, start_postgres
from skillstream_gateway.tokens import mint_token
from skillstream_runtime.deadletters import list_dead_letters
from skillstream_testing.mediastack import KEY_PAIR_ID, write_key_pair
from skillstream_testing.plugin import postgres_dir
from skillstream_testing.services import ServiceProcess

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

OUTAGE_SECONDS = 10.0
CATCH_UP_SECONDS = 60.0
JOB_KIND = "tga.refresh-catalogue"
READ_ROUTES = (
    "/api/jobs",
    "/api/jobs/{job_id}",
    "/api/training-packages/available",
    "/api/qualifications/available?search=BSB",
    "/api/units/available?page=2",
    "/api/skill-sets/available",
    "/api/units/download-status/{job_id}",
    "/api/units/BSBCMM412/elements",
    "/api/units/BSBCMM412/performance-criteria",
    "/api/units/BSBCMM412/comprehensive",
    "/api/qualifications/BSB50120/comprehensive",
    "/api/catalogue/stats",
    "/truefire-courses/bulk-download-status",
    "/truefire-courses/bulk-download-stats",
    "/truefire-courses/bulk-queue-status",
    "/truefire-courses/summary",
    "/truefire-courses/1001/download-status",
)
"""Every read route answered from a PostgreSQL read model (``/api/job-kinds`` reads a NATS KV bucket);
``{job_id}`` is a job requested before the outage (an unknown id is a 404 from the event store alone)."""


@pytest.fixture
def own_postgres() -> Iterator[EmbeddedPostgres]:
    """A PostgreSQL of this test alone, which it may stop and start."""
    with postgres_dir("skillstream-outage-pg-") as tmp:
        server = start_postgres(tmp / "pg")
        try:
            yield server
        finally:
            server.stop()


@contextlib.asynccontextmanager
async def read_stack(nats_url: str, database_url: str, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """The services behind the read routes and the gateway; yields an admin client of the gateway."""
    secret = secrets.token_urlsafe(48)
    private, public = write_key_pair(tmp_path / "keys")
    common = {"NATS_URL": nats_url, "DATABASE_URL": database_url, "DATA_DIR": str(tmp_path / "data")}
    sandbox = ServiceProcess(
        "media-sandbox",
        {
            "MEDIA_SANDBOX_PUBLIC_KEY_FILE": str(public),
            "MEDIA_SANDBOX_KEY_PAIR_ID": KEY_PAIR_ID,
            "MEDIA_SANDBOX_COURSES": "2",
            "MEDIA_SANDBOX_SEGMENTS": "4",
        },
        tmp_path / "media-sandbox.log",
        ready_path="/healthz",
    )
    media_env = {
        "MEDIA_CATALOGUE_URL": sandbox.url + "/catalogue/v1",
        "MEDIA_CDN_BASE_URL": sandbox.url + "/cdn",
        "MEDIA_KEY_PAIR_ID": KEY_PAIR_ID,
        "MEDIA_PRIVATE_KEY_FILE": str(private),
        "MEDIA_STORAGE_ROOT": str(tmp_path / "media"),
    }
    services = [
        ServiceProcess("orchestrator", {**common, "JOB_REPORT_STREAMS": '["TGA"]'}, tmp_path / "orchestrator.log"),
        ServiceProcess("tga-ingest", {**common, "TGA_ENVIRONMENT": "local"}, tmp_path / "tga-ingest.log"),
        ServiceProcess("media-downloader", {**common, **media_env}, tmp_path / "media-downloader.log"),
        ServiceProcess("gateway", {**common, "JWT_SECRET": secret}, tmp_path / "gateway.log"),
    ]
    procs = [sandbox, *services]
    token = mint_token(secret, subject="outage-admin", roles=["admin"], ttl_seconds=3600)
    try:
        await asyncio.to_thread(sandbox.start)
        await asyncio.gather(*(asyncio.to_thread(p.start) for p in services))
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(base_url=services[-1].url, headers=headers, timeout=30) as client:
            yield client
    finally:
        await asyncio.gather(*(asyncio.to_thread(p.stop) for p in reversed(procs)), return_exceptions=True)


async def _fresh_database(server: EmbeddedPostgres) -> str:
    name = f"outage_{secrets.token_hex(6)}"
    admin = await asyncpg.connect(server.dsn("postgres"))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return server.dsn(name)


async def _request_job(client: httpx.AsyncClient, key: str) -> httpx.Response:
    return await client.post("/api/jobs", json={"kind": JOB_KIND, "idempotency_key": key})


async def _listed(client: httpx.AsyncClient, job_ids: set[str]) -> bool:
    r = await client.get("/api/jobs", params={"limit": 200})
    return r.status_code == 200 and job_ids <= {j["job_id"] for j in r.json()["items"]}


@pytest.mark.timeout(240)
async def test_reads_answer_503_while_postgres_is_down_and_the_projections_catch_up(
    nats_url: str, own_postgres: EmbeddedPostgres, tmp_path: Path
) -> None:
    database_url = await _fresh_database(own_postgres)
    async with read_stack(nats_url, database_url, tmp_path) as client:
        first = await _request_job(client, "before-the-outage")
        assert first.status_code == 201, first.text
        routes = [url.format(job_id=first.json()["job"]["job_id"]) for url in READ_ROUTES]
        before = await asyncio.gather(*(client.get(url) for url in routes))
        assert {url: r.status_code for url, r in zip(routes, before, strict=True) if r.status_code >= 500} == {}

        await asyncio.to_thread(own_postgres.stop)
        down_at = time.monotonic()
        statuses: Counter[tuple[str, int]] = Counter()
        missing_retry_after: list[str] = []
        during = None
        while time.monotonic() - down_at < OUTAGE_SECONDS:
            for url in routes:
                r = await client.get(url)
                statuses[(url, r.status_code)] += 1
                if r.status_code == 503 and int(r.headers.get("retry-after", "0")) < 1:
                    missing_retry_after.append(url)
            if during is None:
                during = await _request_job(client, "during-the-outage")
            await asyncio.sleep(0.2)
        await asyncio.to_thread(own_postgres.start)
        up_after = time.monotonic() - down_at

        answers: Counter[int] = Counter()
        for (_, status), n in statuses.items():
            answers[status] += n
        accepted = during.status_code if during is not None else None
        print(f"PostgreSQL down {up_after:.1f} s; reads by status {dict(answers)}; job requested meanwhile: {accepted}")
        assert {key: n for key, n in statuses.items() if key[1] != 503} == {}, "every read must answer 503"
        assert missing_retry_after == []
        assert {url for url, _ in statuses} == set(routes)

        after = await _request_job(client, "after-the-outage")
        assert after.status_code == 201, after.text
        job_ids = {after.json()["job"]["job_id"]}
        assert during is not None
        if during.status_code == 201:  # appending needs no PostgreSQL: the job was requested all the same
            job_ids.add(during.json()["job"]["job_id"])
        else:
            assert during.status_code == 503, during.text
        deadline = time.monotonic() + CATCH_UP_SECONDS
        while not await _listed(client, job_ids):
            assert time.monotonic() < deadline, f"jobs {job_ids} not listed {CATCH_UP_SECONDS} s after the outage"
            await asyncio.sleep(0.5)
        caught_up = time.monotonic() - down_at - up_after
        print(f"jobs listed {caught_up:.1f} s after PostgreSQL came back")
        again = await asyncio.gather(*(client.get(url) for url in routes))
        assert {url: r.status_code for url, r in zip(routes, again, strict=True) if r.status_code >= 500} == {}
        async with asyncpg.create_pool(database_url, min_size=1, max_size=1) as pool:
            assert await list_dead_letters(pool) == []
