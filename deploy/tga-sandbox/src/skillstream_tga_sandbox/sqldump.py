"""Read the rows of a phpMyAdmin MySQL dump (``real-data/tga/catalogue/vet_qualifications.sql.gz``).

The dump holds ``INSERT INTO `table` (`col`, …) VALUES (…), (…);`` statements. Values are single-quoted
strings with MySQL escapes (``\\'``, ``\\\\``, ``\\n``…, and ``''`` for a quote), integers, or ``NULL``.
A tokenizer walks the text so a ``;``, ``)`` or ``,`` inside a quoted description never ends a tuple.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator

from skillstream_tga_sandbox.errors import CatalogueError

SqlValue = str | int | float | None

_TOKEN = re.compile(
    r"""
      (?P<str>'(?:[^'\\]+|\\.|'')*')
    | (?P<num>-?\d+(?:\.\d+)?)
    | (?P<null>NULL)
    | (?P<punct>[(),;])
    | (?P<space>\s+)
    """,
    re.VERBOSE | re.DOTALL,
)
_INSERT = re.compile(r"INSERT\s+INTO\s+`(?P<table>[^`]+)`\s*\((?P<cols>[^)]*)\)\s*VALUES\s*", re.IGNORECASE)
# MySQL string escapes (MySQL 8.0 reference, "String Literals", table 9.1); any other \x is x.
_ESCAPES = {"0": "\0", "b": "\b", "n": "\n", "r": "\r", "t": "\t", "Z": "\x1a"}
_ESCAPE = re.compile(r"\\(.)|''", re.DOTALL)
_GENERATED = re.compile(r"^-- Generation Time: (?P<when>.+?)\s*$", re.MULTILINE)


def _unquote(literal: str) -> str:
    body = literal[1:-1]

    def replace(match: re.Match[str]) -> str:
        char = match.group(1)
        if char is None:
            return "'"
        return _ESCAPES.get(char, char)

    return _ESCAPE.sub(replace, body)


def _values(text: str, pos: int) -> Iterator[tuple[list[SqlValue], int]]:
    """Yield each ``(…)`` tuple from ``pos`` up to the statement's ``;`` and the position after it."""
    row: list[SqlValue] | None = None
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            raise CatalogueError(f"SQL dump: unexpected text at offset {pos}: {text[pos : pos + 40]!r}")
        pos = match.end()
        kind = match.lastgroup
        lexeme = match.group()
        if kind == "space":
            continue
        if kind == "punct":
            # "," separates values inside a tuple and tuples inside the statement: nothing to do.
            opening, closing, ending = lexeme == "(", lexeme == ")", lexeme == ";"
            if (opening and row is not None) or ((closing or ending) and (row is None) == closing):
                raise CatalogueError(f"SQL dump: unexpected {lexeme!r} at offset {pos - 1}")
            if opening:
                row = []
            elif closing and row is not None:
                yield row, pos
                row = None
            elif ending:
                return
            continue
        if row is None:
            raise CatalogueError(f"SQL dump: value outside a tuple at offset {match.start()}")
        if kind == "str":
            row.append(_unquote(lexeme))
        elif kind == "num":
            row.append(float(lexeme) if "." in lexeme else int(lexeme))
        else:
            row.append(None)
    raise CatalogueError("SQL dump: INSERT statement not terminated by ';'")


def insert_rows(text: str, table: str) -> Iterator[dict[str, SqlValue]]:
    """Every row INSERTed into ``table``, as ``{column: value}`` in dump order.

    Raises:
        CatalogueError: a statement is malformed or a tuple's width differs from its column list.
    """
    for statement in _INSERT.finditer(text):
        if statement.group("table") != table:
            continue
        columns = [name.strip().strip("`") for name in statement.group("cols").split(",")]
        for row, end in _values(text, statement.end()):
            if len(row) != len(columns):
                raise CatalogueError(f"SQL dump: tuple ending at offset {end} has {len(row)} values for {columns}")
            yield dict(zip(columns, row, strict=True))


def generation_time(text: str) -> dt.datetime | None:
    """The dump's ``-- Generation Time: Jul 31, 2016 at 10:10 AM`` header, read as UTC (the dump sets
    ``time_zone = "+00:00"``); None when absent or in another format."""
    match = _GENERATED.search(text)
    if match is None:
        return None
    try:
        return dt.datetime.strptime(match.group("when"), "%b %d, %Y at %I:%M %p").replace(tzinfo=dt.UTC)
    except ValueError:
        return None


__all__ = ["SqlValue", "generation_time", "insert_rows"]
