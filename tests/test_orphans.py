"""Nothing outlives a killed parent: the servers and services that the test fixtures or ``skillstream up``
start die with the process that started them, even when it is SIGKILLed (no cleanup code runs).

Each test runs a parent in a child interpreter, records every process below it (``psutil``, so PostgreSQL's
own workers count too), SIGKILLs it and checks that none of them is still running 10 seconds later.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from skillstream_devstack.embedded import free_port

pytestmark = pytest.mark.e2e  # starts the stack's processes itself

SURVIVAL_LIMIT = 10.0  # seconds a child may take to die after its parent was killed

FIXTURES_PARENT = """
import json, sys, threading, time
from pathlib import Path
from skillstream_devstack.embedded import start_nats, start_postgres
from skillstream_testing.services import ServiceProcess

tmp = Path(sys.argv[1])
nats, pg = start_nats(tmp / "nats"), start_postgres(tmp / "pg")
env = {"NATS_URL": nats.url, "DATABASE_URL": pg.dsn(), "DATA_DIR": str(tmp / "data"), "SHUTDOWN_GRACE": "3"}
service = ServiceProcess("orchestrator", env, tmp / "orchestrator.log")
starter = threading.Thread(target=service.start)  # as the fixtures do, from a thread that then ends
starter.start()
starter.join()
print(json.dumps({"nats": nats.process.pid, "postgres": pg.process.pid, "service": service.proc.pid}), flush=True)
time.sleep(600)
"""

STACK_PARENT = """
import sys
from pathlib import Path
from skillstream_devstack.stack import run_stack
from skillstream_runtime.settings import Settings

data_dir, nats_port, http_port = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
raise SystemExit(run_stack(Settings(data_dir=data_dir), services=["orchestrator"], nats_port=nats_port,
                           http_base_port=http_port))
"""
HEALTHY = re.compile(r"^orchestrator: healthy \(pid (?P<pid>\d+)", re.MULTILINE)


@pytest.fixture
def workdir() -> Iterator[Path]:
    """A temporary folder PostgreSQL's server user can reach (pytest's own is mode 0700)."""
    path = Path(tempfile.mkdtemp(prefix="skillstream-orphans-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"NATS_URL", "DATABASE_URL", "HTTP_PORT"}}
    return {**env, "SHUTDOWN_GRACE": "3", "LOG_FORMAT": "console", "PYTHONUNBUFFERED": "1"}


def _running(pid: int) -> bool:
    """``pid`` still runs (a zombie waiting for a non-reaping PID 1 has ended)."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _descendants(pid: int) -> set[int]:
    return {p.pid for p in psutil.Process(pid).children(recursive=True)}


def _survivors_after_kill(parent: subprocess.Popen[bytes]) -> tuple[set[int], list[int]]:
    """SIGKILL ``parent``; every process that was below it, and those still running after the limit."""
    below = _descendants(parent.pid)
    parent.send_signal(signal.SIGKILL)
    parent.wait(10)
    deadline = time.monotonic() + SURVIVAL_LIMIT
    while any(_running(p) for p in below) and time.monotonic() < deadline:
        time.sleep(0.1)
    return below, sorted(p for p in below if _running(p))


def _kill_all(pids: set[int]) -> None:
    """Clean up after a failed check, so one failure does not leave servers behind."""
    for pid in pids:
        with contextlib.suppress(psutil.Error):
            psutil.Process(pid).kill()


def _read_until(proc: subprocess.Popen[bytes], pattern: re.Pattern[str], within: float) -> tuple[re.Match[str], str]:
    """Read ``proc``'s stdout until ``pattern`` matches what was read; the match and the text.

    Raises:
        AssertionError: it exited or nothing matched within ``within`` seconds (with the output).
    """
    assert proc.stdout is not None
    text, deadline = "", time.monotonic() + within
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], 0.5)
        if ready:
            chunk = os.read(proc.stdout.fileno(), 65536).decode(errors="replace")
            if not chunk:
                break
            text += chunk
            match = pattern.search(text)
            if match:
                return match, text
    raise AssertionError(f"no {pattern.pattern!r} within {within}s (exit {proc.poll()}):\n{text}")


@pytest.mark.timeout(120)
def test_fixture_servers_and_services_die_with_a_killed_test_process(workdir: Path) -> None:
    parent = subprocess.Popen(
        [sys.executable, "-c", FIXTURES_PARENT, str(workdir)], stdout=subprocess.PIPE, env=_env(), cwd=workdir
    )
    below: set[int] = set()
    try:
        match, _ = _read_until(parent, re.compile(r"^\{.*\}$", re.MULTILINE), 90)
        pids = json.loads(match.group(0))
        time.sleep(1.0)
        assert all(_running(p) for p in pids.values()), "a child died with the thread that started it"
        below, survivors = _survivors_after_kill(parent)
        assert set(pids.values()) <= below
        assert survivors == [], {p: psutil.Process(p).cmdline() for p in survivors if _running(p)}
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
        _kill_all(below)


@pytest.mark.timeout(150)
def test_the_stack_children_die_with_a_killed_skillstream_up(workdir: Path) -> None:
    argv = [sys.executable, "-c", STACK_PARENT, str(workdir), str(free_port()), str(free_port())]
    parent = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=_env(), cwd=workdir)
    below: set[int] = set()
    try:
        match, output = _read_until(parent, HEALTHY, 120)
        service = int(match["pid"])
        below, survivors = _survivors_after_kill(parent)
        assert service in below, output
        names = {psutil.Process(p).name() for p in below if _running(p)} if survivors else set()
        assert survivors == [], f"still running: {names}\n{output}"
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
        _kill_all(below)
