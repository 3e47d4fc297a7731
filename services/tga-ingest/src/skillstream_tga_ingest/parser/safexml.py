"""Safe XML loading for TGA release files: size limit, BOM, no DTDs, no entities, no network.

Rule: bad XML is refused safely with a clear reason and loses nothing else; DESIGN.md §Security ("XML is parsed with
entity resolution and network access off"). TGA-FORMAT.md §1.5 notes live downloads may start with a UTF-8 BOM.

An AuthorIT file never needs a DOCTYPE, so a document type (or any ``<!…``) declaration in the prolog — the only
place one can stand — is refused before libxml2 sees it: that closes entity-expansion ("billion laughs") and
external-entity (XXE, ``file://``, ``http://``) attacks outright instead of relying on libxml2's limits. The
lxml parser is configured defensively as well (``resolve_entities=False``, ``no_network=True``,
``load_dtd=False``, ``huge_tree=False``), and a DOCTYPE that reached it anyway is refused after parsing.

A tree costs libxml2 about 150 bytes per element, so a small file of many tiny elements (20 MB of ``<a/>`` is five
million of them) would cost 35 times its size. Before building a tree, a streaming pass (a parser target that
keeps nothing but counts) reads the root's name and the number of elements: a root other than
``{http://www.authorit.com/xml/authorit}AuthorIT`` is refused as ``NOT_AUTHORIT`` and more than
:data:`MAX_ELEMENTS` elements as ``TOO_LARGE``, so a hostile file costs about its own size. A document the
streaming pass finds not well-formed goes on to the tree parser, whose ``MALFORMED`` message (with line and
column) is the one reported, as before.

Errors: :class:`~skillstream_tga_ingest.parser.model.ParseError` with ``TOO_LARGE``, ``UNSAFE``, ``MALFORMED`` or
``NOT_AUTHORIT``.
"""

from __future__ import annotations

import codecs
import re

from lxml import etree

from skillstream_contracts.tga import ParseFailure
from skillstream_tga_ingest.parser.model import ParseError

DEFAULT_MAX_BYTES = 20_000_000
"""The default size limit in bytes (BOM included). The largest real file (RII30920) is 340 kB."""

AUTHORIT_ROOT = "{http://www.authorit.com/xml/authorit}AuthorIT"
"""The root element of every AuthorIT release file (namespace and local name)."""

MAX_ELEMENTS = 200_000
"""The most elements a document may hold: about 30 times the largest real file (RII30920, 6,875 elements)."""

_UTF8_BOM = codecs.BOM_UTF8
_CHUNK = 1 << 20
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


class _Census:
    """Parser target that keeps only the root's name and the number of elements (no tree)."""

    def __init__(self) -> None:
        self.root: str | None = None
        self.elements = 0

    def start(self, tag: str, attrib: object) -> None:
        if self.root is None:
            self.root = tag
        self.elements += 1

    def close(self) -> None:
        return None


def _census(data: bytes) -> _Census | None:
    """Stream ``data`` through a target parser; the census, or None when it is not well-formed (the tree
    parser then says where)."""
    census = _Census()
    # the stubs' target protocol lists every callback; lxml calls only those the target defines (start, close)
    parser = etree.XMLParser(  # type: ignore[call-overload]
        target=census, resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
    )
    try:
        for start in range(0, len(data), _CHUNK):
            parser.feed(data[start : start + _CHUNK])
        parser.close()
    except etree.XMLSyntaxError:
        return None
    return census


def _check_structure(data: bytes, root_tag: str | None) -> None:
    census = _census(data)
    if census is None:
        return
    if root_tag is not None and census.root != root_tag:
        raise ParseError(ParseFailure.NOT_AUTHORIT, f"the root element is <{census.root}>, not an AuthorIT document")
    if census.elements > MAX_ELEMENTS:
        raise ParseError(
            ParseFailure.TOO_LARGE,
            f"the document holds {census.elements:,} elements, over the parser's limit of {MAX_ELEMENTS:,}",
        )


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


def parse_xml(
    data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES, root_tag: str | None = AUTHORIT_ROOT
) -> etree._Element:
    """Parse untrusted XML bytes into an lxml root element.

    Order: size (``len(data) > max_bytes`` → ``TOO_LARGE``, before any parsing), UTF-8 BOM stripped,
    DOCTYPE/ENTITY declarations → ``UNSAFE`` (``"line 3: DOCTYPE declarations are refused …"``), then a
    streaming pass that builds no tree: a well-formed document whose root is not ``root_tag`` (None: any root)
    → ``NOT_AUTHORIT`` (``"the root element is <r>, not an AuthorIT document"``), one of more than
    :data:`MAX_ELEMENTS` elements → ``TOO_LARGE``; then the tree: not well-formed or truncated → ``MALFORMED``
    with libxml2's ``"line L, column C: message"``. Peak memory: about the tree of an accepted document, a
    little over ``len(data)`` for a refused one.

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
    _check_structure(data, root_tag)
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


__all__ = ["AUTHORIT_ROOT", "DEFAULT_MAX_BYTES", "MAX_ELEMENTS", "parse_xml"]
