"""The AuthorIT document model of TGA release files: Books, their variables, and their topics in reading order.

Source: TGA-FORMAT.md §2 (verified on the real files in ``real-data/tga``). The root is
``{http://www.authorit.com/xml/authorit}AuthorIT``; ``/AuthorIT/Objects`` holds ``Book``, ``Topic``, ``Style``…
as siblings. A real Book has ``Object/IsTemplate=false``, ``VariableAssignments`` (``Code``, ``Title``,
``ReleaseNumber``, ``UsageRecommendation``, ``TpcmsObjectType``, ``AqfAlignment``…) and ``ContentsNodes/Node/@id``
giving its topics **in reading order** (topics in the file are not in reading order). A topic is named by
``Object/Description`` (``Headings/PrintHeading`` when that is empty or a ``<SYS_…>`` placeholder); its ``Text``
holds ``p`` (``@id`` = a Style object), ``cs`` character spans and ``table/tr/td`` (``@rowspan``, ``@colspan``,
``tr/@header``). ``nbs`` is a non-breaking space, ``nbd`` a non-breaking hyphen.

The model is built in one pass over ``Objects`` (topics in a dict by id), so cost grows with the file, not with
files × topics. Repeated content is dropped (WRWSL201A states its Evidence Guide and Range Statement twice).

Errors: :class:`~skillstream_tga_ingest.parser.model.ParseError` ``NOT_AUTHORIT``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping

import msgspec
from lxml import etree

from skillstream_contracts.tga import ParseFailure
from skillstream_tga_ingest.parser.model import ParseError

NS = "{http://www.authorit.com/xml/authorit}"
_ROOT = f"{NS}AuthorIT"
_P, _CS, _TABLE, _TR, _TD = f"{NS}p", f"{NS}cs", f"{NS}table", f"{NS}tr", f"{NS}td"
_NBS, _NBD = f"{NS}nbs", f"{NS}nbd"
_OBJECT, _TOPIC, _BOOK, _STYLE = f"{NS}Object", f"{NS}Topic", f"{NS}Book", f"{NS}Style"
_HEADER_FIELDS: dict[object, str] = {f"{NS}{name}": name for name in ("ID", "Description", "IsTemplate")}
_HYPHEN_MARK = "\u2011"  # a non-breaking hyphen: joins its neighbours, so the whitespace around it goes
_HYPHEN_GAP = re.compile(r"\s*\u2011\s*")
_PUNCTUATION = " \t\r\n\u00a0:;,./-–—()"

# Style object names when a file lacks the Style object (ids as in BSBCMM412, TGA-FORMAT.md §2; 31016 as the
# Style objects of CHCCDE024, CPCCBC4002 and FSKNUM040 name it, used without one by CPCCBC4047A and CPCCSI2005A).
_DEFAULT_STYLES = {
    "4": "Body Text",
    "7": "Italic",
    "13": "List Bullet",
    "14": "List Bullet 2",
    "24": "Special Bold",
    "31016": "List Bullet 3",
}
_HEADING_PARAGRAPH_STYLES = frozenset({"Body Text Bold", "Table Heading"})

UNIT_TYPES = frozenset({"UnitOfCompetency", "StreamlineUnit"})
"""``TpcmsObjectType`` of a unit of competency Book: pre-2012 and 2012 "Streamlined"."""
ASSESSMENT_REQUIREMENTS_TYPE = "StreamlineAssessmentRequirement"
QUALIFICATION_TYPE = "StreamlineQualification"


class Paragraph(msgspec.Struct, frozen=True):
    """One ``p``: whitespace-collapsed ``text``, its Style name (``"List Bullet 2"``), ``heading`` when the
    paragraph is a sub-heading (a heading paragraph style, or all its words in a bold ``cs`` such as id 24
    "Special Bold"), and ``after_gap`` when an empty ``p`` comes right before it in the topic's ``Text`` (the
    end of a list written without bullet styles, WRWSL201A)."""

    text: str
    style: str
    heading: bool = False
    after_gap: bool = False


class Cell(msgspec.Struct, frozen=True):
    """One ``td``; ``paragraphs`` excludes empty ones (nested tables are read in document order)."""

    paragraphs: tuple[Paragraph, ...]
    rowspan: int = 1
    colspan: int = 1


class Row(msgspec.Struct, frozen=True):
    """One ``tr``; ``header`` is ``tr/@header="true"``."""

    cells: tuple[Cell, ...]
    header: bool = False


class Table(msgspec.Struct, frozen=True):
    rows: tuple[Row, ...]


Block = Paragraph | Table


class Topic:
    """A topic: ``key`` is the name lower-cased without non-alphanumerics (``"Pre-requisite Unit "`` →
    ``"prerequisiteunit"``) so spelling variants of the real files meet. ``blocks`` is read from the ``Text``
    on first use, so topics nobody asks for (Modification History, Links) cost nothing."""

    __slots__ = ("_blocks", "_reader", "_text", "id", "key", "name")

    def __init__(self, *, id: str, name: str, text: etree._Element | None, reader: _TextReader) -> None:
        self.id = id
        self.name = name
        self.key = topic_key(name)
        self._text = text
        self._reader = reader
        self._blocks: tuple[Block, ...] | None = None

    @property
    def blocks(self) -> tuple[Block, ...]:
        if self._blocks is None:
            text = self._text
            self._blocks = () if text is None else _drop_repeats(tuple(self._reader.blocks(text)))
        return self._blocks

    def __repr__(self) -> str:
        return f"Topic(id={self.id!r}, name={self.name!r})"


class Book(msgspec.Struct, frozen=True):
    """A real (non-template) Book with its variables and its topics in ``ContentsNodes`` order."""

    id: str
    name: str
    variables: Mapping[str, str]
    topics: tuple[Topic, ...]

    @property
    def object_type(self) -> str:
        """The ``TpcmsObjectType`` variable (``""`` when absent)."""
        return self.variables.get("TpcmsObjectType", "")

    def section(self, *keys: str) -> tuple[Block, ...] | None:
        """The blocks of the topics whose :attr:`Topic.key` is one of ``keys``, in reading order, a topic that
        repeats an earlier one dropped; None when the Book has no such topic."""
        found = [topic.blocks for topic in self.topics if topic.key in keys]
        if not found:
            return None
        merged: list[Block] = []
        seen: list[tuple[Block, ...]] = []
        for blocks in found:
            if blocks not in seen:
                seen.append(blocks)
                merged.extend(blocks)
        return tuple(merged)


class Document(msgspec.Struct, frozen=True):
    """The real Books of one AuthorIT file, in file order."""

    books: tuple[Book, ...]

    def books_of_type(self, *object_types: str) -> list[Book]:
        return [book for book in self.books if book.object_type in object_types]


def topic_key(name: str) -> str:
    """``name`` lower-cased with everything but letters and digits removed (see :class:`Topic`)."""
    return "".join(ch for ch in name.lower() if ch.isalnum())


def load_document(root: etree._Element) -> Document:
    """Read the real Books of a parsed AuthorIT file and their topics.

    Raises:
        ParseError: ``NOT_AUTHORIT`` when the root is not ``{…authorit}AuthorIT``, there is no ``Objects``, or
            no Book with ``IsTemplate`` other than ``true``.
    """
    if root.tag != _ROOT:
        name = root.tag if isinstance(root.tag, str) else "?"
        raise ParseError(ParseFailure.NOT_AUTHORIT, f"the root element is <{name}>, not an AuthorIT document")
    objects = _child(root, f"{NS}Objects")
    if objects is None:
        raise ParseError(ParseFailure.NOT_AUTHORIT, "the AuthorIT document has no <Objects>")
    topics: dict[str, tuple[etree._Element, dict[str, str]]] = {}
    books: list[etree._Element] = []
    styles = dict(_DEFAULT_STYLES)
    for obj in objects:
        tag = obj.tag
        if tag == _TOPIC:
            header = _header(obj)
            topics.setdefault(header.get("ID", "").strip(), (obj, header))
        elif tag == _BOOK:
            if _header(obj).get("IsTemplate", "").strip().lower() != "true":
                books.append(obj)
        elif tag == _STYLE:
            header = _header(obj)
            style_id = header.get("ID", "").strip()
            if style_id:
                styles[style_id] = header.get("Description", "").strip() or style_id
    if not books:
        raise ParseError(ParseFailure.NOT_AUTHORIT, "the AuthorIT document has no real (non-template) Book")
    reader = _TextReader(styles)
    return Document(books=tuple(_book(book, topics, reader) for book in books))


def _child(parent: etree._Element, tag: str) -> etree._Element | None:
    # A plain scan: find() goes through ElementPath and iterchildren(tag) builds a matcher per call, both
    # several times slower for these small lookups (the wanted child is usually among the first).
    for child in parent:
        if child.tag == tag:
            return child
    return None


def _header(obj: etree._Element) -> dict[str, str]:
    """``ID``, ``Description`` and ``IsTemplate`` of an object's ``Object`` header, in one pass."""
    found: dict[str, str] = {}
    header = _child(obj, _OBJECT)
    if header is not None:
        for child in header:  # the wanted fields come early (Description 4th, ID 7th, IsTemplate 11th)
            field = _HEADER_FIELDS.get(child.tag)
            if field is not None and field not in found:
                found[field] = child.text or ""
                if len(found) == len(_HEADER_FIELDS):
                    break
    return found


