"""What a media benchmark measures on the processes of its stack while a bulk download job runs.

A *group* is one process of the stack and every process below it (PostgreSQL's postmaster and its backends;
a service and anything it starts), read from ``/proc``:

- CPU: utime + stime + cutime + cstime (clock ticks → seconds via ``SC_CLK_TCK``) of the group's root and of
  every live descendant. A child that exits and is reaped moves its time into its parent's cutime/cstime, so
  the sum keeps growing monotonically while backends come and go; the delta over the job is its CPU seconds.
- Memory: VmRSS (``/proc/<pid>/status``) and PSS (``/proc/<pid>/smaps_rollup``) summed over the group, at
  the start and at the peak of samples taken every :data:`SAMPLE_EVERY` seconds. RSS counts shared pages
  (PostgreSQL's shared buffers, once per backend) in every process; PSS splits them, so its sum is the
  group's real footprint.
- NATS: ``/varz`` ``in_msgs``/``out_msgs`` of the server, and the same per client connection from
  ``/connz?state=any`` (closed connections included), grouped by connection name (the services name theirs).
  ``in`` is what the server received from a client, ``out`` what it sent to it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

CLK_TCK = os.sysconf("SC_CLK_TCK")
SAMPLE_EVERY = 0.25
"""Seconds between memory samples during a job."""
CONNZ_LIMIT = 10_000
"""Connections listed per ``/connz`` request: all of a stack's, closed ones included, in one page."""


@dataclass(frozen=True)
class Group:
    """One process of the stack (``pid``) and its descendants; ``ours`` is False for the CDN stand-in."""

    name: str
    pid: int
    ours: bool = True


def _stat(pid: str) -> tuple[int, int] | None:
    """(ppid, utime + stime + cutime + cstime in ticks) of ``pid``; None once it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()  # fields from 3 (state) on; comm may hold spaces
    return int(fields[1]), sum(int(f) for f in fields[11:15])


def process_table() -> dict[int, tuple[int, int]]:
    """Every process of the machine: pid → (ppid, CPU ticks)."""
    out: dict[int, tuple[int, int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (st := _stat(entry)) is not None:
            out[int(entry)] = st
    return out


def tree(root: int, table: dict[int, tuple[int, int]]) -> list[int]:
    """``root`` and its live descendants present in ``table`` (root first)."""
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        if pid in table:
            out.append(pid)
            todo.extend(children.get(pid, ()))
    return out


def _kib(path: str, key: str) -> int | None:
    """The ``key:`` line's value in KiB of a ``/proc`` status-style file; None when unreadable."""
    try:
        with open(path) as f:
            for line in f:
                if line.startswith(key):
                    return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


@dataclass
class Memory:
    """A group's memory at one instant, KiB; ``pss`` None when some process's smaps_rollup was unreadable."""

    rss: int = 0
    pss: int | None = 0

    @staticmethod
    def of(pids: list[int]) -> Memory:
        m = Memory()
        for pid in pids:
            m.rss += _kib(f"/proc/{pid}/status", "VmRSS:") or 0
            pss = _kib(f"/proc/{pid}/smaps_rollup", "Pss:")
            m.pss = None if pss is None or m.pss is None else m.pss + pss
        return m

    def peak(self, other: Memory) -> Memory:
        """The larger of each measure."""
        pss = None if self.pss is None or other.pss is None else max(self.pss, other.pss)
        return Memory(max(self.rss, other.rss), pss)


@dataclass
class GroupMeasures:
    """One group over a job (or the sum of several jobs): CPU seconds, most processes seen, memory."""

    group: Group
    cpu: float = 0.0
    processes: int = 0
    start: Memory = field(default_factory=Memory)
    peak: Memory = field(default_factory=Memory)


