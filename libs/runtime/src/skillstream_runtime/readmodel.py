"""What a read model declares to the projection runner: the :class:`Projection` base class, and the names of
a generation's schema and durable consumers (see :mod:`skillstream_runtime.projections` for the runner and
:mod:`skillstream_runtime.generations` for the blue/green rebuild).
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from typing import ClassVar

import asyncpg

from skillstream_contracts.events import EventRegistry
from skillstream_runtime.eventstore import RecordedEvent


class Projection(abc.ABC):
    """A read model built from events. Subclasses set the class variables and the two coroutines.

    - ``name``: unique, a plain identifier (``job_progress``);
    - ``read_schema``: the schema of the views readers query (usually the owning service's schema);
    - ``sources``: stream name → subject filters (empty tuple: the whole stream; several: the consumer reads
      the whole stream and the runner skips the other subjects, see :mod:`skillstream_runtime.subjectfilter`);
    - ``tables``: the tables ``create_tables`` makes, each exposed as a view in ``read_schema``;
    - ``registries``: stream name → :class:`EventRegistry` used to decode.
    """

    name: ClassVar[str]
    read_schema: ClassVar[str]
    sources: ClassVar[Mapping[str, tuple[str, ...]]]
    tables: ClassVar[tuple[str, ...]]
    registries: ClassVar[Mapping[str, EventRegistry]]

    @abc.abstractmethod
    async def create_tables(self, conn: asyncpg.Connection, schema: str) -> None:
        """Create this projection's tables (and indexes) in ``schema``, which is empty."""

    @abc.abstractmethod
    async def apply(self, conn: asyncpg.Connection, schema: str, events: Sequence[RecordedEvent]) -> None:
        """Apply ``events`` (stream order, one stream) to the tables in ``schema`` inside the caller's
        transaction. Prefer batched writes (``executemany``). Raise to reject the batch."""

    async def before_swap(  # noqa: B027 - a hook with nothing to do for most projections
        self, conn: asyncpg.Connection, old_schema: str, new_schema: str
    ) -> None:
        """Called by a rebuild's swap, in its transaction, just before the views move from the generation in
        ``old_schema`` to the one in ``new_schema``: carry over what must outlive a rebuild (default: nothing).
        Raise to abort the swap."""


def generation_schema(projection: str, generation: int) -> str:
    """Schema of one generation of a projection's tables: ``proj_<name>_g<generation>``."""
    return f"proj_{projection}_g{generation}"


def consumer_name(projection: str, generation: int) -> str:
    """Durable consumer of one generation: ``proj_<name>_g<generation>`` (one per source stream)."""
    return f"proj_{projection}_g{generation}"


__all__ = ["Projection", "consumer_name", "generation_schema"]
