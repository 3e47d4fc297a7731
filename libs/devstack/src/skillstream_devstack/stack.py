"""The local stack behind ``skillstream up``: embedded NATS + PostgreSQL and every service, supervised.

``run_stack`` starts embedded servers unless ``NATS_URL`` / ``DATABASE_URL`` point elsewhere, starts each
service discovered in the ``skillstream.services`` entry point group as a child process
(``python -m skillstream_<name>``), polls their ``/healthz``, restarts crashed children with capped
exponential backoff, and on SIGINT/SIGTERM stops the children (SIGTERM, then SIGKILL after a grace period)
before the servers (:mod:`skillstream_devstack.supervisor`). Child output is appended to
``<data_dir>/logs/<service>.log``; while the stack runs, ``<data_dir>/stack.json`` records the embedded
servers' URLs and the services' ports for other commands. Every child and server dies with the stack, even
when the stack itself is killed (:mod:`skillstream_devstack.process`).

Errors (:mod:`skillstream_devstack.errors`): ``StackError`` for an unknown service name; ``EmbeddedServerError``
when an embedded server cannot start.
"""

from __future__ import annotations

import functools
import json
import os
import signal
import threading
import time
from collections.abc import Sequence
from importlib.metadata import entry_points
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
from rich.console import Console
from rich.live import Live

from skillstream_devstack.demo import run_demo_blocking
from skillstream_devstack.discovery import discover_sandboxes, discover_services
from skillstream_devstack.embedded import free_port, port_free, start_nats, start_postgres
from skillstream_devstack.errors import StackError
from skillstream_devstack.supervisor import Child, Supervisor, say
from skillstream_runtime.cliclient import STACK_FILE
from skillstream_runtime.settings import Settings

_TICK = 0.5  # seconds between health polls / display refreshes
_HEALTHY_TIMEOUT = 60.0  # seconds every service gets to become healthy with stop_after_healthy


def _hide_password(url: str) -> str:
    parts = urlsplit(url)
    if not parts.password:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def _start_servers(
    settings: Settings, data_dir: Path, nats_port: int | None, monitor_port: int | None, sup: Supervisor
) -> tuple[str, str]:
    """Start what is not configured elsewhere; return the NATS URL and the PostgreSQL DSN."""
    nats_url = settings.nats_url
    if not nats_url:
        port = nats_port or (4222 if port_free(4222) else None)
        nats = start_nats(data_dir / "nats", port=port, monitor_port=monitor_port)
        sup.servers.append(nats)
        nats_url = nats.url
        sup.say(f"NATS       {nats_url} (embedded, monitor {nats.monitor_url}, data {nats.store_dir})")
    else:
        sup.say(f"NATS       {_hide_password(nats_url)}")
    if settings.database_url is None:
        pg = start_postgres(data_dir / "postgres")
        sup.servers.append(pg)
        dsn = pg.dsn()
        sup.say(f"PostgreSQL {_hide_password(dsn)} (embedded, data {pg.data_dir})")
    else:
        dsn = settings.database_url.get_secret_value()
        sup.say(f"PostgreSQL {_hide_password(dsn)}")
    return nats_url, dsn


def run_stack(
    settings: Settings,
    *,
    services: Sequence[str] | None = None,
    nats_port: int | None = None,
    http_base_port: int | None = None,
    console: Console | None = None,
    stop_after_healthy: bool = False,
    demo: bool = False,
) -> int:
    """Run the local stack until SIGINT/SIGTERM; return the process exit code.

    ``services`` limits the stack to those names (default: all discovered). ``nats_port`` is the embedded
    NATS client port (default 4222 if free, else any free port). ``http_base_port`` gives every HTTP port the
    stack opens, consecutively: the services in name order, then the sandboxes in name order, then the embedded
    NATS's monitoring port (default: each service's and sandbox's own port, or a free one if that is busy, and
    any free port for monitoring); a busy port in that range is replaced by a free one, with a warning.
    With ``stop_after_healthy`` it stops as soon as every service has been healthy once and returns 0, or
    returns 1 if one did not become healthy within 60 seconds (or was given up on after repeated crashes).
    Otherwise it returns 0 after a clean stop.
    Sandbox upstreams (:mod:`skillstream_runtime.sandboxes`) start first, unless the environment points the
    services at a real upstream. With ``demo`` the demo steps (:mod:`skillstream_devstack.demo`) run once
    every child is healthy, and the stack keeps running afterwards for the dashboard.
    Signal handlers are installed only when called from the main thread.

    Raises:
        StackError: a name in ``services`` is not a discovered service.
        EmbeddedServerError: embedded NATS or PostgreSQL failed to start.
    """
    console = console or Console()
    data_dir = settings.data_dir.expanduser().resolve()
    logs = data_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    children, sandbox_env, monitor_port = _plan(services, http_base_port, logs, console)
    sup = Supervisor(children, console)
    state_file = data_dir / STACK_FILE

    def on_signal(signum: int, frame: FrameType | None) -> None:
        sup.stop.set()

    previous: dict[signal.Signals, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, on_signal)
    try:
        nats_url, dsn = _start_servers(settings, data_dir, nats_port, monitor_port, sup)
        sup.say(f"Logs       {logs}/<service>.log")
        sup.on_moved = functools.partial(
            _record,
            state_file,
            sup,
            nats_url if settings.nats_url is None else None,
            dsn if settings.database_url is None else None,
        )
        sup.on_moved()
        sup.env = _child_env(settings, data_dir, nats_url, dsn, sandbox_env)
        gateway = next((c for c in children if c.name == "gateway"), None)
        if gateway is not None:
            sup.say(f"Dashboard  http://127.0.0.1:{gateway.port}/  (dev login, or: skillstream token --role admin)")
        if demo:
            sup.on_healthy = lambda: _start_demo(sup, nats_url)
        elif console.is_terminal:
            sup.live = Live(sup.table(), console=console, auto_refresh=False)
            sup.live.start()
        try:
            return _supervise(sup, stop_after_healthy)
        finally:
            sup.shutdown()
    finally:
        state_file.unlink(missing_ok=True)
        if sup.live is not None:
            sup.live.stop()
        for server in reversed(sup.servers):
            server.stop()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if any(c.pids for c in children):
            sup.summary()


