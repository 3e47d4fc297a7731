"""The demo ``make demo`` runs once the local stack is healthy: every ``skillstream.demo`` entry point, in name
order (e.g. ``10-tga`` before ``20-media``), each an ``async (nc, console) -> None`` that starts real jobs
through the orchestrator and prints their summary. A failing step is reported and the next one still runs.

The steps live in the service packages and use only the runtime (``skillstream_runtime.jobclient`` starts a
job and follows its progress), so a service never imports this package; :data:`DemoStep` is their shape.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from importlib.metadata import entry_points

import nats
from nats.aio.client import Client
from rich.console import Console

DemoStep = Callable[[Client, Console], Awaitable[None]]


async def run_demo(nats_url: str, console: Console) -> bool:
    """Run every demo step against the stack at ``nats_url``; True when all of them succeeded."""
    steps = sorted(entry_points(group="skillstream.demo"), key=lambda ep: ep.name)
    nc = await nats.connect(nats_url, name="skillstream-demo")
    ok = True
    try:
        for ep in steps:
            console.rule(f"demo: {ep.name}")
            step: DemoStep = ep.load()
            try:
                await step(nc, console)
            except Exception as e:  # noqa: BLE001 - one broken step must not hide the others' results
                ok = False
                console.print(f"[red]demo step {ep.name} failed: {type(e).__name__}: {e}[/]")
    finally:
        await nc.drain()
    return ok


def run_demo_blocking(nats_url: str, console: Console) -> bool:
    """:func:`run_demo` in its own event loop (the stack supervisor runs it in a thread)."""
    return asyncio.run(run_demo(nats_url, console))


__all__ = ["DemoStep", "run_demo", "run_demo_blocking"]
