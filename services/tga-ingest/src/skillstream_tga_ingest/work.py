"""Running TGA download jobs: items, concurrency, resume, cancel, and the job's phases.

A download job's items are components, keyed ``<component type>:<code>`` (``unit:BSBCMM412``). Each item's
events go to the component's own subject (``tga.unit.BSBCMM412``) with the job/item headers the
orchestrator's progress view counts: ``ComponentDownloadStarted`` (processing), then exactly one terminal
event (``UnitDownloaded`` …, or a failure). The job's phases go to ``tga.job.<id>``.

- **Resume.** A redelivered job (its worker crashed) runs again: an item whose subject already holds a
  terminal event of *this* job is not downloaded again; its counts and, for a package, its components are
  read back from that event.
- **Package jobs** have two phases: the packages themselves, then every component their releases list
  (de-duplicated), announced with ``IngestJobPlanned`` so the total and the per-package groups are exact.
- **Cancel** stops taking items; those in flight finish; the job ends ``cancelled``.
- **Retry-failed** jobs (``only_items``) run just those items; a package item expands again.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

import structlog

from skillstream_contracts.events import Event
from skillstream_contracts.jobs import ItemOutcome, JobPhase
from skillstream_contracts.streams import TGA
from skillstream_contracts.tga import (
    ComponentDownloadStarted,
    ComponentType,
    IngestJobEnded,
    IngestJobPlanned,
    IngestJobStarted,
    PackageDownloaded,
)
from skillstream_runtime.errors import ConcurrencyError
from skillstream_runtime.eventstore import EventStore, RecordedEvent
from skillstream_runtime.jobs import JobContext
from skillstream_tga_ingest.ingest import Download, counts_of, package_components, unexpected_failure

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Item:
    """One component to download; ``group`` is what the progress view counts it under."""

    ctype: ComponentType
    code: str
    group: str

    @property
    def key(self) -> str:
        return f"{self.ctype.value}:{self.code}"

    @property
    def subject(self) -> str:
        return TGA.aggregate_subject(self.ctype.value, self.code)


def group_of(ctype: ComponentType, code: str, *, by_package: bool = False) -> str:
    """The progress group of a component: a training package is its own group; in a package job a
    component counts under its package (a retried one under its code's three-letter package), otherwise
    under its component type."""
    if ctype is ComponentType.TRAINING_PACKAGE:
        return code
    return code[:3] if by_package else ctype.value


def parse_item_key(key: str, *, by_package: bool = False) -> Item:
    """``"unit:BSBCMM412"`` → an :class:`Item` grouped by :func:`group_of`.

    Raises:
        ValueError: not ``<component type>:<code>`` with a known type.
    """
    type_, _, code = key.partition(":")
    if not code:
        raise ValueError(f"not an item key: {key!r}")
    ctype = ComponentType(type_)
    return Item(ctype, code, group_of(ctype, code, by_package=by_package))


def items_for(ctype: ComponentType, codes: Iterable[str]) -> list[Item]:
    """Items for ``codes`` (stripped, upper-cased as TGA writes national codes, de-duplicated, in order)."""
    out: dict[str, Item] = {}
    for raw in codes:
        code = str(raw).strip().upper()
        if code:
            out.setdefault(code, Item(ctype, code, group_of(ctype, code)))
    return list(out.values())


Fetch = Callable[[Item], Awaitable[Download]]
"""What happens to one item: download it (:meth:`ComponentDownloader.download`) or re-parse its kept XML."""


class DownloadRun:
    """One run of a download job (``job``) over ``items`` with at most ``concurrency`` in flight, each item
    handled by ``fetch`` (None for a job that reports no component items, e.g. a catalogue refresh)."""

    def __init__(self, job: JobContext, fetch: Fetch | None, concurrency: int) -> None:
        self.job = job
        self.store: EventStore = job.store
        self.fetch = fetch
        self.concurrency = max(1, concurrency)
        self.counts: Counter[str] = Counter()
        self.expanded: list[Item] = []
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
            seen = {i.key for i in items}
            second: list[Item] = []
            for i in self.expanded:  # the first package to list a component is its group
                if i.key not in seen:
                    seen.add(i.key)
                    second.append(i)
            groups = Counter(i.group for i in [*items, *second])
            total = len(items) + len(second)
            planned = IngestJobPlanned(job_id=self.job.job_id, total=total, groups=dict(groups))
            await self.job.report_phase(planned, JobPhase.PLANNED, total=total, summary={"groups": dict(groups)})
            await self.run_items(second)
        await self.end()

    async def end(self) -> None:
        phase = JobPhase.CANCELLED if self.job.cancel_requested else JobPhase.COMPLETED
        summary = dict(self.counts)
        ended = IngestJobEnded(job_id=self.job.job_id, phase=phase.value, summary=summary)
        await self.job.report_end(ended, phase, summary=summary)

    async def run_items(self, items: list[Item]) -> None:
        queue: asyncio.Queue[Item] = asyncio.Queue()
        for item in items:
            queue.put_nowait(item)

        async def worker() -> None:
            while not queue.empty() and not self.job.cancel_requested:
                await self.run_item(queue.get_nowait())

        await asyncio.gather(*(worker() for _ in range(min(self.concurrency, len(items)) or 1)))

    async def run_item(self, item: Item) -> None:
        assert self.fetch is not None, "run_items needs a fetch"
        history = await self.store.load(TGA, item.subject)
        done = _finished_in(history, self.job.job_id, item.key)
        if done is not None:
            self._account(item, done.event)
            return
        last = history[-1].sequence if history else 0
        started = ComponentDownloadStarted(code=item.code, component_type=item.ctype)
        result = await self._report(item, [started], ItemOutcome.PROCESSING, expected=last)
        try:
            download = await self.fetch(item)
        except Exception as e:  # noqa: BLE001 - a bug or an unexpected reply loses this item, never the job's others
            self._log.exception("item failed unexpectedly", item=item.key)
            download = unexpected_failure(item.ctype, item.code, e)
        await self._finish(item, download, expected=result)

    async def _finish(self, item: Item, download: Download, *, expected: int | None) -> None:
        await self._report(
            item,
            download.events,
            download.outcome,
            expected=expected,
            size_bytes=download.size_bytes,
            reason=download.reason,
        )
        for ctype, code, event in download.related:
            await self.store.append(TGA, TGA.aggregate_subject(ctype.value, code), code, [self.job.new_event(event)])
        self.counts.update(download.counts)
        self.expanded.extend(Item(t, c, item.code) for t, c in download.components)

    async def _report(
        self,
        item: Item,
        events: list[Event],
        outcome: ItemOutcome,
        *,
        expected: int | None,
        size_bytes: int | None = None,
        reason: str | None = None,
    ) -> int | None:
        """Append the item's events (the first with the item headers); returns the subject's new last
        sequence. Another job writing the same component concurrently is not an error: on a conflict the
        append goes through without the expectation (both jobs' facts are true)."""
        for attempt in (expected, None):
            try:
                result = await self.job.report_item(
                    events[0],
                    subject=item.subject,
                    aggregate_id=item.code,
                    item_key=item.key,
                    outcome=outcome,
                    group=item.group,
                    size_bytes=size_bytes,
                    reason=reason,
                    expected_last_sequence=attempt,
                )
            except ConcurrencyError:
                if attempt is None:
                    raise
                continue
            last = result.last_sequence
            for extra in events[1:]:
                last = (
                    await self.store.append(TGA, item.subject, item.code, [self.job.new_event(extra)])
                ).last_sequence
            return last
        return None

    def _account(self, item: Item, event: Event) -> None:
        if isinstance(event, PackageDownloaded):
            self.expanded.extend(Item(t, c, item.code) for t, c in package_components(event))
        self.counts.update(counts_of(event))


def _finished_in(history: list[RecordedEvent], job_id: str, key: str) -> RecordedEvent | None:
    for e in reversed(history):
        r = e.metadata.job
        if r and r.job_id == job_id and r.item_key == key and r.item_outcome:
            if ItemOutcome(r.item_outcome).is_terminal:
                return e
    return None


__all__ = ["DownloadRun", "Fetch", "Item", "group_of", "items_for", "parse_item_key"]