def _book(
    book: etree._Element, topics: Mapping[str, tuple[etree._Element, dict[str, str]]], reader: _TextReader
) -> Book:
    variables: dict[str, str] = {}
    assignments = _child(book, f"{NS}VariableAssignments")
    for assignment in () if assignments is None else assignments:
        name_element, value_element = _child(assignment, f"{NS}Name"), _child(assignment, f"{NS}Value")
        name = "" if name_element is None else (name_element.text or "").strip()
        if name and name not in variables:
            variables[name] = " ".join(("" if value_element is None else value_element.text or "").split())
    ordered: list[Topic] = []
    contents = _child(book, f"{NS}ContentsNodes")
    if contents is not None:
        for node in contents.iter(f"{NS}Node"):  # depth-first = reading order, nested nodes included
            found = topics.get(node.get("id", ""))
            if found is not None:  # nodes of a package Book point at Books, not topics
                ordered.append(_topic(*found, reader))
    header = _header(book)
    return Book(
        id=header.get("ID", "").strip(),
        name=" ".join(header.get("Description", "").split()),
        variables=variables,
        topics=tuple(ordered),
    )


def _topic(topic: etree._Element, header: dict[str, str], reader: _TextReader) -> Topic:
    name = " ".join(header.get("Description", "").split())
    if not name or name.startswith("<"):
        headings = _child(topic, f"{NS}Headings")
        heading = None if headings is None else _child(headings, f"{NS}PrintHeading")
        name = " ".join(("" if heading is None else heading.text or "").split()) or name
    return Topic(id=header.get("ID", "").strip(), name=name, text=_child(topic, f"{NS}Text"), reader=reader)


