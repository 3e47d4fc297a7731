"""The gateway's settings: the runtime's :class:`~skillstream_runtime.settings.Settings` plus the HTTP edge's.

Every field reads the upper-case environment variable of its name (or ``.env``); ``.env.example`` documents
them. Token keys, in order of precedence:

1. ``JWT_PUBLIC_KEY`` (PEM, RS256): tokens come from an identity provider; the dev login is unavailable.
2. ``JWT_SECRET`` (HS256, at least 32 bytes): shared with whoever mints tokens (``skillstream token``).
3. neither: the local development secret ``<DATA_DIR>/dev-jwt-secret`` (created on first use, mode 0600).
"""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from pydantic import Field, SecretStr, field_validator

from skillstream_gateway.tokens import DEFAULT_AUDIENCE, DEFAULT_ISSUER, dev_secret
from skillstream_runtime.settings import Settings

MIN_SECRET_BYTES = 32
"""Shortest accepted ``JWT_SECRET`` (RFC 7518 §3.2: an HS256 key is at least as long as the hash)."""


class GatewaySettings(Settings):
    """Settings of the gateway process (see the module docstring for how the token key is chosen)."""

    jwt_secret: SecretStr | None = Field(default=None, description="HS256 secret shared with token issuers")
    jwt_public_key: str | None = Field(
        default=None,
        description="RS256 public key: PEM text (literal \\n accepted) or the path of a PEM file",
    )
    jwt_issuer: str = Field(default=DEFAULT_ISSUER, description="required `iss` claim")
    jwt_audience: str = Field(default=DEFAULT_AUDIENCE, description="required `aud` claim")
    gateway_dev_login: bool = Field(default=False, description="enable POST /auth/dev-login (development only)")
    max_body_bytes: int = Field(default=1_048_576, ge=0, description="largest request body accepted, in bytes")
    retry_after_seconds: int = Field(
        default=5, ge=1, le=3600, description="`Retry-After` of a 503 answer (a service or its database down), seconds"
    )
    session_cookie_secure: bool = Field(default=False, description="mark the session cookie Secure (HTTPS)")
    sse_keepalive_seconds: float = Field(default=15.0, gt=0, description="seconds between SSE keep-alive comments")
    sse_min_interval_seconds: float = Field(
        default=0.25, ge=0, description="least seconds between two SSE updates of one job (coalescing)"
    )
    sse_retry_ms: int = Field(default=2000, ge=0, description="SSE `retry:` reconnection delay in milliseconds")

    @field_validator("jwt_secret")
    @classmethod
    def _secret_long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None
        if len(value.get_secret_value().encode()) < MIN_SECRET_BYTES:
            raise ValueError(f"JWT_SECRET must be at least {MIN_SECRET_BYTES} bytes")
        return value

    @field_validator("jwt_public_key")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        return value if value and value.strip() else None

    def verification_key(self) -> tuple[str | RSAPublicKey, list[str]]:
        """The key and algorithms that verify bearer tokens: ``(RSAPublicKey, ["RS256"])`` when
        ``JWT_PUBLIC_KEY`` is set, else ``(secret, ["HS256"])`` from ``JWT_SECRET`` or the development secret
        (which this creates under ``DATA_DIR`` if missing).

        Raises:
            ValueError: ``JWT_PUBLIC_KEY`` is neither an RSA public key in PEM nor a file holding one.
            OSError: the development secret cannot be created or read.
        """
        if self.jwt_public_key is not None:
            return _load_rsa_public_key(self.jwt_public_key), ["RS256"]
        secret = self.signing_secret()
        assert secret is not None  # no public key configured, so there is a secret
        return secret, ["HS256"]

    def signing_secret(self) -> str | None:
        """The HS256 secret the dev login signs with: ``JWT_SECRET``, else the development secret; ``None``
        when ``JWT_PUBLIC_KEY`` is set (tokens then come from elsewhere and the dev login is unavailable).

        Raises:
            OSError: the development secret cannot be created or read.
        """
        if self.jwt_public_key is not None:
            return None
        if self.jwt_secret is not None:
            return self.jwt_secret.get_secret_value()
        return dev_secret(self.data_dir)


def _load_rsa_public_key(value: str) -> RSAPublicKey:
    text = value.strip()
    if not text.startswith("-----BEGIN"):
        try:
            text = Path(text).expanduser().read_text(encoding="ascii").strip()
        except (OSError, UnicodeDecodeError) as e:
            raise ValueError("JWT_PUBLIC_KEY is neither PEM text nor the path of a readable PEM file") from e
    try:
        key = load_pem_public_key(text.replace("\\n", "\n").encode("ascii"))
    except (ValueError, TypeError, UnicodeEncodeError) as e:
        raise ValueError(f"JWT_PUBLIC_KEY is not a valid PEM public key: {e}") from e
    if not isinstance(key, RSAPublicKey):
        raise ValueError(f"JWT_PUBLIC_KEY must be an RSA public key for RS256, not {type(key).__name__}")
    return key


__all__ = ["MIN_SECRET_BYTES", "GatewaySettings"]
