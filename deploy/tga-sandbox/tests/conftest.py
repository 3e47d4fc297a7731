"""One real sandbox (uvicorn on a free port) for the whole session, reset before each test, and a small
SOAP 1.1 caller that builds envelopes the way the public clients do (TGA-FORMAT.md §1.3)."""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from lxml import etree

from skillstream_runtime.realdata import real_data
from skillstream_tga_sandbox import SandboxServer, service_schema

SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
TNS = "http://training.gov.au/services/"
SYS = "http://schemas.datacontract.org/2004/07/System"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
PASSWORD_TEXT = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText"
NS = {"s": SOAP, "t": TNS, "b": SYS, "i": XSI}


@dataclass
class Reply:
    """An HTTP reply with its parsed envelope: ``payload`` = the Body's first child (response or Fault)."""

    http: httpx.Response

    @property
    def status(self) -> int:
        return self.http.status_code

    @property
    def root(self) -> etree._Element:
        return etree.fromstring(self.http.content)

    @property
    def payload(self) -> etree._Element:
        body = self.root.find("s:Body", NS)
        assert body is not None
        return body[0]

    def find(self, path: str) -> etree._Element | None:
        return self.payload.find(path, NS)

    def text(self, path: str) -> str | None:
        return self.payload.findtext(path, namespaces=NS)

    def all(self, path: str) -> list[str]:
        return [e.text or "" for e in self.payload.iterfind(path, NS)]


class Soap:
    """Posts ``<op xmlns=TNS>inner</op>`` with a UsernameToken (PasswordText) to the sandbox."""

    def __init__(self, server: SandboxServer) -> None:
        self.server = server
        self.client = httpx.Client(timeout=30.0)

    def envelope(
        self,
        op: str,
        inner: str,
        *,
        username: str | None = "WebService.Read",
        password: str = "Asdf098",
        password_type: str = PASSWORD_TEXT,
    ) -> str:
        header = ""
        if username is not None:
            header = (
                f'<soapenv:Header><wsse:Security soapenv:mustUnderstand="1" xmlns:wsse="{WSSE}"><wsse:UsernameToken>'
                f'<wsse:Username>{username}</wsse:Username><wsse:Password Type="{password_type}">{password}'
                "</wsse:Password></wsse:UsernameToken></wsse:Security></soapenv:Header>"
            )
        return (
            f'<soapenv:Envelope xmlns:soapenv="{SOAP}">{header}<soapenv:Body>'
            f'<{op} xmlns="{TNS}">{inner}</{op}></soapenv:Body></soapenv:Envelope>'
        )

    def call(
        self,
        op: str,
        inner: str = "",
        *,
        action: str | None = None,
        url: str | None = None,
        content_type: str = "text/xml; charset=utf-8",
        username: str | None = "WebService.Read",
        password: str = "Asdf098",
        password_type: str = PASSWORD_TEXT,
    ) -> Reply:
        soap_action = action if action is not None else f"{TNS}ITrainingComponentService/{op}"
        envelope = self.envelope(op, inner, username=username, password=password, password_type=password_type)
        response = self.client.post(
            url or self.server.service_url,
            content=envelope.encode(),
            headers={"Content-Type": content_type, "SOAPAction": f'"{soap_action}"'},
        )
        return Reply(response)

    def details(self, code: str, *flags: str) -> Reply:
        asked = "".join(f"<{flag}>true</{flag}>" for flag in flags)
        return self.call(
            "GetDetails", f"<request><Code>{code}</Code><InformationRequest>{asked}</InformationRequest></request>"
        )

    def search(self, body: str = "", *, page: int | None = None, size: int | None = None, flt: str = "") -> Reply:
        paging = (f"<PageNumber>{page}</PageNumber>" if page is not None else "") + (
            f"<PageSize>{size}</PageSize>" if size is not None else ""
        )
        return self.call("Search", f"<request>{paging}<Filter>{flt}</Filter>{body}</request>")


ALL_FLAGS = (
    "ShowClassifications",
    "ShowCompletionMapping",
    "ShowComponents",
    "ShowContacts",
    "ShowCurrencyPeriods",
    "ShowDataManagers",
    "ShowFiles",
    "ShowMappingInformation",
    "ShowRecognitionManagers",
    "ShowReleases",
    "ShowUnitGrid",
    "ShowUsageRecommendation",
)


def date_offset(name: str, when: str, offset: int = 0) -> str:
    """A WCF DateTimeOffset request element."""
    inner = f'<DateTime xmlns="{SYS}">{when}</DateTime><OffsetMinutes xmlns="{SYS}">{offset}</OffsetMinutes>'
    return f"<{name}>{inner}</{name}>"


@pytest.fixture(scope="session")
def server() -> Iterator[SandboxServer]:
    with SandboxServer() as running:
        yield running


@pytest.fixture
def tga(server: SandboxServer) -> SandboxServer:
    server.reset()
    return server


@pytest.fixture
def soap(tga: SandboxServer) -> Iterator[Soap]:
    caller = Soap(tga)
    yield caller
    caller.client.close()


@pytest.fixture(scope="session")
def schema() -> etree.XMLSchema:
    return service_schema()


@pytest.fixture(scope="session")
def tga_dir() -> Path:
    return real_data("tga")


@pytest.fixture(scope="session")
def packages(tga_dir: Path) -> list[dict[str, str]]:
    """data.txt's training packages, read directly."""
    rows: list[dict[str, str]] = json.loads((tga_dir / "catalogue" / "data.txt").read_text())["trainingpackage"]
    return rows


@pytest.fixture(scope="session")
def dump_rows(tga_dir: Path) -> list[tuple[str, str, str]]:
    """``(tpCode, qualCode, qualTitle)`` of every dump row, read with a plain line regex (each row of this
    dump starts a line with ``(qualID, 'tpCode', 'qualCode', 'qualTitle'``)."""
    with gzip.open(tga_dir / "catalogue" / "vet_qualifications.sql.gz", "rt", encoding="utf-8") as f:
        text = f.read()
    rows = re.findall(r"^\(\d+, '([^']*)', '([^']*)', '((?:[^']|'')*)'", text, re.MULTILINE)
    return [(tp, code, title.replace("''", "'")) for tp, code, title in rows]


@pytest.fixture(scope="session")
def xml_codes(tga_dir: Path) -> dict[str, set[str]]:
    """Codes of the real files by folder, from their file names (``CODE_XML.xml``)."""
    return {
        folder: {p.name.split("_")[0] for p in (tga_dir / folder).glob("*_XML.xml")}
        for folder in ("units", "qualifications")
    }
