"""The sandbox's HTTP surface (README.md):

- ``GET /catalogue/v1/courses``, ``GET /catalogue/v1/courses/{id}`` — the catalogue API
  (:mod:`skillstream_media_sandbox.api`);
- ``GET``/``HEAD /cdn/{key}`` — the signed-URL CDN (:mod:`skillstream_media_sandbox.cdn`);
- ``/_sandbox/…`` — the control API (:mod:`skillstream_media_sandbox.control`);
- ``GET /healthz`` → 200 ``{"status": "ok"}`` for ``skillstream up``.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

from skillstream_media_sandbox.api import catalogue_routes
from skillstream_media_sandbox.cdn import Cdn
from skillstream_media_sandbox.control import control_routes
from skillstream_media_sandbox.errors import PublicKeyError
from skillstream_media_sandbox.settings import Settings
from skillstream_media_sandbox.signing import Verifier, load_public_key
from skillstream_media_sandbox.state import SandboxState

CATALOGUE_PATH = "/catalogue/v1"
"""Prefix of the catalogue API (``MEDIA_CATALOGUE_URL`` = base URL + this)."""
CDN_PATH = "/cdn"
"""Prefix of the CDN (``MEDIA_CDN_BASE_URL`` = base URL + this)."""


async def _healthz(_: Request) -> Response:
    return JSONResponse({"status": "ok"})


def verifier_for(settings: Settings) -> Verifier:
    """The verifier for ``settings``' public key (``public_key`` PEM text wins over ``public_key_file``).

    Raises:
        PublicKeyError: no key configured, the file cannot be read, or it is not an RSA public key PEM.
    """
    if settings.public_key:
        pem, source = settings.public_key.encode(), "MEDIA_SANDBOX_PUBLIC_KEY"
    elif settings.public_key_file is not None:
        source = f"MEDIA_SANDBOX_PUBLIC_KEY_FILE ({settings.public_key_file})"
        try:
            pem = settings.public_key_file.read_bytes()
        except OSError as e:
            raise PublicKeyError(f"cannot read {source}: {e.strerror or e}") from e
    else:
        raise PublicKeyError(
            "no CloudFront public key: set MEDIA_SANDBOX_PUBLIC_KEY_FILE to a PEM file (`skillstream up` makes "
            "one under .data/media-sandbox/) or MEDIA_SANDBOX_PUBLIC_KEY to the PEM text"
        )
    return Verifier({settings.key_pair_id: load_public_key(pem, source)})


def create_app(settings: Settings | None = None) -> Starlette:
    """A sandbox app with a fresh catalogue, no faults beyond ``settings.faults`` and zeroed stats.

    ``app.state.sandbox`` is the :class:`~skillstream_media_sandbox.state.SandboxState`.

    Raises:
        PublicKeyError: see :func:`verifier_for`.
        pydantic.ValidationError: the catalogue shape in ``settings`` is invalid (``min_bytes > max_bytes``).
    """
    settings = settings or Settings()
    state = SandboxState(settings, verifier_for(settings))
    app = Starlette(
        routes=[
            Route("/healthz", _healthz, methods=["GET"]),
            Mount(CATALOGUE_PATH, routes=catalogue_routes(state)),
            Route(CDN_PATH + "/{key:path}", Cdn(state), methods=["GET", "HEAD"]),
            Mount("/_sandbox", routes=control_routes(state)),
        ]
    )
    app.state.sandbox = state
    return app


__all__ = ["CATALOGUE_PATH", "CDN_PATH", "create_app", "verifier_for"]
