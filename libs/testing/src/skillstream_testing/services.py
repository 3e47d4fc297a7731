"""Run Skillstream services as real processes in tests: start, wait until ready, SIGTERM, SIGKILL, restart.

A crash test needs the service in its own process (killing a task in the test's event loop proves
nothing about durable consumers and checkpoints), so end-to-end tests use :class:`ServiceProcess`. The process
dies with the test run, however that ends (:mod:`skillstream_devstack.process`).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from skillstream_devstack.embedded import free_port
from skillstream_devstack.process import spawn


class ServiceProcess:
    """``skillstream-<name>`` (or ``python -m <module>``) as a child process with ``env`` added to the test's
    environment.

    ``http_port``: its health (and, for the gateway, API) port, free by default; ``ready_path`` must answer
    200 once it is ready. Output goes to
    ``log_path`` so a failing test can show it (:meth:`output`).
    """

    def __init__(
        self,
        name: str,
        env: dict[str, str],
        log_path: Path,
        http_port: int | None = None,
        *,
        module: str | None = None,
        ready_path: str = "/readyz",
    ) -> None:
        self.name = name
        self.module = module or "skillstream_" + name.replace("-", "_")
        self.ready_path = ready_path
        self.env = {**os.environ, "LOG_FORMAT": "console", "SHUTDOWN_GRACE": "5", **env}
        self.http_port = http_port or free_port()
        self.env["HTTP_PORT"] = str(self.http_port)
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def start(self, *, ready_timeout: float = 60.0) -> ServiceProcess:
        """Start the process and wait for ``/readyz`` to answer 200.

        Raises:
            RuntimeError: it exited or was not ready within ``ready_timeout`` seconds (with its output).
        """
        with self.log_path.open("ab") as out:  # SIGTERM should the test process die without stopping it
            self.proc = spawn([sys.executable, "-m", self.module], stdout=out, stderr=subprocess.STDOUT, env=self.env)
        deadline = time.monotonic() + ready_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}:\n{self.output()}")
            try:
                if httpx.get(f"{self.url}{self.ready_path}", timeout=1.0).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} not ready after {ready_timeout}s:\n{self.output()}")

    def kill(self) -> None:
        """SIGKILL: no graceful shutdown, nothing acknowledged after this instant."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self, timeout: float = 20.0) -> int | None:
        """SIGTERM and wait (SIGKILL after ``timeout`` seconds); returns the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        return self.proc.returncode

    def output(self) -> str:
        """What the process printed so far (last 20,000 characters)."""
        try:
            return self.log_path.read_text(errors="replace")[-20_000:]
        except FileNotFoundError:
            return ""


__all__ = ["ServiceProcess"]
