"""Bad XML is refused with a clear :class:`ParseError` (DESIGN.md §Security): entity expansion and external
entities are never expanded or fetched, malformed or truncated files say where, non-AuthorIT and incomplete
files say what.
"""

from __future__ import annotations

import codecs
import re
import socket
from collections.abc import Callable, Iterator

import pytest
from lxml import etree

from skillstream_contracts.tga import ParseFailure
from skillstream_runtime.realdata import real_data
from skillstream_tga_ingest.parser import ParseError, parse_component, parse_unit, safexml

NS = "{http://www.authorit.com/xml/authorit}"

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<AuthorIT xmlns="http://www.authorit.com/xml/authorit"><Objects>&lol9;</Objects></AuthorIT>
"""


def _refusal(data: bytes, **kwargs: int) -> ParseError:
    with pytest.raises(ParseError) as refused:
        parse_component(data, **kwargs)
    return refused.value


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A TCP listener on a free local port: a connection attempt would wait in its backlog."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        server.setblocking(False)
        yield server


def _nobody_connected(server: socket.socket) -> bool:
    try:
        connection, _ = server.accept()
    except BlockingIOError:
        return True
    connection.close()
    return False


def test_billion_laughs_is_refused_before_expansion() -> None:
    refusal = _refusal(BILLION_LAUGHS)
    assert refusal.failure is ParseFailure.UNSAFE
    assert refusal.reason == (
        "line 2: DOCTYPE declarations are refused (possible entity-expansion or external-entity attack)"
    )


def test_external_file_entity_is_refused_and_never_read() -> None:
    data = b'<?xml version="1.0"?>\n<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n<r>&xxe;</r>'
    refusal = _refusal(data)
    assert refusal.failure is ParseFailure.UNSAFE
    assert refusal.reason.startswith("line 2: DOCTYPE")
    assert "root:" not in str(refusal)


NETWORK_REFERENCES = pytest.mark.parametrize(
    "template",
    [
        '<!DOCTYPE r [<!ENTITY xxe SYSTEM "http://127.0.0.1:{port}/x">]><r>&xxe;</r>',
        '<!DOCTYPE r [<!ENTITY % dtd SYSTEM "http://127.0.0.1:{port}/evil.dtd"> %dtd;]><r/>',
        '<!DOCTYPE r SYSTEM "http://127.0.0.1:{port}/external.dtd"><r/>',
    ],
    ids=["general-entity", "parameter-entity", "external-dtd"],
)
"""Documents that reference a listener on ``{port}`` three ways: general entity, parameter entity, DTD."""


@NETWORK_REFERENCES
def test_external_http_entity_is_refused_and_never_fetched(template: str, listener: socket.socket) -> None:
    port = listener.getsockname()[1]
    refusal = _refusal(template.format(port=port).encode())
    assert refusal.failure is ParseFailure.UNSAFE
    assert _nobody_connected(listener)


def test_doctype_in_a_real_file_is_refused_with_its_line(unit_xml: Callable[[str], bytes]) -> None:
    data = unit_xml("BSBCMM412").replace(b"?>\n", b'?>\n<!DOCTYPE AuthorIT SYSTEM "AuthorIT.dtd">\n', 1)
    refusal = _refusal(data)
    assert refusal.failure is ParseFailure.UNSAFE
    assert refusal.reason.startswith("line 2: DOCTYPE")


def test_doctype_in_a_utf16_document_is_refused() -> None:
    data = '<?xml version="1.0" encoding="UTF-16"?>\n<!DOCTYPE r [<!ENTITY a "b">]>\n<r>&a;</r>'.encode("utf-16")
    refusal = _refusal(data)
    assert refusal.failure is ParseFailure.UNSAFE
    assert refusal.reason.startswith("line 2: DOCTYPE")


@pytest.mark.parametrize("keep", [0.5, 0.999])
def test_truncated_real_file_is_malformed_with_its_position(unit_xml: Callable[[str], bytes], keep: float) -> None:
    data = unit_xml("RIICOM201E")
    refusal = _refusal(data[: int(len(data) * keep)])
    assert refusal.failure is ParseFailure.MALFORMED
    assert re.fullmatch(r"line \d+, column \d+: .+", refusal.reason), refusal.reason
    assert str(refusal).startswith("malformed: line ")


def test_tag_mismatch_names_the_tags() -> None:
    refusal = _refusal(b"<a>\n<b></a>")
    assert refusal.failure is ParseFailure.MALFORMED
    assert refusal.reason == "line 2, column 8: Opening and ending tag mismatch: b line 2 and a"


@pytest.mark.parametrize("data", [b"", b"   ", b"not xml at all", b"\x00\x01\x02"])
def test_not_xml_is_malformed(data: bytes) -> None:
    assert _refusal(data).failure is ParseFailure.MALFORMED


def test_real_non_authorit_xml_is_refused() -> None:
    wsdl = real_data("tga", "wsdl", "TrainingComponentService-production-2013", "TrainingComponentService.wsdl")
    refusal = _refusal(wsdl.read_bytes())
    assert refusal.failure is ParseFailure.NOT_AUTHORIT
    assert refusal.reason == (
        "the root element is <{http://schemas.xmlsoap.org/wsdl/}definitions>, not an AuthorIT document"
    )


def test_authorit_file_of_templates_only_is_refused(unit_xml: Callable[[str], bytes]) -> None:
    data = unit_xml("BSBCMM412").replace(b"<IsTemplate>false</IsTemplate>", b"<IsTemplate>true</IsTemplate>")
    refusal = _refusal(data)
    assert refusal.failure is ParseFailure.NOT_AUTHORIT
    assert refusal.reason == "the AuthorIT document has no real (non-template) Book"


def test_unit_without_its_elements_topic_is_missing_a_section(unit_xml: Callable[[str], bytes]) -> None:
    root = etree.fromstring(unit_xml("BSBCMM412"))
    epc = "Elements and Performance Criteria"
    (topic,) = [t for t in root.iter(f"{NS}Topic") if t.findtext(f"{NS}Object/{NS}Description") == epc]
    topic.getparent().remove(topic)  # type: ignore[union-attr]
    refusal = _refusal(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))
    assert refusal.failure is ParseFailure.MISSING_SECTION
    assert refusal.reason == "BSBCMM412: the unit has no Elements and Performance Criteria topic"


def test_qualification_is_not_a_unit(qualification_xml: Callable[[str], bytes]) -> None:
    with pytest.raises(ParseError) as refused:
        parse_unit(qualification_xml("BSB41419"))
    assert refused.value.failure is ParseFailure.NOT_AUTHORIT
    assert refused.value.reason == "the file holds no unit of competency Book (found: StreamlineQualification)"


def test_over_the_size_limit_is_refused_before_parsing(unit_xml: Callable[[str], bytes]) -> None:
    data = unit_xml("BSBCMM412")
    refusal = _refusal(data, max_bytes=len(data) - 1)
    assert refusal.failure is ParseFailure.TOO_LARGE
    assert refusal.reason == f"the file is {len(data):,} bytes, over the parser's limit of {len(data) - 1:,}"
    # Garbage over the limit is TOO_LARGE, not MALFORMED: the size is checked first.
    assert _refusal(b"\x00" * 101, max_bytes=100).failure is ParseFailure.TOO_LARGE
    assert parse_component(data, max_bytes=len(data)).code == "BSBCMM412"


def test_bom_prefixed_real_file_parses_the_same(unit_xml: Callable[[str], bytes]) -> None:
    data = unit_xml("CPCCBC4047A")
    assert parse_component(codecs.BOM_UTF8 + data) == parse_component(data)


@NETWORK_REFERENCES
def test_the_lxml_parser_alone_does_not_fetch_either(template: str, listener: socket.socket) -> None:
    """Second line of defence: the parser configuration itself (used after the DOCTYPE scan) never fetches."""
    port = listener.getsockname()[1]
    try:
        root = etree.fromstring(template.format(port=port).encode(), safexml._parser())
    except etree.XMLSyntaxError:
        pass  # refusing is fine too; fetching is not
    else:
        assert "".join(root.itertext()) in {"", "&xxe;"}  # no content: at most the unexpanded reference
    assert _nobody_connected(listener)


def test_the_lxml_parser_alone_does_not_expand_entities() -> None:
    refused: str | None = None
    try:
        root = etree.fromstring(BILLION_LAUGHS, safexml._parser())
    except etree.XMLSyntaxError as e:  # libxml2's own amplification guard may refuse it outright
        refused = str(e)
    else:
        assert len(etree.tostring(root)) < 1_000
    assert refused is None or "amplification" in refused
