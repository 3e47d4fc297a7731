"""What a command's or query's text and number fields may hold: one rule, decided where a request enters.

Everything a service is asked ends up in an event or a PostgreSQL parameter, and PostgreSQL refuses some of
what JSON carries: the NUL character (``\\u0000``, in ``text`` and in ``jsonb``), lone surrogates (not
UTF-8) and integers beyond 64 bits. A value refused there would fail a query (500) or, worse, be appended and
then dead-letter the projection that tries to store it. So requests are refused when decoded instead
(``invalid_request``), with these ``msgspec.Meta`` constraints on the command and query structs:

==================  ==========================================================================================
type                holds
==================  ==========================================================================================
:data:`Line`        one line of text, at most :data:`MAX_LINE` (200) characters: no control character
                    (C0 ``\\x00``–``\\x1f``, DEL ``\\x7f``), no lone surrogate
:data:`Key`         a :data:`Line` of at least one character (identifiers, idempotency keys, requesters)
:data:`SearchText`  a :data:`Line` of at most 100 characters (a search box)
:data:`Cursor`      a :data:`Line` of at most 500 characters (an opaque page cursor)
:data:`Text`        free text, at most :data:`MAX_TEXT` (10,000) characters: tab, line feed and carriage
                    return allowed, no other control character, no lone surrogate
:data:`Int64`       an integer PostgreSQL's ``bigint`` holds (−2^63 … 2^63 − 1)
:data:`Int32`       an integer PostgreSQL's ``integer`` holds (−2^31 … 2^31 − 1)
:data:`Count`       an integer 0 … 2^31 − 1 (offsets, page numbers)
==================  ==========================================================================================

A JSON object of free-form parameters (a job's ``parameters``) is checked by :func:`check_json`: every key
and string a :data:`Text`, nested at most :data:`MAX_DEPTH` deep. The HTTP gateway applies the same rule to
its request models (``skillstream_gateway.fields``), so a browser gets a 422 naming the field, and a client
that bypasses it gets ``invalid_request`` here.
"""

from __future__ import annotations

from typing import Annotated, Any, Final

import msgspec

MAX_LINE: Final = 200
"""Most characters of a :data:`Line`."""
MAX_TEXT: Final = 10_000
"""Most characters of a :data:`Text`."""
MAX_SEARCH: Final = 100
"""Most characters of a :data:`SearchText`."""
MAX_CURSOR: Final = 500
"""Most characters of a :data:`Cursor`."""
MAX_DEPTH: Final = 16
"""Deepest nesting of arrays and objects :func:`check_json` accepts."""
INT64_MIN: Final = -(2**63)
INT64_MAX: Final = 2**63 - 1
INT32_MAX: Final = 2**31 - 1

LINE_PATTERN: Final = r"^[^\x00-\x1f\x7f\ud800-\udfff]*$(?!\n)"
"""A line: no C0 control character, no DEL, no lone surrogate. (``$(?!\\n)``: Python's ``$`` would also
match before a final line feed.)"""
TEXT_PATTERN: Final = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]*$"
"""Free text: like :data:`LINE_PATTERN` but tab, line feed and carriage return are allowed."""

Line = Annotated[str, msgspec.Meta(max_length=MAX_LINE, pattern=LINE_PATTERN)]
Key = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_LINE, pattern=LINE_PATTERN)]
SearchText = Annotated[str, msgspec.Meta(max_length=MAX_SEARCH, pattern=LINE_PATTERN)]
Cursor = Annotated[str, msgspec.Meta(max_length=MAX_CURSOR, pattern=LINE_PATTERN)]
Text = Annotated[str, msgspec.Meta(max_length=MAX_TEXT, pattern=TEXT_PATTERN)]
Int64 = Annotated[int, msgspec.Meta(ge=INT64_MIN, le=INT64_MAX)]
Int32 = Annotated[int, msgspec.Meta(ge=-INT32_MAX - 1, le=INT32_MAX)]
Count = Annotated[int, msgspec.Meta(ge=0, le=INT32_MAX)]


def text_problem(value: str, *, line: bool = False, max_length: int = MAX_TEXT) -> str | None:
    """Why ``value`` is not a :data:`Text` (or, with ``line``, a :data:`Line` of ``max_length``): a short
    reason naming the first offending character's position, or None when it is one."""
    if len(value) > max_length:
        return f"longer than {max_length} characters"
    allowed = "" if line else "\t\n\r"
    for i, ch in enumerate(value):
        code = ord(ch)
        if (code < 0x20 and ch not in allowed) or code == 0x7F:
            return f"control character U+{code:04X} at position {i}"
        if 0xD800 <= code <= 0xDFFF:
            return f"lone surrogate U+{code:04X} at position {i}"
    return None


def check_json(value: Any, where: str = "", _depth: int = 0) -> None:
    """Check a free-form JSON value (object keys and strings are :data:`Text`; integers fit :data:`Int64`;
    nesting at most :data:`MAX_DEPTH`).

    Raises:
        ValueError: the first value that breaks the rule, with its location (``where``, then keys and
            indexes joined by dots).
    """
    if _depth > MAX_DEPTH:
        raise ValueError(f"{where or 'value'}: nested deeper than {MAX_DEPTH}")
    if isinstance(value, str):
        reason = text_problem(value)
        if reason is not None:
            raise ValueError(f"{where or 'value'}: {reason}")
    elif isinstance(value, bool) or value is None or isinstance(value, float):
        return
    elif isinstance(value, int):
        if not INT64_MIN <= value <= INT64_MAX:
            raise ValueError(f"{where or 'value'}: integer out of the 64-bit range")
    elif isinstance(value, dict):
        for key, item in value.items():
            path = f"{where}.{key}" if where else str(key)
            if isinstance(key, str) and (reason := text_problem(key, max_length=MAX_LINE)) is not None:
                raise ValueError(f"{where or 'key'}: key {key[:40]!r} {reason}")
            check_json(item, path, _depth + 1)
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            check_json(item, f"{where}.{i}" if where else str(i), _depth + 1)


__all__ = [
    "INT32_MAX",
    "INT64_MAX",
    "INT64_MIN",
    "LINE_PATTERN",
    "MAX_CURSOR",
    "MAX_DEPTH",
    "MAX_LINE",
    "MAX_SEARCH",
    "MAX_TEXT",
    "TEXT_PATTERN",
    "Count",
    "Cursor",
    "Int32",
    "Int64",
    "Key",
    "Line",
    "SearchText",
    "Text",
    "check_json",
    "text_problem",
]
