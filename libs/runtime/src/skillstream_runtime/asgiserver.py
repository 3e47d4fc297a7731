"""Serving a small ASGI app with uvicorn: on a bound socket in the foreground (a sandbox's ``main()``), or in a
background thread on a free port (tests). Shared by the sandbox upstreams in ``deploy/``."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, Self

import httpx
import uvicorn
from starlette.types import ASGIApp


def bind(host: str, port: int, backlog: int = 512) -> socket.socket:
    """A listening TCP socket (``port`` 0 = any free port), handed to uvicorn so the port is known before
    it starts and no other process can take it in between."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto must say TCP: asyncio sets TCP_NODELAY only on accepted sockets whose proto is IPPROTO_TCP, and
    # without it every keep-alive reply (headers and body written apart) waits ~40 ms for a delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(backlog)
    sock.set_inheritable(True)
    return sock


def quiet_server(app: ASGIApp) -> uvicorn.Server:
    """uvicorn for ``app`` with warnings only, no access log, no lifespan."""
    return uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off"))


def serve(app: ASGIApp, host: str, port: int, banner: str) -> None:
    """Bind ``host:port``, print ``<banner> listening on http://host:port`` and serve until SIGINT/SIGTERM."""
    server = quiet_server(app)
    sock = bind(host, port)
    bound_host, bound_port = sock.getsockname()[:2]
    print(f"{banner} listening on http://{bound_host}:{bound_port}", flush=True)
    server.run(sockets=[sock])


class BackgroundServer:
    """``app()`` served by uvicorn in a daemon thread on ``127.0.0.1`` and a free port; ``url`` is its base URL
    once :meth:`start` returned. ``error`` is raised when it does not start within ``start_timeout`` seconds."""

    def __init__(
        self,
        app: Callable[[], ASGIApp],
        *,
        name: str,
        error: Callable[[str], Exception] = RuntimeError,
        start_timeout: float = 15.0,
        control_timeout: float = 60.0,
    ) -> None:
        self._app, self._name, self._error = app, name, error
        self._start_timeout, self._control_timeout = start_timeout, control_timeout
        self._sock: socket.socket | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.url = ""

    def start(self) -> Self:
        """Start serving; returns self once the server accepts requests."""
        self._server = server = quiet_server(self._app())
        self._sock = sock = bind("127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        self._thread = threading.Thread(target=lambda: server.run(sockets=[sock]), name=self._name, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + self._start_timeout
        while not server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise self._error(f"the {self._name} did not start within {self._start_timeout}s")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        """Stop serving and wait for the thread (at most 10 s)."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self._sock is not None:
            self._sock.close()
        self._server = self._thread = self._sock = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def control(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        """``method`` ``/_sandbox/<path>`` with a JSON ``body``; the JSON reply.

        Raises:
            httpx.HTTPStatusError: the control API refused it (4xx) or failed.
        """
        response = httpx.request(method, f"{self.url}/_sandbox/{path}", json=body, timeout=self._control_timeout)
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result


__all__ = ["BackgroundServer", "bind", "quiet_server", "serve"]
