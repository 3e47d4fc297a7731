"""Run the sandbox: :class:`SandboxServer` for tests (uvicorn in a background thread on a free port) and
:func:`serve` for ``main()``.

Usage in a test::

    with SandboxServer() as tga:
        tga.set_faults(latency_ms=50)
        httpx.post(tga.service_url, ...)
"""

from __future__ import annotations

import datetime as dt
import socket
import threading
import time
from types import TracebackType
from typing import Any

import httpx
import uvicorn

from skillstream_tga_sandbox.app import FILES_PATH, SERVICE_PATH, create_app
from skillstream_tga_sandbox.errors import SandboxError
from skillstream_tga_sandbox.settings import Faults, Settings


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket (``port`` 0 = any free port), handed to uvicorn so the port is known before
    it starts and no other process can take it in between."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto must say TCP: asyncio sets TCP_NODELAY only on accepted sockets whose proto is IPPROTO_TCP, and
    # without it every keep-alive reply (headers and body written apart) waits ~40 ms for a delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def _server(settings: Settings) -> uvicorn.Server:
    config = uvicorn.Config(create_app(settings), log_level="warning", access_log=False, lifespan="off")
    return uvicorn.Server(config)


def serve(settings: Settings) -> None:
    """Bind ``settings.host:port``, print ``TGA sandbox listening on http://host:port`` and serve until
    SIGINT/SIGTERM."""
    sock = bind(settings.host, settings.port)
    host, port = sock.getsockname()[:2]
    server = _server(settings)
    print(f"TGA sandbox listening on http://{host}:{port}", flush=True)
    server.run(sockets=[sock])


class SandboxServer:
    """The sandbox in a background thread on ``127.0.0.1`` and a free port.

    ``settings``: as :class:`Settings` (its host/port are ignored); ``faults``: Faults fields switched on at
    start (``SandboxServer(latency_ms=20)``). ``url`` is the base URL; ``service_url`` the SOAP endpoint;
    ``files_url`` the ``/TrainingComponentFiles/`` prefix. The control methods call the control API.

    Raises:
        SandboxError: the server did not start within ``start_timeout`` seconds.
    """

    def __init__(self, settings: Settings | None = None, *, start_timeout: float = 15.0, **faults: Any) -> None:
        base = settings or Settings()
        if faults:
            base = base.model_copy(update={"faults": Faults.model_validate({**base.faults.model_dump(), **faults})})
        self.settings = base
        self._start_timeout = start_timeout
        self._sock: socket.socket | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.url = ""

    @property
    def service_url(self) -> str:
        """The SOAP 1.1 endpoint (``…/TrainingComponentService.svc/Training``)."""
        return self.url + SERVICE_PATH

    @property
    def files_url(self) -> str:
        """The release-file prefix, ending in ``/`` (append a RelativePath with ``\\`` → ``/``)."""
        return self.url + FILES_PATH

    def start(self) -> SandboxServer:
        """Start serving; returns self once the server accepts requests."""
        self._sock = bind("127.0.0.1", 0)
        port = self._sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        self._server = _server(self.settings)
        server, sock = self._server, self._sock
        self._thread = threading.Thread(target=lambda: server.run(sockets=[sock]), name="tga-sandbox", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + self._start_timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise SandboxError(f"the TGA sandbox did not start within {self._start_timeout}s")
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

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        response = httpx.request(method, f"{self.url}/_sandbox/{path}", json=body, timeout=10.0)
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    def set_faults(self, **faults: Any) -> dict[str, Any]:
        """Merge ``faults`` into the running faults (``PUT /_sandbox/faults``); returns all faults.

        Raises:
            httpx.HTTPStatusError: an unknown field or an invalid value (422).
        """
        return self._call("PUT", "faults", faults)

    def faults(self) -> dict[str, Any]:
        """The running faults (``GET /_sandbox/faults``)."""
        return self._call("GET", "faults")

    def reset(self) -> None:
        """Faults as at start, no modifications or deletions, zero counters (``POST /_sandbox/reset``)."""
        self._call("POST", "reset")

    def stats(self) -> dict[str, Any]:
        """Counters and the request log (``GET /_sandbox/stats``)."""
        return self._call("GET", "stats")

    def mark_modified(self, code: str, updated_date: dt.datetime | None = None) -> dict[str, Any]:
        """Set a component's UpdatedDate (default now; ``PUT /_sandbox/modified``)."""
        body = {"code": code, "updated_date": updated_date.isoformat() if updated_date else None}
        return self._call("PUT", "modified", body)

    def mark_deleted(
        self, code: str, operation: str = "LogicalDelete", deleted_date: dt.datetime | None = None
    ) -> dict[str, Any]:
        """Record a deletion (``PUT /_sandbox/deleted``)."""
        body = {
            "code": code,
            "operation": operation,
            "deleted_date": deleted_date.isoformat() if deleted_date else None,
        }
        return self._call("PUT", "deleted", body)


__all__ = ["SandboxServer", "bind", "serve"]
