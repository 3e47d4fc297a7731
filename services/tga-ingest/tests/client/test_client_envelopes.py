"""Request envelopes against the real 2013 WSDL/XSDs (real-data/tga/wsdl/…; TGA-FORMAT.md §1).

Every request body is validated with lxml ``XMLSchema`` built from the real ``TrainingComponentService.xsd``
(its imports resolve to the sibling real files; no network). Names and SOAPActions are compared with what the
real WSDL/XSD declare, not with copies of our own output.
"""

from __future__ import annotations

import copy
import datetime as dt
from pathlib import Path

import pytest
from lxml import etree
from pydantic import SecretStr

from skillstream_runtime.realdata import real_data
from skillstream_tga_ingest.adapters.client import namespaces, requests
from skillstream_tga_ingest.adapters.client.settings import TgaSettings

XS = "http://www.w3.org/2001/XMLSchema"
WSDL = "http://schemas.xmlsoap.org/wsdl/"
WSDL_SOAP = "http://schemas.xmlsoap.org/wsdl/soap/"
T = f"{{{namespaces.TGA}}}"
AEST = dt.timezone(dt.timedelta(hours=10))


def _wsdl_dir() -> Path:
    return real_data("tga", "wsdl", "TrainingComponentService-production-2013")


@pytest.fixture(scope="module")
def schema() -> etree.XMLSchema:
    parser = etree.XMLParser(no_network=True, resolve_entities=False)
    return etree.XMLSchema(etree.parse(str(_wsdl_dir() / "TrainingComponentService.xsd"), parser))


@pytest.fixture(scope="module")
def xsd() -> etree._ElementTree:
    return etree.parse(str(_wsdl_dir() / "TrainingComponentService.xsd"))


@pytest.fixture(scope="module")
def wsdl() -> etree._ElementTree:
    return etree.parse(str(_wsdl_dir() / "TrainingComponentService.wsdl"))


def _assert_valid(schema: etree.XMLSchema, element: etree._Element) -> None:
    document = etree.ElementTree(copy.deepcopy(element))
    assert schema.validate(document), schema.error_log


def _sequence(xsd: etree._ElementTree, complex_type: str) -> list[str]:
    """Element names of an XSD complexType's own sequence (extension members included), in order."""
    found = xsd.xpath(f"//xs:complexType[@name='{complex_type}']//xs:sequence/xs:element/@name", namespaces={"xs": XS})
    return [str(name) for name in found]


# --- the validator can fail -----------------------------------------------------------------------------------


def test_schema_rejects_a_request_with_members_out_of_order(schema: etree.XMLSchema) -> None:
    # WCF data contracts are ordered sequences: PageSize before PageNumber is invalid. This shows the XSD check
    # below is not vacuous.
    bad = etree.fromstring(
        f"<Search xmlns='{namespaces.TGA}'><request><PageSize>1</PageSize><PageNumber>1</PageNumber>"
        "<Filter/></request></Search>"
    )
    assert not schema.validate(etree.ElementTree(bad))


# --- every request validates ----------------------------------------------------------------------------------


def test_get_details_request_validates_and_sets_the_information_flags(schema: etree.XMLSchema) -> None:
    request = requests.get_details_request(" BSBCMM412 ", components=True, mappings=False)
    _assert_valid(schema, request)
    assert request.tag == f"{T}GetDetails"
    assert request.findtext(f"{T}request/{T}Code") == "BSBCMM412"
    flags = {e.tag.removeprefix(T): e.text for e in request.find(f"{T}request/{T}InformationRequest")}
    assert flags == {
        "ShowClassifications": "false",
        "ShowCompletionMapping": "false",
        "ShowComponents": "true",
        "ShowContacts": "false",
        "ShowCurrencyPeriods": "false",
        "ShowDataManagers": "false",
        "ShowFiles": "true",
        "ShowMappingInformation": "false",
        "ShowRecognitionManagers": "false",
        "ShowReleases": "true",
        "ShowUnitGrid": "true",
        "ShowUsageRecommendation": "true",
    }


