"""What the SSE fan-out benchmark measured (:class:`Phase`), its verdict and its report table
(:class:`FanoutResult`), and the legend printed under it."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field

TARGET_P99 = 1.0
"""Seconds: the target for the p99 delay with 1,000 clients."""


def pct(xs: list[float], p: float) -> float:
    """Nearest-rank percentile (``p`` in 0..100); NaN for no data."""
    if not xs:
        return math.nan
    s = sorted(xs)
    return s[max(0, min(len(s) - 1, math.ceil(p / 100 * len(s)) - 1))]


@dataclass
class Phase:
    """One phase's measurements (delays in seconds, memory in KiB)."""

    clients: int
    connected: int = 0
    failed: int = 0
    dropped: int = 0
    connect_seconds: float = 0.0
    window: float = 0.0
    published_per_s: float = 0.0
    events_per_client_s: float = 0.0
    fanout: list[float] = field(default_factory=list)
    visible: list[float] = field(default_factory=list)
    e2e: list[float] = field(default_factory=list)
    missed: int = 0
    gateway_cpu: float = 0.0
    machine_cpu: float = 0.0
    client_cpu: list[float] = field(default_factory=list)
    rss_before: int = 0
    rss_peak: int = 0
    rss_after: int = 0


@dataclass
class FanoutResult:
    baseline: Phase
    measured: Phase

    @property
    def p99(self) -> float:
        return pct(self.measured.fanout, 99)

    @property
    def passed(self) -> bool:
        m = self.measured
        return self.p99 < TARGET_P99 and m.failed == 0 and m.connected == m.clients and m.dropped == 0

    def rows(self) -> list[tuple[str, str, str, str, str]]:
        """(measure, 1 client, N clients, ratio or difference, target) for the report table."""
        b, m = self.baseline, self.measured
        out: list[tuple[str, str, str, str, str]] = []

        def ms(x: float) -> str:
            return "—" if math.isnan(x) else f"{x * 1000:,.0f} ms"

        def mib(kib: int) -> str:
            return f"{kib / 1024:.1f} MiB"

        measures = (("fan-out delay", "fanout"), ("change → visible", "visible"), ("item → visible", "e2e"))
        for label, attr in measures:
            for p in (50, 99):
                x, y = pct(getattr(b, attr), p), pct(getattr(m, attr), p)
                ratio = "—" if math.isnan(x) or math.isnan(y) or x <= 0 else f"{y / x:.2f}×"
                target = ""
                if attr == "fanout" and p == 99:
                    target = f"< {TARGET_P99:.0f} s: {'PASS' if y < TARGET_P99 else 'FAIL'}"
                out.append((f"{label} p{p}", ms(x), ms(y), ratio, target))
        x, y = max(b.fanout, default=math.nan), max(m.fanout, default=math.nan)
        out.insert(2, ("fan-out delay max", ms(x), ms(y), "", ""))

        def samples(ph: Phase) -> str:
            return f"{len(ph.fanout):,}" + (f" ({ph.missed:,} missed)" if ph.missed else "")

        out += [
            ("fan-out samples", samples(b), samples(m), "", ""),
            ("progress docs / s", f"{b.published_per_s:.1f}", f"{m.published_per_s:.1f}", "", "≈ 20"),
            ("events / client / s", f"{b.events_per_client_s:.2f}", f"{m.events_per_client_s:.2f}", "", "≤ 4"),
            (
                "conn / failed / drop",
                f"{b.connected} / {b.failed} / {b.dropped}",
                f"{m.connected} / {m.failed} / {m.dropped}",
                "",
                "all / 0 / 0",
            ),
            ("time to connect", f"{b.connect_seconds:.1f} s", f"{m.connect_seconds:.1f} s", "", ""),
            ("gateway RSS before", mib(b.rss_before), mib(m.rss_before), "", ""),
            (
                "gateway RSS peak",
                mib(b.rss_peak),
                mib(m.rss_peak),
                f"+{(m.rss_peak - m.rss_before) / 1024:.1f} MiB",
                "",
            ),
            ("gateway RSS after", mib(b.rss_after), mib(m.rss_after), "", ""),
            ("gateway CPU", f"{b.gateway_cpu:.0%}", f"{m.gateway_cpu:.0%}", "", ""),
            (f"machine CPU ({os.cpu_count()} cores)", f"{b.machine_cpu:.0%}", f"{m.machine_cpu:.0%}", "", ""),
            (
                f"client CPU ({len(m.client_cpu)} procs)",
                " + ".join(f"{c:.0%}" for c in b.client_cpu),
                " + ".join(f"{c:.0%}" for c in m.client_cpu),
                "",
                "",
            ),
        ]
        return out


LEGEND = (
    "fan-out delay: a progress document's publication on NATS → its SSE event at a client, over the events "
    "received (includes waiting for the connection's next 0.25 s flush: up to one publication interval). "
    "change → visible: each published change → the first event at a client with that sequence or a newer one "
    "(the full coalescing wait). item → visible: the worker reports its k-th item done → the first event with "
    "succeeded ≥ k (the whole chain). RSS peak: during the window; after: 3 s after the clients left. CPU: "
    "share of one core during the window; machine CPU: every core, every process (other load is noise). "
    "Baseline: the same with 1 client."
)
