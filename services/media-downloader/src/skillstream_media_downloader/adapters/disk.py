"""The local side of downloads: free space, the locked ``.part`` file and hashing files on disk.

A download writes ``<target>.part`` and renames it onto ``<target>`` only once verified (yt-dlp / rclone /
huggingface_hub pattern, REFERENCE-OPERATIONS §1.4). ``<target>.part.etag`` holds the strong ETag the bytes
came with, so a later attempt can resume with ``Range`` + ``If-Range``. An exclusive ``flock`` on the
``.part`` keeps two processes from writing one file; the lock dies with its process, so there are no stale
locks. Every write is accounted for: after ENOSPC the file is cut back to the last complete write.

Paths from the catalogue are resolved with :func:`resolve_inside`, which refuses any that would land outside the
storage root (DESIGN.md: file names from upstreams never escape the root); :class:`LocalDisk` is the storage root
as the handlers use it.
"""

from __future__ import annotations

import asyncio
import errno
import fcntl
import hashlib
import os
import shutil
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from skillstream_media_downloader.domain.work import SegmentWork
from skillstream_media_downloader.errors import (
    DiskFullError,
    InsufficientSpaceError,
    MediaError,
    SegmentBusyError,
    UnsafePathError,
)

HASH_CHUNK_BYTES = 1 << 20
_FULL = frozenset({errno.ENOSPC, errno.EDQUOT})


def free_bytes(path: str | os.PathLike[str]) -> int:
    """Bytes available to this user on the file system that holds ``path`` (or its nearest existing
    ancestor, so a storage root that does not exist yet can be checked)."""
    probe = Path(path).absolute()
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    return shutil.disk_usage(probe).free


def require_space(root: str | os.PathLike[str], needed: int, margin: int, *, free: int | None = None) -> int:
    """Check that ``needed`` bytes plus a ``margin`` (bytes) fit under ``root``; return the free bytes (``free``
    when the caller measured them, else :func:`free_bytes` of ``root``).

    Raises:
        ValueError: ``needed`` or ``margin`` is negative.
        InsufficientSpaceError: less than ``needed + margin`` bytes are free.
    """
    if needed < 0 or margin < 0:
        raise ValueError(f"needed and margin are byte counts >= 0, got {needed} and {margin}")
    free = free_bytes(root) if free is None else free
    if free < needed + margin:
        raise InsufficientSpaceError(path=Path(root), free=free, needed=needed, margin=margin)
    return free


