"""Release-file downloads and every switchable fault, through the running server and its control API."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from skillstream_tga_sandbox import SandboxServer

from .conftest import NS, TNS, Soap

FILE = "t:GetDetailsResult/t:Releases/t:Release/t:Files/t:ReleaseFile/t:RelativePath"


# --- files ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "folder"), [("BSBCMM412", "units"), ("WRWSL201A", "units"), ("RII30920", "qualifications")]
)
def test_download_by_relative_path_is_the_real_file(
    tga: SandboxServer, soap: Soap, tga_dir: Path, code: str, folder: str
) -> None:
    relative = soap.details(code, "ShowReleases", "ShowFiles").text(FILE)
    assert relative is not None
    response = httpx.get(tga.files_url + relative.replace("\\", "/"))
    real = (tga_dir / folder / f"{code}_XML.xml").read_bytes()
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/xml")
    assert response.headers["content-length"] == str(len(real))
    assert response.content == real
    stats = tga.stats()
    assert (stats["files_served"], stats["file_bytes"]) == (1, len(real))


def test_file_paths_are_case_insensitive_and_accept_backslashes(tga: SandboxServer, tga_dir: Path) -> None:
    real = (tga_dir / "units" / "CPCCBC4047A_XML.xml").read_bytes()
    assert httpx.get(tga.files_url + "cpc08/cpccbc4047a_r1.XML").content == real
    assert httpx.get(tga.files_url + "CPC08%5CCPCCBC4047A_R1.xml").content == real


@pytest.mark.parametrize(
    "path",
    [
        "../../pyproject.toml",
        "..%2F..%2F..%2Fetc%2Fpasswd",
        "BSB/..%2F..%2Fcatalogue%2Fdata.txt",
        "%2e%2e/%2e%2e/SOURCES.md",
        "units/BSBCMM412_XML.xml",  # a real file, but not at a TGA RelativePath
        "BSB/BSBCMM412_Complete_R1.xml",  # a release that is not served
    ],
)
def test_paths_outside_the_index_are_404(tga: SandboxServer, path: str) -> None:
    response = httpx.get(tga.files_url + path)
    assert response.status_code == 404
    assert response.content == b"Not Found"


def _read_into(response: httpx.Response, received: bytearray) -> None:
    for chunk in response.iter_raw():
        received += chunk


# --- faults --------------------------------------------------------------------------------------------------------


def test_latency_delays_every_soap_request(tga: SandboxServer, soap: Soap) -> None:
    tga.set_faults(latency_ms=300)
    started = time.perf_counter()
    assert soap.call("GetServerTime").status == 200
    assert time.perf_counter() - started >= 0.3
    tga.set_faults(latency_ms=0)
    started = time.perf_counter()
    soap.call("GetServerTime")
    assert time.perf_counter() - started < 0.3


def test_faults_can_be_set_at_start() -> None:
    with SandboxServer(soap_fault_codes="bsbcmm412", latency_ms=5) as server:
        assert server.faults()["soap_fault_codes"] == ["BSBCMM412"]
        assert Soap(server).details("BSBCMM412").status == 500
        server.set_faults(soap_fault_codes=[])
        assert Soap(server).details("BSBCMM412").status == 200
        server.reset()  # back to the faults given at start
        assert server.faults()["soap_fault_codes"] == ["BSBCMM412"]


def test_soap_fault_codes(tga: SandboxServer, soap: Soap) -> None:
    tga.set_faults(soap_fault_codes=["BSBCMM412"])
    reply = soap.details("BSBCMM412")
    assert reply.status == 500
    error = reply.payload.find(f"detail/{{{TNS}}}ValidationFault/{{{TNS}}}Errors/{{{TNS}}}ValidationError")
    assert error is not None
    assert (error.findtext("t:Code", namespaces=NS), error.findtext("t:Severity", namespaces=NS)) == (
        "SandboxFault",
        "Error",
    )
    assert soap.details("BSBITU111").status == 200
    assert tga.stats()["faults_injected"] == {"soap_fault_codes": 1}


def test_http_500_codes_answer_iis_html(tga: SandboxServer, soap: Soap) -> None:
    tga.set_faults(http_500_codes=["BSBCMM412"])
    reply = soap.details("BSBCMM412")
    assert reply.status == 500
    assert reply.http.headers["content-type"].startswith("text/html")
    assert b"500 - Internal server error." in reply.http.content
    assert soap.details("BSBITU111").status == 200
    assert tga.stats()["operations"]["GetDetails"] == 2


def test_every_nth_soap_request_fails(tga: SandboxServer, soap: Soap) -> None:
    tga.set_faults(http_500_every_nth=3)
    statuses = [soap.call("GetServerTime").status for _ in range(7)]
    assert statuses == [200, 200, 500, 200, 200, 500, 200]
    assert tga.stats()["faults_injected"] == {"http_500_every_nth": 2}


def test_truncated_file_closes_short_of_its_content_length(tga: SandboxServer, tga_dir: Path) -> None:
    tga.set_faults(truncated_files=["BSBCMM412"])
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.get(tga.files_url + "BSB/BSBCMM412_Complete_R2.xml")
    real = (tga_dir / "units" / "BSBCMM412_XML.xml").read_bytes()
    received = bytearray()
    with httpx.stream("GET", tga.files_url + "BSB/BSBCMM412_Complete_R2.xml") as response:
        assert response.headers["content-length"] == str(len(real))
        with pytest.raises(httpx.RemoteProtocolError):
            _read_into(response, received)
    assert bytes(received) == real[: len(real) // 2]


def test_truncated_file_short_mode_sends_half(tga: SandboxServer, tga_dir: Path) -> None:
    tga.set_faults(truncated_files=["BSBCMM412"], truncate_mode="short")
    real = (tga_dir / "units" / "BSBCMM412_XML.xml").read_bytes()
    response = httpx.get(tga.files_url + "BSB/BSBCMM412_Complete_R2.xml")
    assert response.status_code == 200
    assert response.content == real[: len(real) // 2]
    assert (
        httpx.get(tga.files_url + "BSB/BSBSTR802_Complete_R1.xml").content
        == (tga_dir / "units" / "BSBSTR802_XML.xml").read_bytes()
    )


def test_message_too_large_padding_grows_each_row(tga: SandboxServer, soap: Soap) -> None:
    plain = soap.search(page=1, size=20)
    tga.set_faults(message_too_large_pad_bytes=10_000)
    padded = soap.search(page=1, size=20)
    assert len(padded.http.content) - len(plain.http.content) == 20 * 10_000
    assert padded.all("t:SearchResult/t:Results/t:TrainingComponentSummary/t:Code") == plain.all(
        "t:SearchResult/t:Results/t:TrainingComponentSummary/t:Code"
    )


def test_control_api_refuses_unknown_faults(tga: SandboxServer) -> None:
    response = httpx.put(tga.url + "/_sandbox/faults", json={"no_such_fault": 1})
    assert response.status_code == 422
    assert httpx.put(tga.url + "/_sandbox/faults", json={"latency_ms": -1}).status_code == 422
    assert httpx.put(tga.url + "/_sandbox/modified", json={"code": "NOPE999"}).status_code == 404


def test_stats_count_operations_and_log_paging(tga: SandboxServer, soap: Soap) -> None:
    soap.search(page=2, size=7)
    soap.details("BSBCMM412")
    soap.call("GetServerTime")
    stats = tga.stats()
    assert stats["operations"] == {"Search": 1, "GetDetails": 1, "GetServerTime": 1}
    assert stats["soap_requests"] == 3
    assert stats["log"][0] == {"kind": "soap", "status": 200, "op": "Search", "page_number": 2, "page_size": 7}
    assert stats["log"][1]["code"] == "BSBCMM412"
    tga.reset()
    assert tga.stats()["operations"] == {}


def test_health(tga: SandboxServer, packages: list[dict[str, str]], xml_codes: dict[str, set[str]]) -> None:
    body = httpx.get(tga.url + "/_sandbox/health").json()
    assert body["status"] == "ok"
    assert body["components"]["TrainingPackage"] == len(packages)
    assert body["components"]["Unit"] == len(xml_codes["units"])
