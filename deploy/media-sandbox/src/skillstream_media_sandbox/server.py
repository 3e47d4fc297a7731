"""Run the sandbox: :class:`SandboxServer` for tests (uvicorn in a background thread on a free port) and
:func:`serve` for ``main()``.

Usage in a test::

    settings = Settings(public_key_file=public_pem_path)
    with SandboxServer(settings) as media:
        media.set_faults(script={"folder/intro_med.mp4": ["503", "ok"]})
        httpx.get(media.catalogue_url + "/courses")
"""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType
from typing import Any

import httpx
import uvicorn

from skillstream_media_sandbox.app import CATALOGUE_PATH, CDN_PATH, create_app
from skillstream_media_sandbox.errors import SandboxError
from skillstream_media_sandbox.settings import Settings


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket (``port`` 0 = any free port), handed to uvicorn so the port is known before
    it starts and no other process can take it in between."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto must say TCP: asyncio sets TCP_NODELAY only on accepted sockets whose proto is IPPROTO_TCP, and
    # without it every keep-alive reply (headers and body written apart) waits ~40 ms for a delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(512)
    sock.set_inheritable(True)
    return sock


def _server(settings: Settings) -> uvicorn.Server:
    config = uvicorn.Config(create_app(settings), log_level="warning", access_log=False, lifespan="off")
    return uvicorn.Server(config)


def serve(settings: Settings) -> None:
    """Build the app (refusing a missing public key), bind ``settings.host:port``, print
    ``Media sandbox listening on http://host:port`` and serve until SIGINT/SIGTERM.

    Raises:
        PublicKeyError: no usable public key (before anything is bound).
    """
    server = _server(settings)
    sock = bind(settings.host, settings.port)
    host, port = sock.getsockname()[:2]
    print(f"Media sandbox listening on http://{host}:{port}", flush=True)
    server.run(sockets=[sock])


class SandboxServer:
    """The sandbox in a background thread on ``127.0.0.1`` and a free port.

    ``settings`` must carry a public key (its host/port are ignored). ``url`` is the base URL;
    ``catalogue_url`` and ``cdn_base_url`` are what ``MEDIA_CATALOGUE_URL`` / ``MEDIA_CDN_BASE_URL`` would
    be. The other methods call the control API and raise ``httpx.HTTPStatusError`` on a 4xx.

    Raises:
        PublicKeyError: the settings have no usable public key.
        SandboxError: the server did not start within ``start_timeout`` seconds.
    """

    def __init__(self, settings: Settings, *, start_timeout: float = 15.0) -> None:
        self.settings = settings
        self._start_timeout = start_timeout
        self._sock: socket.socket | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.url = ""

    @property
    def catalogue_url(self) -> str:
        return self.url + CATALOGUE_PATH

    @property
    def cdn_base_url(self) -> str:
        return self.url + CDN_PATH

    def start(self) -> SandboxServer:
        """Start serving; returns self once the server accepts requests."""
        self._server = _server(self.settings)
        self._sock = bind("127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        server, sock = self._server, self._sock
        self._thread = threading.Thread(target=lambda: server.run(sockets=[sock]), name="media-sandbox", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + self._start_timeout
        while not server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise SandboxError(f"the media sandbox did not start within {self._start_timeout}s")
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
        response = httpx.request(method, f"{self.url}/_sandbox/{path}", json=body, timeout=60.0)
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    def set_faults(self, **faults: Any) -> dict[str, Any]:
        """Install exactly ``faults`` (``PUT /_sandbox/faults``; no arguments = no faults)."""
        return self._call("PUT", "faults", faults)

    def faults(self) -> dict[str, Any]:
        """The installed faults (``GET /_sandbox/faults``)."""
        return self._call("GET", "faults")

    def stats(self) -> dict[str, Any]:
        """``GET /_sandbox/stats``."""
        return self._call("GET", "stats")

    def reset_stats(self) -> dict[str, Any]:
        """Zero every counter (``POST /_sandbox/stats/reset``)."""
        return self._call("POST", "stats/reset")

    def set_catalogue(self, **shape: Any) -> dict[str, Any]:
        """Regenerate the catalogue with these shape fields changed (``PUT /_sandbox/catalogue``)."""
        return self._call("PUT", "catalogue", shape)

    def catalogue(self) -> dict[str, Any]:
        """Shape, hostile course ids and work counters (``GET /_sandbox/catalogue``)."""
        return self._call("GET", "catalogue")


__all__ = ["SandboxServer", "bind", "serve"]
