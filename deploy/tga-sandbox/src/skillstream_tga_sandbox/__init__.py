"""A local TGA ``TrainingComponentService`` (SOAP 1.1) over the real TGA data (README.md).

- :func:`create_app` — the Starlette app; :class:`SandboxServer` — it on a free port in a thread (tests);
- :class:`Settings` / :class:`Faults` — configuration and the switchable faults;
- :func:`service_schema` — the real XSD set as an ``lxml.etree.XMLSchema`` for validating replies.

Errors: see :mod:`skillstream_tga_sandbox.errors` for the tree.
"""

from __future__ import annotations

from skillstream_tga_sandbox.app import FILES_PATH, SERVICE_PATH, create_app
from skillstream_tga_sandbox.errors import CatalogueError, SandboxError
from skillstream_tga_sandbox.schema import service_schema
from skillstream_tga_sandbox.server import SandboxServer
from skillstream_tga_sandbox.settings import Faults, Settings

__all__ = [
    "FILES_PATH",
    "SERVICE_PATH",
    "CatalogueError",
    "Faults",
    "SandboxError",
    "SandboxServer",
    "Settings",
    "create_app",
    "service_schema",
]
