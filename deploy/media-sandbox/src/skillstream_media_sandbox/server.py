"""Run the sandbox: :class:`SandboxServer` for tests (uvicorn in a background thread on a free port) and
:func:`serve` for ``main()`` (both from :mod:`skillstream_runtime.asgiserver`).

Usage in a test::

    settings = Settings(public_key_file=public_pem_path)
    with SandboxServer(settings) as media:
        media.set_faults(script={"folder/intro_med.mp4": ["503", "ok"]})
        httpx.get(media.catalogue_url + "/courses")
"""

from __future__ import annotations

from typing import Any

from skillstream_media_sandbox.app import CATALOGUE_PATH, CDN_PATH, create_app
from skillstream_media_sandbox.errors import SandboxError
from skillstream_media_sandbox.settings import Settings
from skillstream_runtime import asgiserver
from skillstream_runtime.asgiserver import BackgroundServer, bind


def serve(settings: Settings) -> None:
    """Build the app (refusing a missing public key), bind ``settings.host:port``, print
    ``Media sandbox listening on http://host:port`` and serve until SIGINT/SIGTERM.

    Raises:
        PublicKeyError: no usable public key (before anything is bound).
    """
    asgiserver.serve(create_app(settings), settings.host, settings.port, "Media sandbox")


class SandboxServer(BackgroundServer):
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
        super().__init__(
            lambda: create_app(settings), name="media sandbox", error=SandboxError, start_timeout=start_timeout
        )

    @property
    def catalogue_url(self) -> str:
        return self.url + CATALOGUE_PATH

    @property
    def cdn_base_url(self) -> str:
        return self.url + CDN_PATH

    def set_faults(self, **faults: Any) -> dict[str, Any]:
        """Install exactly ``faults`` (``PUT /_sandbox/faults``; no arguments = no faults)."""
        return self.control("PUT", "faults", faults)

    def faults(self) -> dict[str, Any]:
        """The installed faults (``GET /_sandbox/faults``)."""
        return self.control("GET", "faults")

    def stats(self) -> dict[str, Any]:
        """``GET /_sandbox/stats``."""
        return self.control("GET", "stats")

    def reset_stats(self) -> dict[str, Any]:
        """Zero every counter (``POST /_sandbox/stats/reset``)."""
        return self.control("POST", "stats/reset")

    def set_catalogue(self, **shape: Any) -> dict[str, Any]:
        """Regenerate the catalogue with these shape fields changed (``PUT /_sandbox/catalogue``)."""
        return self.control("PUT", "catalogue", shape)

    def catalogue(self) -> dict[str, Any]:
        """Shape, hostile course ids and work counters (``GET /_sandbox/catalogue``)."""
        return self.control("GET", "catalogue")


__all__ = ["SandboxServer", "bind", "serve"]
