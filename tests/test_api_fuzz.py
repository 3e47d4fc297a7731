"""The gateway's whole OpenAPI document, fuzzed by schemathesis against a live stack: the TGA and media
sandboxes, the orchestrator, tga-ingest, the media-downloader and the gateway, each a real process on a real
nats-server and PostgreSQL, asked with an admin token.

Every operation gets the documented examples, the coverage phase (each parameter's boundaries and values just
past them, a NUL or a number beyond 64 bits among them) and property-based fuzzing, seeded and capped at
:data:`MAX_EXAMPLES` cases per operation. The run must find no server error (5xx), no status code and no
content type the document does not declare, no response header or body that breaks its declaration, no
request breaking the document's bounds that is not refused, and a 405 for a method a path does not have.
(A request the document allows may still be refused: an unknown job kind, an opaque cursor that is not one
the gateway made; those answer the documented 400.) The two
server-sent event streams are left out: they answer an endless ``text/event-stream`` a request/response fuzzer
cannot finish reading (their refusals are checked in ``services/gateway/tests/test_sse_routes.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from skillstream_gateway.tokens import mint_token
from skillstream_runtime.deadletters import list_dead_letters
from skillstream_testing.mediastack import KEY_PAIR_ID, write_key_pair
from skillstream_testing.services import ServiceProcess
from skillstream_testing.tgastack import SERVICE_PATH

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SEED = 20261203
MAX_EXAMPLES = 60
"""Most generated cases per operation and phase."""
RUN_SECONDS = 240
"""The run is stopped (and the test fails) past this."""
CHECKS = ",".join(
    (
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
        "negative_data_rejection",
        "unsupported_method",
    )
)
STREAMS = r"^/api/(jobs/\{job_id\}/)?events$"
"""The server-sent event routes, left out (module docstring)."""
SIGN_OUT = "DELETE /auth/session"
"""Revokes the token it is called with: fuzzed on its own, with a token of its own, after the rest."""


@contextlib.asynccontextmanager
async def whole_stack(nats_url: str, database_url: str, tmp_path: Path) -> AsyncIterator[tuple[str, list[str]]]:
    """Every service the gateway asks, with both sandboxes (a small media catalogue); yields the gateway's
    URL and two admin tokens."""
    secret = secrets.token_urlsafe(48)
    private, public = write_key_pair(tmp_path / "keys")
    common = {"NATS_URL": nats_url, "DATABASE_URL": database_url, "DATA_DIR": str(tmp_path / "data")}
    tga_sandbox = ServiceProcess("tga-sandbox", {}, tmp_path / "tga-sandbox.log", ready_path="/healthz")
    media_sandbox = ServiceProcess(
        "media-sandbox",
        {
            "MEDIA_SANDBOX_PUBLIC_KEY_FILE": str(public),
            "MEDIA_SANDBOX_KEY_PAIR_ID": KEY_PAIR_ID,
            "MEDIA_SANDBOX_COURSES": "3",
            "MEDIA_SANDBOX_SEGMENTS": "9",
            "MEDIA_SANDBOX_MIN_BYTES": "1024",
            "MEDIA_SANDBOX_MAX_BYTES": "4096",
        },
        tmp_path / "media-sandbox.log",
        ready_path="/healthz",
    )
    services = [
        ServiceProcess(
            "orchestrator", {**common, "JOB_REPORT_STREAMS": '["TGA", "MEDIA"]'}, tmp_path / "orchestrator.log"
        ),
        ServiceProcess(
            "tga-ingest",
            {
                **common,
                "TGA_ENVIRONMENT": "local",
                "TGA_ENDPOINT": tga_sandbox.url + SERVICE_PATH,
                "TGA_FILES_BASE_URL": tga_sandbox.url,
                "TGA_REQUESTS_PER_SECOND": "500",
            },
            tmp_path / "tga-ingest.log",
        ),
        ServiceProcess(
            "media-downloader",
            {
                **common,
                "MEDIA_CATALOGUE_URL": media_sandbox.url + "/catalogue/v1",
                "MEDIA_CDN_BASE_URL": media_sandbox.url + "/cdn",
                "MEDIA_KEY_PAIR_ID": KEY_PAIR_ID,
                "MEDIA_PRIVATE_KEY_FILE": str(private),
                "MEDIA_STORAGE_ROOT": str(tmp_path / "media"),
                "MEDIA_DISK_MARGIN_BYTES": "0",
            },
            tmp_path / "media-downloader.log",
        ),
        ServiceProcess(
            "gateway", {**common, "JWT_SECRET": secret, "GATEWAY_DEV_LOGIN": "true"}, tmp_path / "gateway.log"
        ),
    ]
    procs = [tga_sandbox, media_sandbox, *services]
    try:
        await asyncio.gather(*(asyncio.to_thread(p.start) for p in procs[:2]))
        await asyncio.gather(*(asyncio.to_thread(p.start) for p in procs[2:]))
        tokens = [mint_token(secret, subject=f"fuzz-{i}", roles=["admin"], ttl_seconds=3600) for i in range(2)]
        yield services[-1].url, tokens
    finally:
        await asyncio.gather(*(asyncio.to_thread(p.stop) for p in reversed(procs)), return_exceptions=True)


def run_schemathesis(gateway_url: str, token: str, report: Path, *only: str) -> tuple[int, str, dict[str, Any]]:
    """``st run`` over ``/openapi.json``; returns its exit code, its output and its JSON report. With ``only``
    (``"METHOD /path"`` names) just those operations, else every other one but :data:`SIGN_OUT`."""
    if only:
        names = [arg for name in only for arg in ("--include-name", name)]
    else:
        names = ["--exclude-path-regex", STREAMS, "--exclude-name", SIGN_OUT]
    argv = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "run",
        f"{gateway_url}/openapi.json",
        "--header",
        f"Authorization: Bearer {token}",
        "--checks",
        CHECKS,
        "--phases",
        "examples,coverage,fuzzing",
        "--max-examples",
        str(MAX_EXAMPLES),
        "--seed",
        str(SEED),
        "--workers",
        "2",
        "--request-timeout",
        "30",
        *names,
        "--suppress-health-check",
        "all",
        "--no-color",
        "--report",
        "json",
        "--report-json-path",
        str(report),
    ]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=RUN_SECONDS, check=False)
    document = json.loads(report.read_text()) if report.exists() else {}
    return proc.returncode, proc.stdout + proc.stderr, document


@pytest.mark.timeout(RUN_SECONDS + 120)
async def test_the_whole_api_holds_its_document_under_fuzzing(nats_url: str, database_url: str, tmp_path: Path) -> None:
    async with whole_stack(nats_url, database_url, tmp_path) as (gateway_url, tokens):
        started = time.monotonic()
        code, output, report = await asyncio.to_thread(run_schemathesis, gateway_url, tokens[0], tmp_path / "a.json")
        sign_out = await asyncio.to_thread(run_schemathesis, gateway_url, tokens[1], tmp_path / "b.json", SIGN_OUT)
        elapsed = time.monotonic() - started
        async with asyncpg.create_pool(database_url, min_size=1, max_size=1) as pool:
            dead = await list_dead_letters(pool)
    for name, (rc, out, doc) in (("operations", (code, output, report)), (SIGN_OUT, sign_out)):
        summary = {k: doc.get(k) for k in ("operations", "test_cases", "failures", "warnings", "running_time")}
        print(f"schemathesis, {name}: exit {rc}, {json.dumps(summary)}")
        assert rc == 0, out[-20_000:]
    print(f"schemathesis: {elapsed:.0f} s in all")
    assert report["operations"]["tested"] >= 30, report["operations"]
    assert report["test_cases"]["generated"] >= 30 * MAX_EXAMPLES // 4, report["test_cases"]
    assert report["warnings"]["missing_auth"] == [], "the admin token was refused: nothing past the check was fuzzed"
    assert sign_out[2]["operations"]["tested"] == 1, sign_out[2]["operations"]
    assert dead == [], "events the fuzzed requests appended that a projection could not store"
