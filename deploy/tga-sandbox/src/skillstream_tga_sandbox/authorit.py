"""The few facts the sandbox reads from a real AuthorIT XML file (TGA-FORMAT.md §2).

- :func:`read_book`: the real Book (``Object/IsTemplate`` = ``false``) and its ``VariableAssignments``
  ``Code``, ``Title``, ``ReleaseNumber``, ``Currency``, ``UsageRecommendation`` and ``TpcmsObjectType``.
  A new-format unit file holds three real Books (package, unit, Assessment Requirements); the one whose
  ``TpcmsObjectType`` names the component (``StreamlineUnit``, ``UnitOfCompetency``,
  ``StreamlineQualification``) is preferred, so the title is the unit's, not "Assessment Requirements for …".
- :func:`topic_text`: the body of a named Topic (``Object/Description``), e.g. a qualification's
  Packaging Rules, which :mod:`skillstream_tga_sandbox.packaging` reads.

Files are parsed with entity resolution and network access off (DESIGN.md, Security).
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from skillstream_tga_sandbox.errors import CatalogueError

AUTHORIT_NS = "http://www.authorit.com/xml/authorit"
_NS = {"a": AUTHORIT_NS}
_COMPONENT_BOOKS = ("StreamlineUnit", "UnitOfCompetency", "StreamlineQualification")
OLD_UNIT_TYPE = "UnitOfCompetency"
"""``TpcmsObjectType`` of a pre-2012 unit (file named ``{CODE}_R{n}.xml``, not ``_Complete_``)."""


@dataclass(frozen=True, slots=True)
class BookFacts:
    """The component's Book variables; ``usage_recommendation`` as written (``current``/``superseded``)."""

    code: str
    title: str
    release_number: str | None
    currency: str | None
    usage_recommendation: str | None
    object_type: str | None


def parse_file(data: bytes, name: str) -> etree._Element:
    """Parse AuthorIT bytes safely (no entities, no network, no DTD).

    Raises:
        CatalogueError: not well-formed XML (the message names the file).
    """
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    try:
        return etree.fromstring(data, parser)
    except etree.XMLSyntaxError as e:
        raise CatalogueError(f"{name}: not well-formed XML: {e}") from e


def _variables(book: etree._Element) -> dict[str, str]:
    found: dict[str, str] = {}
    for assignment in book.iterfind("a:VariableAssignments/a:VariableAssignment", _NS):
        name = assignment.findtext("a:Name", namespaces=_NS)
        if name:
            found[name] = (assignment.findtext("a:Value", namespaces=_NS) or "").strip()
    return found


def read_book(root: etree._Element, name: str) -> BookFacts:
    """The component's real Book variables (see module docstring).

    Raises:
        CatalogueError: no non-template Book with a ``Code`` variable.
    """
    books = [
        _variables(book)
        for book in root.iterfind("a:Objects/a:Book", _NS)
        if book.findtext("a:Object/a:IsTemplate", namespaces=_NS) == "false"
    ]
    books = [variables for variables in books if variables.get("Code")]
    if not books:
        raise CatalogueError(f"{name}: no real (IsTemplate=false) Book with a Code variable")
    preferred = [variables for variables in books if variables.get("TpcmsObjectType") in _COMPONENT_BOOKS]
    chosen = (preferred or books)[0]
    return BookFacts(
        code=chosen["Code"],
        title=chosen.get("Title", ""),
        release_number=chosen.get("ReleaseNumber") or None,
        currency=chosen.get("Currency") or None,
        usage_recommendation=chosen.get("UsageRecommendation") or None,
        object_type=chosen.get("TpcmsObjectType") or None,
    )


def topic_text(root: etree._Element, description: str) -> etree._Element | None:
    """The ``Text`` body of the first Topic whose ``Object/Description`` is ``description`` (the section
    name, e.g. "Packaging Rules"); None when the file has no such topic or it has no body."""
    for topic in root.iterfind("a:Objects/a:Topic", _NS):
        if (topic.findtext("a:Object/a:Description", namespaces=_NS) or "").strip() == description:
            return topic.find("a:Text", _NS)
    return None


__all__ = ["AUTHORIT_NS", "OLD_UNIT_TYPE", "BookFacts", "parse_file", "read_book", "topic_text"]
