"""``make bench``: throughput of the event store and of projection replay, as ratios against a baseline
measured in the same process on the same servers (these machines are noisy; absolute numbers are not).

1. Append (``bench/append.py``): N single-event appends (``Nats-Msg-Id`` + expected subject sequence), 256 in
   flight, vs raw ``js.publish`` of the same payloads with the same concurrency, against a server with the
   default sync (target ≥ 0.9×) and, separately, the durable ``sync_interval: always`` one; atomic batch
   appends of 10 events vs the same 10 raw publishes (target ≥ 0.8×). Rounds alternate on fresh streams after
   a warm-up; medians of 3 rounds.
2. Replay (``bench/replay.py``): each service's heaviest projection (orchestrator jobs and job progress,
   media downloads, TGA units) rebuilt from sequence 1 into PostgreSQL vs a raw drain of the same stream that
   prefetches and acks in batches as the projection runner does, with a no-op handler. Target ≥ 0.8×.
3. SSE fan-out (``bench/sse_fanout.py``): 1,000 SSE clients on one gateway process watching a job that
   changes about 20 times a second, on its own real stack (orchestrator and gateway processes); p50/p99
   delay from the progress document's publication on NATS to its arrival at the clients, vs the same with
   one client, and the gateway's memory (VmRSS). Target: p99 < 1 s.
4. TGA (``bench/tga.py``): ``tga-parse``, the AuthorIT parser vs bare ``lxml.etree.fromstring`` over the real
   unit files (target ≥ 0.5×); ``tga-download``, a full-catalogue bulk download from the TGA sandbox
   (components/s, peak memory of tga-ingest).
5. Media (``bench/media.py``), each on its own real stack (media sandbox, orchestrator, media-downloader,
   gateway, nats-server, PostgreSQL): ``media-2k``, 2,000 segments from the media sandbox at concurrency 10
   at 100 ms and at 20 ms CDN latency, a bulk download job vs a plain asyncio + httpx loop at each (segments/s,
   target ≥ 0.8×); ``media-100k``, 100,000 small segments at 100 ms: wall time vs the floor the cap sets
   (target ≤ 1.05×). For both, over the jobs only: CPU ms per segment of each process and summed over the
   stack, the sandbox apart (target ≤ 4 ms); NATS messages per segment, in + out at the server and per
   connection (target ≤ 12); RSS and PSS of each process (PostgreSQL: postmaster + backends) at the start
   and the peak (``bench/media_measure.py``, tables in ``bench/media_report.py``).
6. ``media-survey`` (``bench/media_survey.py``): a bulk download surveys and queues a 100,000- and then a
   1,000,000-segment library with downloads held back; the media-downloader's peak RSS may grow by 20 MiB at
   most between the two (about 20 minutes on a 2-core machine).
7. ``signing`` (``bench/signing.py``): one CloudFront signed URL (policy, RSA signature, URL) vs the bare RSA
   signature of the same policy with the same loaded key (target ≥ 0.9×).

Usage: ``python bench/run.py [NAME …] [options]`` with names from ``BENCHMARKS`` (no name: all of them).
"""

from __future__ import annotations

import argparse
import asyncio

from append import run_append
from media import bench_media_2k, bench_media_100k
from media_report import bulk_table, nats_table, process_table, throughput_table
from media_survey import bench_media_survey
from replay import run_replay
from rich.console import Console
from rich.table import Table
from signing import bench_signing
from sse_fanout import bench_sse_fanout
from sse_report import LEGEND
from tga import bench_download, bench_parse

console = Console()
wide = Console(width=max(console.width, 140))
"""For the media tables: their process names and memory spans need more than a pipe's default 80 columns."""


