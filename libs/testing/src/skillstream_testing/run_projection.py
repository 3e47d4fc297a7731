"""Run the sample projection in its own process (used by the kill-and-restart test).

Usage: ``python -m skillstream_testing.run_projection NATS_URL DSN NAME DELAY BATCH``
"""

from __future__ import annotations

import asyncio
import sys

import asyncpg
import nats

from skillstream_runtime.generations import ProjectionWorker
from skillstream_runtime.migrations import migrate_runtime
from skillstream_runtime.projections import RunnerSettings
from skillstream_testing.sample import LedgerProjection


async def main(url: str, dsn: str, name: str, delay: float, batch: int) -> None:
    nc = await nats.connect(url)
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=2)
    async with pool.acquire() as conn:
        await migrate_runtime(conn)
    settings = RunnerSettings(batch_size=batch, ack_wait=2.0, fetch_timeout=0.5)
    await ProjectionWorker(LedgerProjection(name, delay=delay), nc, pool, settings).run()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4]), int(sys.argv[5])))
