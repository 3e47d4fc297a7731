"""``run_stack`` (``skillstream up``) end to end: embedded NATS + PostgreSQL and every service as real processes.

The stack runs in a child interpreter (it installs signal handlers and is stopped by signals), with its data
in a temporary directory and its ports taken from free ones. Output is plain lines (stdout is not a terminal):
``<service>: <state> (pid <pid>, port <port>)``.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from skillstream_devstack.discovery import discover_sandboxes, discover_services
from skillstream_devstack.embedded import free_port

pytestmark = pytest.mark.e2e  # starts the stack's processes itself

SCRIPT = """
import sys
from pathlib import Path
from skillstream_runtime.settings import Settings
from skillstream_devstack.stack import run_stack

data_dir, nats_port, http_base_port, once = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "1"
raise SystemExit(run_stack(Settings(data_dir=Path(data_dir)), nats_port=nats_port,
                           http_base_port=http_base_port, stop_after_healthy=once))
"""
LINE = re.compile(r"^(?P<name>[\w-]+): (?P<state>\w+) \(pid (?P<pid>\d+), port (?P<port>\d+)\)", re.MULTILINE)


def _env() -> dict[str, str]:
    """The test's environment minus anything that would point the stack away from its embedded servers."""
    env = {k: v for k, v in os.environ.items() if k not in {"NATS_URL", "DATABASE_URL", "HTTP_PORT", "LOG_FORMAT"}}
    env["COLUMNS"] = "200"
    return env


def _start(data_dir: Path, nats_port: int, *, once: bool, out: Path) -> subprocess.Popen[bytes]:
    argv = [sys.executable, "-c", SCRIPT, str(data_dir), str(nats_port), str(free_port()), "1" if once else "0"]
    with out.open("wb") as f:  # cwd = data_dir so no .env of the checkout is read
        return subprocess.Popen(argv, stdout=f, stderr=subprocess.STDOUT, env=_env(), cwd=data_dir)


def _gone(pid: int) -> bool:
    """True when ``pid`` no longer runs (a zombie left to a non-reaping PID 1 counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    with contextlib.suppress(OSError):
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] in ("Z", "X")
    return False


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _assert_stopped(output: str, data_dir: Path, nats_port: int) -> None:
    pids = {int(m["pid"]) for m in LINE.finditer(output)}
    assert pids, output
    deadline = time.monotonic() + 5
    while not all(_gone(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert [p for p in pids if not _gone(p)] == [], output
    assert not _listening(nats_port), "embedded NATS still listening"
    assert not (data_dir / "postgres" / "postmaster.pid").exists(), "embedded PostgreSQL still running"
    assert not (data_dir / "stack.json").exists()


@pytest.mark.timeout(180)
def test_stack_becomes_healthy_stops_cleanly_and_reuses_its_data(tmp_path: Path) -> None:
    services = set(discover_services())
    assert services, "no skillstream.services entry points installed"
    sandboxes = {s.name for s in discover_sandboxes()}
    assert "tga-sandbox" in sandboxes  # the stack runs the sandbox upstreams beside the services
    for run in (1, 2):
        if run == 2:  # the first run left its data: the second one starts on it
            assert (tmp_path / "nats" / "jetstream-data").is_dir()
            assert (tmp_path / "postgres" / "PG_VERSION").is_file()
        nats_port = free_port()
        out = tmp_path / f"run{run}.out"
        proc = _start(tmp_path, nats_port, once=True, out=out)
        code = proc.wait(timeout=150)
        output = out.read_text()
        healthy = {m["name"] for m in LINE.finditer(output) if m["state"] == "healthy"}
        assert code == 0, output
        assert healthy == services | sandboxes, output
        assert "all services healthy" in output
        assert f"nats://127.0.0.1:{nats_port}" in output
        _assert_stopped(output, tmp_path, nats_port)
    for name in services | sandboxes:  # child logs are appended, one header per start
        log = (tmp_path / "logs" / f"{name}.log").read_text()
        assert log.count("=== skillstream up: starting") == 2, name


@pytest.mark.timeout(180)
def test_sigint_stops_every_child_and_returns_zero(tmp_path: Path) -> None:
    services = set(discover_services()) | {s.name for s in discover_sandboxes()}
    nats_port = free_port()
    out = tmp_path / "up.out"
    proc = _start(tmp_path, nats_port, once=False, out=out)
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, out.read_text()
            assert time.monotonic() < deadline, f"not all healthy in time:\n{out.read_text()}"
            ports = {m["name"]: int(m["port"]) for m in LINE.finditer(out.read_text())}
            if set(ports) == services and all(_healthz(p) for p in ports.values()):
                break
            time.sleep(0.5)
        state = json.loads((tmp_path / "stack.json").read_text())  # for the other `skillstream` commands
        assert state["nats_url"] == f"nats://127.0.0.1:{nats_port}"
        assert state["database_url"].startswith("postgresql://")
        assert state["services"] == ports
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=40)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    output = out.read_text()
    assert code == 0, output
    assert "summary" in output
    _assert_stopped(output, tmp_path, nats_port)


def _healthz(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1, trust_env=False).status_code == 200
    except httpx.HTTPError:
        return False
