"""Shared by the transport and paging tests: a :class:`TgaClient` on ``httpx.MockTransport`` with fast retry
settings, and test-side SOAP replies built only to drive the transport (counts, sizes, statuses). They are NOT
evidence that TGA's reply format is read right: that is test_client_sandbox.py's job, against the sandbox.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx
from lxml import etree
from pydantic import SecretStr

from skillstream_tga_ingest.adapters.client import (
    TgaClient,
    TgaSettings,
)
from skillstream_tga_ingest.adapters.client.namespaces import SOAP_ENV, TGA

S = f"{{{SOAP_ENV}}}"
T = f"{{{TGA}}}"
ENDPOINT = "http://tga.test/Deewr.Tga.WebServices/TrainingComponentService.svc/Training"
Handler = Callable[[httpx.Request], httpx.Response]


def settings(**overrides: object) -> TgaSettings:
    values: dict[str, object] = {
        "environment": "local",
        "endpoint": ENDPOINT,
        "files_base_url": "http://files.test/",
        "username": "tester",
        "password": SecretStr("pw"),
        "retry_attempts": 3,
        "retry_initial_delay": 0.001,
        "retry_max_delay": 0.005,
        "requests_per_second": 100,
        "page_size": 10,
        "min_page_size": 2,
    }
    values.update(overrides)
    return TgaSettings.model_validate(values)


def client(handler: Handler, **overrides: object) -> TgaClient:
    return TgaClient(settings(**overrides), transport=httpx.MockTransport(handler))


# --- test-side replies (transport only) -------------------------------------------------------------------------


def _envelope(payload: etree._Element) -> bytes:
    root = etree.Element(f"{S}Envelope", nsmap={"s": SOAP_ENV})
    etree.SubElement(root, f"{S}Body").append(payload)
    return etree.tostring(root)


def soap(payload: etree._Element, status: int = 200) -> httpx.Response:
    return httpx.Response(status, content=_envelope(payload), headers={"Content-Type": "text/xml; charset=utf-8"})


def server_time_reply() -> httpx.Response:
    response = etree.Element(f"{T}GetServerTimeResponse", nsmap={None: TGA})
    etree.SubElement(response, f"{T}GetServerTimeResult").text = "2024-05-01T10:00:00+10:00"
    return soap(response)


def fault(code: str, text: str, *, ns: str | None = None, validation: tuple[str, str] | None = None) -> httpx.Response:
    element = etree.Element(f"{S}Fault", nsmap={"s": SOAP_ENV})
    fault_code = etree.SubElement(element, "faultcode", nsmap={"a": ns} if ns else None)
    fault_code.text = f"a:{code}" if ns else f"s:{code}"
    etree.SubElement(element, "faultstring").text = text
    if validation:
        detail = etree.SubElement(etree.SubElement(element, "detail"), f"{T}ValidationFault", nsmap={None: TGA})
        error = etree.SubElement(etree.SubElement(detail, f"{T}Errors"), f"{T}ValidationError")
        etree.SubElement(error, f"{T}Code").text = validation[0]
        etree.SubElement(error, f"{T}Message").text = validation[1]
        etree.SubElement(error, f"{T}Severity").text = "Error"
    return soap(element, status=500)


def search_reply(
    codes: list[str], total: int | None, pad: int = 0, served: tuple[int, int] | None = None
) -> httpx.Response:
    response = etree.Element(f"{T}SearchResponse", nsmap={None: TGA})
    result = etree.SubElement(response, f"{T}SearchResult")
    if total is not None:
        etree.SubElement(result, f"{T}Count").text = str(total)
    if served is not None:
        etree.SubElement(result, f"{T}PageNumber").text = str(served[0])
        etree.SubElement(result, f"{T}PageSize").text = str(served[1])
    rows = etree.SubElement(result, f"{T}Results")
    for code in codes:
        row = etree.SubElement(rows, f"{T}TrainingComponentSummary")
        etree.SubElement(row, f"{T}Code").text = code
        etree.SubElement(row, f"{T}Title").text = f"Title of {code}" + " " * pad
    return soap(response)


def paging(request: httpx.Request) -> tuple[str, int, int]:
    body = etree.fromstring(request.content).find(f"{S}Body")[0]
    page = body.find(f"{T}request")
    return etree.QName(body).localname, int(page.findtext(f"{T}PageNumber")), int(page.findtext(f"{T}PageSize"))


class Catalogue:
    """A paged list of codes; ``too_large(page_number, page_size)`` makes a page's reply oversized."""

    def __init__(
        self,
        n: int,
        *,
        count: bool = True,
        too_large: Callable[[int, int], bool] | None = None,
        max_page_size: int | None = None,
    ) -> None:
        self.codes = [f"U{i:04d}" for i in range(n)]
        self.count = count
        self.max_page_size = max_page_size
        self.too_large = too_large or (lambda _n, _s: False)
        self.requests: list[tuple[int, int]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        _, number, size = paging(request)
        self.requests.append((number, size))
        served = None
        if self.max_page_size is not None:  # a capping server states the page it served
            size = min(size, self.max_page_size)
            served = (number, size)
        rows = self.codes[(number - 1) * size : number * size]
        pad = 150_000 // max(len(rows), 1) if self.too_large(number, size) else 0  # over the 100 kB limit used
        return search_reply(rows, len(self.codes) if self.count else None, pad=pad, served=served)


async def all_rows(tga: TgaClient, **kw: object) -> list[str]:
    async with tga:
        return [s.code async for page in tga.search(["Unit"], **kw) for s in page.results]  # type: ignore[arg-type]
