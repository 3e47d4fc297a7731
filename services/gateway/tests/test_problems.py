"""RFC 9457 problem documents for every error, and the request body size limit.

No ``from __future__ import annotations``: FastAPI resolves the route closures' annotations at definition time.
"""

import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

import httpx
import pytest
import structlog
from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field
from structlog.testing import capture_logs

from skillstream_contracts import ErrorCode, ErrorReply
from skillstream_gateway import problems
from skillstream_gateway.problems import (
    BodySizeLimitMiddleware,
    BodyTooLargeError,
    ProblemError,
    install_problem_handlers,
    problem,
    slug_for,
)
from skillstream_runtime.endpoints import error_headers
from skillstream_runtime.errors import RequestError

PROBLEM = "application/problem+json"
LIMIT = 1024


class NewJob(BaseModel):
    kind: str
    priority: int = Field(default=0, ge=0, le=9)


def build_app() -> tuple[FastAPI, list[int]]:
    """A small app with the problem handlers and the body limit; the list records body sizes routes read."""
    app = FastAPI()
    install_problem_handlers(app)
    app.add_middleware(BodySizeLimitMiddleware, max_body_bytes=LIMIT)
    seen: list[int] = []

    @app.post("/echo")
    async def echo(request: Request) -> dict[str, int]:
        body = await request.body()
        seen.append(len(body))
        return {"bytes": len(body)}

    @app.post("/jobs", status_code=201)
    async def create_job(job: NewJob) -> NewJob:
        seen.append(1)
        return job

    @app.get("/jobs")
    async def list_jobs(limit: Annotated[int, Query(ge=1, le=200)] = 50) -> dict[str, int]:
        return {"limit": limit}

    @app.get("/problem")
    async def raise_problem() -> None:
        raise ProblemError(
            409,
            "conflict",
            "job j1 has ended",
            errors=[{"loc": ["job_id"], "msg": "ended", "type": "state"}],
            headers={"X-Job": "j1"},
        )

    @app.get("/http/{status}")
    async def raise_http(status: int, detail: str | None = None) -> None:
        raise HTTPException(status, detail)

    @app.get("/service/{code}")
    async def service_error(code: str, status: int | None = None) -> None:
        reply = ErrorReply(
            code=ErrorCode(code),
            detail=f"service says {code}: SELECT secret FROM vault",
            errors=[{"loc": "parameters.limit", "msg": "too big"}] if code == "invalid_request" else [],
            correlation_id="corr-1" if code == "conflict" else None,
        )
        raise RequestError(reply, status)

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("password=hunter2 leaked from the database driver")

    @app.get("/stream")
    async def stream() -> StreamingResponse:
        async def chunks() -> AsyncIterator[bytes]:
            for i in range(3):
                yield f"data: {i}\n\n".encode()

        return StreamingResponse(chunks(), media_type="text/event-stream")

    return app, seen


@pytest.fixture
async def app_and_seen() -> tuple[FastAPI, list[int]]:
    return build_app()


@pytest.fixture
async def client(app_and_seen: tuple[FastAPI, list[int]]) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app_and_seen[0], raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as c:
        yield c


