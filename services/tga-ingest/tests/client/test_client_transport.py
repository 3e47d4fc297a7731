"""Transport behaviour of TgaClient with ``httpx.MockTransport``: retries, Retry-After, faults not retried,
request headers, downloads (truncation, size cap, unsafe paths), concurrency and rate limits. Replies come from
``conftest.py`` (transport only)."""

from __future__ import annotations

import asyncio
import datetime as dt
import math
import time

import httpx
import pytest

from skillstream_tga_ingest.adapters.client import (
    TgaAuthError,
    TgaClient,
    TgaFileError,
    TgaSoapFault,
    TgaTransportError,
    TgaValidationFault,
)
from skillstream_tga_ingest.adapters.client.namespaces import WSSE

from .conftest import (
    ENDPOINT,
    client,
    fault,
    server_time_reply,
    settings,
)

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