def sha256_file(path: Path, chunk_bytes: int = HASH_CHUNK_BYTES) -> tuple[int, str]:
    """``(size, sha256 hex)`` of the file at ``path``, read in chunks (blocking: run it in a thread)."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as f:
        while block := f.read(chunk_bytes):
            digest.update(block)
            size += len(block)
    return size, digest.hexdigest()


class PartFile:
    """The locked ``<target>.part`` of one download. Get one with :meth:`acquire`; always :meth:`close` it.

    ``size`` is the number of bytes written and hashed so far; ``etag`` the strong ETag they belong to.
    """

    def __init__(self, target: Path, fd: int) -> None:
        self.target = target
        self.path = part_path(target)
        self.etag_path = self.path.with_name(self.path.name + ".etag")
        self._fd = fd
        self._size = 0
        self._hasher = hashlib.sha256()
        try:
            self.etag: str | None = self.etag_path.read_text("utf-8").strip() or None
        except (FileNotFoundError, UnicodeDecodeError):
            self.etag = None

    @classmethod
    def acquire(cls, target: Path) -> PartFile:
        """Open (creating) ``<target>.part`` and lock it exclusively, without waiting.

        Raises:
            SegmentBusyError: another process or task holds the lock.
        """
        target.parent.mkdir(parents=True, exist_ok=True)
        path = part_path(target)
        for _ in range(3):
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                raise SegmentBusyError(path) from None
            # The holder we waited on may have renamed or deleted the inode we opened: lock the live one.
            if _same_file(fd, path):
                return cls(target, fd)
            os.close(fd)
        raise SegmentBusyError(path)

    @property
    def size(self) -> int:
        return self._size

    def hexdigest(self) -> str:
        """SHA-256 (lowercase hex) of the ``size`` bytes written."""
        return self._hasher.hexdigest()

    async def load(self, max_size: int | None) -> int:
        """Take over the bytes already in the file when they can be resumed — there is a strong ETag and no
        more than ``max_size`` bytes — hashing them in a thread; else start empty. Returns ``size``."""
        on_disk = os.fstat(self._fd).st_size
        if on_disk and self.etag and (max_size is None or on_disk <= max_size):
            await asyncio.to_thread(self._hash_prefix, on_disk)
            self._size = on_disk
            os.lseek(self._fd, on_disk, os.SEEK_SET)
        else:
            self.restart(None)
        return self._size

    def restart(self, etag: str | None) -> None:
        """Empty the file and record ``etag`` (None: not resumable) for the bytes that will follow."""
        os.ftruncate(self._fd, 0)
        os.lseek(self._fd, 0, os.SEEK_SET)
        self._size = 0
        self._hasher = hashlib.sha256()
        self.set_etag(etag)

    def set_etag(self, etag: str | None) -> None:
        """Record the validator of the bytes in the file (None removes the sidecar)."""
        self.etag = etag
        if etag is None:
            self.etag_path.unlink(missing_ok=True)
            return
        try:
            self.etag_path.write_text(etag, "utf-8")
        except OSError as exc:
            if exc.errno in _FULL:
                raise DiskFullError(path=self.path, written=self._size, errno_name=_name(exc)) from exc
            raise

    def append(self, data: bytes) -> None:
        """Write ``data`` at the end (short writes continued) and hash it.

        Raises:
            DiskFullError: ENOSPC/EDQUOT; the file is cut back to the last completed write first.
        """
        view = memoryview(data)
        while view:
            try:
                n = os.write(self._fd, view)
            except OSError as exc:
                if exc.errno not in _FULL:
                    raise
                os.ftruncate(self._fd, self._size)
                os.lseek(self._fd, self._size, os.SEEK_SET)
                raise DiskFullError(path=self.path, written=self._size, errno_name=_name(exc)) from exc
            self._hasher.update(view[:n])
            self._size += n
            view = view[n:]

    async def sync(self) -> None:
        """fsync the file (in a thread). Raises DiskFullError when the file system reports ENOSPC/EDQUOT."""
        try:
            await asyncio.to_thread(os.fsync, self._fd)
        except OSError as exc:
            if exc.errno in _FULL:
                raise DiskFullError(path=self.path, written=self._size, errno_name=_name(exc)) from exc
            raise

    async def commit(self) -> None:
        """Rename the (synced, verified) file onto the target, fsync the directory, drop the ETag sidecar."""
        os.replace(self.path, self.target)
        await asyncio.to_thread(_fsync_directory, self.target.parent)
        self.etag_path.unlink(missing_ok=True)

    def discard(self) -> None:
        """Delete the file and its ETag sidecar (still locked until :meth:`close`)."""
        self.path.unlink(missing_ok=True)
        self.etag_path.unlink(missing_ok=True)
        self.etag = None
        self._size = 0
        self._hasher = hashlib.sha256()

    def close(self) -> None:
        """Release the lock and the file descriptor (idempotent)."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def _hash_prefix(self, size: int) -> None:
        offset = 0
        while offset < size:
            block = os.pread(self._fd, min(HASH_CHUNK_BYTES, size - offset), offset)
            if not block:
                raise OSError(errno.EIO, f"{self.path} shrank while being hashed")
            self._hasher.update(block)
            offset += len(block)


def part_path(target: Path) -> Path:
    """``<target>.part``: where ``target`` is written until it is verified."""
    return target.with_name(target.name + ".part")


def resolve_inside(root: str | os.PathLike[str], relative: str | os.PathLike[str]) -> Path:
    """``root / relative`` with symlinks resolved, guaranteed to be strictly inside the resolved ``root``.

    Raises:
        UnsafePathError: ``relative`` is absolute, contains NUL, or resolves to ``root`` itself or outside it
            (``..`` components, a symlink pointing elsewhere).
    """
    rel = os.fspath(relative)
    if not rel or "\x00" in rel or os.path.isabs(rel):
        raise UnsafePathError("must be a non-empty relative path without NUL", value=rel)
    base = Path(root).resolve()
    candidate = (base / rel).resolve()
    if candidate == base or not candidate.is_relative_to(base):
        raise UnsafePathError(f"resolves outside the storage root {base}", value=rel)
    return candidate


