"""TGA benchmarks (``make bench`` names ``tga-parse`` and ``tga-download``).

1. ``tga-parse``: parsing all real unit files (``shared/real-data/tga/units``) with the AuthorIT parser vs a bare
   ``lxml.etree.fromstring`` of the same bytes, alternating rounds in this process; ratio = baseline time /
   parser time over the median round. Target ≥ 0.5×.
2. ``tga-download``: a full-catalogue bulk download from the TGA sandbox: every training package of the real
   catalogue with every component its release lists (qualifications of the catalogue dump, the real units) as a
   ``tga.download-packages`` job, then the qualifications and units under no listed package as a
   ``tga.download-qualifications`` and a ``tga.download-units`` job, all through the orchestrator, on a real
   stack (embedded NATS and PostgreSQL; sandbox, orchestrator, tga-ingest and gateway as processes). Reports
   components/s and the peak resident memory (VmRSS, sampled every 0.2 s) of the tga-ingest process.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from lxml import etree

from skillstream_contracts.tga_queries import (
    KIND_DOWNLOAD_PACKAGES,
    KIND_DOWNLOAD_QUALIFICATIONS,
    KIND_DOWNLOAD_UNITS,
    KIND_REFRESH_CATALOGUE,
)
from skillstream_devstack.embedded import start_nats, start_postgres
from skillstream_runtime.realdata import real_data
from skillstream_testing.jobstack import job_ended
from skillstream_testing.tgastack import tga_stack
from skillstream_tga_ingest.parser import parse_component


def bench_parse(rounds: int = 15) -> list[tuple[str, float, float]]:
    """Rows (name, files/s, ratio vs baseline)."""
    datas = [p.read_bytes() for p in sorted(real_data("tga", "units").glob("*.xml"))]

    def once(fn: Any) -> float:
        started = time.perf_counter()
        for d in datas:
            fn(d)
        return time.perf_counter() - started

    once(parse_component), once(etree.fromstring)  # warm-up
    ours, bare = [], []
    for _ in range(rounds):
        ours.append(once(parse_component))
        bare.append(once(etree.fromstring))
    t_ours, t_bare = statistics.median(ours), statistics.median(bare)
    n = len(datas)
    return [
        (f"lxml.etree.fromstring, {n} unit files (baseline)", n / t_bare, 1.0),
        (f"AuthorIT parser, {n} unit files", n / t_ours, t_bare / t_ours),
    ]


async def _codes(client: Any, family: str) -> list[str]:
    """Every code of ``family`` the catalogue lists and this run has not downloaded yet."""
    codes: list[str] = []
    page = 1
    while True:
        params = (
            {"page": page, "page_size": 500, "downloaded": "false"}
            if family != "training-packages"
            else {
                "page": page,
                "page_size": 500,
            }
        )
        body = (await client.get(f"/api/{family}/available", params=params)).json()
        codes += [i["code"] for i in body["items"]]
        if not body["items"] or page * 500 >= body["total"]:
            return codes
        page += 1


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


async def bench_download() -> dict[str, Any]:
    """The full-catalogue download; returns its measures."""
    with tempfile.TemporaryDirectory() as tmp:
        server = start_nats(Path(tmp) / "nats")
        pg = start_postgres(Path(tmp) / "pg")
        try:
            async with tga_stack(server.url, pg.dsn(), Path(tmp)) as stack, stack.client() as client:
                refresh = await stack.run_job(client, KIND_REFRESH_CATALOGUE, {}, within=300)
                pid = stack.tga_ingest.proc.pid if stack.tga_ingest.proc else 0
                start_rss = peak = _rss_kib(pid)
                started = time.perf_counter()
                done = failed = units = 0
                jobs = (
                    ("training-packages", KIND_DOWNLOAD_PACKAGES),  # each with every component it lists
                    ("qualifications", KIND_DOWNLOAD_QUALIFICATIONS),  # those under no listed package
                    ("units", KIND_DOWNLOAD_UNITS),
                )
                for family, kind in jobs:
                    codes = await _codes(client, family)
                    if not codes:
                        continue
                    r = await client.post("/api/jobs", json={"kind": kind, "parameters": {"codes": codes}})
                    job_id = r.json()["job"]["job_id"]
                    while True:
                        peak = max(peak, _rss_kib(pid))
                        detail = (await client.get(f"/api/jobs/{job_id}")).json()
                        if job_ended(detail):
                            break
                        await asyncio.sleep(0.2)
                    p = detail["progress"]
                    done += p["succeeded"] + p["failed"] + p["skipped"]
                    failed += p["failed"]
                    units += detail["job"]["summary"].get("units_parsed", 0)
                seconds = time.perf_counter() - started
        finally:
            server.stop()
            pg.stop()
    return {
        "listed": refresh["job"]["summary"],
        "components": done,
        "failed": failed,
        "units_parsed": units,
        "seconds": seconds,
        "per_second": done / seconds if seconds else 0.0,
        "start_rss_mib": start_rss / 1024,
        "peak_rss_mib": peak / 1024,
    }


__all__ = ["bench_download", "bench_parse"]