def test_information_flags_are_the_xsd_members(xsd: etree._ElementTree) -> None:
    request = requests.get_details_request("X")
    sent = [e.tag.removeprefix(T) for e in request.find(f"{T}request/{T}InformationRequest")]
    assert sent == _sequence(xsd, "TrainingComponentInformationRequested")


def test_files_only_still_asks_for_releases() -> None:
    # Files, UnitGrid and Components are members of XSD Release: without ShowReleases there is nothing to hold them.
    request = requests.get_details_request("X", releases=False, files=True, unit_grid=False, components=False)
    assert request.findtext(f"{T}request/{T}InformationRequest/{T}ShowReleases") == "true"


def test_search_request_validates_and_maps_types_to_include_flags(schema: etree.XMLSchema) -> None:
    request = requests.search_request(
        ["Unit", "Qualification"],
        page_number=3,
        page_size=50,
        filter_text="BSB",
        search_code=True,
        include_superseded=True,
    )
    _assert_valid(schema, request)
    body = request.find(f"{T}request")
    assert [e.tag.removeprefix(T) for e in body] == [
        "PageNumber",
        "PageSize",
        "Filter",
        "IncludeDeleted",
        "IncludeSuperseeded",  # TGA's spelling (XSD TrainingComponentSearchRequest)
        "SearchCode",
        "TrainingComponentTypes",
    ]
    assert (body.findtext(f"{T}PageNumber"), body.findtext(f"{T}PageSize")) == ("3", "50")
    assert body.findtext(f"{T}Filter") == "BSB"
    assert body.findtext(f"{T}IncludeSuperseeded") == "true"
    flags = {e.tag.removeprefix(T): e.text for e in body.find(f"{T}TrainingComponentTypes")}
    assert {k for k, v in flags.items() if v == "true"} == {"IncludeUnit", "IncludeQualification"}


def test_type_flags_are_the_xsd_type_filter(xsd: etree._ElementTree) -> None:
    assert list(requests.COMPONENT_TYPE_FLAGS.values()) == _sequence(xsd, "TrainingComponentTypeFilter")
    enum = xsd.xpath("//xs:simpleType[@name='TrainingComponentTypes']//xs:enumeration/@value", namespaces={"xs": XS})
    assert set(requests.COMPONENT_TYPE_FLAGS) <= {str(v) for v in enum}


def test_empty_filter_is_sent_because_the_xsd_requires_it(schema: etree.XMLSchema) -> None:
    request = requests.search_request(["TrainingPackage"], page_number=1, page_size=100)
    _assert_valid(schema, request)
    assert request.find(f"{T}request/{T}Filter") is not None


def test_modified_search_request_writes_wcf_date_time_offsets(schema: etree.XMLSchema) -> None:
    start = dt.datetime(2024, 1, 1, 9, 30, tzinfo=AEST)
    end = dt.datetime(2024, 2, 1, 0, 0, tzinfo=dt.UTC)
    request = requests.modified_search_request(start, end, ["Unit", "SkillSet"], page_number=1, page_size=100)
    _assert_valid(schema, request)
    system = f"{{{namespaces.SYSTEM}}}"
    start_el = request.find(f"{T}request/{T}StartDate")
    # DateTime is the UTC instant, OffsetMinutes the caller's offset (as .NET serialises DateTimeOffset).
    assert start_el.findtext(f"{system}DateTime") == "2023-12-31T23:30:00Z"
    assert start_el.findtext(f"{system}OffsetMinutes") == "600"
    end_el = request.find(f"{T}request/{T}EndDate")
    assert (end_el.findtext(f"{system}DateTime"), end_el.findtext(f"{system}OffsetMinutes")) == (
        "2024-02-01T00:00:00Z",
        "0",
    )


def test_modified_search_without_end_omits_end_date(schema: etree.XMLSchema) -> None:
    request = requests.modified_search_request(
        dt.datetime(2024, 1, 1, tzinfo=dt.UTC), None, ["Unit"], page_number=1, page_size=10
    )
    _assert_valid(schema, request)
    assert request.find(f"{T}request/{T}EndDate") is None


