"""JWTs for the gateway and the ``skillstream token`` command (PyJWT does the cryptography).

A token carries ``sub``, ``roles`` (list of role names), ``iat``, ``nbf``, ``exp`` (seconds since the epoch),
``iss``, ``aud``, ``jti`` and, optionally, ``name``. Roles map to permissions through :data:`ROLE_PERMISSIONS`
(the table in ``services/gateway/README.md``); a role this code does not know grants nothing.

Keys: HS256 with a shared secret (``JWT_SECRET``, or the local development secret that :func:`dev_secret`
keeps in ``<DATA_DIR>/dev-jwt-secret``), or RS256 with an RSA key pair (sign with the private key, verify with
the public one).

Errors: :class:`TokenError` (``.reason`` is safe to show) for any token that does not verify; ``ValueError``
for bad arguments (unknown role, non-positive TTL, malformed TTL text).
"""

from __future__ import annotations

import os
import re
import secrets
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, TypeAlias

import jwt
import jwt.exceptions

if TYPE_CHECKING:
    from jwt.algorithms import AllowedPrivateKeys, AllowedPublicKeys

    SigningKey: TypeAlias = str | bytes | AllowedPrivateKeys
    VerificationKey: TypeAlias = str | bytes | AllowedPublicKeys


class TokenError(Exception):
    """A JWT was refused: expired, bad signature, wrong issuer or audience, missing or malformed claims.

    ``reason`` is a short, fixed phrase that is safe to show to the caller (never the token itself).
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


DEV_SECRET_FILE = "dev-jwt-secret"  # noqa: S105 - a file name, not a secret
"""File name of the local development HS256 secret inside ``DATA_DIR``."""

DEFAULT_ISSUER = "skillstream"
VERIFY_LEEWAY_SECONDS = 30
"""Clock skew :func:`verify_token` allows by default: a token is accepted up to this long after its ``exp``."""
DEFAULT_AUDIENCE = "skillstream"

ROLE_PERMISSIONS: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        "admin": frozenset(
            {
                "jobs.view",
                "jobs.view_all",
                "jobs.manage",
                "catalogue.manage",
                "media.manage",
                "training.manage",
                "training.view_all",
                "training.view",
                "training.update",
            }
        ),
        "training_officer": frozenset({"jobs.view", "training.view_all", "training.view", "training.update"}),
        "member": frozenset({"training.view"}),
    }
)
"""Role name → the permissions it grants (read-only)."""

ALL_PERMISSIONS: frozenset[str] = frozenset().union(*ROLE_PERMISSIONS.values())
"""Every permission some role grants; a route asking for anything else is a typo."""

_REQUIRED_CLAIMS = ["sub", "roles", "exp", "iat", "iss", "aud"]
_TTL = re.compile(r"(\d+)([smhd]?)")
_TTL_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
_PYJWT_REASONS: tuple[tuple[type[jwt.InvalidTokenError], str], ...] = (
    (jwt.ExpiredSignatureError, "token expired"),
    (jwt.InvalidSignatureError, "bad signature"),
    (jwt.InvalidAudienceError, "wrong audience"),
    (jwt.InvalidIssuerError, "wrong issuer"),
    (jwt.MissingRequiredClaimError, "missing claim"),
    (jwt.ImmatureSignatureError, "token not valid yet"),
    (jwt.InvalidAlgorithmError, "algorithm not allowed"),
    (jwt.exceptions.InvalidSubjectError, "invalid subject"),
    (jwt.DecodeError, "malformed token"),
)


@dataclass(frozen=True, slots=True)
class Claims:
    """What a verified token says about its bearer.

    ``roles`` keeps the token's order (unknown names included); ``permissions`` is the union of what the known
    roles grant; ``expires_at`` is the ``exp`` claim as an aware UTC datetime; ``jti`` the token's id (None when
    the token has none, e.g. one from an identity provider that sets no ``jti``).
    """

    sub: str
    name: str | None
    roles: tuple[str, ...]
    permissions: frozenset[str]
    expires_at: datetime
    jti: str | None = None


def permissions_for(roles: Iterable[str]) -> frozenset[str]:
    """The union of the permissions granted by ``roles``; unknown role names grant nothing."""
    granted: set[str] = set()
    for role in roles:
        granted |= ROLE_PERMISSIONS.get(role, frozenset())
    return frozenset(granted)


def dev_secret(data_dir: Path) -> str:
    """The local development HS256 secret in ``<data_dir>/dev-jwt-secret``, created on first use.

    The file is created with ``O_CREAT | O_EXCL`` and mode 0600 (parent directories as needed), holding
    ``secrets.token_urlsafe(48)`` (64 characters). When two processes race, one creates it and the other reads
    it; a reader that finds the file still empty waits up to a second for the writer.

    Raises:
        OSError: the directory or file cannot be created or read.
        ValueError: the file exists but stays empty.
    """
    path = data_dir / DEV_SECRET_FILE
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        secret = secrets.token_urlsafe(48)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process won the race: read its secret below
        else:
            with os.fdopen(fd, "w", encoding="ascii") as f:
                f.write(secret)
                f.flush()
                os.fsync(f.fileno())
            return secret
    deadline = time.monotonic() + 1.0
    while True:
        secret = path.read_text(encoding="utf-8").strip()
        if secret:
            return secret
        if time.monotonic() >= deadline:
            raise ValueError(f"{path} is empty: delete it to have a new development secret created")
        time.sleep(0.02)


def parse_ttl(text: str) -> int:
    """Seconds in a time-to-live written as ``45s``, ``30m``, ``8h``, ``2d`` or plain seconds (``3600``).

    Raises:
        ValueError: not one of those forms, or zero.
    """
    match = _TTL.fullmatch(text.strip().lower())
    if match is None:
        raise ValueError(f"invalid TTL {text!r}: use a positive number with an optional unit s, m, h or d (e.g. 8h)")
    seconds = int(match.group(1)) * _TTL_UNITS[match.group(2)]
    if seconds <= 0:
        raise ValueError(f"invalid TTL {text!r}: must be more than zero")
    return seconds


def dev_subject(role: str) -> str:
    """The subject (``sub``) of a development token for ``role``: ``dev-<role>``, e.g. ``dev-admin``; the same for
    ``skillstream token`` and the dashboard's dev login, so jobs name who requested them."""
    return f"dev-{role}"


