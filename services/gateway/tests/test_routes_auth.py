"""Every route of the real gateway app, walked from its OpenAPI document: 401 without a token, 403 with a
role too weak for the route's declared permission. A new route cannot be forgotten: the walk covers it."""

from __future__ import annotations

import re
import secrets
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import jwt
import pytest
from fastapi import FastAPI

from skillstream_gateway.app import create_app
from skillstream_gateway.settings import GatewaySettings
from skillstream_gateway.tokens import ROLE_PERMISSIONS, mint_token

SECRET = secrets.token_urlsafe(48)


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    settings = GatewaySettings(jwt_secret=SECRET, data_dir=Path(tmp_path_factory.mktemp("gw")))
    # no NATS: every request here is refused before the gateway would talk to a service
    ctx = SimpleNamespace(nc=None, definition=SimpleNamespace(version="test"))
    return create_app(ctx, settings)


def _operations(app: FastAPI) -> list[tuple[str, str, str | None]]:
    ops = []
    for path, item in app.openapi()["paths"].items():
        for method, op in item.items():
            ops.append((method.upper(), path, op.get("x-permission")))
    return ops


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "0123456789abcdef0123456789abcdef", path)


def test_every_api_route_declares_a_permission(app: FastAPI) -> None:
    ops = _operations(app)
    api = [op for op in ops if op[1].startswith("/api/")]
    assert len(api) >= 8  # the jobs routes at least
    assert [op for op in api if op[2] is None] == []
    # the dashboard shell is public and not in the API document
    assert "/" not in {p for _, p, _ in ops}


async def test_401_without_or_with_a_bad_token_and_403_with_a_weak_role(app: FastAPI) -> None:
    transport = httpx.ASGITransport(app=app)
    now = int(time.time())
    claims = {"iss": "skillstream", "aud": "skillstream", "iat": now}
    expired = jwt.encode({**claims, "sub": "old", "roles": ["admin"], "exp": now - 3600}, SECRET, "HS256")
    forged = mint_token("x" * 48, subject="eve", roles=["admin"], ttl_seconds=3600)
    no_role = jwt.encode({**claims, "sub": "nobody", "roles": [], "exp": now + 600}, SECRET, "HS256")
    checked = 0
    async with httpx.AsyncClient(transport=transport, base_url="http://gw") as c:
        for method, path, permission in _operations(app):
            if not path.startswith("/api/"):
                continue
            url = _concrete(path)
            body: dict[str, Any] | None = {"kind": "test.items"} if method == "POST" else None
            for headers in ({}, {"Authorization": f"Bearer {expired}"}, {"Authorization": f"Bearer {forged}"}):
                r = await c.request(method, url, json=body, headers=headers)
                assert r.status_code == 401, (method, path, headers, r.text)
                assert r.headers["content-type"].startswith("application/problem+json")
                assert r.headers["www-authenticate"].startswith("Bearer")
            weak = [role for role, perms in ROLE_PERMISSIONS.items() if permission not in perms]
            tokens = [no_role] + [mint_token(SECRET, subject=f"u-{w}", roles=[w], ttl_seconds=600) for w in weak]
            for token in tokens:
                r = await c.request(method, url, json=body, headers={"Authorization": f"Bearer {token}"})
                assert r.status_code == 403, (method, path, r.text)
                assert r.json()["type"] == "urn:skillstream:problem:forbidden"
            checked += 1
    assert checked >= 8
