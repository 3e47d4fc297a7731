"""Signing out: ``DELETE /auth/session`` revokes the token on every gateway replica (the JetStream KV bucket of
revoked sessions), as a cookie and as a bearer token, until it expires; it obeys the CSRF rule like every
unsafe method over the cookie. Two apps on one NATS server stand for two replicas."""

from __future__ import annotations

import asyncio
import re
import secrets
import time
from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import jwt
import pytest
import pytest_asyncio
from fastapi import FastAPI
from nats.aio.client import Client
from pydantic import SecretStr

from skillstream_gateway.app import create_app
from skillstream_gateway.auth import CSRF_HEADER, SESSION_COOKIE
from skillstream_gateway.settings import GatewaySettings
from skillstream_gateway.tokens import mint_token

SECRET = secrets.token_urlsafe(48)
UNSAFE = ("POST", "PUT", "PATCH", "DELETE")
REVOKED_BUCKET = "gateway_revoked_tokens"


def make_app(nc: Client | None, tmp_path: Path) -> FastAPI:
    settings = GatewaySettings(jwt_secret=SecretStr(SECRET), data_dir=tmp_path / "gw")
    return create_app(SimpleNamespace(nc=nc, definition=SimpleNamespace(version="test")), settings)


def client(app: FastAPI, **kwargs: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw", **kwargs)


def token(ttl: int = 600, **kwargs: Any) -> str:
    return mint_token(SECRET, subject="dev-admin", roles=["admin"], ttl_seconds=ttl, **kwargs)


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


@pytest_asyncio.fixture
async def replicas(nc: Client, tmp_path: Path) -> AsyncIterator[tuple[FastAPI, FastAPI]]:
    yield make_app(nc, tmp_path / "a"), make_app(nc, tmp_path / "b")


async def test_signing_out_revokes_the_cookie_and_the_same_token_as_bearer(
    replicas: tuple[FastAPI, FastAPI],
) -> None:
    app, _ = replicas
    session = token()
    async with client(app) as browser:
        r = await browser.post("/auth/session", headers=bearer(session))
        assert r.status_code == 200
        assert (await browser.get("/auth/session")).status_code == 200
        r = await browser.delete("/auth/session", headers={CSRF_HEADER: "1"})
        assert r.status_code == 204
        assert browser.cookies.get(SESSION_COOKIE) is None
    async with client(app, cookies={SESSION_COOKIE: session}) as replay:  # the old cookie, kept by an attacker
        r = await replay.get("/auth/session")
        assert r.status_code == 401, r.text
        assert r.json()["type"] == "urn:skillstream:problem:unauthorized"
        assert "revoked" in r.json()["detail"]
        assert 'error_description="token revoked"' in r.headers["www-authenticate"]
    async with client(app) as api:
        assert (await api.get("/auth/session", headers=bearer(session))).status_code == 401
        assert (await api.post("/auth/session", headers=bearer(session))).status_code == 401
        assert (await api.get("/api/events", headers=bearer(session))).status_code == 401
        other = token()  # another session of the same user is untouched
        assert (await api.get("/auth/session", headers=bearer(other))).status_code == 200


async def test_a_revocation_reaches_the_other_replica(replicas: tuple[FastAPI, FastAPI], nc: Client) -> None:
    a, b = replicas
    session = token()
    async with client(b) as on_b:
        assert (await on_b.get("/auth/session", headers=bearer(session))).status_code == 200  # b watches
    async with client(a, cookies={SESSION_COOKIE: session}) as on_a:
        assert (await on_a.delete("/auth/session", headers={CSRF_HEADER: "1"})).status_code == 204
    deadline = time.monotonic() + 5
    async with client(b) as on_b:
        while (await on_b.get("/auth/session", headers=bearer(session))).status_code != 401:
            assert time.monotonic() < deadline, "replica b still accepts the revoked token"
            await asyncio.sleep(0.05)
    # the entry lives as long as the token could be accepted (exp + 30 s leeway), then the server drops it
    kv = await nc.jetstream().key_value(REVOKED_BUCKET)
    jti = jwt.decode(session, options={"verify_signature": False})["jti"]
    entry = await kv.get(f"jti.{jti}")
    assert entry.value is not None
    status = await kv.status()
    assert status.ttl in (None, 0.0)  # no bucket max_age: the TTL is per key
    assert status.stream_info.config.allow_msg_ttl


async def test_a_token_without_jti_is_revoked_by_its_hash(replicas: tuple[FastAPI, FastAPI]) -> None:
    app, _ = replicas
    now = int(time.time())
    claims = {"sub": "idp-user", "roles": ["admin"], "iat": now, "exp": now + 600}
    plain = jwt.encode(claims | {"iss": "skillstream", "aud": "skillstream"}, SECRET, algorithm="HS256")
    async with client(app) as api:
        assert (await api.get("/auth/session", headers=bearer(plain))).status_code == 200
        assert (await api.delete("/auth/session", headers=bearer(plain))).status_code == 204
        assert (await api.get("/auth/session", headers=bearer(plain))).status_code == 401


async def test_sign_out_over_the_cookie_needs_the_csrf_header(replicas: tuple[FastAPI, FastAPI]) -> None:
    app, _ = replicas
    session = token()
    async with client(app, cookies={SESSION_COOKIE: session}) as browser:
        r = await browser.delete("/auth/session")
        assert r.status_code == 403
        assert r.json()["type"] == "urn:skillstream:problem:csrf"
        assert "set-cookie" not in r.headers
        r = await browser.delete("/auth/session", headers={CSRF_HEADER: "0"})
        assert r.status_code == 403
        assert (await browser.get("/auth/session")).status_code == 200  # a refused sign-out revoked nothing


async def test_signing_out_twice_or_signed_out_is_204(replicas: tuple[FastAPI, FastAPI]) -> None:
    app, _ = replicas
    session = token()
    async with client(app) as api:
        assert (await api.delete("/auth/session")).status_code == 204
        assert (await api.delete("/auth/session", headers=bearer(session))).status_code == 204
        assert (await api.delete("/auth/session", headers=bearer(session))).status_code == 204


def _unsafe_routes(app: FastAPI) -> list[tuple[str, str]]:
    """``(method, path)`` of every unsafe operation in the OpenAPI document, path parameters filled in."""
    routes = []
    for path, item in app.openapi()["paths"].items():
        concrete = re.sub(r"\{[^}]+\}", "0123456789abcdef0123456789abcdef", path)
        routes += [(method.upper(), concrete) for method in item if method.upper() in UNSAFE]
    return routes


async def test_every_unsafe_method_over_the_cookie_needs_the_csrf_header(tmp_path: Path) -> None:
    app = make_app(None, tmp_path)  # refused before any service is asked: no NATS needed
    routes = _unsafe_routes(app)
    assert ("DELETE", "/auth/session") in routes
    assert ("POST", "/api/jobs") in routes
    async with client(app, cookies={SESSION_COOKIE: token()}) as browser:
        for method, path in routes:
            r = await browser.request(method, path, json={})
            if (method, path) == ("POST", "/auth/session"):  # reads only a bearer token, never the cookie
                assert r.status_code == 401, (method, path, r.text)
                continue
            assert r.status_code == 403, (method, path, r.status_code, r.text)
            assert r.json()["type"] == "urn:skillstream:problem:csrf", (method, path)


@pytest.mark.parametrize("ttl", [1, 600])
async def test_the_cookie_of_a_session_expires_with_its_token(tmp_path: Path, ttl: int) -> None:
    app = make_app(None, tmp_path)
    async with client(app) as api:
        r = await api.post("/auth/session", headers=bearer(token(ttl)))
    max_age = next(p for p in r.headers["set-cookie"].split(";") if p.strip().startswith("Max-Age="))
    assert 0 <= ttl - int(max_age.strip().removeprefix("Max-Age=")) <= 1