def test_deleted_search_and_server_time_requests_validate(schema: etree.XMLSchema) -> None:
    deleted = requests.deleted_search_request(
        dt.datetime(2024, 1, 1, tzinfo=dt.UTC), dt.datetime(2024, 3, 1, tzinfo=AEST), page_number=2, page_size=25
    )
    _assert_valid(schema, deleted)
    assert [e.tag.removeprefix(T) for e in deleted.find(f"{T}request")] == [
        "PageNumber",
        "PageSize",
        "EndDate",
        "StartDate",
    ]
    _assert_valid(schema, requests.server_time_request())


@pytest.mark.parametrize(
    "call",
    [
        lambda: requests.modified_search_request(dt.datetime(2024, 1, 1), None, ["Unit"], page_number=1, page_size=1),
        lambda: requests.deleted_search_request(dt.datetime(2024, 1, 1), None, page_number=1, page_size=1),
        lambda: requests.deleted_search_request(
            dt.datetime(2024, 2, 1, tzinfo=dt.UTC), dt.datetime(2024, 1, 1, tzinfo=dt.UTC), page_number=1, page_size=1
        ),
        lambda: requests.search_request(["Units"], page_number=1, page_size=1),
        lambda: requests.search_request([], page_number=1, page_size=1),
        lambda: requests.get_details_request("  "),
    ],
    ids=["naive-start", "naive-deleted", "end-before-start", "unknown-type", "no-type", "blank-code"],
)
def test_bad_arguments_are_refused_before_sending(call: object) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - each case has its own message
        call()  # type: ignore[operator]


# --- the envelope -----------------------------------------------------------------------------------------------


def test_envelope_has_a_password_text_username_token_and_no_timestamp() -> None:
    data = requests.envelope(requests.server_time_request(), "WebService.Read", SecretStr("s3cret"))
    root = etree.fromstring(data)
    s = f"{{{namespaces.SOAP_ENV}}}"
    o = f"{{{namespaces.WSSE}}}"
    assert root.tag == f"{s}Envelope"
    security = root.find(f"{s}Header/{o}Security")
    assert security.get(f"{s}mustUnderstand") == "1"
    assert [e.tag for e in security] == [f"{o}UsernameToken"]  # no wsu:Timestamp
    token = security.find(f"{o}UsernameToken")
    assert token.findtext(f"{o}Username") == "WebService.Read"
    password = token.find(f"{o}Password")
    assert password.text == "s3cret"
    assert password.get("Type").endswith("#PasswordText")
    assert [e.tag for e in root.find(f"{s}Body")] == [f"{T}GetServerTime"]


def test_markup_in_values_stays_text() -> None:
    hostile = "</Code><InformationRequest/><Code>"
    data = requests.envelope(requests.get_details_request(hostile), "a&b", SecretStr("<p>&\"'"))
    root = etree.fromstring(data)
    o = f"{{{namespaces.WSSE}}}"
    assert root.findtext(f".//{o}Password") == "<p>&\"'"
    assert root.findtext(f".//{o}Username") == "a&b"
    assert root.findtext(f".//{T}Code") == hostile
    assert len(root.findall(f".//{T}InformationRequest")) == 1


def test_soap_actions_are_those_of_the_real_wsdl_binding(wsdl: etree._ElementTree) -> None:
    ns = {"w": WSDL, "soap": WSDL_SOAP}
    binding = wsdl.find(".//w:binding[@name='TrainingComponentServiceBasicHttpEndpoint']", ns)
    actions = {
        op.get("name"): op.find("soap:operation", ns).get("soapAction") for op in binding.findall("w:operation", ns)
    }
    for operation in ("GetDetails", "GetServerTime", "Search", "SearchByModifiedDate", "SearchDeletedByDeletedDate"):
        assert requests.soap_action(operation) == f'"{actions[operation]}"'


def test_production_endpoint_is_the_wsdl_soap_address(wsdl: etree._ElementTree) -> None:
    ns = {"w": WSDL, "soap": WSDL_SOAP}
    address = wsdl.find(".//w:port[@name='TrainingComponentServiceBasicHttpEndpoint']/soap:address", ns)
    settings = TgaSettings(environment="production", username="user", password=SecretStr("pw"))
    assert settings.service_url == address.get("location")
    sandbox = TgaSettings(environment="sandbox")
    assert sandbox.service_url == address.get("location").replace("ws.training", "ws.sandbox.training")
