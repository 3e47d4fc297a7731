"""Which bulk downloads were cancelled, as the segment workers need to know: a cancelled job runs nothing more.

One ordered, headers-only JetStream consumer per job id seen (:func:`skillstream_runtime.jobs.watch_cancel` on
the job's ``JOBS`` subject), started the first time a worker asks about the job and kept until shutdown; it
replays the job's few events first, so a cancel made before the worker started is seen too.
"""

from __future__ import annotations

import asyncio
from types import TracebackType

from nats.aio.client import Client

from skillstream_runtime.jobs import watch_cancel


class JobCancellations:
    """``is_cancelled(job_id)`` answers from a flag its watcher sets; use as ``async with`` (stops watchers)."""

    def __init__(self, nc: Client) -> None:
        self._nc = nc
        self._flags: dict[str, asyncio.Event] = {}
        self._watchers: set[asyncio.Task[None]] = set()

    def is_cancelled(self, job_id: str) -> bool:
        """True once ``job_id`` was asked to stop; the first call for a job starts watching it (and says
        False: its watcher has not replayed the job's events yet — the next message of the job asks again)."""
        flag = self._flags.get(job_id)
        if flag is None:
            flag = self._flags[job_id] = asyncio.Event()
            task = asyncio.create_task(watch_cancel(self._nc, job_id, flag))
            self._watchers.add(task)
            task.add_done_callback(self._watchers.discard)
        return flag.is_set()

    async def __aenter__(self) -> JobCancellations:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        for t in list(self._watchers):
            t.cancel()
        await asyncio.gather(*self._watchers, return_exceptions=True)


__all__ = ["JobCancellations"]
