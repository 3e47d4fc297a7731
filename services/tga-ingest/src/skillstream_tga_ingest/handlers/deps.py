"""What the job handlers depend on, as the shapes they use, so unit tests pass fakes (``tests/unit``).

- :class:`TgaApi` — the TGA operations the handlers call (:class:`~skillstream_tga_ingest.adapters.client.
  TgaClient` implements it; its methods raise ``TgaError`` subclasses);
- :class:`RawFiles` — the raw-XML store (:class:`~skillstream_tga_ingest.adapters.rawstore.RawStore`);
- :class:`Deps` — those, the event store (the ``TGA`` stream's appends and loads), the read-model reads
  the handlers need (``projections/held.py``) and how many items a job works on at once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

from skillstream_runtime.eventstore import AbstractEventStore
from skillstream_tga_ingest.adapters.client.models import ComponentDetails, DeletedComponent, SearchPage
from skillstream_tga_ingest.projections.held import Held


class TgaApi(Protocol):
    """The ``TrainingComponentService`` operations and file download the handlers use."""

    def search(self, types: Iterable[str], *, include_superseded: bool = False) -> AsyncIterator[SearchPage]:
        """``Search`` of ``types`` (``"Unit"``…), page by page."""
        ...

    def search_by_modified_date(
        self, start: dt.datetime, end: dt.datetime | None, types: Iterable[str]
    ) -> AsyncIterator[SearchPage]:
        """``SearchByModifiedDate``: components of ``types`` changed in [``start``, ``end``], page by page."""
        ...

    async def search_deleted(self, start: dt.datetime, end: dt.datetime | None) -> list[DeletedComponent]:
        """``SearchDeletedByDeletedDate``: components deleted in [``start``, ``end``]."""
        ...

    async def get_details(self, code: str, *, components: bool = False) -> ComponentDetails:
        """``GetDetails`` of one component (releases, files, unit grid, usage, mappings; ``components``:
        a package's release components too)."""
        ...

    async def get_server_time(self) -> dt.datetime:
        """``GetServerTime``, timezone-aware UTC."""
        ...

    async def download_file(self, relative_path: str, *, expected_size: int | None = None) -> bytes:
        """The bytes of a release file (``ReleaseFile.RelativePath``)."""
        ...


class RawFiles(Protocol):
    """Release files kept by content: ``put`` returns the key (lowercase hex SHA-256), ``get`` raises
    ``RawFileMissing`` for an unknown key."""

    async def put(self, data: bytes) -> str: ...

    async def get(self, key: str) -> bytes: ...


@dataclass(frozen=True, kw_only=True)
class Deps:
    """The job handlers' dependencies.

    ``held(codes)``: components downloaded locally (only ``codes`` unless None); ``outdated()``: what a
    re-parse redoes by default; ``item_concurrency``: items one job works on at once (the client's own
    rate and concurrency limits still apply).
    """

    store: AbstractEventStore
    client: TgaApi
    raw: RawFiles
    held: Callable[[list[str] | None], Awaitable[Held]]
    outdated: Callable[[], Awaitable[Held]]
    item_concurrency: int = 4


__all__ = ["Deps", "RawFiles", "TgaApi"]
