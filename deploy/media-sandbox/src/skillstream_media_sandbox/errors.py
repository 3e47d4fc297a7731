"""What can go wrong in the media sandbox, as one tree::

    SandboxError
    ├── PublicKeyError     no public key configured, or the PEM cannot be read as an RSA public key (start-up)
    ├── AccessDenied       a CDN request failed the signed-URL check (``code``/``message`` = CloudFront's body,
    │                      ``cause`` = the stats bucket: missing, unknown_key, bad_signature, expired)
    └── RangeNotSatisfiable  a ``Range`` header no byte of the file satisfies (416, RFC 9110 §15.5.17)

:mod:`skillstream_media_sandbox.signing` raises :class:`AccessDenied`; the CDN turns it into a 403 with
CloudFront's XML body (media-spec §2, REFERENCE-OPERATIONS.md §2.3). ``__main__`` turns a
:class:`PublicKeyError` into a clear refusal to start.
"""

from __future__ import annotations

from typing import Literal

DeniedCause = Literal["missing", "unknown_key", "bad_signature", "expired"]
"""Why a signed URL was refused, as counted in ``GET /_sandbox/stats`` → ``denied``."""


class SandboxError(Exception):
    """Root of every error the media sandbox raises."""


class PublicKeyError(SandboxError):
    """The CloudFront public key is missing or unreadable; the message says which setting to fix."""


class AccessDenied(SandboxError):
    """A signed URL CloudFront would refuse: ``code`` (``MissingKey``, ``InvalidKey``, ``AccessDenied``),
    ``message`` (the body's Message) and ``cause`` (the stats bucket)."""

    def __init__(self, cause: DeniedCause, code: str = "AccessDenied", message: str = "Access denied") -> None:
        super().__init__(f"{code}: {message} ({cause})")
        self.cause: DeniedCause = cause
        self.code = code
        self.message = message


class RangeNotSatisfiable(SandboxError):
    """A syntactically valid ``Range`` whose first byte lies at or past the end of a ``size``-byte file."""

    def __init__(self, header: str, size: int) -> None:
        super().__init__(f"range {header!r} is not satisfiable for {size} bytes")
        self.size = size


__all__ = ["AccessDenied", "DeniedCause", "PublicKeyError", "RangeNotSatisfiable", "SandboxError"]
