"""SSE fan-out: many browsers on one gateway process watching a job that changes about 20 times a second.

Real processes, nothing mocked: embedded NATS and PostgreSQL, the orchestrator and gateway as child processes
and a ``test.items`` worker in this process (:func:`skillstream_testing.jobstack.job_stack`). Each phase starts
its own ``test.items`` job (``delay`` 0.05 s per item, enough items to outlast the phase; cancelled at the end),
so the whole chain runs: worker → JetStream → progress projection → PostgreSQL → publisher → NATS → gateway →
SSE clients.

Timing (wall clock, shared by every process on the machine):

- this process subscribes to ``progress.jobs.*`` and records when each progress document (by ``sequence``)
  leaves the orchestrator, and to ``testwork.job.*`` for when the worker reports each item done;
- the SSE clients run in separate processes (``bench/sse_clients.py``, httpx + httpx-sse) so their
  parsing does not slow the observer; each records ``(id, arrival time, succeeded)`` of every event.

Measures, over a window that starts after every client has connected (the connect burst is excluded):

- fan-out delay: arrival of an SSE event − publication of that sequence on NATS (over the events received:
  the gateway coalesces to at most one flush per 0.25 s per connection, so a client gets about 4 of 20);
- change → visible: for each published sequence, the first arrival at a client of that sequence or a newer
  one (includes the coalescing wait);
- end to end: for the k-th item the worker reports done, the first arrival of a document with
  ``succeeded ≥ k``.

The baseline is the same measurement with one client. Gateway memory is VmRSS of its process.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import nats
from nats.aio.msg import Msg
from sse_clients import raise_nofile
from sse_report import FanoutResult, Phase

ITEM_DELAY = 0.05
"""Seconds per ``test.items`` item: about 20 progress changes a second."""
_TAIL = 2.0
"""Seconds at the end of a window not used as change times (so each change had time to arrive)."""


# --------------------------------------------------------------------------------------------------- helpers


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _machine_ticks() -> tuple[int, int]:
    """(busy, total) clock ticks of every core since boot (/proc/stat)."""
    ticks = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = ticks[3] + ticks[4]  # idle, iowait
    return sum(ticks) - idle, sum(ticks)


def _cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of proc(5))


@dataclass
class _Observed:
    """What this process saw on NATS for one job: progress publications and the worker's finished items."""

    published: dict[int, tuple[float, int]] = field(default_factory=dict)  # sequence → (time, succeeded)
    done: list[float] = field(default_factory=list)  # time the k-th item was reported succeeded (k = index + 1)
    status: str = ""


class _Observer:
    def __init__(self) -> None:
        self.jobs: dict[str, _Observed] = {}

    def job(self, job_id: str) -> _Observed:
        return self.jobs.setdefault(job_id, _Observed())

    async def on_progress(self, msg: Msg) -> None:
        t = time.time()
        doc = json.loads(msg.data)
        o = self.job(doc["job_id"])
        o.published[doc["sequence"]] = (t, doc["succeeded"])
        o.status = doc["status"]

    async def on_item(self, msg: Msg) -> None:
        t = time.time()
        if (msg.headers or {}).get("Skillstream-Item-Outcome") == "succeeded":
            self.job(msg.subject.rsplit(".", 1)[1]).done.append(t)


def _first_at_or_above(keys: list[int], times: list[float], k: int) -> float | None:
    """Arrival time of the first record whose key is ≥ ``k`` (``keys`` non-decreasing)."""
    lo, hi = 0, len(keys)
    while lo < hi:
        mid = (lo + hi) // 2
        if keys[mid] < k:
            lo = mid + 1
        else:
            hi = mid
    return times[lo] if lo < len(keys) else None


def _measure(phase: Phase, obs: _Observed, records: list[list[list[float]]], t0: float, t1: float) -> None:
    changes = [(seq, t) for seq, (t, _) in sorted(obs.published.items()) if t0 <= t <= t1 - _TAIL]
    done = [(k, t) for k, t in enumerate(obs.done, start=1) if t0 <= t <= t1 - _TAIL]
    phase.published_per_s = sum(1 for t, _ in obs.published.values() if t0 <= t <= t1) / (t1 - t0)
    received = 0
    for rec in records:
        seqs = [int(r[0]) for r in rec]
        times = [r[1] for r in rec]
        succ = [int(r[2]) for r in rec]
        for seq, t in zip(seqs, times, strict=True):
            pub = obs.published.get(seq)
            if pub is not None and t0 <= pub[0] <= t1:
                phase.fanout.append(t - pub[0])
                received += 1
        for targets, keys, out in ((changes, seqs, phase.visible), (done, succ, phase.e2e)):
            for k, t in targets:
                arrived = _first_at_or_above(keys, times, k)
                if arrived is None:  # never arrived before the clients stopped: count the time waited
                    phase.missed += 1
                    arrived = t1
                out.append(arrived - t)
    phase.events_per_client_s = received / max(len(records), 1) / (t1 - t0)


async def _sample_rss(pid: int, samples: list[tuple[float, int]]) -> None:
    while True:
        samples.append((time.time(), _rss_kib(pid)))
        await asyncio.sleep(0.25)


