"""Settings of the media downloader (pydantic-settings, environment prefix ``MEDIA_``).

Where the library comes from (the catalogue API), where files come from (the CDN behind CloudFront signed URLs
and the key pair that signs them), where they go (``storage_root``) and how hard to work. Times are seconds,
sizes bytes. The retry schedule and the fleet-wide cap are seed 001's (30/60/120/300/600 s; at most 10
downloads at once), settings so that tests run them scaled down. The private key is a ``SecretStr`` (or a file
path): it never reaches logs, reprs or errors.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Self

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from skillstream_contracts.media import VideoQuality


class MediaSettings(BaseSettings):
    """Every field reads ``MEDIA_<FIELD>`` from the environment (``MEDIA_RETRY_DELAYS=30,60,120,300,600``)."""

    model_config = SettingsConfigDict(env_prefix="MEDIA_", env_file=".env", env_file_encoding="utf-8", extra="ignore")

    catalogue_url: str = Field(default="http://127.0.0.1:8191/catalogue/v1", description="catalogue API base URL")
    cdn_base_url: str = Field(default="http://127.0.0.1:8191/cdn", description="CloudFront distribution base URL")
    key_pair_id: str = Field(default="K2JCJMDEHXQW5F", description="CloudFront public key id (Key-Pair-Id)")
    private_key_file: Path | None = Field(default=None, description="PEM file of the signing key")
    private_key: SecretStr | None = Field(default=None, description="PEM of the signing key (instead of a file)")
    url_lifetime: float = Field(default=7200.0, gt=0, description="signed URL lifetime from the moment it is made")
    url_min_remaining: float = Field(default=60.0, ge=0, description="re-sign when less than this is left")
    quality: VideoQuality = Field(default=VideoQuality.MED, description="file variant: low | med | hi")
    storage_root: Path = Field(default=Path(".data/media"), description="where course folders are written")
    concurrency: int = Field(default=10, ge=1, le=1000, description="downloads in flight, fleet-wide")
    retry_delays: Annotated[tuple[float, ...], NoDecode] = Field(
        default=(30.0, 60.0, 120.0, 300.0, 600.0), min_length=1
    )
    retry_jitter: float = Field(default=0.1, ge=0, lt=1, description="± share of each delay drawn at random")
    retry_after_max: float = Field(default=3600.0, gt=0, description="longest Retry-After honoured")
    disk_margin_bytes: int = Field(default=1 << 30, ge=0, description="free space kept beyond the job's bytes")
    disk_recheck: float = Field(default=30.0, gt=0, description="pause before re-checking a full disk")
    chunk_bytes: int = Field(default=64 * 1024, ge=4096, description="bytes per write to the .part file")
    http_timeout: float = Field(default=60.0, gt=0, description="connect/read timeout per request")
    ack_wait: float = Field(default=30.0, gt=0, description="seconds without a heartbeat before redelivery")
    max_crashes: int = Field(default=5, ge=1, description="deliveries of one attempt before it is failed")
    catalogue_cache: float = Field(default=300.0, ge=0, description="seconds a library summary is reused")
    jobs_at_once: int = Field(default=2, ge=1, le=16, description="bulk downloads planned/followed at once")
    job_timeout: float = Field(
        default=6 * 3600.0, gt=0, description="seconds a bulk download may run, NATS outages included, before it fails"
    )

    @field_validator("retry_delays", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(float(v) for v in value.replace(" ", "").split(",") if v)
        return value

    @model_validator(mode="after")
    def _one_key(self) -> Self:
        if self.private_key is not None and self.private_key_file is not None:
            raise ValueError("set MEDIA_PRIVATE_KEY or MEDIA_PRIVATE_KEY_FILE, not both")
        return self

    def private_key_pem(self) -> bytes:
        """The signing key's PEM bytes.

        Raises:
            ValueError: neither ``MEDIA_PRIVATE_KEY`` nor ``MEDIA_PRIVATE_KEY_FILE`` is set, or the file is
                unreadable (the message names the file, never its content).
        """
        if self.private_key is not None:
            return self.private_key.get_secret_value().encode()
        if self.private_key_file is None:
            raise ValueError("no CloudFront signing key: set MEDIA_PRIVATE_KEY_FILE (or MEDIA_PRIVATE_KEY)")
        try:
            return self.private_key_file.read_bytes()
        except OSError as e:
            raise ValueError(f"cannot read MEDIA_PRIVATE_KEY_FILE {self.private_key_file}: {e.strerror}") from e


__all__ = ["MediaSettings"]