def assert_problem(response: httpx.Response, status: int, slug: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body: dict[str, Any] = response.json()
    assert body["type"] == f"urn:skillstream:problem:{slug}"
    assert body["status"] == status
    assert body["instance"] == response.request.url.path
    return body


def test_problem_response_shape() -> None:
    response = problem(
        404,
        "not-found",
        "Not Found",
        "no job j9",
        instance="/api/jobs/j9",
        errors=[{"loc": ["path", "job_id"], "msg": "unknown", "type": "missing"}],
        headers={"Retry-After": "3"},
        extensions={"type": "ignored", "correlation_id": "c-1"},
    )
    assert response.status_code == 404
    assert response.media_type == PROBLEM
    assert response.headers["retry-after"] == "3"
    assert json.loads(bytes(response.body)) == {
        "type": "urn:skillstream:problem:not-found",
        "title": "Not Found",
        "status": 404,
        "detail": "no job j9",
        "instance": "/api/jobs/j9",
        "errors": [{"loc": ["path", "job_id"], "msg": "unknown", "type": "missing"}],
        "correlation_id": "c-1",
    }
    minimal = json.loads(bytes(problem(503, "unavailable", "Service Unavailable", "orchestrator did not answer").body))
    assert set(minimal) == {"type", "title", "status", "detail"}


@pytest.mark.parametrize(
    ("status", "slug"),
    [
        (401, "unauthorized"),
        (403, "forbidden"),
        (404, "not-found"),
        (409, "conflict"),
        (413, "payload-too-large"),
        (422, "invalid-request"),
        (500, "internal"),
        (503, "unavailable"),
        (418, "im-a-teapot"),
        (599, "error"),
    ],
)
def test_slugs(status: int, slug: str) -> None:
    assert slug_for(status) == slug


async def test_problem_error(client: httpx.AsyncClient) -> None:
    response = await client.get("/problem")
    body = assert_problem(response, 409, "conflict")
    assert body["title"] == "Conflict"
    assert body["detail"] == "job j1 has ended"
    assert body["errors"] == [{"loc": ["job_id"], "msg": "ended", "type": "state"}]
    assert response.headers["x-job"] == "j1"


async def test_unknown_route_is_not_found(client: httpx.AsyncClient) -> None:
    body = assert_problem(await client.get("/api/nothing/here"), 404, "not-found")
    assert body == {
        "type": "urn:skillstream:problem:not-found",
        "title": "Not Found",
        "status": 404,
        "detail": "Nothing at /api/nothing/here.",
        "instance": "/api/nothing/here",
    }


async def test_wrong_method_is_method_not_allowed(client: httpx.AsyncClient) -> None:
    response = await client.delete("/echo")
    body = assert_problem(response, 405, "method-not-allowed")
    assert body["detail"] == "DELETE is not allowed on /echo."
    assert response.headers["allow"] == "POST"  # the HTTPException's headers are kept


@pytest.mark.parametrize(
    ("status", "detail", "slug", "expected_detail"),
    [
        (409, "job has ended", "conflict", "job has ended"),
        (404, "no job j1", "not-found", "no job j1"),
        (403, None, "forbidden", "Forbidden"),
        (429, "slow down", "too-many-requests", "slow down"),
    ],
)
async def test_http_exceptions(
    client: httpx.AsyncClient, status: int, detail: str | None, slug: str, expected_detail: str
) -> None:
    response = await client.get(f"/http/{status}", params={"detail": detail} if detail else None)
    assert assert_problem(response, status, slug)["detail"] == expected_detail


async def test_validation_error_of_a_body(client: httpx.AsyncClient, app_and_seen: tuple[FastAPI, list[int]]) -> None:
    response = await client.post("/jobs", json={"priority": 12})
    body = assert_problem(response, 422, "invalid-request")
    assert body["title"] == "Invalid Request"
    assert body["errors"] == [
        {"loc": ["body", "kind"], "msg": "Field required", "type": "missing"},
        {"loc": ["body", "priority"], "msg": "Input should be less than or equal to 9", "type": "less_than_equal"},
    ]
    assert body["detail"] == "body.kind: Field required (and 1 more)"
    assert app_and_seen[1] == []  # the handler never ran


async def test_validation_error_of_a_query_and_of_bad_json(client: httpx.AsyncClient) -> None:
    body = assert_problem(await client.get("/jobs", params={"limit": "0"}), 422, "invalid-request")
    assert body["errors"] == [
        {"loc": ["query", "limit"], "msg": "Input should be greater than or equal to 1", "type": "greater_than_equal"}
    ]
    response = await client.post("/jobs", content=b'{"kind": ', headers={"Content-Type": "application/json"})
    body = assert_problem(response, 422, "invalid-request")
    assert body["errors"][0]["type"] == "json_invalid"
    assert "input" not in body["errors"][0]  # only loc, msg, type: the input may hold secrets
    assert set(body["errors"][0]) == {"loc", "msg", "type"}


@pytest.mark.parametrize(
    ("code", "status", "slug"),
    [
        ("invalid_request", 400, "invalid-request"),
        ("unauthorized", 401, "unauthorized"),
        ("forbidden", 403, "forbidden"),
        ("not_found", 404, "not-found"),
        ("conflict", 409, "conflict"),
        ("unavailable", 503, "unavailable"),
        ("nothing_to_download", 409, "conflict"),
    ],
)
async def test_request_errors_keep_the_service_status(
    client: httpx.AsyncClient, code: str, status: int, slug: str
) -> None:
    body = assert_problem(await client.get(f"/service/{code}"), status, slug)
    assert body["detail"] == f"service says {code}: SELECT secret FROM vault"


async def test_request_error_details(client: httpx.AsyncClient) -> None:
    body = assert_problem(await client.get("/service/invalid_request"), 400, "invalid-request")
    assert body["errors"] == [{"loc": ["parameters", "limit"], "msg": "too big", "type": "invalid-request"}]
    body = assert_problem(await client.get("/service/conflict"), 409, "conflict")
    assert body["correlation_id"] == "corr-1"
    assert "errors" not in body
    # The status the service sent in Nats-Service-Error-Code wins over the code's default.
    assert_problem(await client.get("/service/conflict", params={"status": 412}), 412, "conflict")


async def test_nothing_to_download_is_the_same_409_as_the_gateways_own_refusal() -> None:
    # the media-downloader's typed refusal must read, to a client, exactly as a 409 the gateway raised itself
    detail = "The catalogue (media) lists nothing to download."
    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/truefire-courses/download-all-courses")
    async def download_all(typed: bool) -> None:
        if typed:
            reply = ErrorReply(code=ErrorCode.NOTHING_TO_DOWNLOAD, detail=detail)
            # the status as the reply's Nats-Service-Error-Code header carries it
            raise RequestError(reply, int(error_headers(reply)["Nats-Service-Error-Code"]))
        raise ProblemError(409, "conflict", detail)

    transport = httpx.ASGITransport(app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as c:
        typed = await c.get("/truefire-courses/download-all-courses", params={"typed": True})
        before = await c.get("/truefire-courses/download-all-courses", params={"typed": False})
    assert_problem(typed, 409, "conflict")
    assert typed.headers["content-type"] == before.headers["content-type"]
    assert (
        typed.json()
        == before.json()
        == {
            "type": "urn:skillstream:problem:conflict",
            "title": "Conflict",
            "status": 409,
            "detail": detail,
            "instance": "/truefire-courses/download-all-courses",
        }
    )


async def test_internal_request_error_does_not_leak(client: httpx.AsyncClient) -> None:
    response = await client.get("/service/internal")
    body = assert_problem(response, 500, "internal")
    assert "vault" not in response.text
    assert body["detail"] == "An internal error occurred; it has been logged."


async def test_unhandled_exception_is_500_without_details(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    with capture_logs() as logs:
        monkeypatch.setattr(problems, "_log", structlog.get_logger("test"))
        response = await client.get("/boom")
    body = assert_problem(response, 500, "internal")
    assert body["title"] == "Internal Error"
    assert "hunter2" not in response.text
    assert "RuntimeError" not in response.text
    errors = [entry for entry in logs if entry["event"] == "unhandled error"]
    assert len(errors) == 1
    assert errors[0]["log_level"] == "error"
    assert errors[0]["path"] == "/boom"
    assert isinstance(errors[0]["exc_info"], RuntimeError)


# --- body size limit ----------------------------------------------------------------------------------------


async def test_body_within_the_limit_passes(client: httpx.AsyncClient) -> None:
    response = await client.post("/echo", content=b"x" * LIMIT)
    assert response.json() == {"bytes": LIMIT}


async def test_content_length_over_the_limit_is_refused_unread(
    client: httpx.AsyncClient, app_and_seen: tuple[FastAPI, list[int]]
) -> None:
    response = await client.post("/echo", content=b"x" * (LIMIT + 1))
    body = assert_problem(response, 413, "payload-too-large")
    assert body["title"] == "Payload Too Large"
    assert body["detail"] == f"The request body exceeds the limit of {LIMIT} bytes."
    response = await client.post("/jobs", json={"kind": "k" * LIMIT})
    assert_problem(response, 413, "payload-too-large")
    assert app_and_seen[1] == []


async def _chunks(total: int, size: int = 300) -> AsyncIterator[bytes]:
    sent = 0
    while sent < total:
        n = min(size, total - sent)
        sent += n
        yield b"y" * n


async def test_chunked_body_over_the_limit_is_refused(
    client: httpx.AsyncClient, app_and_seen: tuple[FastAPI, list[int]]
) -> None:
    response = await client.post("/echo", content=_chunks(LIMIT * 3))
    assert "content-length" not in response.request.headers
    assert response.request.headers["transfer-encoding"] == "chunked"
    assert_problem(response, 413, "payload-too-large")
    assert app_and_seen[1] == []
    response = await client.post("/echo", content=_chunks(LIMIT))
    assert response.json() == {"bytes": LIMIT}


async def test_chunked_body_limit_without_problem_handlers() -> None:
    """A raw ASGI app reading the body: the middleware itself answers 413 when the error escapes."""
    read: list[bytes] = []
    calls: list[str] = []

    async def raw_app(scope: Any, receive: Any, send: Any) -> None:
        calls.append(scope["path"])
        while True:
            message = await receive()
            read.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    app = BodySizeLimitMiddleware(raw_app, max_body_bytes=LIMIT)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://gateway") as c:
        response = await c.post("/upload", content=_chunks(LIMIT + 1, size=LIMIT))
        body = assert_problem(response, 413, "payload-too-large")
        assert body["instance"] == "/upload"
        assert sum(map(len, read)) == LIMIT  # stopped at the chunk that crossed the limit
        response = await c.post("/upload", content=b"z" * 10)
        assert response.text == "ok"
        calls.clear()
        response = await c.post("/upload", content=b"z" * (LIMIT + 1))  # Content-Length: refused, app never runs
        assert_problem(response, 413, "payload-too-large")
        assert calls == []


async def test_streaming_responses_pass_through(client: httpx.AsyncClient) -> None:
    async with client.stream("GET", "/stream") as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        assert [line async for line in response.aiter_lines() if line] == ["data: 0", "data: 1", "data: 2"]


def test_limit_must_not_be_negative() -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None: ...

    with pytest.raises(ValueError, match="negative"):
        BodySizeLimitMiddleware(app, max_body_bytes=-1)
    assert BodyTooLargeError(5).status_code == 413
