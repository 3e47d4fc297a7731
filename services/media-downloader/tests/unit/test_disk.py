"""Free-space checks, the error tree's messages and the locked .part file."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from skillstream_media_downloader.adapters.disk import PartFile, free_bytes, part_path, require_space, sha256_file
from skillstream_media_downloader.errors import (
    DiskFullError,
    DiskSpaceError,
    FetchError,
    InsufficientSpaceError,
    MediaError,
    SegmentBusyError,
    format_bytes,
)

GIB = 1 << 30


def test_free_bytes_uses_the_nearest_existing_ancestor(tmp_path: Path) -> None:
    missing = tmp_path / "not" / "yet" / "there"
    assert abs(free_bytes(missing) - shutil.disk_usage(tmp_path).free) < 64 * 1024 * 1024
    assert not missing.exists()


def test_require_space_returns_free_or_explains(tmp_path: Path) -> None:
    free = require_space(tmp_path, needed=0, margin=0)
    assert free > 0
    with pytest.raises(InsufficientSpaceError) as failed:
        require_space(tmp_path, needed=free + 10 * GIB, margin=GIB)
    e = failed.value
    assert (e.needed, e.margin, e.path) == (free + 10 * GIB, GIB, tmp_path)
    assert isinstance(e, DiskSpaceError)
    assert isinstance(e, MediaError)
    assert str(e).startswith(f"not enough disk space in {tmp_path}: ")
    assert str(e).endswith(f"the job needs {format_bytes(free + 10 * GIB)} plus a 1.0 GiB margin")
    with pytest.raises(ValueError, match=">= 0"):
        require_space(tmp_path, needed=-1, margin=0)


def test_insufficient_space_message() -> None:
    e = InsufficientSpaceError(path=Path("/srv/media"), free=1288490189, needed=2576980378, margin=GIB)
    assert str(e) == "not enough disk space in /srv/media: 1.2 GiB free, the job needs 2.4 GiB plus a 1.0 GiB margin"
    assert e.reason == str(e)


@pytest.mark.parametrize(
    ("n", "text"),
    [(0, "0 B"), (1023, "1023 B"), (1536, "1.5 KiB"), (5 * 1024**2, "5.0 MiB"), (3 * 1024**5, "3072.0 TiB")],
)
def test_format_bytes(n: int, text: str) -> None:
    assert format_bytes(n) == text


def test_error_reasons_are_short() -> None:
    assert DiskFullError(path=Path("/srv/a.part"), written=10).reason == "disk full (ENOSPC)"
    assert SegmentBusyError(Path("/srv/a.part")).reason == "another download of this file is in progress"
    assert FetchError("timed out", resource="http://cdn/x").reason == "timed out"
    assert str(FetchError("timed out", resource="http://cdn/x")) == "GET http://cdn/x: timed out"


async def test_part_file_lock_write_and_commit(tmp_path: Path) -> None:
    target = tmp_path / "course" / "seg.mp4"
    part = PartFile.acquire(target)
    try:
        with pytest.raises(SegmentBusyError):
            PartFile.acquire(target)
        part.restart('"etag1"')
        part.append(b"hello ")
        part.append(b"world")
        assert part.size == 11
        assert part.hexdigest() == hashlib.sha256(b"hello world").hexdigest()
        assert part.etag_path.read_text() == '"etag1"'
        await part.sync()
        await part.commit()
    finally:
        part.close()
    assert target.read_bytes() == b"hello world"
    assert not part_path(target).exists()
    assert not part.etag_path.exists()
    assert sha256_file(target) == (11, hashlib.sha256(b"hello world").hexdigest())


async def test_part_file_resumes_only_with_an_etag(tmp_path: Path) -> None:
    target = tmp_path / "seg.mp4"
    part_path(target).write_bytes(b"prefix")
    part = PartFile.acquire(target)
    assert await part.load(None) == 0
    assert part_path(target).stat().st_size == 0
    part.close()

    part_path(target).write_bytes(b"prefix")
    part_path(target).with_name("seg.mp4.part.etag").write_text('"e"')
    part = PartFile.acquire(target)
    try:
        assert await part.load(100) == 6
        assert part.hexdigest() == hashlib.sha256(b"prefix").hexdigest()
        part.append(b"+more")
        assert part_path(target).read_bytes() == b"prefix+more"
    finally:
        part.close()

    part = PartFile.acquire(target)
    try:
        assert await part.load(5) == 0  # longer than the file can be: not a prefix of it
    finally:
        part.close()