def mint_token(
    secret_or_private_key: SigningKey,
    *,
    subject: str,
    roles: Sequence[str],
    ttl_seconds: int,
    issuer: str = DEFAULT_ISSUER,
    audience: str = DEFAULT_AUDIENCE,
    name: str | None = None,
    algorithm: str = "HS256",
) -> str:
    """A signed JWT (compact serialisation) for ``subject`` with ``roles``, valid for ``ttl_seconds`` from now.

    Claims: ``sub``, ``roles``, ``iat`` = ``nbf`` = now, ``exp`` = now + ``ttl_seconds``, ``iss``, ``aud``,
    ``jti`` (random UUID hex) and ``name`` when given. ``secret_or_private_key`` is the HS256 secret or, for
    RS256, the private key (PEM text or a ``cryptography`` key object).

    Raises:
        ValueError: empty subject, no roles, a role not in :data:`ROLE_PERMISSIONS`, or ``ttl_seconds`` <= 0.
        jwt.InvalidKeyError: the key does not suit ``algorithm``.
    """
    if not subject:
        raise ValueError("subject must not be empty")
    if isinstance(roles, str) or not roles:
        raise ValueError("roles must be a non-empty list of role names")
    unknown = sorted(set(roles) - ROLE_PERMISSIONS.keys())
    if unknown:
        raise ValueError(f"unknown role(s) {', '.join(unknown)}; known: {', '.join(ROLE_PERMISSIONS)}")
    if ttl_seconds <= 0:
        raise ValueError("ttl_seconds must be more than zero")
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": subject,
        "roles": list(roles),
        "iat": now,
        "nbf": now,
        "exp": now + ttl_seconds,
        "iss": issuer,
        "aud": audience,
        "jti": uuid.uuid4().hex,
    }
    if name is not None:
        claims["name"] = name
    return jwt.encode(claims, secret_or_private_key, algorithm=algorithm)


def verify_token(
    token: str,
    key: VerificationKey,
    *,
    algorithms: Sequence[str],
    issuer: str,
    audience: str,
    leeway: float = VERIFY_LEEWAY_SECONDS,
) -> Claims:
    """Verify ``token`` and return its :class:`Claims`.

    Checks the signature with ``key`` (HS256 secret or RS256 public key) for one of ``algorithms``, ``exp``,
    ``nbf`` and ``iat`` with ``leeway`` seconds of clock skew, ``iss`` == ``issuer``, ``aud`` == / contains
    ``audience``, that ``sub``, ``roles``, ``exp``, ``iat``, ``iss`` and ``aud`` are present, ``sub`` is a
    non-empty string, ``roles`` a list of strings, ``name`` and ``jti`` (optional) non-empty strings.

    Raises:
        TokenError: the token is refused; ``.reason`` says why in a few words (``token expired``,
            ``bad signature``, ``wrong issuer``, ``wrong audience``, ``missing claim``, ``malformed token``,
            ``invalid roles claim``, …).
        ValueError: ``algorithms`` is empty.
        jwt.InvalidKeyError: ``key`` does not suit the algorithm (a configuration error, not the caller's).
    """
    if not algorithms:
        raise ValueError("algorithms must name at least one algorithm")
    try:
        payload = jwt.decode(
            token,
            key,
            algorithms=list(algorithms),
            issuer=issuer,
            audience=audience,
            leeway=leeway,
            options={"require": _REQUIRED_CLAIMS},
        )
    except jwt.InvalidTokenError as e:
        raise TokenError(_reason(e)) from e
    sub, roles, name = payload["sub"], payload["roles"], payload.get("name")
    if not isinstance(sub, str) or not sub:
        raise TokenError("invalid subject")
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        raise TokenError("invalid roles claim")
    if name is not None and not isinstance(name, str):
        raise TokenError("invalid name claim")
    jti = payload.get("jti")
    if jti is not None and (not isinstance(jti, str) or not jti):
        raise TokenError("invalid jti claim")
    exp = payload["exp"]
    if not isinstance(exp, int | float) or isinstance(exp, bool):
        raise TokenError("invalid exp claim")  # PyJWT already refuses these; kept for the type checker
    return Claims(
        sub=sub,
        name=name,
        roles=tuple(roles),
        permissions=permissions_for(roles),
        expires_at=datetime.fromtimestamp(exp, tz=UTC),
        jti=jti,
    )


def _reason(error: jwt.InvalidTokenError) -> str:
    if isinstance(error, jwt.MissingRequiredClaimError):
        return f"missing claim {error.claim}"
    for kind, reason in _PYJWT_REASONS:
        if isinstance(error, kind):
            return reason
    return "invalid token"


__all__ = [
    "ALL_PERMISSIONS",
    "DEFAULT_AUDIENCE",
    "DEFAULT_ISSUER",
    "DEV_SECRET_FILE",
    "ROLE_PERMISSIONS",
    "VERIFY_LEEWAY_SECONDS",
    "Claims",
    "TokenError",
    "dev_secret",
    "dev_subject",
    "mint_token",
    "parse_ttl",
    "permissions_for",
    "verify_token",
]
