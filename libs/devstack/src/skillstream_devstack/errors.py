"""The developer stack's exception tree.

::

    DevStackError
    ├── EmbeddedServerError   an embedded nats-server / PostgreSQL failed to start or become healthy
    └── StackError            ``skillstream up`` was asked for a service it does not know
"""

from __future__ import annotations


class DevStackError(Exception):
    """Root of the developer stack's errors."""


class EmbeddedServerError(DevStackError):
    """An embedded server failed to start or become healthy."""


class StackError(DevStackError):
    """The stack was asked for a service that no installed package provides."""


__all__ = ["DevStackError", "EmbeddedServerError", "StackError"]
