"""The text and number types of the gateway's request models and parameters: the contracts' rule
(``skillstream_contracts.constraints``) as pydantic constraints, so a request breaking it is refused with 422
``invalid-request`` before anything is sent to a service, and the bounds show in the OpenAPI document.

=================  =============================================================================================
type               holds
=================  =============================================================================================
:data:`Line`       one line of text, at most 200 characters, no control character (C0, DEL)
:data:`Key`        a :data:`Line` of at least one character (idempotency keys, requesters, job kinds)
:data:`SearchText` a :data:`Line` of at most 100 characters
:data:`CursorText` a :data:`Line` of at most 500 characters (an opaque page cursor)
:data:`JsonObject` a JSON object whose keys and strings are free text (tab, line feed, carriage return
                   allowed; no other control character), integers within 64 bits, nested at most 16 deep
=================  =============================================================================================

Numbers: :data:`INT64_MAX` and :data:`INT32_MAX` bound every integer parameter (``Query(le=…)``), so a value
PostgreSQL could not hold is a 422, not a 500.
"""

from __future__ import annotations

from typing import Annotated, Any, Final

from pydantic import AfterValidator, StringConstraints

from skillstream_contracts.constraints import INT32_MAX, INT64_MAX, MAX_CURSOR, MAX_LINE, MAX_SEARCH, check_json

LINE_PATTERN: Final = r"^[^\x00-\x1f\x7f]*$"
"""One line: no C0 control character and no DEL (an ECMA-262 pattern; pydantic checks it with the whole
value, so a final line feed is refused too)."""

Line = Annotated[str, StringConstraints(max_length=MAX_LINE, pattern=LINE_PATTERN)]
Key = Annotated[str, StringConstraints(min_length=1, max_length=MAX_LINE, pattern=LINE_PATTERN)]
KindText = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=LINE_PATTERN)]
SearchText = Annotated[str, StringConstraints(max_length=MAX_SEARCH, pattern=LINE_PATTERN)]
CursorText = Annotated[str, StringConstraints(max_length=MAX_CURSOR, pattern=LINE_PATTERN)]


def _json_object(value: dict[str, Any]) -> dict[str, Any]:
    check_json(value)
    return value


JsonObject = Annotated[dict[str, Any], AfterValidator(_json_object)]

__all__ = [
    "INT32_MAX",
    "INT64_MAX",
    "LINE_PATTERN",
    "CursorText",
    "JsonObject",
    "Key",
    "KindText",
    "Line",
    "SearchText",
]
