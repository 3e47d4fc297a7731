"""Gateway authentication: bearer and cookie JWTs, permissions, CSRF, /auth/* routes, RS256, x-permission.

No ``from __future__ import annotations`` here: the routes below are closures whose ``Annotated[...,
Depends(auth.require(...))]`` refers to a local ``auth``, which FastAPI could not resolve from a string.
"""

import re
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, get_args

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import APIRouter, Depends, FastAPI
from pydantic import ValidationError

from skillstream_gateway.auth import CSRF_HEADER, SESSION_COOKIE, Authenticator, DevRole, Principal, auth_router
from skillstream_gateway.problems import BodySizeLimitMiddleware, install_problem_handlers
from skillstream_gateway.settings import GatewaySettings
from skillstream_gateway.tokens import ROLE_PERMISSIONS, mint_token

SECRET = "gateway-test-secret-" + "s" * 40
PROBLEM = "application/problem+json"


def make_settings(tmp_path: Path, **overrides: Any) -> GatewaySettings:
    values: dict[str, Any] = {
        "data_dir": tmp_path / "data",
        "jwt_secret": SECRET,
        "jwt_public_key": None,
        "jwt_issuer": "skillstream",
        "jwt_audience": "skillstream",
        "gateway_dev_login": False,
        "session_cookie_secure": False,
        "max_body_bytes": 4096,
    }
    values.update(overrides)
    return GatewaySettings(_env_file=None, **values)  # type: ignore[call-arg]


def build_app(settings: GatewaySettings) -> FastAPI:
    """What the real app does, in small: problem handlers, body limit, /auth, a few /api routes, install."""
    app = FastAPI()
    install_problem_handlers(app)
    app.add_middleware(BodySizeLimitMiddleware, max_body_bytes=settings.max_body_bytes)
    auth = Authenticator(settings)
    app.include_router(auth_router(settings, auth))
    api = APIRouter(prefix="/api")

    @api.get("/jobs")
    async def list_jobs(principal: Annotated[Principal, Depends(auth.require("jobs.view"))]) -> dict[str, Any]:
        return {"sub": principal.sub, "via": principal.via, "view_all": principal.has("jobs.view_all")}

    @api.post("/jobs", status_code=201, **auth.route("jobs.manage"))
    async def create_job(body: dict[str, Any]) -> dict[str, Any]:
        return {"created": body}

    @api.delete("/jobs/{job_id}")
    async def delete_job(job_id: str, principal: Annotated[Principal, Depends(auth.require("jobs.manage"))]) -> str:
        return f"{principal.sub} deleted {job_id}"

    @api.get("/training")
    async def training(principal: Annotated[Principal, Depends(auth.require("training.view"))]) -> list[str]:
        return sorted(principal.permissions)

    app.include_router(api)
    auth.install(app)
    return app


def token(role: str = "admin", *, ttl: int = 600, secret: str = SECRET, **kwargs: Any) -> str:
    return mint_token(secret, subject=f"user-{role}", roles=[role], ttl_seconds=ttl, **kwargs)


def raw_token(claims: dict[str, Any], key: Any = SECRET, algorithm: str = "HS256") -> str:
    now = int(time.time())
    base = {"sub": "raw", "roles": ["admin"], "iat": now, "exp": now + 600, "iss": "skillstream", "aud": "skillstream"}
    return jwt.encode({**base, **claims}, key, algorithm=algorithm)


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


@pytest.fixture
def settings(tmp_path: Path) -> GatewaySettings:
    return make_settings(tmp_path)


