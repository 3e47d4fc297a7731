"""Ports of the local stack: chosen outside the kernel's ephemeral range, and moved when taken while down."""

from __future__ import annotations

import io
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from rich.console import Console

from skillstream_devstack.discovery import discover_sandboxes, discover_services
from skillstream_devstack.embedded import _ephemeral_low, free_port, port_free
from skillstream_devstack.stack import _plan
from skillstream_devstack.supervisor import Child, Supervisor


@pytest.fixture
def taken() -> Iterator[int]:
    """A port another process listens on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", free_port()))
        s.listen()
        yield s.getsockname()[1]


def test_free_ports_stay_below_the_ephemeral_range_with_room_for_a_span() -> None:
    low = _ephemeral_low()
    ports = {free_port() for _ in range(20)}
    assert all(p < low - 16 for p in ports), sorted(ports)
    assert all(port_free(p) for p in ports)


def test_port_free_sees_a_listener(taken: int) -> None:
    assert not port_free(taken)


def _restarting(sup: Supervisor, child: Child) -> list[int]:
    spawned: list[int] = []
    sup.spawn = lambda c: spawned.append(c.port)  # type: ignore[method-assign]
    child.state, child.restart_at = "restarting", 0.0
    with httpx.Client() as http:
        sup.check(child, http)
    return spawned


def test_a_service_whose_port_was_taken_restarts_on_another(taken: int, tmp_path: Path) -> None:
    out = io.StringIO()
    child = Child("gateway", taken, tmp_path / "gateway.log")
    sup = Supervisor([child], Console(file=out))
    moves: list[int] = []
    sup.on_moved = lambda: moves.append(child.port)
    assert _restarting(sup, child) == [child.port]
    assert child.port != taken
    assert moves == [child.port]
    assert f"gateway: port {taken} is taken by another process" in out.getvalue()


def test_a_service_restarts_on_its_own_port_when_it_is_free(tmp_path: Path) -> None:
    port = free_port()
    out = io.StringIO()
    child = Child("gateway", port, tmp_path / "gateway.log")
    sup = Supervisor([child], Console(file=out))
    assert _restarting(sup, child) == [port]


def test_a_sandbox_keeps_its_port_because_the_services_hold_its_url(taken: int, tmp_path: Path) -> None:
    out = io.StringIO()
    child = Child("tga-sandbox", taken, tmp_path / "s.log", module="skillstream_tga_sandbox")
    sup = Supervisor([child], Console(file=out))
    assert _restarting(sup, child) == [taken]


def _free_run(n: int) -> int:
    """A port with the ``n - 1`` ports above it free too."""
    for _ in range(50):
        base = free_port()
        if all(port_free(base + i) for i in range(n)):
            return base
    pytest.skip(f"no run of {n} free ports")


def test_sandboxes_and_nats_monitoring_follow_the_http_base_port(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sandboxes = discover_sandboxes()
    assert sandboxes, "no skillstream.sandboxes entry points installed"
    for sandbox in sandboxes:  # the sandboxes run: nothing points the services at a real upstream
        for name in sandbox.skip_if_set:
            monkeypatch.delenv(name, raising=False)
    services = list(discover_services())
    base = _free_run(len(services) + len(sandboxes) + 1)
    children, env, monitor = _plan(None, base, tmp_path, Console(file=io.StringIO()))
    ports = {c.name: c.port for c in children}
    after = base + len(services)
    assert [ports[name] for name in services] == list(range(base, after))
    assert [ports[s.name] for s in sandboxes] == list(range(after, after + len(sandboxes)))
    assert monitor == after + len(sandboxes)
    for sandbox in sandboxes:  # the services are pointed at the sandboxes on their new ports
        assert sandbox.service_env(ports[sandbox.name]).items() <= env.items()
