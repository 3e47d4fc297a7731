"""The incremental sync job (``tga.sync``; rules in ``domain/sync.py``, TGA-FORMAT.md §1.4).

1. the window: ``parameters.since``, else the end of the last ``SyncCompleted``; up to TGA's server time;
2. ``SearchByModifiedDate`` and ``SearchDeletedByDeletedDate`` over the window;
3. every changed component into the catalogue (``CatalogueRefreshed`` with ``modified_since``);
4. the changed components held locally downloaded again, as the job's items;
5. the deleted components held locally marked (``ComponentDeleted``, once per deletion);
6. ``SyncCompleted`` on ``tga.sync.state`` unless the job was cancelled, then the job ends.

The summary counts ``modified`` (changed components listed) and ``deleted`` (held components deleted).
"""

from __future__ import annotations

from collections.abc import Awaitable

from skillstream_contracts.streams import TGA
from skillstream_contracts.tga import SyncCompleted
from skillstream_contracts.tga_queries import KIND_SYNC
from skillstream_runtime.jobs import JobContext
from skillstream_tga_ingest.domain.component import ComponentState, MarkDeleted
from skillstream_tga_ingest.domain.items import Item
from skillstream_tga_ingest.domain.outcomes import Download
from skillstream_tga_ingest.domain.sync import (
    SYNC_STATE_SUBJECT,
    catalogue_entry,
    changed_by_type,
    deletion,
    redownloads,
    sync_since,
)
from skillstream_tga_ingest.domain.vocabulary import TGA_TYPE
from skillstream_tga_ingest.handlers.catalogue import append_catalogue
from skillstream_tga_ingest.handlers.deps import Deps
from skillstream_tga_ingest.handlers.fetch import download_component
from skillstream_tga_ingest.handlers.items import ItemRun
from skillstream_tga_ingest.handlers.record import mark_component


async def sync(job: JobContext, deps: Deps) -> None:
    """Run one incremental sync to its end (see the module docstring).

    Raises:
        ValueError: no ``since`` given and no sync has completed yet, or ``since`` is not ISO 8601.
        TgaError: a TGA search failed after the client's retries (the job fails).
    """

    def fetch(item: Item, state: ComponentState) -> Awaitable[Download]:
        return download_component(deps.client, deps.raw, item, state)

    run = ItemRun(job, deps.store, fetch, deps.item_concurrency)
    previous = [e.event for e in await deps.store.load(TGA, SYNC_STATE_SUBJECT) if isinstance(e.event, SyncCompleted)]
    since = sync_since(job.dispatch.parameters.get("since"), previous)
    until = await deps.client.get_server_time()
    modified = deps.client.search_by_modified_date(since, until, list(TGA_TYPE.values()))
    changed = changed_by_type([s async for page in modified for s in page.results])
    deleted = await deps.client.search_deleted(since, until)
    held = {c: t for t, c in await deps.held(None)}
    items = redownloads(changed, held)
    await run.start(KIND_SYNC, len(items))
    for ctype, rows in changed.items():
        if rows:
            entries = [catalogue_entry(s, ctype) for s in rows]
            await append_catalogue(
                job, deps.store, ctype, entries, refresh_id=f"{job.job_id}-{ctype.value}", since=since
            )
    await run.run_items(items)
    marked = 0
    for d in deleted:
        held_as = held.get(d.national_code)
        if held_as is None or job.cancel_requested:
            continue
        # counted whether or not this run records it: a resumed sync finds its own marks already there
        await mark_component(deps.store, job, MarkDeleted(event=deletion(d, held_as, until)))
        marked += 1
    run.counts.update(modified=sum(len(r) for r in changed.values()), deleted=marked)
    if not job.cancel_requested:
        done = SyncCompleted(job_id=job.job_id, since=since, until=until, modified=len(items), deleted=marked)
        await deps.store.append(TGA, SYNC_STATE_SUBJECT, "state", [job.new_event(done)])
    await run.end()


__all__ = ["sync"]