async def verify_existing(
    target: Path, expected_size: int | None, expected_sha256: str | None
) -> tuple[int, str] | None:
    """``(size, sha256)`` when ``target`` is a regular file whose SHA-256 (and size, when given) match the
    catalogue; None when it is missing or does not match, or no SHA-256 is known to check it against — a
    size alone never proves a file complete (the original's "> 1 KB" rule, REFERENCE-OPERATIONS §2.6)."""
    if expected_sha256 is None:
        return None
    try:
        info = os.stat(target)
    except FileNotFoundError:
        return None
    if not stat.S_ISREG(info.st_mode) or (expected_size is not None and info.st_size != expected_size):
        return None
    size, digest = await asyncio.to_thread(sha256_file, Path(target))
    if digest != expected_sha256.lower() or (expected_size is not None and size != expected_size):
        return None
    return size, digest


def bytes_missing(root: Path, works: Iterable[SegmentWork]) -> int | None:
    """Bytes still to write for ``works``: expected sizes minus files already complete in size and ``.part``
    prefixes (a cheap ``stat`` each; the hash is checked when the segment runs). None when a size is unknown.

    Raises:
        UnsafePathError: a target path escapes ``root``.
    """
    total = 0
    for work in works:
        if work.expected_size is None:
            return None
        target = resolve_inside(root, work.target_path)
        have = 0
        for candidate in (target, part_path(target)):
            try:
                have = candidate.stat().st_size
            except OSError:
                continue
            break
        total += max(0, work.expected_size - have)
    return total


@dataclass(frozen=True)
class LocalDisk:
    """The storage ``root`` (an absolute, resolved path) as the handlers use it: where a segment's file goes,
    whether it is already there, what a download left behind, and free space (bytes)."""

    root: Path

    def target(self, relative: str) -> Path:
        """The file at ``relative`` under the root. Raises :class:`UnsafePathError` when it escapes the root."""
        return resolve_inside(self.root, relative)

    async def verified(self, target: Path, size: int | None, sha256: str) -> tuple[int, str] | None:
        """``(size, sha256)`` of ``target`` when it is complete by those (see :func:`verify_existing`)."""
        return await verify_existing(target, size, sha256)

    def partial_bytes(self, target: Path) -> int:
        """Size of ``target``'s ``.part`` file (0 when there is none)."""
        try:
            return part_path(target).stat().st_size
        except FileNotFoundError:
            return 0

    def discard_partial(self, target: Path) -> None:
        """Delete ``target``'s ``.part`` and ETag sidecar unless another download holds them (then they are
        that download's to keep)."""
        try:
            part = PartFile.acquire(target)
        except MediaError:  # locked by another attempt: nothing of ours to clean
            return
        try:
            part.discard()
        finally:
            part.close()

    def free_bytes(self) -> int:
        """Bytes free to this user under the root."""
        return free_bytes(self.root)

    def require_space(self, needed: int, margin: int) -> int:
        """:func:`require_space` under the root: the free bytes, or InsufficientSpaceError."""
        return require_space(self.root, needed, margin, free=self.free_bytes())

    def bytes_missing(self, works: Iterable[SegmentWork]) -> int | None:
        """:func:`bytes_missing` under the root."""
        return bytes_missing(self.root, works)


def _same_file(fd: int, path: Path) -> bool:
    try:
        on_path = os.stat(path)
    except FileNotFoundError:
        return False
    held = os.fstat(fd)
    return (held.st_dev, held.st_ino) == (on_path.st_dev, on_path.st_ino)


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _name(exc: OSError) -> str:
    return errno.errorcode.get(exc.errno or 0, "ENOSPC")


__all__ = [
    "HASH_CHUNK_BYTES",
    "LocalDisk",
    "PartFile",
    "bytes_missing",
    "free_bytes",
    "part_path",
    "require_space",
    "resolve_inside",
    "sha256_file",
    "verify_existing",
]