def _drop_repeats(blocks: tuple[Block, ...]) -> tuple[Block, ...]:
    """One copy of a body that is the same run of blocks stated k times over (WRWSL201A), whether or not an
    empty paragraph separates the copies."""
    n = len(blocks)
    if not any(isinstance(b, Paragraph) and b.after_gap for b in blocks):
        keys: tuple[object, ...] = blocks
    else:
        keys = tuple(msgspec.structs.replace(b, after_gap=False) if isinstance(b, Paragraph) else b for b in blocks)
    for period in range(1, n // 2 + 1):
        if n % period == 0 and keys[:period] * (n // period) == keys:
            return blocks[:period]
    return blocks


def _span(value: str | None) -> int:
    return int(value) if value is not None and value.isdigit() and 0 < len(value) < 5 else 1


class _TextReader:
    """Turns a topic ``Text`` into blocks, resolving Style ids to names."""

    __slots__ = ("_styles",)

    def __init__(self, styles: Mapping[str, str]) -> None:
        self._styles = styles

    def blocks(self, parent: etree._Element) -> Iterator[Block]:
        gap = False
        for child in parent:
            tag = child.tag
            if tag == _P:
                paragraph = self.paragraph(child)
                if paragraph is None:
                    gap = True
                    continue
                yield msgspec.structs.replace(paragraph, after_gap=True) if gap else paragraph
            elif tag == _TABLE:
                yield self.table(child)
            elif isinstance(tag, str):  # an unexpected wrapper: keep its paragraphs and tables
                yield from self.blocks(child)
            else:
                continue  # comments and processing instructions
            gap = False

    def table(self, table: etree._Element) -> Table:
        rows = []
        for tr in table:
            if tr.tag != _TR:
                continue
            cells = tuple(
                Cell(
                    paragraphs=tuple(self._cell_paragraphs(td)),
                    rowspan=_span(td.get("rowspan")),
                    colspan=_span(td.get("colspan")),
                )
                for td in tr
                if td.tag == _TD
            )
            rows.append(Row(cells=cells, header=tr.get("header") == "true"))
        return Table(rows=tuple(rows))

    def _cell_paragraphs(self, parent: etree._Element) -> Iterator[Paragraph]:
        """Non-empty paragraphs under ``parent`` in document order (nested tables included)."""
        for child in parent:
            if child.tag == _P:
                paragraph = self.paragraph(child)
                if paragraph is not None:
                    yield paragraph
            elif isinstance(child.tag, str):
                yield from self._cell_paragraphs(child)

    def paragraph(self, p: etree._Element) -> Paragraph | None:
        if len(p) == 0:  # most paragraphs: plain text, no spans
            text = " ".join((p.text or "").split())
            if not text:
                return None
            style_id = p.get("id", "")
            style = self._styles.get(style_id, style_id)
            return Paragraph(text, style, style.startswith("Heading") or style in _HEADING_PARAGRAPH_STYLES)
        inside: list[str] = []
        outside: list[str] = []
        self._collect(p, inside, outside, in_bold=False)
        text = "".join(inside)
        if _HYPHEN_MARK in text:
            text = _HYPHEN_GAP.sub("-", text)
        text = " ".join(text.split())
        if not text:
            return None
        style_id = p.get("id", "")
        style = self._styles.get(style_id, style_id)
        heading = style.startswith("Heading") or style in _HEADING_PARAGRAPH_STYLES
        if not heading:
            # A sub-heading is a paragraph whose words are all in bold spans ("Special Bold", cs id 24).
            heading = not "".join(outside).strip(_PUNCTUATION) and len(text.strip(_PUNCTUATION)) > 0
        return Paragraph(text=text, style=style, heading=heading)

    def _collect(self, element: etree._Element, text: list[str], outside: list[str], *, in_bold: bool) -> None:
        """Append the text of ``element`` to ``text``, and the part not inside a bold ``cs`` to ``outside``."""
        if element.text:
            text.append(element.text)
            if not in_bold:
                outside.append(element.text)
        for child in element:
            tag = child.tag
            if tag == _NBS:
                text.append(" ")
            elif tag == _NBD:
                text.append(_HYPHEN_MARK)
            elif tag == _CS:
                bold = in_bold or "Bold" in self._styles.get(child.get("id", ""), "")
                self._collect(child, text, outside, in_bold=bold)
            elif isinstance(tag, str):
                self._collect(child, text, outside, in_bold=in_bold)
            if child.tail:
                text.append(child.tail)
                if not in_bold:
                    outside.append(child.tail)


__all__ = [
    "ASSESSMENT_REQUIREMENTS_TYPE",
    "NS",
    "QUALIFICATION_TYPE",
    "UNIT_TYPES",
    "Block",
    "Book",
    "Cell",
    "Document",
    "Paragraph",
    "Row",
    "Table",
    "Topic",
    "load_document",
    "topic_key",
]
