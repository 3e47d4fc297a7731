"""What the gateway refuses before asking a service, on the real app over a real NATS server: a control
character in a query string or a JSON body, an integer beyond what PostgreSQL holds, each a 422 problem with
nothing sent over NATS (so nothing is appended); the bounds in the OpenAPI document; and a 503 (a service
or its database down) as a problem with ``Retry-After``."""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import msgspec
import pytest
import pytest_asyncio
from nats.aio.client import Client
from nats.aio.msg import Msg
from pydantic import SecretStr

from skillstream_contracts.errors import ErrorCode, ErrorReply
from skillstream_gateway.app import create_app
from skillstream_gateway.settings import GatewaySettings
from skillstream_gateway.tokens import mint_token
from skillstream_runtime.endpoints import error_headers

SECRET = secrets.token_urlsafe(48)
PROBLEM = "application/problem+json"
ADMIN = {"Authorization": f"Bearer {mint_token(SECRET, subject='user-admin', roles=['admin'], ttl_seconds=600)}"}


class Services:
    """Stands in for every service: records each command or query (``cmd.>``, ``qry.>``) and answers
    ``unavailable``, as a service whose database is down does."""

    def __init__(self, nc: Client) -> None:
        self.nc = nc
        self.seen: list[tuple[str, dict[str, Any]]] = []

    async def start(self) -> Services:
        for subject in ("cmd.>", "qry.>"):
            await self.nc.subscribe(subject, cb=self._answer)
        await self.nc.flush()
        return self

    async def _answer(self, msg: Msg) -> None:
        self.seen.append((msg.subject, json.loads(msg.data)))
        reply = ErrorReply(code=ErrorCode.UNAVAILABLE, detail="the database is down")
        await self.nc.publish(msg.reply, msgspec.json.encode(reply), headers=error_headers(reply))


@pytest_asyncio.fixture
async def services(nc: Client) -> Services:
    return await Services(nc).start()


