"""Reply helpers shared by the gateway's routers: msgspec bodies encoded once, OpenAPI ``$ref`` stubs."""

from typing import Any

import msgspec
from fastapi import Response


def json_response(body: Any, status: int = 200) -> Response:
    """``body`` (a msgspec Struct, or plain JSON data) as an ``application/json`` response."""
    return Response(content=msgspec.json.encode(body), status_code=status, media_type="application/json")


def schema_ref(name: str) -> dict[str, Any]:
    """An OpenAPI ``responses`` entry whose JSON body is the component schema ``name``."""
    return {"content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}}}


__all__ = ["json_response", "schema_ref"]