async def main(
    events: int,
    replay_events: int,
    only: set[str],
    sse_clients: int,
    sse_window: float,
    media_latencies: tuple[float, ...] = (100.0, 20.0),
    media_segments: int = 100_000,
    media_2k_segments: int = 2000,
) -> None:
    rows = (await run_append(events) if "append" in only else []) + (
        await run_replay(replay_events) if "replay" in only else []
    )
    if rows:
        table = Table("benchmark", "events/s", "ratio vs baseline", "target", title="Skillstream benchmarks")
        for name, rate, ratio, target in rows:
            table.add_row(name, f"{rate:,.0f}", f"{ratio:.2f}×", target)
        console.print(table)
    if "sse" in only:
        result = await bench_sse_fanout(clients=sse_clients, window=sse_window)
        table = Table(
            "measure",
            "1 client",
            f"{sse_clients:,} clients",
            "ratio / Δ",
            "target",
            title=f"SSE fan-out: {sse_clients:,} clients, one gateway process, a job changing ~20×/s",
        )
        for row in result.rows():
            table.add_row(*row)
        console.print(table)
        console.print(LEGEND)
        verdict = "[green]PASS[/green]" if result.passed else "[red]FAIL[/red]"
        console.print(
            f"SSE fan-out p99 with {sse_clients:,} clients: {result.p99 * 1000:,.0f} ms (target < 1,000 ms, every "
            f"client connected, none dropped): {verdict}. Clients ran in "
            f"{len(result.measured.client_cpu)} separate processes (httpx + httpx-sse)."
        )

    if "tga-parse" in only:
        table = Table("benchmark", "files/s", "ratio vs baseline", "target", title="TGA parser")
        for name, rate, ratio in bench_parse():
            table.add_row(name, f"{rate:,.0f}", f"{ratio:.2f}×", "" if ratio == 1.0 else "≥ 0.50×")
        console.print(table)
    if "tga-download" in only:
        m = await bench_download()
        console.print(
            f"TGA full-catalogue download (listed {m['listed']}): "
            f"{m['components']:,} components ({m['units_parsed']} units parsed, {m['failed']} failed) in "
            f"{m['seconds']:.1f} s = {m['per_second']:,.0f} components/s; tga-ingest RSS {m['start_rss_mib']:.0f} → "
            f"peak {m['peak_rss_mib']:.0f} MiB"
        )
    if "signing" in only:
        table = Table("benchmark", "URLs/s", "ratio vs baseline", "target", title="URL signing (one per download)")
        for name, rate, ratio, target in bench_signing():
            table.add_row(name, f"{rate:,.0f}", f"{ratio:.2f}×", target)
        console.print(table)
    if "media-2k" in only or "media-100k" in only:
        await _media(only, media_latencies, media_segments, media_2k_segments)
    if "media-survey" in only:
        await _survey()


async def _survey() -> None:
    """The survey + queueing memory table: the 100,000- and 1,000,000-segment libraries."""
    m = await bench_media_survey()
    table = Table("library", "segments", "courses", "queued in", "downloader RSS start → peak", title=SURVEY_TITLE)
    for size in ("small", "large"):
        r = m[size]
        span = f"{r['start_rss_mib']:.1f} → {r['peak_rss_mib']:.1f} MiB"
        table.add_row(size, f"{r['segments']:,}", f"{r['courses']:,}", f"{r['seconds']:.0f} s", span)
    console.print(table)
    verdict = "[green]PASS[/green]" if m["growth_mib"] <= 20 else "[red]FAIL[/red]"
    console.print(
        f"Peak growth from the small to the large library: {m['growth_mib']:+.1f} MiB (target ≤ +20): {verdict}"
    )


async def _media(only: set[str], latencies: tuple[float, ...], segments: int, segments_2k: int) -> None:
    """The media tables: per latency, throughput beside the baseline, per process CPU and memory, NATS."""
    if "media-2k" in only:
        for r in await bench_media_2k(latencies, segments=segments_2k):
            wide.print(throughput_table(r))
            title = f"Media at {r.latency_ms:g} ms"
            wide.print(process_table(r.measures, title))
            wide.print(nats_table(r.measures, title))
    if "media-100k" in only:
        bulk = await bench_media_100k(segments=segments, latency_ms=latencies[0])
        wide.print(bulk_table(bulk))
        title = f"Media bulk download, {bulk.measures.segments:,} segments"
        wide.print(process_table(bulk.measures, title))
        wide.print(nats_table(bulk.measures, title))


BENCHMARKS = (
    "append",
    "replay",
    "sse",
    "tga-parse",
    "tga-download",
    "signing",
    "media-2k",
    "media-100k",
    "media-survey",
)
SURVEY_TITLE = "Media survey + queueing, downloads held back (memory independent of the library's size)"

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "only", nargs="*", metavar="NAME", help=f"benchmarks to run: {', '.join(BENCHMARKS)} (default: all)"
    )
    parser.add_argument("--events", type=int, default=10_000, help="events per append round")
    parser.add_argument("--replay-events", type=int, default=100_000, help="events in the replayed stream")
    parser.add_argument("--sse-clients", type=int, default=1000, help="concurrent SSE clients")
    parser.add_argument("--sse-window", type=float, default=15.0, help="seconds measured with every client on")
    parser.add_argument(
        "--media-latency",
        type=float,
        nargs="+",
        default=[100.0, 20.0],
        help="CDN latencies per request, ms: media-2k runs at each, media-100k at the first (after the names)",
    )
    parser.add_argument("--media-segments", type=int, default=100_000, help="segments of the media-100k run")
    parser.add_argument("--media-2k-segments", type=int, default=2000, help="segments of the media-2k runs")
    args = parser.parse_args()
    if unknown := set(args.only) - set(BENCHMARKS):
        parser.error(f"unknown benchmark {', '.join(sorted(unknown))}; choose from {', '.join(BENCHMARKS)}")
    asyncio.run(
        main(
            args.events,
            args.replay_events,
            set(args.only or BENCHMARKS),
            args.sse_clients,
            args.sse_window,
            tuple(args.media_latency),
            args.media_segments,
            args.media_2k_segments,
        )
    )
