"""Auth, action dispatch, malformed requests, path casing, WSDL/XSD documents."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from skillstream_tga_sandbox import SandboxServer

from .conftest import NS, SOAP, TNS, WSSE, Soap

INVALID_SECURITY = "An error occurred when verifying security for the message."


def _assert_invalid_security(reply_status: int, fault_code: str | None, fault_string: str | None) -> None:
    assert reply_status == 500
    assert fault_code == "a:InvalidSecurity"
    assert fault_string == INVALID_SECURITY


@pytest.mark.parametrize(
    "auth",
    [
        {"username": None},  # no Security header at all
        {"password": "wrong"},
        {"username": "someone.else"},
        {
            "password_type": "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest"
        },
    ],
)
def test_missing_or_wrong_credentials_are_refused_like_wcf(
    tga: SandboxServer, soap: Soap, auth: dict[str, str | None]
) -> None:
    reply = soap.call("GetServerTime", **auth)
    fault = reply.payload
    _assert_invalid_security(reply.status, fault.findtext("faultcode"), fault.findtext("faultstring"))
    code = fault.find("faultcode")
    assert code is not None
    assert code.nsmap["a"] == WSSE  # the "a:" prefix is bound to the WS-Security secext namespace
    assert reply.root.find("s:Header", NS) is None  # WCF answers a security failure without a header
    assert tga.stats()["auth_failures"] == 1
    assert tga.stats()["operations"] == {}


def test_security_is_checked_before_the_action(soap: Soap) -> None:
    reply = soap.call("Add", "<request/>", password="wrong")
    _assert_invalid_security(reply.status, reply.payload.findtext("faultcode"), reply.payload.findtext("faultstring"))


def test_the_configured_account_is_accepted(soap: Soap) -> None:
    reply = soap.call("GetServerTime")
    assert reply.status == 200
    assert reply.root.find(f"s:Header/{{{WSSE}}}Security", NS) is not None


def test_custom_credentials_from_settings() -> None:
    from skillstream_tga_sandbox import Settings

    with SandboxServer(Settings(username="svc.user", password="s3cret")) as server:
        caller = Soap(server)
        assert caller.call("GetServerTime").status == 500
        assert caller.call("GetServerTime", username="svc.user", password="s3cret").status == 200


def test_unknown_operation_is_action_not_supported(tga: SandboxServer, soap: Soap) -> None:
    reply = soap.call("GetLookup", "<request><LookupName>Country</LookupName></request>")
    assert reply.status == 500
    code = reply.payload.find("faultcode")
    assert code is not None
    assert code.text == "a:ActionNotSupported"
    assert code.nsmap["a"] == "http://schemas.microsoft.com/ws/2005/05/addressing/none"
    assert f"'{TNS}ITrainingComponentService/GetLookup'" in (reply.payload.findtext("faultstring") or "")
    assert tga.stats()["operations"] == {}


def test_empty_soap_action_dispatches_on_the_body_element(soap: Soap) -> None:
    assert soap.call("GetServerTime", action="").status == 200
    assert soap.call("Frobnicate", action="").payload.findtext("faultcode") == "a:ActionNotSupported"


def test_body_element_must_match_the_action(soap: Soap) -> None:
    reply = soap.call("Search", "<request/>", action=f"{TNS}ITrainingComponentService/GetDetails")
    assert reply.status == 500
    assert reply.payload.findtext("faultcode") == "a:DeserializationFailed"
    assert "Expected to find node type 'Element' with name 'GetDetails'" in (
        reply.payload.findtext("faultstring") or ""
    )


def test_wrong_namespace_body_is_refused(tga: SandboxServer) -> None:
    envelope = (
        Soap(tga).envelope("GetServerTime", "").replace(f'xmlns="{TNS}"', 'xmlns="http://training.gov.au/services/2/"')
    )
    response = httpx.post(
        tga.service_url,
        content=envelope.encode(),
        headers={"Content-Type": "text/xml", "SOAPAction": f'"{TNS}ITrainingComponentService/GetServerTime"'},
    )
    assert response.status_code == 500
    assert b"DeserializationFailed" in response.content


def test_malformed_xml_is_a_400_fault(tga: SandboxServer) -> None:
    response = httpx.post(tga.service_url, content=b"<soap:Envelope", headers={"Content-Type": "text/xml"})
    assert response.status_code == 400
    assert b"a:DeserializationFailed" in response.content


def test_xml_entities_are_not_expanded(tga: SandboxServer) -> None:
    body = (
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
        b'<s:Envelope xmlns:s="' + SOAP.encode() + b'"><s:Body><GetServerTime xmlns="' + TNS.encode() + b'">&e;'
        b"</GetServerTime></s:Body></s:Envelope>"
    )
    response = httpx.post(tga.service_url, content=body, headers={"Content-Type": "text/xml"})
    assert b"root:" not in response.content
    assert response.status_code == 500  # no credentials: refused, and nothing was read from disk


def test_soap12_content_type_is_415(soap: Soap) -> None:
    reply = soap.call("GetServerTime", content_type="application/soap+xml; charset=utf-8")
    assert reply.status == 415


@pytest.mark.parametrize(
    "path",
    [
        "/Deewr.Tga.WebServices/TrainingComponentService.svc/Training",
        "/Deewr.Tga.Webservices/TrainingComponentService.svc/Training",
        "/deewr.tga.webservices/trainingcomponentservice.svc/training",
    ],
)
def test_service_path_is_case_insensitive(tga: SandboxServer, soap: Soap, path: str) -> None:
    assert soap.call("GetServerTime", url=tga.url + path).status == 200


@pytest.mark.parametrize(
    "path",
    [
        "/Deewr.Tga.WebServices/TrainingComponentService.svc?wsdl",
        "/Deewr.Tga.Webservices/TrainingComponentService.svc?WSDL",
        "/Deewr.Tga.WebServices/TrainingComponentService.svc/Training?wsdl",
    ],
)
def test_wsdl_is_the_real_file(tga: SandboxServer, tga_dir: Path, path: str) -> None:
    real = (
        tga_dir / "wsdl" / "TrainingComponentService-production-2013" / "TrainingComponentService.wsdl"
    ).read_bytes()
    response = httpx.get(tga.url + path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/xml")
    assert response.content == real


def test_imported_xsds_are_served_beside_the_wsdl(tga: SandboxServer, tga_dir: Path) -> None:
    folder = tga_dir / "wsdl" / "TrainingComponentService-production-2013"
    for xsd in sorted(folder.glob("*.xsd")):
        response = httpx.get(f"{tga.url}/Deewr.Tga.WebServices/{xsd.name}")
        assert response.status_code == 200, xsd.name
        assert response.content == xsd.read_bytes()
    assert httpx.get(f"{tga.url}/Deewr.Tga.WebServices/nothing.xsd").status_code == 404


def test_get_on_the_service_without_wsdl_is_not_found(tga: SandboxServer) -> None:
    assert httpx.get(tga.url + "/Deewr.Tga.WebServices/TrainingComponentService.svc/Training").status_code == 404
