"""The server-sent progress routes as documented and as refused: ``text/event-stream`` in OpenAPI, and a
malformed ``Last-Event-ID`` answered with 400 problem details before any stream starts (no NATS needed)."""

from __future__ import annotations

import secrets
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
from fastapi import FastAPI

from skillstream_gateway.app import create_app
from skillstream_gateway.settings import GatewaySettings
from skillstream_gateway.tokens import mint_token

SECRET = secrets.token_urlsafe(48)
ROUTES = ("/api/events", "/api/jobs/{job_id}/events")


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    settings = GatewaySettings(jwt_secret=SECRET, data_dir=Path(tmp_path_factory.mktemp("gw")))
    # no NATS: a refused header is answered before the gateway would talk to a service
    return create_app(SimpleNamespace(nc=None, definition=SimpleNamespace(version="test")), settings)


@pytest.mark.parametrize("path", ROUTES)
def test_openapi_describes_the_event_stream(app: FastAPI, path: str) -> None:
    responses = app.openapi()["paths"][path]["get"]["responses"]
    ok = responses["200"]
    assert list(ok["content"]) == ["text/event-stream"]
    stream = ok["content"]["text/event-stream"]
    assert stream["schema"]["type"] == "string"
    assert "event: progress" in stream["example"]
    assert "id: " in stream["example"]
    assert "data: " in stream["example"]
    for words in ("event: progress", "id:", "data:", "JobProgress", "Last-Event-ID"):
        assert words in ok["description"], words
    assert "application/problem+json" in responses["400"]["content"]
    assert "Last-Event-ID" in responses["400"]["description"]


@pytest.mark.parametrize("path", ["/api/events", "/api/jobs/0123456789abcdef0123456789abcdef/events"])
@pytest.mark.parametrize("value", ["abc", "-1", "12.5", "0x10", "1e3", "1 2", "99999999999999999999"])
async def test_a_malformed_last_event_id_is_400(app: FastAPI, path: str, value: str) -> None:
    token = mint_token(SECRET, subject="dev-admin", roles=["admin"], ttl_seconds=600)
    headers = {"Authorization": f"Bearer {token}", "Last-Event-ID": value}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw") as c:
        r = await c.get(path, headers=headers)
    assert r.status_code == 400, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    problem = r.json()
    assert problem["type"] == "urn:skillstream:problem:bad-request"
    assert "Last-Event-ID" in problem["detail"]
    assert problem["instance"] == path
