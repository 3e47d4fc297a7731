"""Skillstream media sandbox: a TrueFire-like course catalogue API and a CloudFront-like signed-URL CDN
with switchable faults (README.md; media-spec).

- :func:`create_app` — the Starlette app; :class:`SandboxServer` — it on a free port in a thread (tests);
- :class:`Settings` / :class:`CatalogueShape` / :class:`Faults` — configuration, catalogue shape, faults;
- :class:`Catalogue` — the deterministic catalogue; :func:`object_key` — video → CDN key;
- :func:`skillstream_media_sandbox.stack.sandbox` — how ``skillstream up`` runs it.

Errors: see :mod:`skillstream_media_sandbox.errors` for the tree.
"""

from __future__ import annotations

from skillstream_media_sandbox.app import CATALOGUE_PATH, CDN_PATH, create_app
from skillstream_media_sandbox.catalogue import QUALITIES, Catalogue, object_key
from skillstream_media_sandbox.errors import AccessDenied, PublicKeyError, RangeNotSatisfiable, SandboxError
from skillstream_media_sandbox.faults import Faults
from skillstream_media_sandbox.server import SandboxServer
from skillstream_media_sandbox.settings import CatalogueShape, Settings

__all__ = [
    "CATALOGUE_PATH",
    "CDN_PATH",
    "QUALITIES",
    "AccessDenied",
    "Catalogue",
    "CatalogueShape",
    "Faults",
    "PublicKeyError",
    "RangeNotSatisfiable",
    "SandboxError",
    "SandboxServer",
    "Settings",
    "create_app",
    "object_key",
]
