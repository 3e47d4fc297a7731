"""Authentication and permissions at the HTTP edge: JWT bearer tokens or the session cookie.

A request authenticates with ``Authorization: Bearer <jwt>`` or, when that header is absent, the HttpOnly cookie
``skillstream_session`` (set by ``POST /auth/session`` or ``POST /auth/dev-login``). The header wins: a bad
bearer token is refused even when a good cookie is present. With the cookie, an unsafe method (anything but
``GET``, ``HEAD``, ``OPTIONS``, ``TRACE``) must also send ``X-Skillstream-CSRF: 1`` (a cross-site form cannot).

Errors are problem documents (:mod:`skillstream_gateway.problems`): 401 ``unauthorized`` with
``WWW-Authenticate: Bearer …`` (no, malformed, badly signed, expired or foreign token), 403 ``forbidden`` (the
route's permission is missing), 403 ``csrf`` (cookie without the CSRF header on an unsafe method), 503
``unavailable`` (the list of revoked sessions cannot be read).

A token signed out with ``DELETE /auth/session`` is revoked on every replica until it expires
(:mod:`skillstream_gateway.sessions`, :mod:`skillstream_gateway.revocation`): each request checks it, as cookie
or bearer token alike.

How a route declares its permission (one ``Depends``, which also documents it)::

    auth = Authenticator(settings)

    @router.get("/api/jobs/{job_id}")
    async def get_job(job_id: str, principal: Annotated[Principal, Depends(auth.require("jobs.view"))]) -> Job:
        ...  # principal.sub, principal.has("jobs.view_all")

    @router.post("/api/jobs/{job_id}/cancel", **auth.route("jobs.manage"))  # when the handler needs no Principal
    async def cancel(job_id: str) -> Job: ...

    auth.install(app)  # once, after the routers are included

When ``auth`` is a local of a factory (``create_app(ctx)``), the module declaring such closures must not use
``from __future__ import annotations`` with the ``Annotated`` form (FastAPI would resolve the string
``"Annotated[Principal, Depends(auth.require(...))]"`` in module globals and fail); the default-value form
``principal: Principal = Depends(auth.require("jobs.view"))`` works either way.

:meth:`Authenticator.require` puts the permission into the operation's OpenAPI ``security`` requirements (as
scopes of the ``bearer`` and ``session-cookie`` schemes); :meth:`Authenticator.install` copies it to
``x-permission`` and refuses (``RuntimeError``) an app where a route under ``/api`` has no permission, several, or
an ``x-permission`` without the dependency. A protected route on an app without ``install`` answers 500, so
forgetting it fails every test that calls such a route.
"""

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import structlog
from fastapi import APIRouter, Depends, FastAPI, Request, Response, Security
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field

from skillstream_gateway.openapi_security import (
    BEARER_SCHEME,
    COOKIE_SCHEME,
    document_permissions,
    problem_responses,
)
from skillstream_gateway.problems import ProblemError
from skillstream_gateway.revocation import RevocationList, RevocationUnavailable, revocation_key
from skillstream_gateway.sessions import (
    CSRF_HEADER,
    SAFE_METHODS,
    SESSION_COOKIE,
    bearer_token,
    check_csrf,
    set_session_cookie,
    sign_out,
    unauthorized,
)
from skillstream_gateway.settings import GatewaySettings
from skillstream_gateway.tokens import (
    ALL_PERMISSIONS,
    VERIFY_LEEWAY_SECONDS,
    Claims,
    TokenError,
    dev_subject,
    mint_token,
    verify_token,
)

DEV_LOGIN_TTL_SECONDS = 8 * 3600
"""Lifetime of a token minted by ``POST /auth/dev-login`` (8 hours)."""

DevRole = Literal["admin", "training_officer", "member"]
"""Roles the dev login accepts (the keys of ``ROLE_PERMISSIONS``)."""

