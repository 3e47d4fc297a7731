"""``spawn``: children that die with their parent, and only then."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from skillstream_devstack.process import spawn, supported

pytestmark = pytest.mark.skipif(not supported(), reason="parent-death signals are Linux only")

PARENT = """
import sys
from skillstream_devstack.process import spawn
child = spawn(["sleep", "120"])
print(child.pid, flush=True)
sys.stdin.read()  # until the test kills this process
"""


def _running(pid: int) -> bool:
    """``pid`` runs (a zombie left to a non-reaping PID 1 has ended)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


def test_a_child_outlives_the_thread_that_started_it() -> None:
    started: list[subprocess.Popen[bytes]] = []
    starter = threading.Thread(target=lambda: started.append(spawn(["sleep", "60"])))
    starter.start()
    starter.join()
    child = started[0]
    try:
        time.sleep(0.5)
        assert child.poll() is None
    finally:
        child.kill()
        child.wait(5)


def test_a_child_dies_with_a_killed_parent() -> None:
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env={**os.environ}
    )
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    try:
        assert _running(child)
        parent.send_signal(signal.SIGKILL)
        parent.wait(5)
        deadline = time.monotonic() + 5
        while _running(child) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _running(child)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(child, signal.SIGKILL)
        if parent.poll() is None:
            parent.kill()
            parent.wait()


def test_popen_arguments_pass_through(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with out.open("wb") as f:
        proc = spawn(["sh", "-c", 'echo "$GREETING" in "$PWD"'], env={"GREETING": "hello"}, cwd=tmp_path, stdout=f)
    assert proc.wait(10) == 0
    assert out.read_text() == f"hello in {tmp_path}\n"


def test_a_missing_program_raises_in_the_caller() -> None:
    with pytest.raises(FileNotFoundError):
        spawn(["/nonexistent/program"])
