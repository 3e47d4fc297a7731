"""Property: whatever happens to a real file's bytes or structure, the parser returns a parsed component or
raises :class:`ParseError` — never any other exception (a bad file is a refusal, not a crashed job)."""

from __future__ import annotations

import copy

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from skillstream_runtime.realdata import real_data
from skillstream_tga_ingest.parser import ParsedQualification, ParsedUnit, ParseError, parse_component

UNIT = real_data("tga", "units", "CPCCSI2005A_XML.xml").read_bytes()  # pre-2012, the smallest unit file
UNIT_2012 = real_data("tga", "units", "BSBCMM412_XML.xml").read_bytes()
QUALIFICATION = real_data("tga", "qualifications", "BSB41419_XML.xml").read_bytes()
FILES = [UNIT, UNIT_2012, QUALIFICATION]

_settings = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _parses_or_refuses(data: bytes) -> None:
    refusal: ParseError | None = None
    try:
        parsed = parse_component(data)
    except ParseError as e:
        refusal = e
    if refusal is not None:
        assert refusal.reason
    else:
        assert isinstance(parsed, ParsedUnit | ParsedQualification)


@_settings
@given(index=st.sampled_from(range(len(FILES))), fraction=st.floats(min_value=0.0, max_value=1.0))
def test_truncations(index: int, fraction: float) -> None:
    data = FILES[index]
    _parses_or_refuses(data[: int(len(data) * fraction)])


@_settings
@given(
    index=st.sampled_from(range(len(FILES))),
    flips=st.lists(st.tuples(st.floats(min_value=0.0, max_value=1.0), st.integers(0, 255)), min_size=1, max_size=8),
)
def test_byte_flips(index: int, flips: list[tuple[float, int]]) -> None:
    data = bytearray(FILES[index])
    for where, value in flips:
        data[min(int(where * len(data)), len(data) - 1)] = value
    _parses_or_refuses(bytes(data))


_TREES = [etree.fromstring(data) for data in FILES]
_SIZES = [sum(1 for _ in tree.iter()) for tree in _TREES]


@_settings
@given(
    index=st.sampled_from(range(len(FILES))),
    removals=st.lists(st.floats(min_value=0.0, max_value=1.0), min_size=1, max_size=6),
    text=st.text(max_size=12),
)
def test_structural_damage(index: int, removals: list[float], text: str) -> None:
    """Elements removed or their text replaced anywhere (books, topics, table cells, variables): the
    document stays well-formed, so this exercises the AuthorIT model and the extractors, not the XML parser."""
    root = copy.deepcopy(_TREES[index])
    for where in removals:
        elements = list(root.iter())
        victim = elements[min(int(where * len(elements)), len(elements) - 1)]
        parent = victim.getparent()
        if parent is None:
            continue
        if len(victim) == 0 and text.isprintable():
            victim.text = text  # e.g. a variable value, a rowspan cell's text, a topic ID
        else:
            parent.remove(victim)
    _parses_or_refuses(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))
