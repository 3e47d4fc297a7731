"""What the job handlers read back from the service's own read model (``tga_ingest.component_state`` and
``tga_ingest.units``, see :mod:`.component_state` and :mod:`.units`): never another service's tables.

Both return ``(component type, national code)`` pairs sorted by code, and ``[]`` without a database
(``pool`` None: a service started without PostgreSQL has nothing held). PostgreSQL errors
(``asyncpg.PostgresError``) propagate.
"""

from __future__ import annotations

import asyncpg

from skillstream_contracts.tga import ComponentType
from skillstream_tga_ingest.parser import PARSER_VERSION

Held = list[tuple[ComponentType, str]]
"""``[(ComponentType.UNIT, "BSBCMM412"), …]``."""


async def held_components(pool: asyncpg.Pool | None, codes: list[str] | None) -> Held:
    """Components downloaded locally, only ``codes`` (upper-case national codes) unless None."""
    if pool is None:
        return []
    rows = await pool.fetch(
        "SELECT component_type, code FROM tga_ingest.component_state"
        " WHERE downloaded AND ($1::text[] IS NULL OR code = ANY($1)) ORDER BY code",
        codes,
    )
    return [(ComponentType(r["component_type"]), r["code"]) for r in rows]


async def outdated_components(pool: asyncpg.Pool | None) -> Held:
    """Units parsed by a parser older than :data:`~skillstream_tga_ingest.parser.PARSER_VERSION`, and
    components whose kept XML the parser refused (downloaded, not processed): what a re-parse redoes."""
    if pool is None:
        return []
    rows = await pool.fetch(
        "SELECT 'unit' AS component_type, code FROM tga_ingest.units WHERE parser_version < $1"
        " UNION SELECT component_type, code FROM tga_ingest.component_state WHERE downloaded AND NOT processed"
        " ORDER BY code",
        PARSER_VERSION,
    )
    return [(ComponentType(r["component_type"]), r["code"]) for r in rows]


__all__ = ["Held", "held_components", "outdated_components"]