_APP_STATE_KEY = "skillstream_authenticator"
_log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated caller.

    ``roles`` as in the token (unknown names kept, granting nothing); ``permissions`` granted by the known
    roles; ``expires_at`` the token's expiry (aware, UTC); ``via`` how the token arrived; ``revocation_key`` the
    token's key in the revocation list (None: not checked).
    """

    sub: str
    name: str | None
    roles: tuple[str, ...]
    permissions: frozenset[str]
    expires_at: dt.datetime
    via: Literal["bearer", "cookie"]
    revocation_key: str | None = None

    @classmethod
    def from_claims(cls, claims: Claims, via: Literal["bearer", "cookie"], token: str | None = None) -> "Principal":
        """The principal a verified token describes (``token``, when given, names its revocation key)."""
        key = revocation_key(claims.jti, token) if token is not None else None
        return cls(claims.sub, claims.name, claims.roles, claims.permissions, claims.expires_at, via, key)

    def has(self, permission: str) -> bool:
        """Whether the caller holds ``permission`` (e.g. ``jobs.view_all``)."""
        return permission in self.permissions


class Me(BaseModel):
    """The signed-in caller as ``/auth/*`` replies it; ``permissions`` sorted, ``expires_at`` ISO-8601 UTC."""

    sub: str
    name: str | None
    roles: list[str]
    permissions: list[str]
    expires_at: dt.datetime

    @classmethod
    def of(cls, principal: Principal) -> "Me":
        """``Me`` of ``principal``."""
        return cls(
            sub=principal.sub,
            name=principal.name,
            roles=list(principal.roles),
            permissions=sorted(principal.permissions),
            expires_at=principal.expires_at,
        )


class DevLogin(BaseModel):
    """Body of ``POST /auth/dev-login``."""

    role: DevRole = Field(description="role of the development user `dev-<role>`")


class Authenticator:
    """Verifies tokens with the key :meth:`GatewaySettings.verification_key` chooses (read once, here).

    Raises:
        ValueError: ``JWT_PUBLIC_KEY`` is not an RSA public key.
        OSError: the development secret cannot be created or read.
    """

    def __init__(self, settings: GatewaySettings) -> None:
        self.settings = settings
        self._key, self._algorithms = settings.verification_key()
        self.bearer_scheme = HTTPBearer(
            bearerFormat="JWT",
            scheme_name=BEARER_SCHEME,
            description="`Authorization: Bearer <jwt>` (`skillstream token --role admin --ttl 8h`)",
            auto_error=False,
        )
        self.cookie_scheme = APIKeyCookie(
            name=SESSION_COOKIE,
            scheme_name=COOKIE_SCHEME,
            description="HttpOnly session cookie from `POST /auth/session`; unsafe methods also need "
            f"`{CSRF_HEADER}: 1`",
            auto_error=False,
        )
        self._requirements: dict[str, Callable[..., Awaitable[Principal]]] = {}
        self.revocations: RevocationList | None = None
        """The revoked sessions (set on first use from the app's NATS connection, or by the caller)."""
        self.authenticated = self._dependency(None)
        """Dependency returning the :class:`Principal` of any authenticated caller (no permission checked)."""

    @property
    def algorithms(self) -> list[str]:
        """The algorithms accepted (``["RS256"]`` or ``["HS256"]``)."""
        return list(self._algorithms)

    def verify(self, token: str, via: Literal["bearer", "cookie"]) -> Principal:
        """The :class:`Principal` of ``token``.

        Raises:
            ProblemError: 401 ``unauthorized`` (with ``WWW-Authenticate``) when the token is refused.
        """
        try:
            claims = verify_token(
                token,
                self._key,
                algorithms=self._algorithms,
                issuer=self.settings.jwt_issuer,
                audience=self.settings.jwt_audience,
            )
        except TokenError as e:
            _log.info("token refused", reason=e.reason, via=via)
            raise unauthorized(f"The {via} token was refused: {e.reason}.", e.reason) from e
        return Principal.from_claims(claims, via, token)

    def revocation_list(self, request: Request) -> RevocationList | None:
        """The revoked sessions, opened on first use over the NATS connection of the app's service context
        (``request.app.state.ctx.nc``); None for an app without one (nothing is revoked then)."""
        if self.revocations is None:
            ctx = getattr(request.app.state, "ctx", None)
            nc = getattr(ctx, "nc", None)
            if nc is None:
                return None
            replicas = getattr(getattr(ctx, "settings", None), "stream_replicas", 1)
            stopping = getattr(ctx, "stopping", None)
            self.revocations = RevocationList(nc, replicas=replicas, leeway=VERIFY_LEEWAY_SECONDS, stopping=stopping)
        return self.revocations

    async def check_revoked(self, request: Request, principal: Principal) -> None:
        """Refuse a signed-out token.

        Raises:
            ProblemError: 401 ``unauthorized`` when revoked; 503 ``unavailable`` when the list cannot be read.
        """
        revocations = self.revocation_list(request)
        if revocations is None or principal.revocation_key is None:
            return
        try:
            revoked = await revocations.is_revoked(principal.revocation_key)
        except RevocationUnavailable as e:
            _log.warning("revocation list unavailable", error=str(e))
            raise ProblemError(503, "unavailable", "Sign-in cannot be checked right now; try again shortly.") from e
        if revoked:
            raise unauthorized(f"The {principal.via} token was revoked (signed out).", "token revoked")

    async def authenticate(self, request: Request) -> Principal:
        """The caller of ``request``: bearer header first, else the session cookie (with the CSRF rule); a
        revoked token is refused either way.

        Raises:
            ProblemError: 401 ``unauthorized``; 403 ``csrf`` for a cookie on an unsafe method without
                ``X-Skillstream-CSRF: 1``; 503 ``unavailable`` (revocations unreadable).
        """
        token = bearer_token(request)
        if token is not None:
            principal = self.verify(token, "bearer")
        else:
            cookie = request.cookies.get(SESSION_COOKIE)
            if not cookie:
                raise unauthorized("Sign in: send `Authorization: Bearer <token>` or the session cookie.", None)
            principal = self.verify(cookie, "cookie")
            check_csrf(request)
        await self.check_revoked(request, principal)
        return principal

    def require(self, permission: str) -> Callable[..., Awaitable[Principal]]:
        """FastAPI dependency returning the :class:`Principal` when it holds ``permission``.

        The same permission always gives the same dependency (FastAPI then runs it once per request). It
        declares the ``bearer`` and ``session-cookie`` security schemes with ``permission`` as scope, which
        :meth:`install` turns into the operation's ``x-permission``.

        Raises:
            ValueError: ``permission`` is granted by no role (a typo).
            ProblemError: (per request) 401 / 403 as :meth:`authenticate`; 403 ``forbidden`` when the permission
                is missing.
        """
        if permission not in ALL_PERMISSIONS:
            raise ValueError(f"unknown permission {permission!r}; known: {', '.join(sorted(ALL_PERMISSIONS))}")
        if permission not in self._requirements:
            self._requirements[permission] = self._dependency(permission)
        return self._requirements[permission]

    def route(self, permission: str) -> dict[str, Any]:
        """Route keyword arguments for a handler that needs ``permission`` but not the Principal:
        ``@router.post("/api/x", **auth.route("jobs.manage"))`` (gives ``dependencies=[...]``)."""
        return {"dependencies": [Depends(self.require(permission))]}

    def install(self, app: FastAPI, *, protected_prefix: str = "/api") -> None:
        """Document each operation's permission as ``x-permission`` in ``app``'s OpenAPI and check them.

        Call once, after the routers are included; the check runs now and whenever the schema is generated.

        Raises:
            RuntimeError: an operation under ``protected_prefix`` declares no permission, an operation
                declares several, or one has ``x-permission`` without the :meth:`require` dependency.
        """
        generate = app.openapi

        def openapi() -> dict[str, Any]:
            if app.openapi_schema is None:
                schema = generate()
                mistakes = document_permissions(schema, protected_prefix)
                if mistakes:
                    app.openapi_schema = None
                    raise RuntimeError("routes without a single declared permission: " + "; ".join(mistakes))
            return app.openapi_schema or generate()

        app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way to extend OpenAPI
        setattr(app.state, _APP_STATE_KEY, self)
        openapi()
        app.openapi_schema = None  # regenerate lazily: routes added later must appear

    def _dependency(self, permission: str | None) -> Callable[..., Awaitable[Principal]]:
        scopes = [permission] if permission else []

        async def dependency(
            request: Request,
            _bearer: Annotated[HTTPAuthorizationCredentials | None, Security(self.bearer_scheme, scopes=scopes)],
            _cookie: Annotated[str | None, Security(self.cookie_scheme, scopes=scopes)],
        ) -> Principal:
            # _bearer/_cookie declare the schemes in OpenAPI; authenticate() reads the raw header and cookie.
            installed: object = getattr(request.app.state, _APP_STATE_KEY, None)
            if installed is not self:
                raise RuntimeError("Authenticator.install(app) was not called on this app")
            principal = await self.authenticate(request)
            if permission is not None and not principal.has(permission):
                raise ProblemError(403, "forbidden", f"This needs the permission {permission}.")
            return principal

        dependency.__name__ = f"require_{permission or 'authenticated'}".replace(".", "_")
        return dependency


def auth_router(settings: GatewaySettings, authenticator: Authenticator) -> APIRouter:
    """The ``/auth/*`` routes (see ``services/gateway/README.md``); ``POST /auth/dev-login`` only when
    ``GATEWAY_DEV_LOGIN`` is true and tokens are HS256 (otherwise it does not exist: 404)."""
    router = APIRouter(prefix="/auth", tags=["auth"])
    errors = problem_responses(401)

    @router.post("/session", responses=errors, summary="Start a cookie session from a bearer token")
    async def create_session(
        request: Request,
        response: Response,
        _bearer: Annotated[HTTPAuthorizationCredentials | None, Security(authenticator.bearer_scheme)],
    ) -> Me:
        """Sets the HttpOnly session cookie to the bearer token (it expires with the token); replies ``Me``."""
        token = bearer_token(request)
        if token is None:
            raise unauthorized("Send `Authorization: Bearer <token>` to start a session.", None)
        principal = authenticator.verify(token, "bearer")
        await authenticator.check_revoked(request, principal)
        set_session_cookie(response, token, principal.expires_at, settings.session_cookie_secure)
        return Me.of(principal)

    @router.get("/session", responses=errors, summary="The signed-in caller")
    async def read_session(principal: Annotated[Principal, Depends(authenticator.authenticated)]) -> Me:
        """``Me`` of the bearer token or the session cookie; 401 when signed out."""
        return Me.of(principal)

    @router.delete(
        "/session",
        status_code=204,
        response_class=Response,
        responses=problem_responses(401, 403, 503),
        summary="Sign out",
    )
    async def delete_session(request: Request) -> Response:
        """Revokes the session's token on every replica until it expires (the cookie's, and a bearer token sent
        along) and clears the cookie. With the cookie alone it needs `X-Skillstream-CSRF: 1` (403 `csrf`)."""
        return await sign_out(request, authenticator, settings.session_cookie_secure)

    secret = settings.signing_secret() if settings.gateway_dev_login else None
    if settings.gateway_dev_login and secret is None:
        _log.warning("GATEWAY_DEV_LOGIN ignored: JWT_PUBLIC_KEY is set, tokens come from the identity provider")
    if secret is not None:
        dev_secret = secret

        @router.post("/dev-login", responses=problem_responses(422), summary="Development sign-in (no password)")
        async def dev_login(body: DevLogin, response: Response) -> Me:
            """Mints a token for ``dev-<role>``, sets the session cookie, replies ``Me``. Development only."""
            token = mint_token(
                dev_secret,
                subject=dev_subject(body.role),
                roles=[body.role],
                ttl_seconds=DEV_LOGIN_TTL_SECONDS,
                issuer=settings.jwt_issuer,
                audience=settings.jwt_audience,
            )
            principal = authenticator.verify(token, "cookie")
            set_session_cookie(response, token, principal.expires_at, settings.session_cookie_secure)
            _log.info("dev login", sub=principal.sub)
            return Me.of(principal)

    return router


__all__ = [
    "COOKIE_SCHEME",
    "CSRF_HEADER",
    "DEV_LOGIN_TTL_SECONDS",
    "SAFE_METHODS",
    "SESSION_COOKIE",
    "Authenticator",
    "DevLogin",
    "DevRole",
    "Me",
    "Principal",
    "auth_router",
    "bearer_token",
]
