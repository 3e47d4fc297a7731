"""Versioned SQL migrations applied at start-up.

A migration set is a directory of files named ``NNNN_description.sql`` (``NNNN`` a positive integer),
applied in order, each in its own transaction, and recorded in ``skillstream.schema_migrations`` with its
SHA-256. A file changed after it was applied is an error (write a new file instead). A PostgreSQL advisory
lock serialises replicas starting at once.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from importlib.resources.abc import Traversable
from pathlib import Path

import asyncpg

from skillstream_runtime.errors import MigrationError

_NAME = re.compile(r"^(\d+)_([A-Za-z0-9_\-]+)\.sql$")
_LOCK_KEY = 0x5_4B_11_57  # advisory lock id for migrations ("skillst")

_BOOTSTRAP = """
CREATE SCHEMA IF NOT EXISTS skillstream;
CREATE TABLE IF NOT EXISTS skillstream.schema_migrations (
    component  text NOT NULL,
    version    integer NOT NULL,
    name       text NOT NULL,
    sha256     text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (component, version)
);
"""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def read_migrations(directory: Traversable | Path) -> list[Migration]:
    """The ``NNNN_name.sql`` files of ``directory`` in version order.

    Raises:
        MigrationError: a ``.sql`` file is misnamed or two files share a version.
    """
    found: dict[int, Migration] = {}
    for entry in directory.iterdir():
        if not entry.name.endswith(".sql"):
            continue
        m = _NAME.match(entry.name)
        if not m:
            raise MigrationError(f"migration file {entry.name!r} is not named NNNN_description.sql")
        version = int(m.group(1))
        if version in found:
            raise MigrationError(f"two migrations with version {version}: {found[version].name}, {entry.name}")
        found[version] = Migration(version, entry.name, entry.read_text(encoding="utf-8"))
    return [found[v] for v in sorted(found)]


def runtime_migrations() -> list[Migration]:
    """The runtime's own tables (projection registry, checkpoints, dead letters)."""
    return read_migrations(Path(__file__).with_name("migrations"))


async def migrate(conn: asyncpg.Connection, component: str, migrations: list[Migration]) -> list[str]:
    """Apply the migrations of ``component`` not applied yet; returns the names applied now.

    Raises:
        MigrationError: an applied file changed, or a migration failed (its transaction is rolled back).
    """
    applied_now: list[str] = []
    await conn.execute("SELECT pg_advisory_lock($1)", _LOCK_KEY)
    try:
        await conn.execute(_BOOTSTRAP)
        rows = await conn.fetch(
            "SELECT version, name, sha256 FROM skillstream.schema_migrations WHERE component = $1", component
        )
        done = {r["version"]: r for r in rows}
        for mig in migrations:
            prior = done.get(mig.version)
            if prior is not None:
                if prior["sha256"] != mig.sha256:
                    raise MigrationError(
                        f"{component} migration {mig.name} changed after it was applied; add a new file instead"
                    )
                continue
            try:
                async with conn.transaction():
                    await conn.execute(mig.sql)
                    await conn.execute(
                        "INSERT INTO skillstream.schema_migrations (component, version, name, sha256)"
                        " VALUES ($1, $2, $3, $4)",
                        component,
                        mig.version,
                        mig.name,
                        mig.sha256,
                    )
            except asyncpg.PostgresError as e:
                raise MigrationError(f"{component} migration {mig.name} failed: {e}") from e
            applied_now.append(mig.name)
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", _LOCK_KEY)
    return applied_now


async def migrate_runtime(conn: asyncpg.Connection) -> list[str]:
    """Apply the runtime's own migrations."""
    return await migrate(conn, "runtime", runtime_migrations())


__all__ = ["Migration", "migrate", "migrate_runtime", "read_migrations", "runtime_migrations"]