@pytest.fixture
async def client(settings: GatewaySettings) -> AsyncIterator[httpx.AsyncClient]:
    app = build_app(settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://gateway") as c:
        yield c


@pytest.fixture(scope="module")
def rsa_pair() -> tuple[rsa.RSAPrivateKey, str]:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public_pem


def assert_problem(response: httpx.Response, status: int, slug: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body: dict[str, Any] = response.json()
    assert body["type"] == f"urn:skillstream:problem:{slug}"
    assert body["status"] == status
    assert body["instance"] == response.request.url.path
    assert isinstance(body["title"], str)
    assert isinstance(body["detail"], str)
    return body


# --- bearer tokens ------------------------------------------------------------------------------------------


async def test_bearer_token_with_the_permission_passes(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/jobs", headers=bearer(token("admin")))
    assert response.status_code == 200
    assert response.json() == {"sub": "user-admin", "via": "bearer", "view_all": True}
    response = await client.get("/api/jobs", headers=bearer(token("training_officer")))
    assert response.json() == {"sub": "user-training_officer", "via": "bearer", "view_all": False}


async def test_no_token_is_401_with_a_bearer_challenge(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/jobs")
    body = assert_problem(response, 401, "unauthorized")
    assert response.headers["www-authenticate"] == 'Bearer realm="skillstream"'
    assert "Sign in" in body["detail"]


@pytest.mark.parametrize(
    ("make_token", "reason"),
    [
        (lambda: token(secret="some-other-secret-" + "o" * 40), "bad signature"),
        (lambda: raw_token({"exp": int(time.time()) - 300}), "token expired"),
        (lambda: raw_token({"aud": "another-service"}), "wrong audience"),
        (lambda: raw_token({"iss": "evil"}), "wrong issuer"),
        (lambda: raw_token({"roles": "admin"}), "invalid roles claim"),
        (lambda: "garbage", "malformed token"),
    ],
)
async def test_refused_tokens_are_401(client: httpx.AsyncClient, make_token: Any, reason: str) -> None:
    response = await client.get("/api/jobs", headers=bearer(make_token()))
    body = assert_problem(response, 401, "unauthorized")
    assert reason in body["detail"]
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith("Bearer ")
    assert 'error="invalid_token"' in challenge
    assert f'error_description="{reason}"' in challenge


@pytest.mark.parametrize("header", ["Basic dXNlcjpwYXNz", "Bearer", "Bearer   ", "Token abc"])
async def test_malformed_authorization_header_is_401(client: httpx.AsyncClient, header: str) -> None:
    response = await client.get("/api/jobs", headers={"Authorization": header})
    assert_problem(response, 401, "unauthorized")


async def test_missing_permission_is_403(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/jobs", headers=bearer(token("member")))
    body = assert_problem(response, 403, "forbidden")
    assert "jobs.view" in body["detail"]
    response = await client.post("/api/jobs", json={"kind": "x"}, headers=bearer(token("training_officer")))
    assert "jobs.manage" in assert_problem(response, 403, "forbidden")["detail"]
    response = await client.post("/api/jobs", json={"kind": "x"}, headers=bearer(token("admin")))
    assert response.status_code == 201
    assert response.json() == {"created": {"kind": "x"}}


async def test_unknown_roles_grant_nothing(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/training", headers=bearer(raw_token({"roles": ["superuser"]})))
    assert_problem(response, 403, "forbidden")
    response = await client.get("/api/training", headers=bearer(raw_token({"roles": ["superuser", "member"]})))
    assert response.json() == ["training.view"]


async def test_bearer_needs_no_csrf_header(client: httpx.AsyncClient) -> None:
    response = await client.delete("/api/jobs/j1", headers=bearer(token("admin")))
    assert response.status_code == 200
    assert response.json() == "user-admin deleted j1"


# --- cookie session -----------------------------------------------------------------------------------------


async def test_cookie_session_flow(client: httpx.AsyncClient) -> None:
    admin = token("admin", ttl=3600, name="Ada Admin")
    response = await client.post("/auth/session", headers=bearer(admin))
    assert response.status_code == 200
    me = response.json()
    assert set(me) == {"sub", "name", "roles", "permissions", "expires_at"}
    assert me["sub"] == "user-admin"
    assert me["name"] == "Ada Admin"
    assert me["roles"] == ["admin"]
    assert me["permissions"] == sorted(ROLE_PERMISSIONS["admin"])
    exp = jwt.decode(admin, options={"verify_signature": False})["exp"]
    assert datetime.fromisoformat(me["expires_at"]) == datetime.fromtimestamp(exp, UTC)

    set_cookie = response.headers["set-cookie"]
    attributes = [part.strip() for part in set_cookie.split(";")]
    assert attributes[0] == f"{SESSION_COOKIE}={admin}"
    assert "HttpOnly" in attributes
    assert "SameSite=strict" in attributes or "SameSite=Strict" in attributes
    assert "Path=/" in attributes
    assert "Secure" not in attributes
    max_age = int(next(a for a in attributes if a.startswith("Max-Age=")).removeprefix("Max-Age="))
    assert 3590 <= max_age <= 3600
    assert client.cookies.get(SESSION_COOKIE) == admin

    # Safe methods with the cookie alone.
    response = await client.get("/api/jobs")
    assert response.json() == {"sub": "user-admin", "via": "cookie", "view_all": True}
    response = await client.get("/auth/session")
    assert response.status_code == 200
    assert response.json() == me

    # Unsafe methods with the cookie need the CSRF header, exactly "1".
    response = await client.post("/api/jobs", json={"kind": "x"})
    body = assert_problem(response, 403, "csrf")
    assert CSRF_HEADER in body["detail"]
    response = await client.delete("/api/jobs/j1", headers={CSRF_HEADER: "0"})
    assert_problem(response, 403, "csrf")
    response = await client.post("/api/jobs", json={"kind": "x"}, headers={CSRF_HEADER: "1"})
    assert response.status_code == 201
    response = await client.delete("/api/jobs/j1", headers={CSRF_HEADER: "1"})
    assert response.json() == "user-admin deleted j1"

    # Sign out.
    response = await client.delete("/auth/session", headers={CSRF_HEADER: "1"})
    assert response.status_code == 204
    assert response.content == b""
    cleared = response.headers["set-cookie"]
    assert cleared.startswith((f'{SESSION_COOKIE}="";', f"{SESSION_COOKIE}=;"))
    assert "Max-Age=0" in cleared
    assert client.cookies.get(SESSION_COOKIE) is None
    assert_problem(await client.get("/auth/session"), 401, "unauthorized")
    assert_problem(await client.get("/api/jobs"), 401, "unauthorized")


async def test_cookie_permission_is_checked_too(client: httpx.AsyncClient) -> None:
    client.cookies.set(SESSION_COOKIE, token("member"))
    assert_problem(await client.get("/api/jobs"), 403, "forbidden")
    # Permission is checked before CSRF matters only for valid tokens: a member is refused either way.
    assert (await client.get("/api/training")).json() == ["training.view"]


async def test_bearer_header_wins_over_the_cookie(client: httpx.AsyncClient) -> None:
    client.cookies.set(SESSION_COOKIE, token("admin"))
    response = await client.get("/api/jobs", headers=bearer(token("training_officer")))
    assert response.json()["via"] == "bearer"
    assert response.json()["sub"] == "user-training_officer"
    # A bad bearer token is refused even with a good cookie.
    response = await client.get("/api/jobs", headers=bearer("garbage"))
    assert_problem(response, 401, "unauthorized")
    response = await client.get("/api/jobs", headers={"Authorization": "Basic abc"})
    assert_problem(response, 401, "unauthorized")


async def test_expired_or_forged_cookie_is_401(client: httpx.AsyncClient) -> None:
    client.cookies.set(SESSION_COOKIE, raw_token({"exp": int(time.time()) - 300}))
    assert "token expired" in assert_problem(await client.get("/api/jobs"), 401, "unauthorized")["detail"]
    client.cookies.set(SESSION_COOKIE, token(secret="forged-secret-" + "f" * 40))
    assert "bad signature" in assert_problem(await client.get("/auth/session"), 401, "unauthorized")["detail"]


async def test_session_needs_a_good_bearer_token(client: httpx.AsyncClient) -> None:
    assert_problem(await client.post("/auth/session"), 401, "unauthorized")
    client.cookies.set(SESSION_COOKIE, token("admin"))
    response = await client.post("/auth/session", headers={CSRF_HEADER: "1"})  # the cookie is not enough
    assert_problem(response, 401, "unauthorized")
    client.cookies.clear()
    response = await client.post("/auth/session", headers=bearer(raw_token({"exp": int(time.time()) - 300})))
    assert_problem(response, 401, "unauthorized")
    assert "set-cookie" not in response.headers


async def test_get_session_with_a_bearer_token(client: httpx.AsyncClient) -> None:
    response = await client.get("/auth/session", headers=bearer(token("member")))
    assert response.status_code == 200
    assert response.json()["permissions"] == ["training.view"]
    assert "set-cookie" not in response.headers


async def test_secure_cookie_when_configured(tmp_path: Path) -> None:
    app = build_app(make_settings(tmp_path, session_cookie_secure=True))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="https://gateway") as c:
        response = await c.post("/auth/session", headers=bearer(token()))
        assert "Secure" in [p.strip() for p in response.headers["set-cookie"].split(";")]
        response = await c.delete("/auth/session", headers={CSRF_HEADER: "1"})
        assert "Secure" in [p.strip() for p in response.headers["set-cookie"].split(";")]


# --- dev login ----------------------------------------------------------------------------------------------


def test_dev_roles_are_the_known_roles() -> None:
    assert set(get_args(DevRole)) == set(ROLE_PERMISSIONS)


async def test_dev_login_is_404_when_disabled(client: httpx.AsyncClient) -> None:
    response = await client.post("/auth/dev-login", json={"role": "admin"})
    assert_problem(response, 404, "not-found")
    assert "set-cookie" not in response.headers


async def test_dev_login_when_enabled(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, gateway_dev_login=True, jwt_secret=None)
    app = build_app(settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://gateway") as c:
        response = await c.post("/auth/dev-login", json={"role": "training_officer"})
        assert response.status_code == 200
        me = response.json()
        assert me["sub"] == "dev-training_officer"
        assert me["roles"] == ["training_officer"]
        assert me["permissions"] == sorted(ROLE_PERMISSIONS["training_officer"])
        cookie = c.cookies.get(SESSION_COOKIE)
        assert cookie is not None
        # Signed with the development secret, the one `skillstream token` uses.
        secret = (tmp_path / "data" / "dev-jwt-secret").read_text()
        claims = jwt.decode(cookie, secret, algorithms=["HS256"], audience="skillstream", issuer="skillstream")
        assert claims["exp"] - claims["iat"] == 8 * 3600
        assert "HttpOnly" in response.headers["set-cookie"]
        assert (await c.get("/api/jobs")).json() == {"sub": "dev-training_officer", "via": "cookie", "view_all": False}

        response = await c.post("/auth/dev-login", json={"role": "root"})
        body = assert_problem(response, 422, "invalid-request")
        assert body["errors"][0]["loc"] == ["body", "role"]
        assert_problem(await c.post("/auth/dev-login", json={}), 422, "invalid-request")


async def test_dev_login_is_unavailable_with_rs256(tmp_path: Path, rsa_pair: tuple[rsa.RSAPrivateKey, str]) -> None:
    settings = make_settings(tmp_path, gateway_dev_login=True, jwt_public_key=rsa_pair[1])
    assert settings.signing_secret() is None
    app = build_app(settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://gateway") as c:
        assert_problem(await c.post("/auth/dev-login", json={"role": "admin"}), 404, "not-found")


# --- RS256 and key selection --------------------------------------------------------------------------------


async def test_rs256_tokens(tmp_path: Path, rsa_pair: tuple[rsa.RSAPrivateKey, str]) -> None:
    private, public_pem = rsa_pair
    settings = make_settings(tmp_path, jwt_public_key=public_pem, jwt_issuer="https://idp.example")
    app = build_app(settings)
    good = mint_token(
        private, subject="idp|42", roles=["admin"], ttl_seconds=60, algorithm="RS256", issuer="https://idp.example"
    )
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = mint_token(
        stranger, subject="idp|42", roles=["admin"], ttl_seconds=60, algorithm="RS256", issuer="https://idp.example"
    )
    hs = token(secret=SECRET, issuer="https://idp.example")  # JWT_SECRET is set too, but RS256 wins
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://gateway") as c:
        response = await c.get("/api/jobs", headers=bearer(good))
        assert response.status_code == 200
        assert response.json()["sub"] == "idp|42"
        assert (
            "bad signature"
            in assert_problem(await c.get("/api/jobs", headers=bearer(forged)), 401, "unauthorized")["detail"]
        )
        body = assert_problem(await c.get("/api/jobs", headers=bearer(hs)), 401, "unauthorized")
        assert "algorithm not allowed" in body["detail"]
        response = await c.post("/auth/session", headers=bearer(good))
        assert response.status_code == 200
        assert (await c.get("/auth/session")).json()["sub"] == "idp|42"


def test_public_key_forms(tmp_path: Path, rsa_pair: tuple[rsa.RSAPrivateKey, str]) -> None:
    private, public_pem = rsa_pair
    escaped = public_pem.strip().replace("\n", "\\n")  # how a PEM often travels in one env line
    pem_file = tmp_path / "jwt.pem"
    pem_file.write_text(public_pem)
    for value in (public_pem, escaped, str(pem_file)):
        key, algorithms = make_settings(tmp_path, jwt_public_key=value).verification_key()
        assert algorithms == ["RS256"]
        assert isinstance(key, rsa.RSAPublicKey)
        assert key.public_numbers() == private.public_key().public_numbers()


@pytest.mark.parametrize("value", ["-----BEGIN PUBLIC KEY-----\nnot base64\n-----END PUBLIC KEY-----", "/no/such.pem"])
def test_bad_public_key_fails_at_start(tmp_path: Path, value: str) -> None:
    settings = make_settings(tmp_path, jwt_public_key=value)
    with pytest.raises(ValueError, match="JWT_PUBLIC_KEY"):
        Authenticator(settings)


def test_key_selection(tmp_path: Path) -> None:
    with_secret = make_settings(tmp_path, jwt_secret=SECRET)
    assert with_secret.verification_key() == (SECRET, ["HS256"])
    assert with_secret.signing_secret() == SECRET
    assert not (tmp_path / "data" / "dev-jwt-secret").exists()

    dev = make_settings(tmp_path, jwt_secret=None)
    key, algorithms = dev.verification_key()
    assert algorithms == ["HS256"]
    assert key == (tmp_path / "data" / "dev-jwt-secret").read_text()
    assert dev.signing_secret() == key
    assert make_settings(tmp_path, jwt_secret="").verification_key() == (key, ["HS256"])


def test_short_jwt_secret_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="at least 32 bytes"):
        make_settings(tmp_path, jwt_secret="too-short")


def test_settings_read_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEWAY_DEV_LOGIN", "true")
    monkeypatch.setenv("MAX_BODY_BYTES", "2048")
    monkeypatch.setenv("SESSION_COOKIE_SECURE", "1")
    monkeypatch.setenv("SSE_RETRY_MS", "500")
    monkeypatch.setenv("JWT_AUDIENCE", "aud-x")
    settings = GatewaySettings(_env_file=None)  # type: ignore[call-arg]
    assert settings.gateway_dev_login is True
    assert settings.max_body_bytes == 2048
    assert settings.session_cookie_secure is True
    assert settings.sse_retry_ms == 500
    assert settings.jwt_audience == "aud-x"
    assert (settings.sse_keepalive_seconds, settings.sse_min_interval_seconds) == (15.0, 0.25)


# --- x-permission in OpenAPI --------------------------------------------------------------------------------


async def test_openapi_documents_each_permission(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()
    paths = schema["paths"]
    assert paths["/api/jobs"]["get"]["x-permission"] == "jobs.view"
    assert paths["/api/jobs"]["post"]["x-permission"] == "jobs.manage"
    assert paths["/api/jobs/{job_id}"]["delete"]["x-permission"] == "jobs.manage"
    assert paths["/api/training"]["get"]["x-permission"] == "training.view"
    assert {"bearer": ["jobs.view"]} in paths["/api/jobs"]["get"]["security"]
    assert set(paths["/api/jobs"]["get"]["responses"]) == {"200", "401", "403"}
    assert "application/problem+json" in paths["/api/jobs"]["get"]["responses"]["403"]["content"]
    assert {"session-cookie": ["jobs.view"]} in paths["/api/jobs"]["get"]["security"]
    assert schema["components"]["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": schema["components"]["securitySchemes"]["bearer"]["description"],
    }
    assert schema["components"]["securitySchemes"]["session-cookie"]["in"] == "cookie"
    assert schema["components"]["securitySchemes"]["session-cookie"]["name"] == SESSION_COOKIE
    for method, operation in paths["/auth/session"].items():
        assert "x-permission" not in operation, method
    assert "/auth/dev-login" not in paths


def _app_with(settings: GatewaySettings, declare: Any) -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)
    auth = Authenticator(settings)
    declare(app, auth)
    auth.install(app)
    return app


def test_install_refuses_an_api_route_without_permission(settings: GatewaySettings) -> None:
    def declare(app: FastAPI, auth: Authenticator) -> None:
        @app.get("/api/forgotten")
        async def forgotten() -> None: ...

        @app.get("/public")  # outside /api: fine
        async def public() -> None: ...

    with pytest.raises(RuntimeError, match="GET /api/forgotten has no Depends"):
        _app_with(settings, declare)


def test_install_refuses_x_permission_without_the_dependency(settings: GatewaySettings) -> None:
    def declare(app: FastAPI, auth: Authenticator) -> None:
        @app.get("/api/lying", openapi_extra={"x-permission": "jobs.view"})
        async def lying() -> None: ...

    with pytest.raises(RuntimeError, match="without Depends"):
        _app_with(settings, declare)


def test_install_refuses_mismatched_or_several_permissions(settings: GatewaySettings) -> None:
    def mismatched(app: FastAPI, auth: Authenticator) -> None:
        @app.get("/api/x", openapi_extra={"x-permission": "jobs.manage"}, **auth.route("jobs.view"))
        async def x() -> None: ...

    with pytest.raises(RuntimeError, match=re.escape("has x-permission 'jobs.manage' but requires 'jobs.view'")):
        _app_with(settings, mismatched)

    def several(app: FastAPI, auth: Authenticator) -> None:
        @app.get("/api/y", **auth.route("jobs.view"))
        async def y(principal: Annotated[Principal, Depends(auth.require("jobs.manage"))]) -> None: ...

    with pytest.raises(RuntimeError, match="several permissions"):
        _app_with(settings, several)


async def test_routes_added_after_install_are_documented(settings: GatewaySettings) -> None:
    app = _app_with(settings, lambda app, auth: None)
    auth = app.state.skillstream_authenticator

    @app.get("/api/late")
    async def late(principal: Annotated[Principal, Depends(auth.require("training.update"))]) -> str:
        return principal.sub

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://gateway") as c:
        schema = (await c.get("/openapi.json")).json()
        assert schema["paths"]["/api/late"]["get"]["x-permission"] == "training.update"
        assert (await c.get("/api/late", headers=bearer(token("training_officer")))).json() == "user-training_officer"


async def test_protected_route_fails_without_install(settings: GatewaySettings) -> None:
    app = FastAPI()
    install_problem_handlers(app)
    auth = Authenticator(settings)

    @app.get("/api/jobs")
    async def jobs(principal: Annotated[Principal, Depends(auth.require("jobs.view"))]) -> str:
        return principal.sub

    transport = httpx.ASGITransport(app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as c:
        response = await c.get("/api/jobs", headers=bearer(token()))
        assert_problem(response, 500, "internal")


def test_require_refuses_unknown_permissions_and_reuses_dependencies(settings: GatewaySettings) -> None:
    auth = Authenticator(settings)
    with pytest.raises(ValueError, match=re.escape("unknown permission 'jobs.veiw'")):
        auth.require("jobs.veiw")
    assert auth.require("jobs.view") is auth.require("jobs.view")
    assert auth.require("jobs.view") is not auth.require("jobs.manage")
    assert auth.algorithms == ["HS256"]
