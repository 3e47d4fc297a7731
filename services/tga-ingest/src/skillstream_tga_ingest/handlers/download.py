"""Job handlers that work component by component: the downloads and the re-parse.

- :func:`download` (``tga.download-packages`` / ``-qualifications`` / ``-units``): the codes of the job's
  ``parameters.codes`` (or, for a retry-failed job, the item keys of ``only_items``) downloaded from TGA;
  a package job then downloads every component its packages list (``handlers/items.py``);
- :func:`reparse` (``tga.reparse``): the kept release XML parsed again, no download — the ``parameters.codes``
  held locally, else every component parsed by an older parser or refused by it.

Each ends the job itself (completed, or cancelled when asked to stop) and raises ``ValueError`` for a job it
cannot start (no codes), which the job worker reports as the job's failure.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Final

from skillstream_contracts.tga import ComponentType
from skillstream_contracts.tga_queries import (
    KIND_DOWNLOAD_PACKAGES,
    KIND_DOWNLOAD_QUALIFICATIONS,
    KIND_DOWNLOAD_UNITS,
    KIND_REPARSE,
)
from skillstream_runtime.jobs import JobContext
from skillstream_tga_ingest.domain.component import ComponentState
from skillstream_tga_ingest.domain.items import Item, items_for, parse_item_key
from skillstream_tga_ingest.domain.outcomes import Download
from skillstream_tga_ingest.handlers.deps import Deps
from skillstream_tga_ingest.handlers.fetch import download_component, reparse_component
from skillstream_tga_ingest.handlers.items import ItemRun

DOWNLOAD_KINDS: Final[dict[str, ComponentType]] = {
    KIND_DOWNLOAD_PACKAGES: ComponentType.TRAINING_PACKAGE,
    KIND_DOWNLOAD_QUALIFICATIONS: ComponentType.QUALIFICATION,
    KIND_DOWNLOAD_UNITS: ComponentType.UNIT,
}
"""Each download kind and the component type its codes name."""


async def download(job: JobContext, deps: Deps, *, kind: str) -> None:
    """Run a download job of ``kind`` (one of :data:`DOWNLOAD_KINDS`) to its end.

    Raises:
        ValueError: the job names no code, or an ``only_items`` key is not ``<type>:<code>``.
    """
    ctype = DOWNLOAD_KINDS[kind]
    if job.dispatch.only_items:
        by_package = ctype is ComponentType.TRAINING_PACKAGE
        items = [parse_item_key(k, by_package=by_package) for k in job.dispatch.only_items]
    else:
        items = items_for(ctype, job.dispatch.parameters.get("codes") or [])
    if not items:
        raise ValueError("no codes given")

    def fetch(item: Item, state: ComponentState) -> Awaitable[Download]:
        return download_component(deps.client, deps.raw, item, state)

    run = ItemRun(job, deps.store, fetch, deps.item_concurrency)
    await run.run(kind, items, expand_packages=ctype is ComponentType.TRAINING_PACKAGE)


async def reparse(job: JobContext, deps: Deps) -> None:
    """Run a re-parse job to its end (an empty selection completes with nothing done).

    Raises:
        ValueError: an ``only_items`` key is not ``<type>:<code>``.
    """
    codes = job.dispatch.parameters.get("codes")
    if job.dispatch.only_items:
        items = [parse_item_key(k) for k in job.dispatch.only_items]
    elif codes:
        items = [Item(t, c, t.value) for t, c in await deps.held([str(c).upper() for c in codes])]
    else:
        items = [Item(t, c, t.value) for t, c in await deps.outdated()]

    def fetch(item: Item, state: ComponentState) -> Awaitable[Download]:
        return reparse_component(deps.raw, item, state)

    await ItemRun(job, deps.store, fetch, deps.item_concurrency).run(KIND_REPARSE, items, expand_packages=False)


__all__ = ["DOWNLOAD_KINDS", "download", "reparse"]
