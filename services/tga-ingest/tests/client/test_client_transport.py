"""Transport behaviour of TgaClient with ``httpx.MockTransport``: retries, Retry-After, faults not retried, page
size halving arithmetic, streaming cap, truncation, concurrency and rate limits.

The replies here are built by this file only to drive the transport (counts, sizes, statuses). They are NOT
evidence that TGA's reply format is read right: that is test_client_sandbox.py's job, against the sandbox.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import math
import time
from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from lxml import etree
from pydantic import SecretStr

from skillstream_tga_ingest.adapters.client import (
    TgaAuthError,
    TgaClient,
    TgaError,
    TgaFileError,
    TgaMessageTooLarge,
    TgaSettings,
    TgaSoapFault,
    TgaTransportError,
    TgaValidationFault,
)
from skillstream_tga_ingest.adapters.client.namespaces import SOAP_ENV, TGA, WSSE

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


# --- retries ---------------------------------------------------------------------------------------------------


async def test_5xx_is_retried_then_succeeds() -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return httpx.Response(503, text="busy") if calls < 3 else server_time_reply()

    async with client(handler) as tga:
        assert await tga.get_server_time() == dt.datetime(2024, 5, 1, 0, 0, tzinfo=dt.UTC)
    assert calls == 3


async def test_html_500_exhausts_the_attempts() -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return httpx.Response(500, html="<html><body>Server Error in '/' Application.</body></html>")

    async with client(handler, retry_attempts=4) as tga:
        with pytest.raises(TgaTransportError) as caught:
            await tga.get_details("BSBCMM412")
    assert calls == 4
    assert (caught.value.status, caught.value.transient, caught.value.attempts) == (500, True, 4)
    assert str(caught.value) == "TGA GetDetails BSBCMM412: HTTP 500"


async def test_429_waits_retry_after() -> None:
    stamps: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        stamps.append(time.monotonic())
        if len(stamps) == 1:
            return httpx.Response(429, headers={"Retry-After": "0.3"})
        return server_time_reply()

    async with client(handler) as tga:
        await tga.get_server_time()
    assert len(stamps) == 2
    assert stamps[1] - stamps[0] >= 0.3  # far above the 0.005 s backoff the settings allow


@pytest.mark.parametrize("error", [httpx.ConnectError("refused"), httpx.ReadTimeout("slow")])
async def test_network_errors_and_timeouts_are_transient(error: Exception) -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        raise error

    async with client(handler) as tga:
        with pytest.raises(TgaTransportError) as caught:
            await tga.get_server_time()
    assert calls == 3
    assert caught.value.status is None
    assert caught.value.operation == "GetServerTime"


async def test_validation_fault_is_not_retried() -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return fault("Client", "The creator of this fault did not specify a Reason.", validation=("NotFound", "nope"))

    async with client(handler) as tga:
        with pytest.raises(TgaValidationFault) as caught:
            await tga.get_details("XXX999")
    assert calls == 1
    assert (caught.value.code, caught.value.message, caught.value.component) == ("NotFound", "nope", "XXX999")
    assert [e.severity for e in caught.value.errors] == ["Error"]


async def test_security_fault_is_an_auth_error_not_retried() -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return fault("InvalidSecurity", "An error occurred when verifying security for the message.", ns=WSSE)

    async with client(handler) as tga:
        with pytest.raises(TgaAuthError) as caught:
            await tga.get_server_time()
    assert calls == 1
    assert caught.value.fault_code == f"{{{WSSE}}}InvalidSecurity"


async def test_other_soap_faults_are_soap_faults() -> None:
    async with client(lambda r: fault("Server", "Object reference not set")) as tga:
        with pytest.raises(TgaSoapFault) as caught:
            await tga.get_server_time()
    assert type(caught.value) is TgaSoapFault
    assert caught.value.fault_string == "Object reference not set"


async def test_http_401_is_an_auth_error() -> None:
    async with client(lambda r: httpx.Response(401)) as tga:
        with pytest.raises(TgaAuthError):
            await tga.get_server_time()


async def test_request_headers() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return server_time_reply()

    async with client(handler) as tga:
        await tga.get_server_time()
    assert str(seen[0].url) == ENDPOINT
    assert seen[0].headers["Content-Type"] == "text/xml; charset=utf-8"
    assert seen[0].headers["SOAPAction"] == '"http://training.gov.au/services/ITrainingComponentService/GetServerTime"'


# --- paging ----------------------------------------------------------------------------------------------------


async def test_pages_until_ceil_count_over_page_size() -> None:
    catalogue = Catalogue(30)  # 3 full pages of 10: the 4th page is never asked for
    assert await all_rows(client(catalogue)) == catalogue.codes
    assert catalogue.requests == [(1, 10), (2, 10), (3, 10)]


async def test_short_page_ends_paging_without_count() -> None:
    catalogue = Catalogue(25, count=False)
    assert await all_rows(client(catalogue)) == catalogue.codes
    assert catalogue.requests == [(1, 10), (2, 10), (3, 10)]


async def test_empty_catalogue() -> None:
    catalogue = Catalogue(0)
    assert await all_rows(client(catalogue)) == []
    assert catalogue.requests == [(1, 10)]


async def test_a_server_capped_page_size_is_adopted() -> None:
    catalogue = Catalogue(23, count=False, max_page_size=4)
    assert await all_rows(client(catalogue)) == catalogue.codes  # a 4-row page is not mistaken for the last
    assert catalogue.requests == [(1, 10), (2, 4), (3, 4), (4, 4), (5, 4), (6, 4)]


async def test_a_server_capping_after_a_halving_is_asked_again() -> None:
    # 25 rows served as 25, page 2 of 25 too large -> 12 rows asked from page 3 (rows 24..), but the server
    # caps at 5 and serves rows 10..14: the resume point (25) is not in them, so page 6 of 5 is asked.
    catalogue = Catalogue(40, too_large=lambda number, size: size == 25 and number == 2)
    catalogue.max_page_size = None
    rows = await all_rows(client(catalogue, max_reply_bytes=100_000), page_size=25)
    assert rows == catalogue.codes
    capped = Catalogue(40, too_large=lambda number, size: size == 25 and number == 2, max_page_size=25)
    assert await all_rows(client(capped, max_reply_bytes=100_000), page_size=25) == capped.codes


async def test_page_cap() -> None:
    with pytest.raises(TgaError, match="max_pages=2"):
        await all_rows(client(Catalogue(50, count=False), max_pages=2))


async def test_oversized_reply_halves_the_page_and_resumes_at_the_first_row_not_yielded() -> None:
    # Pages of 25 from row 25 on are too large: 25 -> 12 rows. Row 25 is the 2nd row of page 3 of 12 (rows
    # 24..35), so that page is asked for and its first row (already yielded) dropped.
    catalogue = Catalogue(60, too_large=lambda number, size: size > 12 and number >= 2)
    rows = await all_rows(client(catalogue, max_reply_bytes=100_000), page_size=25)
    assert rows == catalogue.codes
    assert catalogue.requests == [(1, 25), (2, 25), (3, 12), (4, 12), (5, 12)]


async def test_halving_stops_at_the_minimum() -> None:
    catalogue = Catalogue(60, too_large=lambda number, size: True)
    with pytest.raises(TgaMessageTooLarge):
        await all_rows(client(catalogue, max_reply_bytes=100_000, min_page_size=3), page_size=25)
    assert [size for _, size in catalogue.requests] == [25, 12, 6, 3]


async def test_wcf_quota_fault_also_halves() -> None:
    catalogue = Catalogue(8)

    def handler(request: httpx.Request) -> httpx.Response:
        _, _, size = paging(request)
        if size > 4:
            catalogue.requests.append((0, size))
            return fault("Client", "The maximum message size quota for incoming messages (65536) has been exceeded.")
        return catalogue(request)

    assert await all_rows(client(handler)) == catalogue.codes
    assert catalogue.requests == [(0, 10), (0, 5), (1, 2), (2, 2), (3, 2), (4, 2)]


async def test_reply_reading_stops_at_the_limit() -> None:
    sent = 0

    async def endless() -> AsyncIterator[bytes]:
        nonlocal sent
        while sent < 50_000_000:
            sent += 65_536
            yield b" " * 65_536

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=endless())

    async with client(handler, max_reply_bytes=200_000) as tga:
        with pytest.raises(TgaMessageTooLarge) as caught:
            await tga.get_details("BSBCMM412")
    assert sent <= 200_000 + 2 * 65_536
    assert caught.value.limit == 200_000


# --- downloads -------------------------------------------------------------------------------------------------


async def test_download_url_and_bytes_as_served() -> None:
    seen: list[str] = []
    data = b"\xef\xbb\xbf<AuthorIT/>"

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(200, content=data)

    async with client(handler) as tga:
        assert await tga.download_file("BSB\\BSBCMM412_Complete_R2.xml", expected_size=len(data)) == data
    assert seen == ["http://files.test/TrainingComponentFiles/BSB/BSBCMM412_Complete_R2.xml"]


async def test_truncated_download_is_retried_then_fails() -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return httpx.Response(200, content=b"x" * 50)

    async with client(handler) as tga:
        with pytest.raises(TgaFileError) as caught:
            await tga.download_file("RII\\RIICOM201E_Complete_R1.xml", expected_size=100)
    assert calls == 3
    assert caught.value.transient
    assert "truncated: 50 of 100 B" in str(caught.value)


async def test_truncated_download_recovers() -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return httpx.Response(200, content=b"x" * (50 if calls == 1 else 100))

    async with client(handler) as tga:
        assert len(await tga.download_file("RII\\RIICOM201E_Complete_R1.xml", expected_size=100)) == 100
    assert calls == 2


async def test_missing_file_is_not_retried() -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return httpx.Response(404)

    async with client(handler) as tga:
        with pytest.raises(TgaFileError, match="not found"):
            await tga.download_file("BSB\\NOPE_R1.xml")
    assert calls == 1


async def test_file_size_cap_and_unsafe_path() -> None:
    async with client(lambda r: httpx.Response(200, content=b"x" * 5000), max_file_bytes=2048) as tga:
        with pytest.raises(TgaFileError, match="max_file_bytes"):
            await tga.download_file("BSB\\BIG_R1.xml")
        with pytest.raises(TgaFileError, match="refused"):
            await tga.download_file("..\\..\\etc\\passwd")


# --- politeness -------------------------------------------------------------------------------------------------


async def test_concurrency_is_bounded() -> None:
    in_flight = peak = 0

    async def slow(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.02)
        in_flight -= 1
        return server_time_reply()

    async with TgaClient(settings(max_concurrency=2), transport=httpx.MockTransport(slow)) as tga:
        await asyncio.gather(*(tga.get_server_time() for _ in range(8)))
    assert peak == 2


async def test_rate_is_limited() -> None:
    async with client(lambda r: server_time_reply(), requests_per_second=20) as tga:
        start = time.monotonic()
        await asyncio.gather(*(tga.get_server_time() for _ in range(6)))
        elapsed = time.monotonic() - start
    assert elapsed >= 4 / 20  # 6 requests evenly spaced at 20/s: at least 5 gaps of 50 ms, minus the first's slack
    assert math.isfinite(elapsed)
