"""Reply helpers shared by the gateway's routers: msgspec bodies encoded once, OpenAPI ``$ref`` stubs, and the
documentation of every problem an operation can answer.

:func:`problem_responses` gives a route its own problems (``responses={**problem_responses(404, 409)}``);
:func:`document_problems` adds, to every operation of the finished OpenAPI document, the ones every route
shares: 422 (a parameter or body fails validation), for an operation with a permission (it asks a service)
400 (the service refused the request) and 503 with ``Retry-After`` (the service or its database does not
answer), and for an operation with a body 400 (it does not parse) and 413. Each is
``application/problem+json`` with the schema ``#/components/schemas/Problem``.
"""

from __future__ import annotations

from typing import Any

import msgspec
from fastapi import Response

from skillstream_gateway.problems import PROBLEM_MEDIA_TYPE

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "RFC 9457 problem details (skillstream_gateway.problems).",
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string", "description": "urn:skillstream:problem:<slug>"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string", "description": "the request path"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"loc": {"type": "array"}, "msg": {"type": "string"}, "type": {"type": "string"}},
            },
        },
        "correlation_id": {"type": "string"},
    },
}
"""JSON Schema of a problem document (component ``Problem``)."""

_DESCRIPTIONS = {
    400: "the body does not parse, or a service refused the request (invalid_request)",
    404: "no such resource",
    409: "the resource's state does not allow it",
    413: "the request body is larger than the gateway accepts",
    422: "a parameter or the body fails validation (errors lists each field)",
    503: "a service or its database does not answer; retry after Retry-After seconds",
}
_RETRY_AFTER = {
    "Retry-After": {"description": "seconds to wait before retrying", "schema": {"type": "integer", "minimum": 1}}
}
_BODY_METHODS = frozenset({"post", "put", "patch"})
_METHODS = frozenset({"get", "post", "put", "patch", "delete"})


def json_response(body: Any, status: int = 200) -> Response:
    """``body`` (a msgspec Struct, or plain JSON data) as an ``application/json`` response."""
    return Response(content=msgspec.json.encode(body), status_code=status, media_type="application/json")


def schema_ref(name: str, description: str | None = None) -> dict[str, Any]:
    """An OpenAPI ``responses`` entry whose JSON body is the component schema ``name``."""
    entry: dict[str, Any] = {"content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}}}
    if description is not None:
        entry["description"] = description
    return entry


def problem_response(status: int, description: str | None = None) -> dict[str, Any]:
    """The OpenAPI ``responses`` entry of a problem document answered with ``status``."""
    entry: dict[str, Any] = {
        "description": description or _DESCRIPTIONS.get(status, "problem document"),
        "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }
    if status == 503:
        entry["headers"] = dict(_RETRY_AFTER)
    return entry


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses`` entries for the problems ``statuses`` (see :func:`problem_response`)."""
    return {status: problem_response(status) for status in statuses}


def document_problems(schema: dict[str, Any]) -> dict[str, Any]:
    """Add the shared problems (module docstring) to every operation of ``schema`` and the ``Problem``
    component; FastAPI's own 422 entry (``application/json``, ``HTTPValidationError``) is replaced, since the
    gateway answers a problem document. Returns ``schema``, changed in place."""
    schema.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    for item in schema.get("paths", {}).values():
        for method, operation in item.items():
            if method not in _METHODS:
                continue
            responses = operation.setdefault("responses", {})
            responses["422"] = problem_response(422)
            # an operation with a permission asks a service: refused (400) or unanswered (503); a body may
            # not parse (400) or be too large (413)
            statuses = [400, 503] if "x-permission" in operation else []
            statuses += [400, 413] if method in _BODY_METHODS else []
            for status in statuses:
                responses.setdefault(str(status), problem_response(status))
            for entry in responses.values():
                _problem_content(entry)
    return schema


def _problem_content(entry: dict[str, Any]) -> None:
    """A problem entry declared as ``{PROBLEM_MEDIA_TYPE: {}}`` gets the ``Problem`` schema."""
    content = entry.get("content", {})
    if PROBLEM_MEDIA_TYPE in content and not content[PROBLEM_MEDIA_TYPE].get("schema"):
        content[PROBLEM_MEDIA_TYPE]["schema"] = {"$ref": "#/components/schemas/Problem"}


__all__ = [
    "PROBLEM_SCHEMA",
    "document_problems",
    "json_response",
    "problem_response",
    "problem_responses",
    "schema_ref",
]
