"""Report tables of the media benchmarks (:mod:`media`): throughput beside the baseline, then per process
group CPU per segment and memory, then NATS messages per segment by connection."""

from __future__ import annotations

from media import SANDBOX, BulkResult, LatencyResult
from media_measure import Measures, Memory
from rich.table import Table

TARGET_RATIO_2K = 0.8
"""Skillstream segments/s over the plain loop's, at least."""
TARGET_RATIO_100K = 1.05
"""Wall time over the floor the cap sets, at most."""
TARGET_CPU_MS = 4.0
"""CPU ms per segment summed over the stack's processes (the sandbox apart), at most."""
TARGET_MSGS = 12.0
"""NATS messages (in + out at the server) per segment, at most."""


def _mib(kib: int | None) -> str:
    return "n/a" if kib is None else f"{kib / 1024:,.1f}"


def _span(start: Memory, peak: Memory) -> tuple[str, str]:
    """("RSS start → peak", "PSS start → peak") in MiB."""
    return f"{_mib(start.rss)} → {_mib(peak.rss)}", f"{_mib(start.pss)} → {_mib(peak.pss)}"


def _verdict(ok: bool) -> str:
    return "[green]PASS[/green]" if ok else "[red]FAIL[/red]"


def throughput_table(r: LatencyResult) -> Table:
    """The plain loop and the job at one latency: segments/s (medians) and the ratio."""
    title = f"Media download at {r.latency_ms:g} ms CDN latency, {r.segments:,} segments"
    table = Table("benchmark", "segments/s", "ratio vs baseline", "target", title=title)
    for name, rate, ratio in r.rows():
        target = "" if ratio == 1.0 else f"≥ {TARGET_RATIO_2K:.2f}× {_verdict(ratio >= TARGET_RATIO_2K)}"
        table.add_row(name, f"{rate:,.1f}", f"{ratio:.2f}×", target)
    return table


def bulk_table(r: BulkResult) -> Table:
    """``media-100k``: wall time against the floor the cap sets."""
    m, p = r.measures, r.progress
    title = f"Media bulk download, {p['total']:,} segments at {r.latency_ms:g} ms CDN latency"
    table = Table("measure", "value", "target", title=title)
    table.add_row("job", f"{r.status}: {p['succeeded']:,} downloaded, {p['failed']:,} failed", "")
    table.add_row("wall time", f"{m.seconds:,.1f} s ({m.per_segment(m.seconds) * 1000:.2f} ms/segment)", "")
    table.add_row("floor (segments × latency / cap)", f"{r.floor:,.1f} s", "")
    verdict = _verdict(r.ratio <= TARGET_RATIO_100K and r.status == "completed")
    table.add_row("wall time / floor", f"{r.ratio:.2f}×", f"≤ {TARGET_RATIO_100K:.2f}× {verdict}")
    return table


def process_table(m: Measures, title: str) -> Table:
    """Per process group over the measured jobs: CPU ms/segment, RSS and PSS at the start and the peak."""
    table = Table(
        "process",
        "processes",
        "CPU s",
        "CPU ms/segment",
        "target",
        "RSS MiB start → peak",
        "PSS MiB start → peak",
        title=f"{title}: CPU and memory per process ({m.segments:,} segments measured, {m.seconds:,.1f} s)",
    )
    ours = [g for g in m.groups.values() if g.group.ours]
    for g in ours:
        table.add_row(
            g.group.name,
            str(g.processes),
            f"{g.cpu:,.2f}",
            f"{m.per_segment(g.cpu) * 1000:.3f}",
            "",
            *_span(g.start, g.peak),
        )
    cpu = sum(g.cpu for g in ours)
    start = Memory(sum(g.start.rss for g in ours), _sum_pss([g.start for g in ours]))
    peak = Memory(sum(g.peak.rss for g in ours), _sum_pss([g.peak for g in ours]))
    per = m.per_segment(cpu) * 1000
    table.add_section()
    table.add_row(
        "[bold]Skillstream stack[/bold] (sum; peaks summed)",
        str(sum(g.processes for g in ours)),
        f"{cpu:,.2f}",
        f"[bold]{per:.3f}[/bold]",
        f"≤ {TARGET_CPU_MS:g} {_verdict(per <= TARGET_CPU_MS)}",
        *_span(start, peak),
    )
    table.add_section()
    if sandbox := m.groups.get(SANDBOX):
        cpu_ms = m.per_segment(sandbox.cpu) * 1000
        row = (str(sandbox.processes), f"{sandbox.cpu:,.2f}", f"{cpu_ms:.3f}", "", *_span(sandbox.start, sandbox.peak))
        table.add_row(f"[dim]{SANDBOX}, not counted[/dim]", *row)
    table.caption = (
        "CPU: user + system time over the jobs only, exited children included. RSS counts a shared page in every "
        "process that maps it (PostgreSQL's shared buffers once per backend); PSS splits it among them. The sum "
        "adds each group's own peak, an upper bound of the stack's peak."
    )
    return table


def _sum_pss(ms: list[Memory]) -> int | None:
    return None if any(x.pss is None for x in ms) else sum(x.pss or 0 for x in ms)


def nats_table(m: Measures, title: str) -> Table:
    """NATS messages per segment: per client connection, what no client connection carried, the server's
    total (in + out, the target)."""
    table = Table(
        "connection", "in/segment", "out/segment", "in + out/segment", "target", title=f"{title}: NATS messages"
    )
    seg = m.per_segment
    conn_in = conn_out = 0
    for name, (i, o) in sorted(m.connections.items()):
        conn_in, conn_out = conn_in + i, conn_out + o
        if i or o:
            table.add_row(name, f"{seg(i):.2f}", f"{seg(o):.2f}", f"{seg(i + o):.2f}", "")
    rest_in, rest_out = m.nats_in - conn_in, m.nats_out - conn_out
    table.add_row(
        "[dim]no client connection (server internal)[/dim]",
        f"{seg(rest_in):.2f}",
        f"{seg(rest_out):.2f}",
        f"{seg(rest_in + rest_out):.2f}",
        "",
    )
    total = seg(m.nats_in + m.nats_out)
    table.add_section()
    table.add_row(
        "[bold]nats-server total[/bold] (/varz)",
        f"{seg(m.nats_in):.2f}",
        f"{seg(m.nats_out):.2f}",
        f"[bold]{total:.2f}[/bold]",
        f"≤ {TARGET_MSGS:g} {_verdict(total <= TARGET_MSGS)}",
    )
    table.caption = (
        f"in: received from the client; out: sent to it. Includes the benchmark's {m.polls:,} job status polls "
        "(a request and a reply each, through the gateway and the orchestrator)."
    )
    return table


__all__ = ["bulk_table", "nats_table", "process_table", "throughput_table"]
