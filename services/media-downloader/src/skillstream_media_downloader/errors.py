"""The exception tree of the media downloader. Every error has ``reason``: a short text for people that goes
into ``SegmentRetryScheduled.reason`` / ``SegmentFailed.reason`` / ``BulkDownloadFailed.reason``; ``str(exc)``
adds where it happened (catalogue URL, CDN resource, file path). Signed URLs never appear in messages: they are
bearer credentials, so errors name the resource without its signing parameters::

    MediaError                         reason; partial_bytes (size of the .part kept, set by fetch_segment)
    ├── CatalogueError                 url, course_id, status, transient — 404, bad JSON, schema mismatch,
    │                                  retries spent on 5xx / 429 / network errors
    ├── SigningError (ValueError)      unreadable or non-RSA private key, URL that cannot be signed
    ├── UnsafePathError (ValueError)   a video path or file name that is not downloadable or escapes the root
    ├── FetchError                     resource (the CDN URL without signing parameters)
    │   ├── HttpStatusError            status, retry_after (seconds), code (the XML <Code> of the body)
    │   ├── TransferError              reset, truncated body, timeout, network error, bad Content-Range
    │   ├── VerificationError          size or SHA-256 differs from the catalogue (the .part is deleted)
    │   └── SegmentBusyError           another process holds the lock of the .part file
    └── DiskSpaceError                 path
        ├── InsufficientSpaceError     free, needed, margin (bytes) — checked before a job starts
        └── DiskFullError              ENOSPC/EDQUOT while writing; the .part is cut back to its last whole write

Which errors are retried is decided in :func:`skillstream_media_downloader.adapters.fetch.classify`.
"""

from __future__ import annotations

from pathlib import Path


def format_bytes(n: int) -> str:
    """``n`` bytes in binary units with one decimal: ``512 B``, ``1.5 KiB``, ``2.4 GiB``."""
    if abs(n) < 1024:
        return f"{n} B"
    value = float(n)
    for unit in ("KiB", "MiB", "GiB", "TiB"):
        value /= 1024
        if abs(value) < 1024 or unit == "TiB":
            break
    return f"{value:.1f} {unit}"


class MediaError(Exception):
    """Base of the media downloader errors: ``reason`` (short, for events) and the full message."""

    partial_bytes: int = 0
    """Bytes of the ``.part`` file kept for the next attempt when :func:`fetch_segment` raised this (else 0)."""

    def __init__(self, message: str, *, reason: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason if reason is not None else message


class CatalogueError(MediaError):
    """The catalogue could not be read: ``url`` (no credentials), ``course_id`` when a course was asked for,
    ``status`` (None when no HTTP answer came), ``transient`` when retries were spent on 5xx/429/network."""

    def __init__(
        self,
        why: str,
        *,
        url: str,
        course_id: int | None = None,
        status: int | None = None,
        transient: bool = False,
    ) -> None:
        self.url = url
        self.course_id = course_id
        self.status = status
        self.transient = transient
        what = f"catalogue course {course_id}" if course_id is not None else "catalogue"
        super().__init__(f"{what} ({url}): {why}", reason=f"{what}: {why}")


class SigningError(MediaError, ValueError):
    """A CloudFront URL could not be signed (bad key, URL or expiry); a configuration error, never retried."""

    def __init__(self, why: str) -> None:
        super().__init__(f"cannot sign CloudFront URL: {why}", reason=f"signing failed: {why}")


class UnsafePathError(MediaError, ValueError):
    """``value`` (a catalogue video path, a title or a relative path) cannot be used: not an ``mp4:`` video,
    empty, or it would land outside the storage root."""

    def __init__(self, why: str, *, value: str) -> None:
        self.value = value
        shown = value if len(value) <= 80 else value[:77] + "..."
        super().__init__(f"unsafe path {shown!r}: {why}", reason=f"unsafe path: {why}")


class FetchError(MediaError):
    """One download attempt of a segment file failed; ``resource`` is the CDN URL without signing parameters."""

    def __init__(self, reason: str, *, resource: str | None = None) -> None:
        self.resource = resource
        super().__init__(f"GET {resource}: {reason}" if resource else reason, reason=reason)


class HttpStatusError(FetchError):
    """The CDN answered ``status`` (not 200/206, or 416 that does not prove the file complete).
    ``retry_after`` is the ``Retry-After`` header in seconds (None if absent or unreadable); ``code`` is the
    ``<Code>`` of a CloudFront/S3 XML error body (``AccessDenied``, ``NoSuchKey``…) when there is one."""

    def __init__(
        self,
        status: int,
        *,
        resource: str | None = None,
        retry_after: float | None = None,
        code: str | None = None,
        why: str | None = None,
    ) -> None:
        self.status = status
        self.retry_after = retry_after
        self.code = code
        reason = f"HTTP {status}" + (f" {code}" if code else "") + (f" ({why})" if why else "")
        super().__init__(reason, resource=resource)


class TransferError(FetchError):
    """The body did not arrive whole (reset, truncated, timeout, network error) or its ``Content-Range`` did
    not fit the request; transient. The bytes fully written stay in the ``.part`` unless the reason says so."""


class VerificationError(FetchError):
    """The file's size or SHA-256 differs from what the CDN declared or the catalogue expects; the ``.part``
    and its ETag sidecar were deleted so the next attempt starts from scratch."""


class SegmentBusyError(FetchError):
    """Another process (or task) holds the exclusive lock on ``path`` (the ``.part`` file)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        super().__init__(f"{path} is locked by another download", resource=None)
        self.reason = "another download of this file is in progress"


class DiskSpaceError(MediaError):
    """The storage under ``path`` has no room for the download."""

    def __init__(self, message: str, *, path: Path, reason: str | None = None) -> None:
        self.path = path
        super().__init__(message, reason=reason)


class InsufficientSpaceError(DiskSpaceError):
    """``free`` bytes are available under ``path`` but the job needs ``needed`` plus a ``margin`` (bytes)."""

    def __init__(self, *, path: Path, free: int, needed: int, margin: int) -> None:
        self.free = free
        self.needed = needed
        self.margin = margin
        message = (
            f"not enough disk space in {path}: {format_bytes(free)} free, the job needs "
            f"{format_bytes(needed)} plus a {format_bytes(margin)} margin"
        )
        super().__init__(message, path=path)


class DiskFullError(DiskSpaceError):
    """The file system refused a write (ENOSPC/EDQUOT); ``written`` bytes of the ``.part`` at ``path`` are kept
    whole (the failed write was cut off). The caller pauses or fails the job: retrying does not free space."""

    def __init__(self, *, path: Path, written: int, errno_name: str = "ENOSPC") -> None:
        self.written = written
        message = f"disk full ({errno_name}) while writing {path}; {format_bytes(written)} kept"
        super().__init__(message, path=path, reason=f"disk full ({errno_name})")


__all__ = [
    "CatalogueError",
    "DiskFullError",
    "DiskSpaceError",
    "FetchError",
    "HttpStatusError",
    "InsufficientSpaceError",
    "MediaError",
    "SegmentBusyError",
    "SigningError",
    "TransferError",
    "UnsafePathError",
    "VerificationError",
    "format_bytes",
]