def _plan(
    services: Sequence[str] | None, http_base_port: int | None, logs: Path, console: Console
) -> tuple[list[Child], dict[str, str], int | None]:
    """The children to run (sandboxes first, then services, each in name order and on a free port), the
    environment that points the services at the sandboxes, and the embedded NATS's monitoring port (None: any).
    With ``http_base_port`` the services take the ports from it on, the sandboxes the ports after theirs and the
    monitoring the next one, so two stacks on different base ports never share a sandbox; without it each child
    takes its own default port when free.

    Raises:
        StackError: a name in ``services`` is not a discovered service.
    """
    known = discover_services(services)
    wanted = list(known) if services is None else list(dict.fromkeys(services))
    unknown = [s for s in wanted if s not in known]
    if unknown:
        names = sorted(ep.name for ep in entry_points(group="skillstream.services"))
        raise StackError(f"unknown service(s): {', '.join(unknown)}; known: {', '.join(names)}")
    children: list[Child] = []
    sandbox_env: dict[str, str] = {}
    sandboxes = [s for s in discover_sandboxes() if s.wanted(os.environ)] if services is None else []
    for offset, sandbox in enumerate(sandboxes, start=len(wanted)):
        if http_base_port is None:
            port = sandbox.default_port if port_free(sandbox.default_port) else free_port()
        else:
            port = _port(sandbox.name, http_base_port + offset, console)
        children.append(Child(sandbox.name, port, logs / f"{sandbox.name}.log", module=sandbox.module))
        sandbox_env.update(sandbox.service_env(port))
    for offset, name in enumerate(wanted):
        port = _port(name, http_base_port + offset if http_base_port is not None else known[name], console)
        children.append(Child(name, port, logs / f"{name}.log"))
    monitor = None if http_base_port is None else _port("NATS monitoring", http_base_port + len(children), console)
    return children, sandbox_env, monitor


def _port(name: str, port: int, console: Console) -> int:
    """``port`` when it is free, else a free one (said on ``console``)."""
    if port_free(port):
        return port
    new = free_port()
    say(console, f"[yellow]{name}: port {port} is busy, using {new}[/]")
    return new


def _child_env(
    settings: Settings, data_dir: Path, nats_url: str, dsn: str, sandbox_env: dict[str, str]
) -> dict[str, str]:
    """The environment of every child: this one plus the stack's servers, logging and sandbox URLs."""
    log_format = settings.log_format if "log_format" in settings.model_fields_set else "console"
    return {
        **os.environ,
        "NATS_URL": nats_url,
        "DATABASE_URL": dsn,
        "LOG_FORMAT": log_format,
        "LOG_LEVEL": settings.log_level,
        "PYTHONUNBUFFERED": "1",
        # the local stack is for development on loopback: the dashboard's dev login is on unless
        # GATEWAY_DEV_LOGIN says otherwise; tokens are signed with <DATA_DIR>/dev-jwt-secret
        "DATA_DIR": str(data_dir),
        "GATEWAY_DEV_LOGIN": os.environ.get("GATEWAY_DEV_LOGIN", "true"),
        **sandbox_env,
    }


def _record(path: Path, sup: Supervisor, nats_url: str | None, dsn: str | None) -> None:
    """Write ``stack.json`` (embedded URLs, pid, service ports) for the other ``skillstream`` commands."""
    state = {
        "pid": os.getpid(),
        "nats_url": nats_url,
        "database_url": dsn,
        "services": {c.name: c.port for c in sup.children},
    }
    path.write_text(json.dumps(state, indent=2) + "\n")
    path.chmod(0o600)


def _supervise(sup: Supervisor, stop_after_healthy: bool) -> int:
    """Spawn the children, then poll them every tick until stopped; the exit code."""
    for child in sup.children:
        if not sup.stop.is_set():
            sup.spawn(child)
    deadline = time.monotonic() + _HEALTHY_TIMEOUT
    with httpx.Client(timeout=0.4, trust_env=False) as http:  # no proxies for loopback
        while not sup.stop.is_set():
            for child in sup.children:
                sup.check(child, http)
            sup.refresh()
            if sup.on_healthy is not None and all(c.ever_healthy for c in sup.children):
                sup.on_healthy()
                sup.on_healthy = None
            if stop_after_healthy:
                waiting = [c for c in sup.children if not c.ever_healthy]
                if not waiting:
                    sup.say("all services healthy")
                    return 0
                if time.monotonic() > deadline or all(c.state == "failed" for c in waiting):
                    for c in waiting:
                        say(sup.console, f"[red]{c.name} never became healthy; see {c.log_path}[/]")
                    return 1
            sup.stop.wait(_TICK)
    return 0


def _start_demo(sup: Supervisor, nats_url: str) -> None:
    """Run the demo steps in a thread; the supervisor keeps watching the children meanwhile."""

    def go() -> None:
        ok = run_demo_blocking(nats_url, sup.console)
        sup.say(("[green]demo finished[/]" if ok else "[red]demo finished with failures[/]") + "; Ctrl-C stops")

    threading.Thread(target=go, name="skillstream-demo", daemon=True).start()


__all__ = ["StackError", "run_stack"]
