"""Every reply kind validates against the real TrainingComponentService XSDs (lxml XMLSchema, no network)."""

from __future__ import annotations

import copy

import pytest
from lxml import etree

from skillstream_tga_sandbox import SandboxServer

from .conftest import ALL_FLAGS, NS, TNS, Soap, date_offset


def _assert_valid(schema: etree.XMLSchema, element: etree._Element) -> None:
    # Validate a standalone copy: the reply element as the document root, as the XSD declares it.
    document = etree.ElementTree(copy.deepcopy(element))
    assert schema.validate(document), schema.error_log


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        ("FSK", "TrainingPackage"),  # data.txt package with components (dump qualifications + FSKNUM040)
        ("BSB41419", "Qualification"),  # real qualification XML (release, file, maybe unit grid)
        ("ACM50210", "Qualification"),  # dump-only qualification: release without files
        ("BSBCMM412", "Unit"),  # new-format unit
        ("WRWSL201A", "Unit"),  # old-format, superseded unit
    ],
)
def test_get_details_with_every_flag_is_valid(soap: Soap, schema: etree.XMLSchema, code: str, kind: str) -> None:
    reply = soap.details(code, *ALL_FLAGS)
    assert reply.status == 200
    assert reply.payload.tag == f"{{{TNS}}}GetDetailsResponse"
    assert reply.text("t:GetDetailsResult/t:ComponentType") == kind
    _assert_valid(schema, reply.payload)


def test_get_details_without_flags_is_valid(soap: Soap, schema: etree.XMLSchema) -> None:
    reply = soap.details("BSBCMM412")
    _assert_valid(schema, reply.payload)


def test_search_is_valid(soap: Soap, schema: etree.XMLSchema) -> None:
    reply = soap.search("<IncludeSuperseeded>true</IncludeSuperseeded>", page=1, size=200)
    assert int(reply.text("t:SearchResult/t:Count") or 0) > 200
    _assert_valid(schema, reply.payload)


def test_padded_search_is_still_valid(tga: SandboxServer, soap: Soap, schema: etree.XMLSchema) -> None:
    tga.set_faults(message_too_large_pad_bytes=64)
    _assert_valid(schema, soap.search(page=1, size=20).payload)


def test_search_by_modified_date_is_valid(soap: Soap, schema: etree.XMLSchema) -> None:
    window = date_offset("EndDate", "2030-01-01T00:00:00Z") + date_offset("StartDate", "2000-01-01T00:00:00Z")
    reply = soap.call(
        "SearchByModifiedDate", f"<request><PageNumber>1</PageNumber><PageSize>50</PageSize>{window}</request>"
    )
    assert reply.status == 200
    assert len(reply.payload.findall(".//t:TrainingComponentSummary", NS)) == 50
    _assert_valid(schema, reply.payload)


def test_search_deleted_by_deleted_date_is_valid(tga: SandboxServer, soap: Soap, schema: etree.XMLSchema) -> None:
    tga.mark_deleted("CPCCSI2005A", "PhysicalDelete")
    tga.mark_deleted("BSBITU111", "LogicalDelete")
    reply = soap.call("SearchDeletedByDeletedDate", "<request/>")
    assert reply.all("t:SearchDeletedByDeletedDateResult/t:DeletedTrainingComponent/t:NationalCode") == [
        "CPCCSI2005A",
        "BSBITU111",
    ]
    _assert_valid(schema, reply.payload)


def test_get_server_time_is_valid(soap: Soap, schema: etree.XMLSchema) -> None:
    reply = soap.call("GetServerTime")
    assert reply.text("t:GetServerTimeResult")
    _assert_valid(schema, reply.payload)


def test_validation_fault_detail_is_valid(soap: Soap, schema: etree.XMLSchema) -> None:
    reply = soap.details("XYZ99999")
    assert reply.status == 500
    assert reply.payload.tag == "{http://schemas.xmlsoap.org/soap/envelope/}Fault"
    assert reply.payload.findtext("faultcode") == "s:Client"
    detail = reply.payload.find(f"detail/{{{TNS}}}ValidationFault")
    assert detail is not None
    assert detail.findtext("t:Errors/t:ValidationError/t:Severity", namespaces=NS) == "Error"
    _assert_valid(schema, detail)


def test_the_schema_refuses_a_broken_reply(soap: Soap, schema: etree.XMLSchema) -> None:
    """Guard for the tests above: the XSD set really checks order and types."""
    result = copy.deepcopy(soap.details("BSBCMM412", "ShowReleases", "ShowFiles").payload)
    size = result.find(".//t:ReleaseFile/t:Size", NS)
    assert size is not None
    size.text = "not a number"
    assert not schema.validate(etree.ElementTree(result))
    reordered = copy.deepcopy(soap.details("BSBCMM412").payload)
    details = reordered[0]
    details.insert(0, details.find("t:Title", NS))  # Title before Classifications: out of sequence
    assert not schema.validate(etree.ElementTree(reordered))
