"""Run the sandbox: :class:`SandboxServer` for tests (uvicorn in a background thread on a free port) and
:func:`serve` for ``main()`` (both from :mod:`skillstream_runtime.asgiserver`).

Usage in a test::

    with SandboxServer() as tga:
        tga.set_faults(latency_ms=50)
        httpx.post(tga.service_url, ...)
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from skillstream_runtime import asgiserver
from skillstream_runtime.asgiserver import BackgroundServer, bind
from skillstream_tga_sandbox.app import FILES_PATH, SERVICE_PATH, create_app
from skillstream_tga_sandbox.errors import SandboxError
from skillstream_tga_sandbox.settings import Faults, Settings


def serve(settings: Settings) -> None:
    """Bind ``settings.host:port``, print ``TGA sandbox listening on http://host:port`` and serve until
    SIGINT/SIGTERM."""
    asgiserver.serve(create_app(settings), settings.host, settings.port, "TGA sandbox")


class SandboxServer(BackgroundServer):
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
        super().__init__(
            lambda: create_app(base),
            name="TGA sandbox",
            error=SandboxError,
            start_timeout=start_timeout,
            control_timeout=10.0,
        )

    @property
    def service_url(self) -> str:
        """The SOAP 1.1 endpoint (``…/TrainingComponentService.svc/Training``)."""
        return self.url + SERVICE_PATH

    @property
    def files_url(self) -> str:
        """The release-file prefix, ending in ``/`` (append a RelativePath with ``\\`` → ``/``)."""
        return self.url + FILES_PATH

    def set_faults(self, **faults: Any) -> dict[str, Any]:
        """Merge ``faults`` into the running faults (``PUT /_sandbox/faults``); returns all faults.

        Raises:
            httpx.HTTPStatusError: an unknown field or an invalid value (422).
        """
        return self.control("PUT", "faults", faults)

    def faults(self) -> dict[str, Any]:
        """The running faults (``GET /_sandbox/faults``)."""
        return self.control("GET", "faults")

    def reset(self) -> None:
        """Faults as at start, no modifications or deletions, zero counters (``POST /_sandbox/reset``)."""
        self.control("POST", "reset")

    def stats(self) -> dict[str, Any]:
        """Counters and the request log (``GET /_sandbox/stats``)."""
        return self.control("GET", "stats")

    def mark_modified(self, code: str, updated_date: dt.datetime | None = None) -> dict[str, Any]:
        """Set a component's UpdatedDate (default now; ``PUT /_sandbox/modified``)."""
        body = {"code": code, "updated_date": updated_date.isoformat() if updated_date else None}
        return self.control("PUT", "modified", body)

    def mark_deleted(
        self, code: str, operation: str = "LogicalDelete", deleted_date: dt.datetime | None = None
    ) -> dict[str, Any]:
        """Record a deletion (``PUT /_sandbox/deleted``)."""
        body = {
            "code": code,
            "operation": operation,
            "deleted_date": deleted_date.isoformat() if deleted_date else None,
        }
        return self.control("PUT", "deleted", body)


__all__ = ["SandboxServer", "bind", "serve"]
