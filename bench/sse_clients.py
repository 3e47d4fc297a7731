"""The SSE client processes of the fan-out benchmark (``bench/sse_fanout.py`` starts them): each opens N
SSE connections to the gateway and records ``(id, arrival time, succeeded)`` of every progress event, in its own
process so that parsing does not slow the benchmark's observer.

Usage (internal): ``python bench/sse_clients.py URL N OUT [--handshakes K]`` with the bearer token in
``SKILLSTREAM_BENCH_TOKEN``; it prints ``ready <connected> <failed>``, records until a line arrives on stdin,
then writes the records and its CPU share as JSON to OUT.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import resource
import sys
import time
from pathlib import Path
from typing import Any

import httpx

_SUCCEEDED = re.compile(r'"succeeded":(\d+)')


def raise_nofile() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = hard if hard != resource.RLIM_INFINITY else 65536
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def _cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


async def _clients_main(url: str, token: str, n: int, out: Path, handshakes: int) -> None:
    """Open ``n`` SSE connections to ``url``; print ``ready <connected> <failed>`` once each has received its
    first event (or given up), then record until a line arrives on stdin; write the records to ``out``."""
    raise_nofile()
    records: list[list[tuple[int, float, int]]] = [[] for _ in range(n)]
    state = {"connected": 0, "failed": 0, "dropped": 0}
    settled = asyncio.Event()
    gate = asyncio.Semaphore(handshakes)
    headers = {"Authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=n + 10, max_keepalive_connections=n + 10)
    timeout = httpx.Timeout(30.0, read=60.0)

    def settle(key: str) -> None:
        state[key] += 1
        if state["connected"] + state["failed"] == n:
            settled.set()

    async def one(client: httpx.AsyncClient, rec: list[tuple[int, float, int]]) -> None:
        from httpx_sse import aconnect_sse

        for attempt in range(5):
            holding = True
            await gate.acquire()
            try:
                async with aconnect_sse(client, "GET", url, headers=dict(headers)) as es:
                    es.response.raise_for_status()
                    async for ev in es.aiter_sse():
                        t = time.time()
                        if ev.event != "progress":
                            continue
                        m = _SUCCEEDED.search(ev.data)
                        rec.append((int(ev.id), t, int(m.group(1)) if m else 0))
                        if holding:
                            holding = False
                            gate.release()
                            settle("connected")
                if not holding:
                    state["dropped"] += 1  # the server ended the stream
                    return
                print(f"connect attempt {attempt + 1}: stream ended before any event", file=sys.stderr)
            except Exception as e:
                if not holding:
                    state["dropped"] += 1
                    return
                print(f"connect attempt {attempt + 1} failed: {e!r}", file=sys.stderr)
            finally:
                if holding:
                    gate.release()
            await asyncio.sleep(0.5 * (attempt + 1))
        settle("failed")

    async with httpx.AsyncClient(limits=limits, timeout=timeout) as client:
        tasks = [asyncio.create_task(one(client, rec)) for rec in records]
        await settled.wait()
        cpu0, wall0 = _cpu_seconds(), time.time()
        print(f"ready {state['connected']} {state['failed']}", flush=True)
        await asyncio.to_thread(sys.stdin.readline)
        cpu1, wall1 = _cpu_seconds(), time.time()
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    _write_json(out, {**state, "cpu": (cpu1 - cpu0) / max(wall1 - wall0, 1e-9), "records": records})


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data), encoding="utf-8")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="open N SSE connections and record arrivals (internal)")
    parser.add_argument("url")
    parser.add_argument("n", type=int)
    parser.add_argument("out", type=Path)
    parser.add_argument("--handshakes", type=int, default=50, help="connections being opened at once")
    args = parser.parse_args()
    asyncio.run(_clients_main(args.url, os.environ["SKILLSTREAM_BENCH_TOKEN"], args.n, args.out, args.handshakes))
