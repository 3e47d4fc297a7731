"""The job kinds tga-ingest runs (``skillstream_contracts.tga_queries.KIND_*``): their specs, with the JSON
Schema of their parameters that the dashboard turns into a form, and their handlers.

- ``tga.download-packages`` / ``-qualifications`` / ``-units``: :class:`~skillstream_tga_ingest.work.DownloadRun`
  over the given codes (a package job also downloads every component its release lists);
- ``tga.refresh-catalogue``: TGA ``Search`` of each component type → ``CatalogueRefreshed`` pages;
- ``tga.sync``: ``SearchByModifiedDate`` + ``SearchDeletedByDeletedDate`` since the last sync → the catalogue
  updated, the changed components already held re-downloaded, the deleted ones marked, ``SyncCompleted``;
- ``tga.reparse``: the kept raw XML parsed again (no download).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
import structlog

from skillstream_contracts.events import Event
from skillstream_contracts.jobs import ItemOutcome, JobKindSpec, JobPhase
from skillstream_contracts.streams import TGA
from skillstream_contracts.tga import (
    CatalogueEntry,
    CatalogueRefreshed,
    ComponentDeleted,
    ComponentType,
    DeleteOperation,
    IngestJobEnded,
    QualificationDownloaded,
    SyncCompleted,
    UnitDownloaded,
    UnitParseFailed,
)
from skillstream_contracts.tga_queries import (
    KIND_DOWNLOAD_PACKAGES,
    KIND_DOWNLOAD_QUALIFICATIONS,
    KIND_DOWNLOAD_UNITS,
    KIND_REFRESH_CATALOGUE,
    KIND_REPARSE,
    KIND_SYNC,
)
from skillstream_runtime.jobs import JobContext
from skillstream_tga_ingest.adapters.client import TgaClient
from skillstream_tga_ingest.adapters.client.models import ComponentSummary
from skillstream_tga_ingest.adapters.rawstore import RawFileMissing, RawStore
from skillstream_tga_ingest.ingest import ComponentDownloader, Download, component_type_of, usage_of
from skillstream_tga_ingest.projections.held import held_components as _held
from skillstream_tga_ingest.projections.held import outdated_components as _outdated
from skillstream_tga_ingest.work import DownloadRun, Item, items_for, parse_item_key

log = structlog.get_logger(__name__)

OWNER = "tga-ingest"
CATALOGUE_PAGE = 500
"""Entries per ``CatalogueRefreshed`` event (≤ 1,000 keeps one event far below NATS's 1 MB payload limit)."""
SYNC_STATE_SUBJECT = TGA.aggregate_subject("sync", "state")
TGA_TYPE = {
    ComponentType.TRAINING_PACKAGE: "TrainingPackage",
    ComponentType.QUALIFICATION: "Qualification",
    ComponentType.SKILL_SET: "SkillSet",
    ComponentType.UNIT: "Unit",
}
"""Our component types as TGA's ``TrainingComponentTypes`` names (XSD)."""

_CODES = {"type": "array", "items": {"type": "string", "minLength": 1, "maxLength": 20}, "minItems": 1}
_TYPES = {"type": "array", "items": {"type": "string", "enum": [t.value for t in ComponentType]}}


def _spec(kind: str, title: str, description: str, properties: dict[str, Any], required: list[str]) -> JobKindSpec:
    schema = {"type": "object", "properties": properties, "required": required, "additionalProperties": False}
    return JobKindSpec(kind=kind, owner=OWNER, stream=TGA.name, title=title, description=description, parameters=schema)


SPECS = {
    s.kind: s
    for s in (
        _spec(
            KIND_DOWNLOAD_PACKAGES,
            "Download training packages",
            "Each package's details from TGA, then its qualifications, skill sets and units (XML parsed).",
            {"codes": {**_CODES, "title": "Training package codes"}},
            ["codes"],
        ),
        _spec(
            KIND_DOWNLOAD_QUALIFICATIONS,
            "Download qualifications",
            "Qualification details and packaging rules (core and elective units).",
            {"codes": {**_CODES, "title": "Qualification codes"}},
            ["codes"],
        ),
        _spec(
            KIND_DOWNLOAD_UNITS,
            "Download units of competency",
            "Unit XML parsed into elements, performance criteria and assessment requirements.",
            {"codes": {**_CODES, "title": "Unit codes"}},
            ["codes"],
        ),
        _spec(
            KIND_REFRESH_CATALOGUE,
            "Refresh the TGA catalogue",
            "Lists every training package, qualification, skill set and unit TGA publishes (Search).",
            {"component_types": {**_TYPES, "title": "Component types", "default": [t.value for t in ComponentType]}},
            [],
        ),
        _spec(
            KIND_SYNC,
            "Incremental sync from TGA",
            "Re-downloads what TGA changed since the last sync and marks deletions.",
            {
                "since": {
                    "type": ["string", "null"],
                    "format": "date-time",
                    "title": "Changes since (default: last)",
                }
            },
            [],
        ),
        _spec(
            KIND_REPARSE,
            "Re-parse kept XML",
            "Parses the kept release XML again (no download): given codes, or all parsed by an older parser.",
            {"codes": {"type": ["array", "null"], "items": {"type": "string"}, "title": "Codes (default: outdated)"}},
            [],
        ),
    )
}


@dataclass(frozen=True, kw_only=True)
class Deps:
    """What the handlers need: the TGA client, the raw-XML store, the read-model pool (own schema only) and
    how many items a job downloads at once (the client's own limits still apply)."""

    client: TgaClient
    raw: RawStore
    pool: asyncpg.Pool | None
    item_concurrency: int = 4


def lifecycle_event(job: JobContext, phase: JobPhase, reason: str | None) -> Event:
    """The owner's event for a job the worker ends itself (handler raised; cancelled before starting)."""
    return IngestJobEnded(job_id=job.job_id, phase=phase.value, reason=reason)


Handler = Callable[[JobContext], Awaitable[None]]


def handlers(deps: Deps) -> dict[str, Handler]:
    """kind → job handler."""
    downloader = ComponentDownloader(deps.client, deps.raw)

    def fetch(item: Item) -> Awaitable[Download]:
        return downloader.download(item.ctype, item.code)

    def download(kind: str, ctype: ComponentType) -> Handler:
        async def run(job: JobContext) -> None:
            if job.dispatch.only_items:
                by_package = kind == KIND_DOWNLOAD_PACKAGES
                items = [parse_item_key(k, by_package=by_package) for k in job.dispatch.only_items]
            else:
                items = items_for(ctype, job.dispatch.parameters.get("codes") or [])
            if not items:
                raise ValueError("no codes given")
            await DownloadRun(job, fetch, deps.item_concurrency).run(
                kind, items, expand_packages=ctype is ComponentType.TRAINING_PACKAGE
            )

        return run

    async def reparse(job: JobContext) -> None:
        codes = job.dispatch.parameters.get("codes")
        if job.dispatch.only_items:
            items = [parse_item_key(k) for k in job.dispatch.only_items]
        elif codes:
            items = [Item(t, c, t.value) for t, c in await _held(deps.pool, [str(c).upper() for c in codes])]
        else:
            items = [Item(t, c, t.value) for t, c in await _outdated(deps.pool)]
        await DownloadRun(job, lambda item: _reparse(job, downloader, deps.raw, item), deps.item_concurrency).run(
            KIND_REPARSE, items, expand_packages=False
        )

    return {
        KIND_DOWNLOAD_PACKAGES: download(KIND_DOWNLOAD_PACKAGES, ComponentType.TRAINING_PACKAGE),
        KIND_DOWNLOAD_QUALIFICATIONS: download(KIND_DOWNLOAD_QUALIFICATIONS, ComponentType.QUALIFICATION),
        KIND_DOWNLOAD_UNITS: download(KIND_DOWNLOAD_UNITS, ComponentType.UNIT),
        KIND_REFRESH_CATALOGUE: lambda job: refresh_catalogue(job, deps),
        KIND_SYNC: lambda job: sync(job, deps, fetch),
        KIND_REPARSE: reparse,
    }


async def _reparse(job: JobContext, downloader: ComponentDownloader, raw: RawStore, item: Item) -> Download:
    history = await job.store.load(TGA, item.subject)
    last = next(
        (
            e.event
            for e in reversed(history)
            if isinstance(e.event, UnitDownloaded | QualificationDownloaded | UnitParseFailed)
            and e.event.source is not None
        ),
        None,
    )
    if last is None or last.source is None:
        raise ValueError(f"{item.code}: no kept XML to re-parse")
    try:
        data = await raw.get(last.source.raw_key)
    except RawFileMissing as e:
        raise ValueError(f"{item.code}: {e}") from e
    package = getattr(last, "training_package", None)
    usage = getattr(last, "usage_recommendation", None)
    return await downloader.parse(
        item.ctype, item.code, data, last.source, release=last.release, training_package=package, usage=usage
    )


async def refresh_catalogue(job: JobContext, deps: Deps) -> None:
    """One item per component type: every ``Search`` page of it (superseded included), re-paged into
    ``CatalogueRefreshed`` events of at most :data:`CATALOGUE_PAGE` entries on ``tga.catalogue.<type>``."""
    raw_types = job.dispatch.parameters.get("component_types") or [t.value for t in ComponentType]
    types = [ComponentType(t) for t in dict.fromkeys(raw_types)]
    run = DownloadRun(job, None, 1)  # no per-item download: only the start, counts and end
    await run.start(KIND_REFRESH_CATALOGUE, len(types))
    for ctype in types:
        if job.cancel_requested:
            break
        entries = [
            _entry(s, ctype)
            async for page in deps.client.search([TGA_TYPE[ctype]], include_superseded=True)
            for s in page.results
        ]
        await _append_catalogue(job, ctype, entries, refresh_id=f"{job.job_id}-{ctype.value}", item=True)
        run.counts[f"{ctype.value}s_listed"] += len(entries)
    await run.end()


async def sync(job: JobContext, deps: Deps, fetch: Callable[[Item], Awaitable[Download]]) -> None:
    """Incremental sync (oncourse's ``AbstractTrainingComponentNTISUpdater``, TGA-FORMAT.md §1.4)."""
    run = DownloadRun(job, fetch, deps.item_concurrency)
    state = await job.store.load(TGA, SYNC_STATE_SUBJECT)
    since_raw = job.dispatch.parameters.get("since")
    previous = [e.event for e in state if isinstance(e.event, SyncCompleted)]
    if since_raw:
        since = dt.datetime.fromisoformat(str(since_raw).replace("Z", "+00:00"))
    elif previous:
        since = previous[-1].until
    else:
        raise ValueError("no previous sync: give `since` (ISO 8601) for the first one")
    if since.tzinfo is None:
        since = since.replace(tzinfo=dt.UTC)
    until = await deps.client.get_server_time()
    changed: dict[ComponentType, list[ComponentSummary]] = {t: [] for t in ComponentType}
    async for page in deps.client.search_by_modified_date(since, until, list(TGA_TYPE.values())):
        for s in page.results:
            ctype = next(filter(None, map(component_type_of, s.component_types)), None)
            if ctype is not None:
                changed[ctype].append(s)
    deleted = await deps.client.search_deleted(since, until)
    held = {c: t for t, c in await _held(deps.pool, None)}
    items = [Item(t, s.code, t.value) for t, rows in changed.items() for s in rows if held.get(s.code) is t]
    await run.start(KIND_SYNC, len(items))
    for ctype, rows in changed.items():
        if rows:
            entries = [_entry(s, ctype) for s in rows]
            await _append_catalogue(job, ctype, entries, refresh_id=f"{job.job_id}-{ctype.value}", since=since)
    await run.run_items(items)
    marked = 0
    for d in deleted:
        ctype = held.get(d.national_code)
        if ctype is None or job.cancel_requested:
            continue
        op = DeleteOperation.PHYSICAL if "physical" in d.operation.lower() else DeleteOperation.LOGICAL
        event = ComponentDeleted(
            code=d.national_code, component_type=ctype, operation=op, deleted_at=d.updated_at or until
        )
        subject = TGA.aggregate_subject(ctype.value, d.national_code)
        await job.store.append(TGA, subject, d.national_code, [job.new_event(event)])
        marked += 1
    run.counts.update(modified=sum(len(r) for r in changed.values()), deleted=marked)
    if not job.cancel_requested:
        done = SyncCompleted(job_id=job.job_id, since=since, until=until, modified=len(items), deleted=marked)
        await job.store.append(TGA, SYNC_STATE_SUBJECT, "state", [job.new_event(done)])
    await run.end()


def _entry(s: ComponentSummary, ctype: ComponentType) -> CatalogueEntry:
    return CatalogueEntry(
        code=s.code,
        title=s.title,
        component_type=ctype,
        usage_recommendation=usage_of(s.usage_recommendation),
        is_current=bool(s.is_current) if s.is_current is not None else True,
        updated_at=s.updated_at,
    )


async def _append_catalogue(
    job: JobContext,
    ctype: ComponentType,
    entries: list[CatalogueEntry],
    *,
    refresh_id: str,
    since: dt.datetime | None = None,
    item: bool = False,
) -> None:
    chunks = [entries[i : i + CATALOGUE_PAGE] for i in range(0, len(entries), CATALOGUE_PAGE)] or [[]]
    subject = TGA.aggregate_subject("catalogue", ctype.value)
    for n, chunk in enumerate(chunks, start=1):
        event = CatalogueRefreshed(
            refresh_id=refresh_id,
            component_type=ctype,
            page_number=n,
            page_count=len(chunks),
            total=len(entries),
            entries=chunk,
            modified_since=since,
        )
        if item and n == len(chunks):
            await job.report_item(
                event,
                subject=subject,
                aggregate_id=ctype.value,
                item_key=f"catalogue:{ctype.value}",
                outcome=ItemOutcome.SUCCEEDED,
                group="catalogue",
            )
        else:
            await job.store.append(TGA, subject, ctype.value, [job.new_event(event)])


__all__ = ["OWNER", "SPECS", "TGA_TYPE", "Deps", "handlers", "lifecycle_event", "refresh_catalogue", "sync"]
