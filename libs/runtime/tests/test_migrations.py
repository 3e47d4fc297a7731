"""Versioned SQL migrations against real PostgreSQL."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
import pytest

from skillstream_runtime.errors import MigrationError
from skillstream_runtime.migrations import migrate, read_migrations


def write(d: Path, name: str, sql: str) -> None:
    (d / name).write_text(sql)


async def test_applies_in_order_once_even_with_concurrent_replicas(tmp_path: Path, database_url: str) -> None:
    write(tmp_path, "0002_table.sql", "CREATE TABLE svc.t (id int PRIMARY KEY);")
    write(tmp_path, "0001_schema.sql", "CREATE SCHEMA svc;")
    write(tmp_path, "README.txt", "not a migration")
    migrations = read_migrations(tmp_path)
    assert [m.version for m in migrations] == [1, 2]

    conns = [await asyncpg.connect(database_url) for _ in range(3)]
    try:
        applied = await asyncio.gather(*(migrate(c, "svc", migrations) for c in conns))
        assert sorted(len(a) for a in applied) == [0, 0, 2]  # one replica applied both, the others nothing
        write(tmp_path, "0003_column.sql", "ALTER TABLE svc.t ADD COLUMN name text;")
        assert await migrate(conns[0], "svc", read_migrations(tmp_path)) == ["0003_column.sql"]
        assert await conns[0].fetchval("SELECT count(*) FROM skillstream.schema_migrations WHERE component='svc'") == 3
    finally:
        for c in conns:
            await c.close()


async def test_changed_failed_and_misnamed_migrations_are_errors(tmp_path: Path, database_url: str) -> None:
    write(tmp_path, "0001_schema.sql", "CREATE SCHEMA svc2;")
    conn = await asyncpg.connect(database_url)
    try:
        await migrate(conn, "svc2", read_migrations(tmp_path))
        write(tmp_path, "0001_schema.sql", "CREATE SCHEMA svc2_renamed;")
        with pytest.raises(MigrationError, match="changed after it was applied"):
            await migrate(conn, "svc2", read_migrations(tmp_path))
        write(tmp_path, "0001_schema.sql", "CREATE SCHEMA svc2;")
        write(tmp_path, "0002_broken.sql", "CREATE TABLE svc2.t (id int); CREATE TABLE nope.x (id int);")
        with pytest.raises(MigrationError, match=r"0002_broken\.sql failed"):
            await migrate(conn, "svc2", read_migrations(tmp_path))
        # The failed migration left nothing behind (one transaction).
        assert await conn.fetchval("SELECT to_regclass('svc2.t')") is None
    finally:
        await conn.close()
    write(tmp_path, "2_bad name.sql", "SELECT 1;")
    with pytest.raises(MigrationError, match="not named"):
        read_migrations(tmp_path)
