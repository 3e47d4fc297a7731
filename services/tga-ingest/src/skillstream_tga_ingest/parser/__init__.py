"""The AuthorIT XML parser: TGA unit of competency and qualification release files → parsed components.

Sources: seed 000 and TGA-FORMAT.md §2. Layers, each its own module::

    safexml         bytes → lxml root (size limit, BOM, DOCTYPE/entities refused, no network)
    authorit        root → real Books, variables, topics in ContentsNodes order, paragraphs/tables
    units           Books → ParsedUnit (pre-2012 and 2012 layouts)
    qualifications  Books → ParsedQualification (Packaging Rules unit lists)
    output          ParsedUnit | ParsedQualification → the operator's JSON

Exception tree (one type; ``failure`` says which way a file was refused)::

    Exception
    └── ParseError (model.py)   failure: ParseFailure  TOO_LARGE | UNSAFE | MALFORMED | NOT_AUTHORIT
                                                       | MISSING_SECTION
                                reason: str            e.g. "line 3, column 1: Premature end of data …"

Nothing else escapes the parse functions for any input bytes (property-tested with truncations and byte flips).
"""

from __future__ import annotations

from skillstream_tga_ingest.parser import safexml
from skillstream_tga_ingest.parser.authorit import load_document
from skillstream_tga_ingest.parser.model import (
    PARSER_VERSION,
    ParsedComponent,
    ParsedQualification,
    ParsedUnit,
    ParseError,
)
from skillstream_tga_ingest.parser.output import to_operator_json
from skillstream_tga_ingest.parser.qualifications import (
    describes_qualification,
    parse_qualification,
    qualification_from_document,
)
from skillstream_tga_ingest.parser.units import parse_unit, unit_from_document


def parse_component(data: bytes, *, max_bytes: int = safexml.DEFAULT_MAX_BYTES) -> ParsedUnit | ParsedQualification:
    """Parse a TGA release file, deciding the kind by the real Books' ``TpcmsObjectType``:
    ``StreamlineQualification`` → :class:`ParsedQualification`; otherwise a unit (``UnitOfCompetency``, or
    ``StreamlineUnit`` with its ``StreamlineAssessmentRequirement`` Book in the same file). Files whose Books
    carry no ``TpcmsObjectType`` are told apart by their topics (Packaging Rules vs Elements and Performance
    Criteria).

    Raises:
        ParseError: see :func:`parse_unit` and :func:`parse_qualification`.
    """
    document = load_document(safexml.parse_xml(data, max_bytes=max_bytes))
    if describes_qualification(document):
        return qualification_from_document(document)
    return unit_from_document(document)


__all__ = [
    "PARSER_VERSION",
    "ParseError",
    "ParsedComponent",
    "ParsedQualification",
    "ParsedUnit",
    "parse_component",
    "parse_qualification",
    "parse_unit",
    "to_operator_json",
]
