"""A service that makes stopping hard, for the shutdown tests: ``python -m skillstream_testing.stubborn``.

It runs on the real service host (NATS, PostgreSQL, endpoints, HTTP) with two background tasks that behave
as badly as real ones have:

- one ignores cancellation: it swallows ``CancelledError`` and keeps waiting (a ``finally`` that awaits an
  append to a NATS server that is gone looks like this from the host);
- one holds the event loop: every ``STUBBORN_BLOCK_SECONDS`` (default 0: never) it runs that many seconds of
  synchronous work without yielding (rendering a large traceback did this), so a signal waits for it.

Settings (environment): the service host's, plus ``STUBBORN_BLOCK_SECONDS``.
"""

from __future__ import annotations

import asyncio
import os
import time

from skillstream_runtime.host import ServiceContext, ServiceDefinition, main


async def _ignores_cancellation(ctx: ServiceContext) -> None:
    for _ in range(1_000_000):  # bounded only to keep the loop finite; each turn waits an hour
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            continue


async def _holds_the_loop(ctx: ServiceContext) -> None:
    seconds = float(os.environ.get("STUBBORN_BLOCK_SECONDS", "0"))
    if seconds <= 0:
        await asyncio.Event().wait()
        return
    for _ in range(1_000_000):
        await asyncio.sleep(0.2)
        time.sleep(seconds)  # noqa: ASYNC251 - blocking the loop is what this task is for


def definition() -> ServiceDefinition:
    """The stubborn service: no stream, endpoints or migrations of its own; a database pool."""
    return ServiceDefinition(
        name="stubborn",
        description="Test service that resists stopping",
        default_http_port=8199,
        background=(_ignores_cancellation, _holds_the_loop),
    )


if __name__ == "__main__":
    main(definition())
