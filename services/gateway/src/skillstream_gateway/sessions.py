"""The session cookie, the CSRF rule and signing out (used by :mod:`skillstream_gateway.auth`).

- The cookie ``skillstream_session`` holds the token itself (HttpOnly, SameSite=Strict, Path=/, ``Max-Age`` = the
  token's remaining life).
- CSRF: a request that authenticates with the cookie alone (no ``Authorization`` header) and uses an unsafe
  method (anything but ``GET``, ``HEAD``, ``OPTIONS``, ``TRACE``) must send ``X-Skillstream-CSRF: 1``, which a
  cross-site form cannot; :func:`check_csrf` applies it, to ``DELETE /auth/session`` as to every ``/api`` route.
- Signing out (:func:`sign_out`) revokes the token on every gateway replica until it expires
  (:mod:`skillstream_gateway.revocation`) and clears the cookie. A revoked token answers 401 everywhere
  afterwards, as a cookie or as a bearer token, and an event stream opened with it ends.

Errors: :class:`~skillstream_gateway.problems.ProblemError` 401 ``unauthorized`` (malformed ``Authorization``),
403 ``csrf``, 503 ``unavailable`` (the revocation list cannot be written: the session is not revoked).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Literal

import structlog
from fastapi import Request, Response

from skillstream_gateway.problems import ProblemError
from skillstream_gateway.revocation import RevocationUnavailable

if TYPE_CHECKING:
    from skillstream_gateway.auth import Authenticator

SESSION_COOKIE = "skillstream_session"
CSRF_HEADER = "X-Skillstream-CSRF"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})

_log = structlog.get_logger(__name__)


def bearer_token(request: Request) -> str | None:
    """The token of the ``Authorization: Bearer`` header, ``None`` without the header.

    Raises:
        ProblemError: 401 when the header is present but not ``Bearer <token>``.
    """
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise unauthorized("The Authorization header must be `Bearer <token>`.", "malformed header")
    return token.strip()


def check_csrf(request: Request) -> None:
    """The CSRF rule for a cookie-authenticated request.

    Raises:
        ProblemError: 403 ``csrf`` for an unsafe method without ``X-Skillstream-CSRF: 1``.
    """
    if request.method not in SAFE_METHODS and request.headers.get(CSRF_HEADER) != "1":
        raise ProblemError(
            403, "csrf", f"A cookie-authenticated {request.method} must send the header `{CSRF_HEADER}: 1`."
        )


def unauthorized(detail: str, error: str | None) -> ProblemError:
    """A 401 ``unauthorized`` problem with its ``WWW-Authenticate: Bearer`` challenge (``error`` = why)."""
    challenge = 'Bearer realm="skillstream"'
    if error is not None:
        challenge += f', error="invalid_token", error_description="{error}"'
    return ProblemError(401, "unauthorized", detail, headers={"WWW-Authenticate": challenge})


def set_session_cookie(response: Response, token: str, expires_at: dt.datetime, secure: bool) -> None:
    """Set the session cookie to ``token``, expiring with it."""
    max_age = max(0, int((expires_at - dt.datetime.now(dt.UTC)).total_seconds()))
    response.set_cookie(
        SESSION_COOKIE, token, max_age=max_age, path="/", secure=secure, httponly=True, samesite="strict"
    )


async def sign_out(request: Request, authenticator: Authenticator, secure: bool) -> Response:
    """``DELETE /auth/session``: revoke the cookie's token and a bearer token sent along, clear the cookie (204).

    A token that no longer verifies (expired, foreign) is not revoked, only cleared; without NATS (an app built
    without a service context) nothing is revoked.

    Raises:
        ProblemError: 401 malformed ``Authorization``; 403 ``csrf`` (cookie alone, unsafe method, no header);
            503 ``unavailable`` when the revocation cannot be written.
    """
    bearer = bearer_token(request)
    cookie = request.cookies.get(SESSION_COOKIE) or None
    if bearer is None and cookie is not None:
        check_csrf(request)
    revocations = authenticator.revocation_list(request)
    tokens: tuple[tuple[str | None, Literal["bearer", "cookie"]], ...] = ((bearer, "bearer"), (cookie, "cookie"))
    for token, via in tokens:
        if token is None:
            continue
        try:
            principal = authenticator.verify(token, via)
        except ProblemError:
            continue  # expired or foreign: it opens nothing any more
        if revocations is None or principal.revocation_key is None:
            continue
        try:
            await revocations.revoke(principal.revocation_key, principal.expires_at, principal.sub)
        except RevocationUnavailable as e:
            _log.warning("sign-out not recorded", sub=principal.sub, error=str(e))
            raise ProblemError(503, "unavailable", "Signing out could not be recorded; try again shortly.") from e
        _log.info("session revoked", sub=principal.sub, via=via)
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/", secure=secure, httponly=True, samesite="strict")
    return response


__all__ = [
    "CSRF_HEADER",
    "SAFE_METHODS",
    "SESSION_COOKIE",
    "bearer_token",
    "check_csrf",
    "set_session_cookie",
    "sign_out",
    "unauthorized",
]
