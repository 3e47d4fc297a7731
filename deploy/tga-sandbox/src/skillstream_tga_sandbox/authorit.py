"""The few facts the sandbox reads from a real AuthorIT XML file (TGA-FORMAT.md §2).

- :func:`read_book`: the real Book (``Object/IsTemplate`` = ``false``) and its ``VariableAssignments``
  ``Code``, ``Title``, ``ReleaseNumber``, ``Currency``, ``UsageRecommendation`` and ``TpcmsObjectType``.
  A new-format unit file holds three real Books (package, unit, Assessment Requirements); the one whose
  ``TpcmsObjectType`` names the component (``StreamlineUnit``, ``UnitOfCompetency``,
  ``StreamlineQualification``) is preferred, so the title is the unit's, not "Assessment Requirements for …".
- :func:`packaging_rule_titles`: ``code → title`` as a qualification's Packaging Rules topic states them,
  either as ``<p>BSBWHS412 Assist with …</p>`` lines (BSB41419) or as table rows
  ``<td>CPCCCA3001*</td><td>Carry out general demolition …</td>`` (CPC30220).

Files are parsed with entity resolution and network access off (DESIGN.md, Security).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lxml import etree

from skillstream_tga_sandbox.errors import CatalogueError

AUTHORIT_NS = "http://www.authorit.com/xml/authorit"
_NS = {"a": AUTHORIT_NS}
_COMPONENT_BOOKS = ("StreamlineUnit", "UnitOfCompetency", "StreamlineQualification")
OLD_UNIT_TYPE = "UnitOfCompetency"
"""``TpcmsObjectType`` of a pre-2012 unit (file named ``{CODE}_R{n}.xml``, not ``_Complete_``)."""
# A national code: 3-letter package prefix, letters/digits, ending in digits and an optional letter suffix
# (UETTDREL14A has only two digits). Packaging rules mark some codes with footnote stars: "PUAWHS002***".
_CODE = r"[A-Z]{3}[A-Z0-9]*\d{2,}[A-Z]?"
_CODE_AND_TITLE = re.compile(rf"^(?P<code>{_CODE})\**\s+(?P<title>\S.*)$")
_CODE_ONLY = re.compile(rf"^(?P<code>{_CODE})\**$")
_SPACES = re.compile(r"\s+")


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


def _text(element: etree._Element) -> str:
    return _SPACES.sub(" ", "".join(element.itertext())).strip()


def packaging_rule_titles(root: etree._Element) -> dict[str, str]:
    """``code → title`` stated in the Topic whose ``Object/Description`` is "Packaging Rules" (first
    statement of a code wins); empty when the file has no such topic or states no titles."""
    titles: dict[str, str] = {}
    for topic in root.iterfind("a:Objects/a:Topic", _NS):
        if (topic.findtext("a:Object/a:Description", namespaces=_NS) or "").strip() != "Packaging Rules":
            continue
        for row in topic.iter(f"{{{AUTHORIT_NS}}}tr"):
            cells = [_text(cell) for cell in row.iterfind("a:td", _NS)]
            code = _CODE_ONLY.match(cells[0]) if len(cells) >= 2 else None
            if code is not None and cells[1]:
                titles.setdefault(code.group("code"), cells[1])
        for paragraph in topic.iter(f"{{{AUTHORIT_NS}}}p"):
            line = _CODE_AND_TITLE.match(_text(paragraph))
            if line is not None:
                titles.setdefault(line.group("code"), line.group("title"))
    return titles


__all__ = ["AUTHORIT_NS", "OLD_UNIT_TYPE", "BookFacts", "packaging_rule_titles", "parse_file", "read_book"]
