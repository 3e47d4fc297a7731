"""The supervisor behind ``skillstream up``: the stack's child processes, their health and their display.

A :class:`Child` is one service or sandbox run as ``python -m <module>`` on its HTTP port, with its output
appended to its log file. :class:`Supervisor` starts children (through :func:`~skillstream_devstack.process.spawn`,
so they die with the stack), polls their ``/healthz``, restarts crashed ones with capped exponential backoff
(giving up after repeated quick crashes), draws the live table and stops them all (SIGTERM, then SIGKILL).
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from rich.console import Console
from rich.live import Live
from rich.table import Table

from skillstream_devstack.embedded import EmbeddedNats, EmbeddedPostgres, free_port, port_free
from skillstream_devstack.process import spawn

QUICK_CRASH = 30.0  # seconds: a child that dies sooner than this after starting counts as a quick crash
MAX_QUICK_CRASHES = 5  # consecutive quick crashes before giving up on a child
BACKOFF_MAX = 30.0  # seconds, cap of the restart backoff
STOP_TIMEOUT = 20.0  # seconds the children get to exit after SIGTERM
_COLORS = {"healthy": "green", "starting": "yellow", "restarting": "yellow", "unhealthy": "red", "failed": "red"}


@dataclass
class Child:
    """One supervised process; ``state`` is starting | healthy | unhealthy | restarting | failed | stopped."""

    name: str
    port: int
    log_path: Path
    module: str = ""
    proc: subprocess.Popen[bytes] | None = None
    state: str = "starting"
    restarts: int = 0
    quick_crashes: int = 0
    started_at: float = 0.0
    restart_at: float = 0.0
    ever_healthy: bool = False
    pids: list[int] = field(default_factory=list)


def say(console: Console, text: str) -> None:
    """One status line (printed above the Live table on a terminal), never wrapped."""
    console.print(text, highlight=False, soft_wrap=True)


class Supervisor:
    """The children of one stack and what they share: environment, embedded servers, stop flag, display."""

    def __init__(self, children: list[Child], console: Console) -> None:
        self.children, self.console = children, console
        self.env: dict[str, str] = {}
        self.servers: list[EmbeddedNats | EmbeddedPostgres] = []
        self.stop = threading.Event()  # set by SIGINT / SIGTERM
        self.live: Live | None = None
        self.on_healthy: Callable[[], None] | None = None  # called once, when every child has been healthy
        self.on_moved: Callable[[], None] | None = None  # called when a service moved to another port

    def say(self, text: str) -> None:
        say(self.console, text)

    def set_state(self, child: Child, state: str, note: str = "") -> None:
        if child.state != state:
            child.state = state
            pid = child.proc.pid if child.proc else "-"
            self.say(f"{child.name}: {state} (pid {pid}, port {child.port}){note}")

    def spawn(self, child: Child) -> None:
        """Start ``child`` in its own session (a terminal's Ctrl-C reaches only the supervisor, which then
        stops the children in order); it gets SIGTERM should the supervisor die without stopping it."""
        module = child.module or "skillstream_" + child.name.replace("-", "_")
        with child.log_path.open("ab") as log:
            log.write(f"\n=== skillstream up: starting {module} at {time.ctime()}\n".encode())
            log.flush()
            child.proc = spawn(
                [sys.executable, "-m", module],
                env={**self.env, "HTTP_PORT": str(child.port)},
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        child.pids.append(child.proc.pid)
        child.started_at = time.monotonic()
        child.state = ""
        self.set_state(child, "starting")

    def check(self, child: Child, http: httpx.Client) -> None:
        """One poll of ``child``: restart it when due, notice a crash, or probe ``/healthz``."""
        now = time.monotonic()
        if child.state == "restarting" and now >= child.restart_at:
            child.restarts += 1
            self._move_if_taken(child)
            self.spawn(child)
        if child.proc is None or child.state in ("failed", "restarting", "stopped"):
            return
        code = child.proc.poll()
        if code is not None:
            ran = now - child.started_at
            child.quick_crashes = child.quick_crashes + 1 if ran < QUICK_CRASH else 1
            if child.quick_crashes >= MAX_QUICK_CRASHES:
                self.set_state(child, "failed", f": exited {code}, gave up; see {child.log_path}")
                return
            delay = min(0.5 * 2 ** (child.quick_crashes - 1), BACKOFF_MAX)
            child.restart_at = now + delay
            self.set_state(child, "restarting", f": exited {code} after {ran:.1f}s, restart in {delay:.1f}s")
            return
        try:
            ok = http.get(f"http://127.0.0.1:{child.port}/healthz").status_code == 200
        except httpx.HTTPError:
            ok = False
        if ok:
            child.ever_healthy = True
            self.set_state(child, "healthy")
        elif child.state == "healthy":
            self.set_state(child, "unhealthy")

    def _move_if_taken(self, child: Child) -> None:
        """Give a service a free port when another process took its own while it was down (a service that
        cannot bind its port exits at once, so restarting it there would only fail again). Sandboxes keep
        theirs: the services were started with their URLs."""
        if child.module or port_free(child.port):
            return
        old, child.port = child.port, free_port()
        self.say(f"{child.name}: port {old} is taken by another process, moving to {child.port}")
        if self.on_moved is not None:
            self.on_moved()

    def table(self) -> Table:
        table = Table(title="skillstream up (Ctrl-C to stop)", title_justify="left")
        for col in ("service", "pid", "port", "state", "restarts", "uptime"):
            table.add_column(col, justify="right" if col in ("pid", "port", "restarts", "uptime") else "left")
        now = time.monotonic()
        for c in self.children:
            alive = c.proc is not None and c.proc.poll() is None
            color = _COLORS.get(c.state, "dim")
            table.add_row(
                c.name,
                str(c.proc.pid) if alive and c.proc else "-",
                str(c.port),
                f"[{color}]{c.state}[/]",
                str(c.restarts),
                f"{now - c.started_at:.0f}s" if alive else "-",
            )
        return table

    def refresh(self) -> None:
        if self.live is not None:
            self.live.update(self.table(), refresh=True)

    def shutdown(self) -> None:
        """SIGTERM to every running child, SIGKILL to those still running after :data:`STOP_TIMEOUT` seconds."""
        running = [c for c in self.children if c.proc is not None and c.proc.poll() is None]
        for c in running:
            assert c.proc is not None
            c.proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        while running and time.monotonic() < deadline:
            time.sleep(0.1)
            for c in [c for c in running if c.proc is not None and c.proc.poll() is not None]:
                running.remove(c)
                self.set_state(c, "stopped")
            self.refresh()
        for c in running:
            assert c.proc is not None
            c.proc.kill()
            c.proc.wait()
            self.set_state(c, "stopped", f": killed after {STOP_TIMEOUT:.0f}s")
        for c in self.children:
            if c.state not in ("stopped", "failed"):
                self.set_state(c, "stopped")
        self.refresh()

    def summary(self) -> None:
        """Print the final table: every child's last state, restarts and every pid it had."""
        table = Table(title="skillstream up: summary", title_justify="left")
        for col in ("service", "port", "final state", "ever healthy", "restarts"):
            table.add_column(col, no_wrap=True)
        table.add_column("pids")
        for c in self.children:
            table.add_row(
                c.name,
                str(c.port),
                c.state,
                "yes" if c.ever_healthy else "no",
                str(c.restarts),
                " ".join(map(str, c.pids)),
            )
        self.console.print(table)


__all__ = ["Child", "Supervisor", "say"]
