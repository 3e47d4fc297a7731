"""The served files' bytes: generated in blocks from (seed, key), never stored (media-spec §2).

Block ``i`` of the file at object key ``key`` is ``shake_128(f"{seed}:{key}:{i}").digest(65536)`` (the last
block cut to the file's size; SHAKE output of a shorter length is a prefix of the longer one), so any byte
range is produced from the blocks it touches alone, and a 100,000-file library costs no memory.
Also here: ``Range`` header parsing (RFC 9110 §14.1.2) for one range.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass

from skillstream_media_sandbox.errors import RangeNotSatisfiable

BLOCK_SIZE = 65_536
"""Bytes per generated block."""
_RANGE = re.compile(r"bytes=(?P<first>\d*)-(?P<last>\d*)", re.IGNORECASE)


def block(seed: int, key: str, index: int, length: int = BLOCK_SIZE) -> bytes:
    """The first ``length`` bytes (≤ :data:`BLOCK_SIZE`) of block ``index`` of ``key``'s file."""
    return hashlib.shake_128(f"{seed}:{key}:{index}".encode()).digest(length)


def iter_bytes(seed: int, key: str, start: int, stop: int, chunk_size: int = BLOCK_SIZE) -> Iterator[bytes]:
    """Bytes ``[start, stop)`` of ``key``'s file in pieces of at most ``chunk_size`` bytes."""
    position = start
    while position < stop:
        index, offset = divmod(position, BLOCK_SIZE)
        length = min(BLOCK_SIZE, stop - index * BLOCK_SIZE)
        data = block(seed, key, index, length)
        for piece in range(offset, length, chunk_size):
            yield data[piece : min(piece + chunk_size, length)]
        position = index * BLOCK_SIZE + length


def sha256_of(seed: int, key: str, size: int) -> str:
    """Lowercase hex SHA-256 of the whole ``size``-byte file (reads every block once)."""
    digest = hashlib.sha256()
    for data in iter_bytes(seed, key, 0, size):
        digest.update(data)
    return digest.hexdigest()


@dataclass(frozen=True, slots=True)
class ByteRange:
    """Bytes ``first..last`` inclusive of a ``size``-byte file, as ``Content-Range`` states them."""

    first: int
    last: int
    size: int

    @property
    def length(self) -> int:
        return self.last - self.first + 1

    @property
    def whole(self) -> bool:
        """True when the range runs through the file's last byte (a download ending here completes it)."""
        return self.last == self.size - 1

    def content_range(self) -> str:
        return f"bytes {self.first}-{self.last}/{self.size}"


def parse_range(header: str | None, size: int) -> ByteRange | None:
    """The one range ``header`` asks of a ``size``-byte file: ``bytes=N-``, ``bytes=N-M``, ``bytes=-S``.

    None means "serve the whole file": no header, a header of another unit, several ranges, or an invalid
    one (RFC 9110 §14.2: a server may ignore them). ``M`` past the end is cut to the last byte.

    Raises:
        RangeNotSatisfiable: the first byte is at or past the end (or a zero suffix / an empty file).
    """
    if header is None:
        return None
    match = _RANGE.fullmatch(header.strip())
    if match is None or (not match["first"] and not match["last"]):
        return None
    if not match["first"]:  # suffix range: the last S bytes
        suffix = int(match["last"])
        if suffix == 0 or size == 0:
            raise RangeNotSatisfiable(header, size)
        return ByteRange(max(0, size - suffix), size - 1, size)
    first = int(match["first"])
    if match["last"] and int(match["last"]) < first:
        return None
    if first >= size:
        raise RangeNotSatisfiable(header, size)
    last = int(match["last"]) if match["last"] else size - 1
    return ByteRange(first, min(last, size - 1), size)


__all__ = ["BLOCK_SIZE", "ByteRange", "block", "iter_bytes", "parse_range", "sha256_of"]
