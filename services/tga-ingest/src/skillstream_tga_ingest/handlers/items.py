"""One run of a TGA job over its items: phases, concurrency, resume, cancel.

A job's items are components (``domain/items.py``). Each item's events go to the component's own subject
through its decider (``domain/component.py``, ``handlers/record.py``): ``ComponentDownloadStarted``
(processing), then exactly one terminal event of this job (``UnitDownloaded`` …, or a failure). The job's
phases go to ``tga.job.<id>``: ``IngestJobStarted`` (once), ``IngestJobPlanned`` (a package job's second
phase), ``IngestJobEnded``.

- **Resume.** A redelivered job (its worker crashed) runs again: an item that *this* job already ended is
  not done again; its counts and, for a package, its components are read back from the terminal event.
- **Package jobs** have two phases: the packages themselves, then every component their releases list
  (de-duplicated), announced with ``IngestJobPlanned`` so the total and the per-package groups are exact.
- **Cancel** stops taking items; those in flight finish; the job ends ``cancelled``.
- **Past the job's deadline** (its kind's timeout, NATS outages included) every item not yet ended fails
  without asking TGA (``ComponentDownloadFailed``: a retry of the failed items runs them again), and the job
  ends ``failed``.
- **Failures** of one item never stop the others: the fetch reports TGA and file problems as failure
  events, and anything it raises unexpectedly becomes a ``ComponentDownloadFailed`` naming the error.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable

import structlog

from skillstream_contracts.events import Event
from skillstream_contracts.jobs import JobPhase
from skillstream_contracts.streams import TGA
from skillstream_contracts.tga import IngestJobEnded, IngestJobPlanned, IngestJobStarted, PackageDownloaded
from skillstream_runtime.eventstore import AbstractEventStore
from skillstream_runtime.jobs import JobContext
from skillstream_tga_ingest.domain.component import ComponentState, MarkSuperseded, StartDownload, ended_in, recording
from skillstream_tga_ingest.domain.items import Item, groups_of, package_items, second_phase
from skillstream_tga_ingest.domain.outcomes import Download, counts_of, download_failed, unexpected_failure
from skillstream_tga_ingest.handlers.record import item_envelope, load_component, mark_component, record

log = structlog.get_logger(__name__)

PAST_DEADLINE = "the job ran past its timeout; this item can be retried"

Fetch = Callable[[Item, ComponentState], Awaitable[Download]]
"""What happens to one item, given its component's state: download it (``handlers/fetch.py``
``download_component``) or re-parse its kept XML (``reparse_component``)."""


class ItemRun:
    """One run of ``job`` with at most ``concurrency`` items in flight, each handled by ``fetch`` (None for
    a job that reports no component items, e.g. a catalogue refresh); item events go to ``store``.

    ``counts`` is the job's summary (``domain.outcomes.counts_of`` per item, plus what the handler adds);
    ``listed`` the components the run's packages list, in order.
    """

    def __init__(self, job: JobContext, store: AbstractEventStore, fetch: Fetch | None, concurrency: int) -> None:
        self.job = job
        self.store = store
        self.fetch = fetch
        self.concurrency = max(1, concurrency)
        self.counts: Counter[str] = Counter()
        self.listed: list[Item] = []
        self.titles: dict[str, str] = {}  # training package code → title: what the job page calls its group
        self._log = log.bind(job_id=job.job_id)

    async def start(self, kind: str, total: int) -> None:
        """Report the job started with ``total`` items (once: a resumed run finds it already reported)."""
        history = await self.store.load(TGA, self.job.subject)
        if not any(isinstance(e.event, IngestJobStarted) for e in history):
            started = IngestJobStarted(job_id=self.job.job_id, kind=kind, total=total)
            await self.job.report_phase(started, JobPhase.STARTED, total=total)

    async def run(self, kind: str, items: list[Item], *, expand_packages: bool) -> None:
        """Run the job to its end (``report_end``): completed, or cancelled when asked to stop."""
        await self.start(kind, len(items))
        await self.run_items(items)
        if expand_packages and not self.job.cancel_requested:
            second = second_phase(items, self.listed)
            groups = groups_of([*items, *second])
            total = len(items) + len(second)
            planned = IngestJobPlanned(job_id=self.job.job_id, total=total, groups=groups)
            labels = {g: t for g, t in self.titles.items() if g in groups}
            summary = {"groups": groups, "group_labels": labels}
            await self.job.report_phase(planned, JobPhase.PLANNED, total=total, summary=summary)
            await self.run_items(second)
        await self.end()

    async def end(self) -> None:
        """End the job with :attr:`counts` as its summary: cancelled when asked to stop, failed past the job's
        deadline, else completed."""
        phase = JobPhase.CANCELLED if self.job.cancel_requested else JobPhase.COMPLETED
        reason = None
        if phase is JobPhase.COMPLETED and self.job.past_deadline:
            phase, reason = JobPhase.FAILED, "the job ran past its timeout"
        summary = dict(self.counts)
        ended = IngestJobEnded(job_id=self.job.job_id, phase=phase.value, summary=summary, reason=reason)
        await self.job.report_end(ended, phase, summary=summary, reason=reason)

    async def run_items(self, items: list[Item]) -> None:
        """Run ``items`` in order, ``concurrency`` at a time, until done or the job is asked to stop."""
        queue: asyncio.Queue[Item] = asyncio.Queue()
        for item in items:
            queue.put_nowait(item)

        async def worker() -> None:
            while not queue.empty() and not self.job.cancel_requested:
                await self.run_item(queue.get_nowait())

        await asyncio.gather(*(worker() for _ in range(min(self.concurrency, len(items)) or 1)))

    async def run_item(self, item: Item) -> None:
        """Start ``item``, fetch it and record its outcome, unless this job already ended it."""
        assert self.fetch is not None, "run_items needs a fetch"
        job_id = self.job.job_id
        component = await load_component(self.store, item.ctype, item.code)
        done = ended_in(component.state, job_id, item.key)
        if done is None:
            start = StartDownload(job_id=job_id, item_key=item.key, code=item.code, component_type=item.ctype)
            component = (await record(self.store, component, start, item_envelope(self.job, item, start))).aggregate
            done = ended_in(component.state, job_id, item.key)  # another run of this job may have ended it
        if done is not None:
            self._account(item, done)
            return
        download = await self._fetch(item, component.state)
        end = recording(job_id, item.key, download.event)
        decided = await record(self.store, component, end, item_envelope(self.job, item, end))
        for superseded in download.related:
            await mark_component(self.store, self.job, MarkSuperseded(event=superseded))
        self._account(item, ended_in(decided.aggregate.state, job_id, item.key) or download.event)

    async def _fetch(self, item: Item, state: ComponentState) -> Download:
        assert self.fetch is not None
        if self.job.past_deadline:
            return download_failed(item.ctype, item.code, PAST_DEADLINE)
        try:
            return await self.fetch(item, state)
        except Exception as e:  # noqa: BLE001 - a bug or an unexpected reply loses this item, never the job's others
            self._log.exception("item failed unexpectedly", item=item.key)
            return unexpected_failure(item.ctype, item.code, e)

    def _account(self, item: Item, event: Event) -> None:
        if isinstance(event, PackageDownloaded):
            self.listed.extend(package_items(event, item.code))
            if event.title:
                self.titles[item.code] = event.title
        self.counts.update(counts_of(event))


__all__ = ["Fetch", "ItemRun"]
