"""The permissions of the gateway's operations in its OpenAPI document (for ``Authenticator.install``).

Each protected operation declares its permission as the scope of the ``bearer`` and ``session-cookie`` security
schemes; :func:`document_permissions` copies it to ``x-permission``, adds the 401/403 responses and lists the
mistakes (a route under the protected prefix without a permission, several permissions, a stray
``x-permission``).
"""

from __future__ import annotations

from typing import Any

from skillstream_gateway.problems import PROBLEM_MEDIA_TYPE

BEARER_SCHEME = "bearer"
COOKIE_SCHEME = "session-cookie"


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` saying that each of ``statuses`` answers a problem document."""
    return {s: {"description": "problem document", "content": {PROBLEM_MEDIA_TYPE: {}}} for s in statuses}


def document_permissions(schema: dict[str, Any], protected_prefix: str) -> list[str]:
    """Set ``x-permission`` (and the 401/403 responses) from the security scopes of each operation; return the
    mistakes found, as text."""
    mistakes = []
    for path, item in schema.get("paths", {}).items():
        for method, operation in item.items():
            if not isinstance(operation, dict) or method not in _HTTP_METHODS:
                continue
            where = f"{method.upper()} {path}"
            scopes = {
                scope
                for requirement in operation.get("security", [])
                for scheme, names in requirement.items()
                if scheme in (BEARER_SCHEME, COOKIE_SCHEME)
                for scope in names
            }
            declared = operation.get("x-permission")
            if len(scopes) > 1:
                mistakes.append(f"{where} requires several permissions {sorted(scopes)}")
            elif scopes:
                (permission,) = scopes
                if declared is not None and declared != permission:
                    mistakes.append(f"{where} has x-permission {declared!r} but requires {permission!r}")
                operation["x-permission"] = permission
                responses = operation.setdefault("responses", {})
                for status, what in (("401", "no, bad or expired token"), ("403", f"lacks {permission} (or CSRF)")):
                    responses.setdefault(status, {"description": what, "content": {PROBLEM_MEDIA_TYPE: {}}})
            elif declared is not None:
                mistakes.append(f"{where} has x-permission {declared!r} without Depends(auth.require(...))")
            elif path == protected_prefix or path.startswith(protected_prefix.rstrip("/") + "/"):
                mistakes.append(f"{where} has no Depends(auth.require(...))")
    return mistakes


_HTTP_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})


__all__ = ["BEARER_SCHEME", "COOKIE_SCHEME", "document_permissions", "problem_responses"]
