"""The catalogue refresh job (``tga.refresh-catalogue``) and the catalogue appends the sync shares.

One item per component type (``catalogue:<type>``): every TGA ``Search`` page of it, superseded components
included, recorded as ``CatalogueRefreshed`` pages on ``tga.catalogue.<type>`` (``domain/sync.py``); the
last page carries the item's report. The summary counts ``<type>s_listed``.
"""

from __future__ import annotations

import datetime as dt

from skillstream_contracts.jobs import ItemOutcome
from skillstream_contracts.streams import TGA
from skillstream_contracts.tga import CatalogueEntry, ComponentType
from skillstream_contracts.tga_queries import KIND_REFRESH_CATALOGUE
from skillstream_runtime.eventstore import AbstractEventStore
from skillstream_runtime.jobs import JobContext
from skillstream_tga_ingest.domain.sync import catalogue_entry, catalogue_pages, catalogue_subject
from skillstream_tga_ingest.domain.vocabulary import TGA_TYPE
from skillstream_tga_ingest.handlers.deps import Deps
from skillstream_tga_ingest.handlers.items import ItemRun


async def refresh_catalogue(job: JobContext, deps: Deps) -> None:
    """List the ``parameters.component_types`` (default: all four) from TGA into the catalogue, type by type,
    until done or asked to stop; ends the job.

    Raises:
        ValueError: an unknown component type.
        TgaError: TGA failed a search after the client's retries (the job fails).
    """
    raw_types = job.dispatch.parameters.get("component_types") or [t.value for t in ComponentType]
    types = [ComponentType(t) for t in dict.fromkeys(raw_types)]
    run = ItemRun(job, deps.store, None, 1)  # no per-component item: only the start, counts and end
    await run.start(KIND_REFRESH_CATALOGUE, len(types))
    for ctype in types:
        if job.cancel_requested:
            break
        entries = [
            catalogue_entry(s, ctype)
            async for page in deps.client.search([TGA_TYPE[ctype]], include_superseded=True)
            for s in page.results
        ]
        await append_catalogue(job, deps.store, ctype, entries, refresh_id=f"{job.job_id}-{ctype.value}", item=True)
        run.counts[f"{ctype.value}s_listed"] += len(entries)
    await run.end()


async def append_catalogue(
    job: JobContext,
    store: AbstractEventStore,
    ctype: ComponentType,
    entries: list[CatalogueEntry],
    *,
    refresh_id: str,
    since: dt.datetime | None = None,
    item: bool = False,
) -> None:
    """Append ``entries`` as ``CatalogueRefreshed`` pages of ``refresh_id`` (``since``: the sync window's
    start); with ``item`` the last page ends the job's item ``catalogue:<type>`` (group ``catalogue``)."""
    subject = catalogue_subject(ctype)
    for page in catalogue_pages(ctype, entries, refresh_id=refresh_id, since=since):
        report = None
        if item and page.page_number == page.page_count:
            report = job.report(
                item_key=f"catalogue:{ctype.value}",
                item_outcome=ItemOutcome.SUCCEEDED.value,
                item_group="catalogue",
            )
        await store.append(TGA, subject, ctype.value, [job.new_event(page, report)])


__all__ = ["append_catalogue", "refresh_catalogue"]