async def _run_phase(
    stack: Any,
    http: httpx.AsyncClient,
    observer: _Observer,
    tmp: Path,
    clients: int,
    procs: int,
    window: float,
    handshakes: int = 50,
) -> Phase:
    from skillstream_testing.jobstack import job_ended

    phase = Phase(clients=clients)
    pid = stack.gateway.proc.pid
    r = await http.post("/api/jobs", json={"kind": "test.items", "parameters": {"count": 100_000, "delay": ITEM_DELAY}})
    r.raise_for_status()
    job_id = r.json()["job"]["job_id"]
    obs = observer.job(job_id)
    deadline = time.monotonic() + 30
    while not obs.done:  # running and publishing before anyone connects
        if time.monotonic() > deadline:
            raise TimeoutError(f"job {job_id} reported no item in 30 s")
        await asyncio.sleep(0.05)
    await asyncio.sleep(1.0)
    phase.rss_before = _rss_kib(pid)
    samples: list[tuple[float, int]] = []
    sampler = asyncio.create_task(_sample_rss(pid, samples))
    url = f"{stack.gateway.url}/api/jobs/{job_id}/events"
    children: list[asyncio.subprocess.Process] = []
    outs = [tmp / f"clients-{clients}-{i}.json" for i in range(procs)]
    logs = [tmp / f"clients-{clients}-{i}.log" for i in range(procs)]
    try:
        t_spawn = time.time()
        for i in range(procs):
            share = clients // procs + (1 if i < clients % procs else 0)
            with logs[i].open("wb") as err:
                children.append(
                    await asyncio.create_subprocess_exec(
                        sys.executable,
                        str(Path(__file__).with_name("sse_clients.py")),
                        url,
                        str(share),
                        str(outs[i]),
                        f"--handshakes={handshakes}",
                        stdin=asyncio.subprocess.PIPE,
                        stdout=asyncio.subprocess.PIPE,
                        stderr=err,
                        env={**os.environ, "SKILLSTREAM_BENCH_TOKEN": stack.token("admin")},
                    )
                )
        for c in children:
            assert c.stdout is not None
            line = (await asyncio.wait_for(c.stdout.readline(), timeout=90)).decode().split()
            if len(line) != 3 or line[0] != "ready":
                raise RuntimeError(f"SSE clients did not start: {line}; see {logs}")
            phase.connected += int(line[1])
            phase.failed += int(line[2])
        phase.connect_seconds = time.time() - t_spawn
        await asyncio.sleep(1.0)  # let the connect burst drain
        t0, cpu0, machine0 = time.time(), _cpu_ticks(pid), _machine_ticks()
        await asyncio.sleep(window)
        t1, cpu1, machine1 = time.time(), _cpu_ticks(pid), _machine_ticks()
        phase.machine_cpu = (machine1[0] - machine0[0]) / max(machine1[1] - machine0[1], 1)
        phase.window = t1 - t0
        phase.gateway_cpu = (cpu1 - cpu0) / os.sysconf("SC_CLK_TCK") / (t1 - t0)
        phase.rss_peak = max((kib for t, kib in samples if t0 <= t <= t1), default=0)
        for c in children:
            assert c.stdin is not None
            c.stdin.write(b"stop\n")
            await c.stdin.drain()
        for c in children:
            if await asyncio.wait_for(c.wait(), timeout=60) != 0:
                raise RuntimeError(f"SSE client process exited with {c.returncode}; see {logs}")
        records: list[list[list[float]]] = []
        for out in outs:
            data = json.loads(out.read_text(encoding="utf-8"))
            records += data["records"]
            phase.dropped += data["dropped"]
            phase.client_cpu.append(data["cpu"])
        await asyncio.sleep(3.0)
        phase.rss_after = _rss_kib(pid)
    finally:
        sampler.cancel()
        for c in children:
            if c.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    c.kill()
                await c.wait()
        with contextlib.suppress(httpx.HTTPError, TimeoutError):
            await http.post(f"/api/jobs/{job_id}/cancel")
            await stack.wait_job(http, job_id, job_ended, within=30)
    _measure(phase, obs, records, t0, t1)
    return phase


def _make_tmp() -> Path:
    # pgserver runs PostgreSQL as the `pgserver` user when we are root: it must reach its data directory
    tmp = Path(tempfile.mkdtemp(prefix="skillstream-bench-sse-"))
    tmp.chmod(0o755)
    return tmp


def _print_logs(stack: Any, tmp: Path) -> None:
    print(f"--- gateway log ---\n{stack.gateway.output()[-4000:]}", file=sys.stderr)
    for log in sorted(tmp.glob("clients-*.log")):
        print(f"--- {log.name} ---\n{log.read_text(errors='replace')[-2000:]}", file=sys.stderr)


async def bench_sse_fanout(
    clients: int = 1000, window: float = 15.0, baseline_window: float = 10.0, procs: int = 2
) -> FanoutResult:
    """The SSE fan-out benchmark on its own servers (see the module docstring); cleans up on any exit."""
    from skillstream_devstack.embedded import start_nats, start_postgres
    from skillstream_testing.jobstack import job_stack

    raise_nofile()  # inherited by the gateway and the client processes
    tmp = _make_tmp()
    server = pg = None
    try:
        server = start_nats(tmp / "nats")
        pg = start_postgres(tmp / "pg")
        admin = await asyncpg.connect(pg.dsn())
        try:
            await admin.execute('CREATE DATABASE "bench_sse"')
        finally:
            await admin.close()
        observer = _Observer()
        nc = await nats.connect(server.url)
        try:
            await nc.subscribe("progress.jobs.*", cb=observer.on_progress)
            await nc.subscribe("testwork.job.*", cb=observer.on_item)
            async with job_stack(server.url, pg.dsn("bench_sse"), tmp) as stack, stack.client("admin") as http:
                try:
                    baseline = await _run_phase(stack, http, observer, tmp, 1, 1, baseline_window)
                    measured = await _run_phase(stack, http, observer, tmp, clients, procs, window)
                except BaseException:
                    _print_logs(stack, tmp)
                    raise
        finally:
            await nc.close()
    finally:
        if server is not None:
            server.stop()
        if pg is not None:
            pg.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return FanoutResult(baseline, measured)