@dataclass
class Measures:
    """Everything measured over one job, or summed over several (:meth:`add`).

    ``segments``: items the jobs downloaded; ``seconds``: their wall time; ``groups``: per process group;
    ``nats_in``/``nats_out``: server totals (``/varz``); ``connections``: name → (in, out) per client
    connection name; ``polls``: job status requests the benchmark itself made (each one a NATS request and
    reply through the gateway and the orchestrator).
    """

    segments: int = 0
    seconds: float = 0.0
    groups: dict[str, GroupMeasures] = field(default_factory=dict)
    nats_in: int = 0
    nats_out: int = 0
    connections: dict[str, tuple[int, int]] = field(default_factory=dict)
    polls: int = 0

    def add(self, other: Measures) -> Measures:
        """Sum of CPU, messages and segments; memory from the first start and the highest peak."""
        for name, g in other.groups.items():
            mine = self.groups.setdefault(name, GroupMeasures(g.group, start=g.start, peak=g.start))
            mine.cpu += g.cpu
            mine.processes = max(mine.processes, g.processes)
            mine.peak = mine.peak.peak(g.peak)
        for name, (i, o) in other.connections.items():
            mi, mo = self.connections.get(name, (0, 0))
            self.connections[name] = (mi + i, mo + o)
        self.segments += other.segments
        self.seconds += other.seconds
        self.nats_in += other.nats_in
        self.nats_out += other.nats_out
        self.polls += other.polls
        return self

    def per_segment(self, value: float) -> float:
        return value / self.segments if self.segments else float("nan")


async def _nats_counts(http: httpx.AsyncClient) -> tuple[int, int, dict[int, tuple[str, int, int]]]:
    """(server in_msgs, out_msgs, cid → (name, in_msgs, out_msgs)) right now."""
    varz = (await http.get("/varz")).raise_for_status().json()
    connz = (await http.get("/connz", params={"state": "any", "limit": CONNZ_LIMIT})).raise_for_status().json()
    conns = {c["cid"]: (c.get("name") or "(unnamed)", c["in_msgs"], c["out_msgs"]) for c in connz["connections"]}
    return varz["in_msgs"], varz["out_msgs"], conns


def _cpu_ticks(groups: list[Group]) -> dict[str, tuple[int, int]]:
    """name → (CPU ticks of the group so far, live processes in it)."""
    table = process_table()
    out = {}
    for g in groups:
        pids = tree(g.pid, table)
        out[g.name] = (sum(table[p][1] for p in pids), len(pids))
    return out


class StackMeter:
    """Measures a stack's process groups and its NATS server around one job (:meth:`job`)."""

    def __init__(self, groups: list[Group], monitor_url: str) -> None:
        self.groups = groups
        self.monitor_url = monitor_url

    def memory(self) -> dict[str, Memory]:
        table = process_table()
        return {g.name: Memory.of(tree(g.pid, table)) for g in self.groups}

    async def _sample(self, peaks: dict[str, Memory]) -> None:
        while True:
            await asyncio.sleep(SAMPLE_EVERY)
            for name, m in (await asyncio.to_thread(self.memory)).items():
                peaks[name] = peaks[name].peak(m)

    @contextlib.asynccontextmanager
    async def job(self) -> AsyncIterator[Measures]:
        """Measure the ``async with`` body; the yielded :class:`Measures` is filled in on exit (the body sets
        ``segments``, ``seconds`` and ``polls``)."""
        out = Measures()
        async with httpx.AsyncClient(base_url=self.monitor_url, timeout=30) as http:
            start_mem = await asyncio.to_thread(self.memory)
            peaks = dict(start_mem)
            in0, out0, conns0 = await _nats_counts(http)
            cpu0 = _cpu_ticks(self.groups)
            sampler = asyncio.create_task(self._sample(peaks))
            try:
                yield out
            finally:
                sampler.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await sampler
            cpu1 = _cpu_ticks(self.groups)
            in1, out1, conns1 = await _nats_counts(http)
        for g in self.groups:
            processes = max(cpu0[g.name][1], cpu1[g.name][1])
            cpu = (cpu1[g.name][0] - cpu0[g.name][0]) / CLK_TCK
            out.groups[g.name] = GroupMeasures(g, cpu, processes, start_mem[g.name], peaks[g.name])
        out.nats_in, out.nats_out = in1 - in0, out1 - out0
        for cid, (name, i, o) in conns1.items():
            _, i0, o0 = conns0.get(cid, (name, 0, 0))
            ci, co = out.connections.get(name, (0, 0))
            out.connections[name] = (ci + i - i0, co + o - o0)


__all__ = ["CLK_TCK", "Group", "GroupMeasures", "Measures", "Memory", "StackMeter", "process_table", "tree"]
