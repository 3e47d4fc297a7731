"""Catalogue pages and the incremental sync's rules (pure; the handlers in ``handlers/catalogue.py`` and
``handlers/sync.py`` ask TGA and append).

- A catalogue listing of one component type is recorded as ``CatalogueRefreshed`` pages of at most
  :data:`CATALOGUE_PAGE` entries on ``tga.catalogue.<type>`` (an empty listing is one empty page, so the
  refresh is still recorded).
- A sync covers the window from ``since`` (given, else where the last ``SyncCompleted`` on
  :data:`SYNC_STATE_SUBJECT` ended) to TGA's server time, as oncourse's ``AbstractTrainingComponentNTISUpdater``
  does (TGA-FORMAT.md §1.4): ``SearchByModifiedDate`` lists what changed, ``SearchDeletedByDeletedDate`` what
  was deleted. Only components already held locally are downloaded again or marked deleted; everything
  changed goes into the catalogue.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Final

from skillstream_contracts.streams import TGA
from skillstream_contracts.tga import (
    CatalogueEntry,
    CatalogueRefreshed,
    ComponentDeleted,
    ComponentType,
    DeleteOperation,
    SyncCompleted,
)
from skillstream_tga_ingest.adapters.client.models import ComponentSummary, DeletedComponent
from skillstream_tga_ingest.domain.items import Item
from skillstream_tga_ingest.domain.vocabulary import component_type_of, usage_of

CATALOGUE_PAGE: Final = 500
"""Entries per ``CatalogueRefreshed`` event (≤ 1,000 keeps one event far below NATS's 1 MB payload limit)."""
SYNC_STATE_SUBJECT: Final = TGA.aggregate_subject("sync", "state")
"""``tga.sync.state``: one ``SyncCompleted`` per finished sync."""


def catalogue_subject(ctype: ComponentType) -> str:
    """``tga.catalogue.<type>``: where the listings of one component type go."""
    return TGA.aggregate_subject("catalogue", ctype.value)


def catalogue_entry(summary: ComponentSummary, ctype: ComponentType) -> CatalogueEntry:
    """One ``Search`` row (XSD ``TrainingComponentSummary``) as a catalogue entry; a row that does not say
    whether it is current counts as current."""
    return CatalogueEntry(
        code=summary.code,
        title=summary.title,
        component_type=ctype,
        usage_recommendation=usage_of(summary.usage_recommendation),
        is_current=bool(summary.is_current) if summary.is_current is not None else True,
        updated_at=summary.updated_at,
    )


def catalogue_pages(
    ctype: ComponentType,
    entries: Sequence[CatalogueEntry],
    *,
    refresh_id: str,
    since: dt.datetime | None = None,
) -> list[CatalogueRefreshed]:
    """``entries`` as ``CatalogueRefreshed`` pages of at most :data:`CATALOGUE_PAGE`, numbered from 1, each
    with the page count and the total; ``since`` is the sync window's start (None: a full listing)."""
    chunks = [list(entries[i : i + CATALOGUE_PAGE]) for i in range(0, len(entries), CATALOGUE_PAGE)] or [[]]
    return [
        CatalogueRefreshed(
            refresh_id=refresh_id,
            component_type=ctype,
            page_number=n,
            page_count=len(chunks),
            total=len(entries),
            entries=chunk,
            modified_since=since,
        )
        for n, chunk in enumerate(chunks, start=1)
    ]


def sync_since(given: object, previous: Sequence[SyncCompleted]) -> dt.datetime:
    """The start of a sync window: ``given`` (ISO 8601; ``Z`` accepted; naive = UTC), else the end of the
    last completed sync (``previous``, oldest first).

    Raises:
        ValueError: nothing given and no sync has completed yet, or ``given`` is not ISO 8601.
    """
    if given:
        since = dt.datetime.fromisoformat(str(given).replace("Z", "+00:00"))
    elif previous:
        since = previous[-1].until
    else:
        raise ValueError("no previous sync: give `since` (ISO 8601) for the first one")
    return since if since.tzinfo is not None else since.replace(tzinfo=dt.UTC)


def changed_by_type(summaries: Iterable[ComponentSummary]) -> dict[ComponentType, list[ComponentSummary]]:
    """``SearchByModifiedDate`` rows by component type (every type present, maybe empty); rows of types
    Skillstream does not ingest are left out."""
    changed: dict[ComponentType, list[ComponentSummary]] = {t: [] for t in ComponentType}
    for s in summaries:
        ctype = next(filter(None, map(component_type_of, s.component_types)), None)
        if ctype is not None:
            changed[ctype].append(s)
    return changed


def redownloads(
    changed: Mapping[ComponentType, Sequence[ComponentSummary]], held: Mapping[str, ComponentType]
) -> list[Item]:
    """The changed components to download again: those held locally (``held``: code → type) as that type,
    each counted under its component type."""
    return [Item(t, s.code, t.value) for t, rows in changed.items() for s in rows if held.get(s.code) is t]


def deletion(deleted: DeletedComponent, ctype: ComponentType, until: dt.datetime) -> ComponentDeleted:
    """A ``DeletedTrainingComponent`` row as the event that marks it: ``PhysicalDelete`` → physical, anything
    else logical; deleted at its ``UpdatedDate``, else at the end of the window (``until``)."""
    physical = "physical" in deleted.operation.lower()
    return ComponentDeleted(
        code=deleted.national_code,
        component_type=ctype,
        operation=DeleteOperation.PHYSICAL if physical else DeleteOperation.LOGICAL,
        deleted_at=deleted.updated_at or until,
    )


__all__ = [
    "CATALOGUE_PAGE",
    "SYNC_STATE_SUBJECT",
    "catalogue_entry",
    "catalogue_pages",
    "catalogue_subject",
    "changed_by_type",
    "deletion",
    "redownloads",
    "sync_since",
]
