"""The raw-XML store: every downloaded release file, kept as downloaded, so a parser fix re-parses without
downloading again (``skillstream tga reparse``).

A JetStream object store bucket (``tga_raw``, file storage, replicas as the event streams), content-addressed:
the object name is the lowercase hex SHA-256 of the bytes, which is the ``raw_key`` of the events'
``SourceFile``. Keeping it in NATS rather than a PostgreSQL table means a read-model rebuild never loses it.
A put or get rides out a NATS outage (:func:`skillstream_runtime.outage.through_outage`): a put is idempotent.
"""

from __future__ import annotations

import hashlib
from typing import Any

import nats.js.errors
from nats.aio.client import Client
from nats.js.api import ObjectStoreConfig, StorageType

from skillstream_runtime.outage import through_outage

BUCKET = "tga_raw"


class RawFileMissing(LookupError):
    """No object with that key in the raw-XML store."""


def raw_key(data: bytes) -> str:
    """The key of ``data``: lowercase hex SHA-256 (64 characters)."""
    return hashlib.sha256(data).hexdigest()


class RawStore:
    """Put/get release files by content hash. Create with :meth:`open`."""

    def __init__(self, bucket: Any) -> None:
        self._bucket = bucket

    @classmethod
    async def open(cls, nc: Client, replicas: int = 1) -> RawStore:
        """The ``tga_raw`` bucket, created when missing."""
        js = nc.jetstream()
        try:
            bucket = await js.object_store(BUCKET)
        except nats.js.errors.BucketNotFoundError:
            bucket = await js.create_object_store(  # nats-py overwrites config.bucket with this argument
                BUCKET,
                config=ObjectStoreConfig(
                    bucket=BUCKET,
                    description="TGA release XML as downloaded, by SHA-256",
                    storage=StorageType.FILE,
                    replicas=replicas,
                ),
            )
        return cls(bucket)

    async def put(self, data: bytes) -> str:
        """Keep ``data`` (idempotent: an existing object is not rewritten); returns its key."""
        key = raw_key(data)
        await through_outage(lambda: self._put(key, data), what=f"put {BUCKET}/{key}")
        return key

    async def _put(self, key: str, data: bytes) -> None:
        try:
            await self._bucket.get_info(key)
        except nats.js.errors.NotFoundError:
            await self._bucket.put(key, data)

    async def get(self, key: str) -> bytes:
        """The bytes under ``key``.

        Raises:
            RawFileMissing: nothing is stored under ``key``.
        """
        try:
            result = await through_outage(lambda: self._bucket.get(key), what=f"get {BUCKET}/{key}")
        except nats.js.errors.NotFoundError as e:
            raise RawFileMissing(f"no raw file {key} in {BUCKET}") from e
        return bytes(result.data or b"")


__all__ = ["BUCKET", "RawFileMissing", "RawStore", "raw_key"]