@pytest_asyncio.fixture
async def client(nc: Client, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = GatewaySettings(jwt_secret=SecretStr(SECRET), data_dir=tmp_path / "gw", retry_after_seconds=7)
    app = create_app(SimpleNamespace(nc=nc, definition=SimpleNamespace(version="test")), settings)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gw", headers=ADMIN) as c:
        yield c


def _refused(r: httpx.Response) -> dict[str, Any]:
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == PROBLEM
    body: dict[str, Any] = r.json()
    assert body["type"] == "urn:skillstream:problem:invalid-request"
    assert body["errors"], body
    return body


BAD_QUERIES = [
    "/api/units/available?search=%00",
    "/api/units/available?search=a%0Ab",
    "/api/skill-sets/available?search=%1F",
    "/api/jobs?kind=%00",
    "/api/jobs?requested_by=%00",
    "/api/jobs?cursor=%00",
    "/api/jobs?kind=" + "a" * 101,
    "/api/training-packages/available?page=99999999999999999999",
    "/api/units/available?page=9223372036854775808",
    "/truefire-courses/bulk-download-status?courses_offset=9223372036854775808",
    "/truefire-courses/bulk-download-status?courses_offset=2147483648",
    "/truefire-courses/18446744073709551616/download-status",
    "/truefire-courses/bulk-queue-status?limit=99999999999999999999",
]


@pytest.mark.parametrize("url", BAD_QUERIES)
async def test_a_bad_query_string_is_refused_before_any_service_is_asked(
    client: httpx.AsyncClient, services: Services, url: str
) -> None:
    _refused(await client.get(url))
    assert services.seen == []


BAD_BODIES = [
    ("/api/jobs", {"kind": "tga.sync", "idempotency_key": "key\u0000"}),
    ("/api/jobs", {"kind": "tga.sync", "idempotency_key": "line\nbreak"}),
    ("/api/jobs", {"kind": "tga\u0000.sync"}),
    ("/api/jobs", {"kind": "tga.sync", "parameters": {"codes": ["BSB\u0000"]}}),
    ("/api/jobs", {"kind": "tga.sync", "parameters": {"since\u0000": None}}),
    ("/api/jobs", {"kind": "tga.sync", "parameters": {"deep": {"er": [{"x": "\u0007"}]}}}),
    ("/api/jobs", {"kind": "tga.sync", "parameters": {"n": 2**64}}),
    ("/api/jobs", {"kind": "tga.sync", "priority": 2**64}),
    ("/api/units/bulk-download", {"codes": ["BSBCMM412"], "idempotency_key": "k\u0000"}),
    ("/api/qualifications/bulk-download", {"codes": ["BSB\u000050120"]}),
]


@pytest.mark.parametrize(("path", "body"), BAD_BODIES)
async def test_a_bad_json_body_is_refused_and_nothing_is_appended(
    client: httpx.AsyncClient, services: Services, path: str, body: dict[str, Any]
) -> None:
    _refused(await client.post(path, content=json.dumps(body), headers={"Content-Type": "application/json"}))
    assert services.seen == []


async def test_a_lone_surrogate_is_refused_with_a_problem_not_a_500(
    client: httpx.AsyncClient, services: Services
) -> None:
    raw = b'{"kind": "tga.sync", "parameters": {"\\ud800": 1}}'
    r = await client.post("/api/jobs", content=raw, headers={"Content-Type": "application/json"})
    _refused(r)
    assert services.seen == []


async def test_free_text_keeps_tabs_and_line_breaks(client: httpx.AsyncClient, services: Services) -> None:
    parameters = {"note": "first line\nsecond\tline\r\n"}
    r = await client.post("/api/jobs", json={"kind": "tga.sync", "parameters": parameters})
    assert r.status_code == 503, r.text  # the stand-in service is down: the request got through
    assert [body["parameters"] for _, body in services.seen] == [parameters]


async def test_a_service_that_is_down_answers_503_with_retry_after(
    client: httpx.AsyncClient, services: Services
) -> None:
    for url in ("/api/jobs", "/api/units/available", "/truefire-courses/bulk-queue-status", "/api/catalogue/stats"):
        r = await client.get(url)
        assert r.status_code == 503, r.text
        assert r.headers["content-type"] == PROBLEM
        assert r.headers["retry-after"] == "7"
        assert r.json()["type"] == "urn:skillstream:problem:unavailable"
    assert len(services.seen) == 4


async def test_no_service_answering_is_a_503_with_retry_after(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/job-kinds")
    assert r.status_code == 503, r.text
    assert int(r.headers["retry-after"]) >= 1


def _parameter(op: dict[str, Any], name: str) -> dict[str, Any]:
    (schema,) = [p["schema"] for p in op["parameters"] if p["name"] == name]
    options = schema.get("anyOf", [schema])
    return dict(next(o for o in options if o.get("type") != "null"))


async def test_the_bounds_are_in_the_openapi_document(client: httpx.AsyncClient) -> None:
    doc = (await client.get("/openapi.json")).json()
    paths = doc["paths"]
    available = paths["/api/units/available"]["get"]
    assert _parameter(available, "page")["maximum"] <= 2**31 - 1
    assert _parameter(available, "page_size")["maximum"] == 500
    search = _parameter(available, "search")
    assert search["maxLength"] == 100
    assert search["pattern"] == r"^[^\x00-\x1f\x7f]*$"
    jobs = paths["/api/jobs"]["get"]
    for name in ("kind", "requested_by", "cursor"):
        assert _parameter(jobs, name)["pattern"] == search["pattern"], name
    status = paths["/truefire-courses/bulk-download-status"]["get"]
    assert _parameter(status, "courses_offset")["maximum"] == 2**31 - 1
    body = doc["components"]["schemas"]["JobRequestBody"]["properties"]
    key = next(o for o in body["idempotency_key"]["anyOf"] if o.get("type") == "string")
    assert (key["minLength"], key["maxLength"], key["pattern"]) == (1, 200, search["pattern"])
    assert body["kind"]["pattern"] == search["pattern"]
    assert (body["priority"]["minimum"], body["priority"]["maximum"]) == (-10, 10)


async def test_every_operation_documents_its_problems(client: httpx.AsyncClient) -> None:
    doc = (await client.get("/openapi.json")).json()
    assert "Problem" in doc["components"]["schemas"]
    for path, item in doc["paths"].items():
        for method, op in item.items():
            responses = op["responses"]
            for status, entry in responses.items():
                if not status.startswith("2"):
                    assert list(entry["content"]) == [PROBLEM], (method, path, status)
            if "x-permission" not in op:
                continue
            assert {"400", "401", "403", "422", "503"} <= set(responses), (method, path)
            assert "Retry-After" in responses["503"]["headers"], (method, path)
            if method == "post":
                assert "413" in responses, (method, path)
