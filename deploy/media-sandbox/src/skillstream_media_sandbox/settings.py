"""Sandbox settings (env ``MEDIA_SANDBOX_*``, CLI flags) and the catalogue's shape (media-spec §4, §5).

The catalogue shape given here is the one served at start; ``PUT /_sandbox/catalogue`` replaces it at run
time. Faults switched on at start: ``MEDIA_SANDBOX_FAULTS='{"latency_ms": 20}'`` (the JSON of
``PUT /_sandbox/faults``).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Self

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from skillstream_media_sandbox.faults import Faults

DEFAULT_PORT = 8191
"""The port ``skillstream up`` gives the sandbox when free (``stack.DEFAULT_PORT``)."""
DEFAULT_KEY_PAIR_ID = "K2JCJMDEHXQW5F"
"""The key-pair id of AWS's canned-policy example URL (REFERENCE-OPERATIONS.md §2.1)."""


class CatalogueShape(BaseModel):
    """What the generated catalogue looks like (``PUT /_sandbox/catalogue``; media-spec §4).

    - ``courses``: number of courses (ids 1001, 1002, …); ``segments``: segments over all courses (with and
      without video), spread unevenly but deterministically.
    - ``min_bytes``/``max_bytes``: every served file's size lies in this range (bytes).
    - ``seed``: the same shape always gives the same titles, paths, sizes and bytes.
    - ``hostile``: a few courses carry hostile titles and video paths (README "Hostile names").

    Raises (on validation): ``pydantic.ValidationError`` for out-of-range values or ``min_bytes > max_bytes``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    courses: int = Field(default=150, ge=1, le=100_000)
    segments: int = Field(default=3000, ge=0, le=10_000_000)
    min_bytes: int = Field(default=16_384, ge=1)
    max_bytes: int = Field(default=262_144, ge=1, le=2**40)
    seed: int = 7
    hostile: bool = True

    @model_validator(mode="after")
    def _sizes_ordered(self) -> Self:
        if self.min_bytes > self.max_bytes:
            raise ValueError(f"min_bytes ({self.min_bytes}) must not exceed max_bytes ({self.max_bytes})")
        return self


class Settings(BaseSettings):
    """Sandbox settings (env prefix ``MEDIA_SANDBOX_``).

    - ``host``/``port``: where ``main()`` listens; the port comes from ``MEDIA_SANDBOX_PORT``, else
      ``HTTP_PORT`` (set by ``skillstream up``), else 8191.
    - ``public_key_file`` (PEM) or ``public_key`` (PEM text): the CloudFront public key URLs are verified
      with; one of them is required. ``key_pair_id``: the id that key is known by (``Key-Pair-Id``).
    - ``courses``, ``segments``, ``min_bytes``, ``max_bytes``, ``seed``, ``hostile``: the catalogue shape
      at start (:class:`CatalogueShape`).
    - ``last_modified``: the ``Last-Modified`` of every file (fixed, so responses are deterministic).
    - ``faults``: the faults switched on at start (:class:`~skillstream_media_sandbox.faults.Faults`).
    """

    model_config = SettingsConfigDict(env_prefix="MEDIA_SANDBOX_", extra="ignore", validate_by_name=True)

    host: str = "127.0.0.1"
    # HTTP_PORT: what ``skillstream up`` sets for every child it runs (skillstream_devstack.stack).
    port: int = Field(
        default=DEFAULT_PORT,
        ge=0,
        le=65535,
        validation_alias=AliasChoices("MEDIA_SANDBOX_PORT", "HTTP_PORT", "port"),
    )
    public_key_file: Path | None = None
    public_key: str | None = None
    key_pair_id: str = Field(default=DEFAULT_KEY_PAIR_ID, min_length=1)
    courses: int = Field(default=150, ge=1, le=100_000)
    segments: int = Field(default=3000, ge=0, le=10_000_000)
    min_bytes: int = Field(default=16_384, ge=1)
    max_bytes: int = Field(default=262_144, ge=1)
    seed: int = 7
    hostile: bool = True
    last_modified: dt.datetime = dt.datetime(2026, 1, 5, 9, 30, tzinfo=dt.UTC)
    faults: Faults = Field(default_factory=Faults)

    def shape(self) -> CatalogueShape:
        """The catalogue shape at start.

        Raises:
            pydantic.ValidationError: ``min_bytes`` exceeds ``max_bytes``.
        """
        return CatalogueShape(
            courses=self.courses,
            segments=self.segments,
            min_bytes=self.min_bytes,
            max_bytes=self.max_bytes,
            seed=self.seed,
            hostile=self.hostile,
        )


__all__ = ["DEFAULT_KEY_PAIR_ID", "DEFAULT_PORT", "CatalogueShape", "Settings"]
