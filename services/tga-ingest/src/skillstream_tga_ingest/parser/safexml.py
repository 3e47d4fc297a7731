"""Safe XML loading for TGA release files: size limit, BOM, no DTDs, no entities, no network.

Rule: bad XML is refused safely with a clear reason and loses nothing else; DESIGN.md §Security ("XML is parsed with
entity resolution and network access off"). TGA-FORMAT.md §1.5 notes live downloads may start with a UTF-8 BOM.

An AuthorIT file never needs a DOCTYPE, so a document type (or any ``<!…``) declaration in the prolog — the only
place one can stand — is refused before libxml2 sees it: that closes entity-expansion ("billion laughs") and
external-entity (XXE, ``file://``, ``http://``) attacks outright instead of relying on libxml2's limits. The
lxml parser is configured defensively as well (``resolve_entities=False``, ``no_network=True``,
``load_dtd=False``, ``huge_tree=False``), and a DOCTYPE that reached it anyway is refused after parsing.

Errors: :class:`~skillstream_tga_ingest.parser.model.ParseError` with ``TOO_LARGE``, ``UNSAFE`` or ``MALFORMED``.
"""

from __future__ import annotations

import codecs
import re

from lxml import etree

from skillstream_contracts.tga import ParseFailure
from skillstream_tga_ingest.parser.model import ParseError

DEFAULT_MAX_BYTES = 20_000_000
"""The default size limit in bytes (BOM included). The largest real file (RII30920) is 340 kB."""

_UTF8_BOM = codecs.BOM_UTF8
_POSITION_SUFFIX = re.compile(r",\s*line \d+, column \d+\s*$")


def _refused(line: int, what: str) -> ParseError:
    return ParseError(
        ParseFailure.UNSAFE,
        f"line {line}: {what} declarations are refused (possible entity-expansion or external-entity attack)",
    )


def _prolog_declaration(data: bytes) -> tuple[int, str] | None:
    """``(offset, keyword)`` of a ``<!…`` declaration in the prolog (before the root element), else None.

    A DOCTYPE can only stand in the prolog, and entity declarations only inside a DOCTYPE, so scanning the
    prolog is enough (and cheap): a ``<!ENTITY`` later in the document is not well-formed and libxml2 rejects
    it without expanding anything. PIs (``<?xml-stylesheet …?>``) and comments are skipped.
    """
    pos = 0
    while True:
        lt = data.find(b"<", pos)
        if lt < 0:
            return None
        if data.startswith(b"<?", lt):
            end = data.find(b"?>", lt + 2)
        elif data.startswith(b"<!--", lt):
            end = data.find(b"-->", lt + 4)
        elif data.startswith(b"<!", lt):
            keyword = data[lt + 2 : lt + 20].split(maxsplit=1)
            return lt, (keyword[0].decode("latin-1") if keyword else "markup")
        else:
            return None  # the root element
        if end < 0:
            return None
        pos = end + 2


def _scan_declarations(data: bytes) -> None:
    """Refuse a ``<!DOCTYPE``/``<!ENTITY`` declaration in the prolog; a UTF-16/32 document (known by its BOM
    or NUL bytes in the first four) is scanned after decoding."""
    candidates = [data]
    head = data[:4]
    if b"\x00" in head or head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        for encoding in ("utf-32", "utf-16", "utf-16-le", "utf-16-be"):
            try:
                candidates.append(data.decode(encoding).encode("utf-8"))
            except UnicodeError:
                continue
    for candidate in candidates:
        found = _prolog_declaration(candidate)
        if found is not None:
            offset, keyword = found
            raise _refused(candidate.count(b"\n", 0, offset) + 1, keyword)


def _parser() -> etree.XMLParser:
    # A parser per call: lxml parsers must not be shared between threads (the service parses in a thread).
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )


def parse_xml(data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> etree._Element:
    """Parse untrusted XML bytes into an lxml root element.

    Order: size (``len(data) > max_bytes`` → ``TOO_LARGE``, before any parsing), UTF-8 BOM stripped,
    DOCTYPE/ENTITY declarations → ``UNSAFE`` (``"line 3: DOCTYPE declarations are refused …"``), not
    well-formed or truncated → ``MALFORMED`` with libxml2's ``"line L, column C: message"``.

    Raises:
        ParseError: as above.
    """
    if len(data) > max_bytes:
        raise ParseError(
            ParseFailure.TOO_LARGE, f"the file is {len(data):,} bytes, over the parser's limit of {max_bytes:,}"
        )
    if data.startswith(_UTF8_BOM):
        data = data[len(_UTF8_BOM) :]
    _scan_declarations(data)
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as e:
        line, column = e.position
        message = _POSITION_SUFFIX.sub("", e.msg or "not well-formed XML")
        raise ParseError(ParseFailure.MALFORMED, f"line {line}, column {column}: {message}") from e
    if root is None:  # lxml returns None only in recover mode; kept as a guard for the type checker
        raise ParseError(ParseFailure.MALFORMED, "line 1, column 1: the document has no root element")
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise _refused(1, "DOCTYPE")
    return root


__all__ = ["DEFAULT_MAX_BYTES", "parse_xml"]
