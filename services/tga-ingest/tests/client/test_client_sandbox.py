"""TgaClient against the TGA sandbox (deploy/tga-sandbox), which serves the real catalogue and files.

The sandbox is written independently from the real XSD; every expected value below is read from the real
files in real-data/tga (AuthorIT Book variables, SOURCES.md, catalogue/data.txt, file bytes), never from the
client's own output.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from lxml import etree

from skillstream_runtime.realdata import real_data
from skillstream_tga_ingest.adapters.client import (
    ComponentDetails,
    TgaAuthError,
    TgaClient,
    TgaFileError,
    TgaSettings,
    TgaTransportError,
    TgaValidationFault,
    choose_release_file,
    latest_release,
)

sandbox = pytest.importorskip("skillstream_tga_sandbox")

pytestmark = pytest.mark.e2e  # runs the TGA sandbox's HTTP server

AUTHORIT = "{http://www.authorit.com/xml/authorit}"
CANBERRA = dt.timezone(dt.timedelta(hours=10))


# --- what the real files say --------------------------------------------------------------------------------------


def book_variables(folder: str, code: str) -> dict[str, str]:
    """The VariableAssignments of the real (non-template) Book of ``code`` in ``<folder>/<code>_XML.xml``."""
    document = etree.parse(str(real_data("tga", folder, f"{code}_XML.xml")))
    for assignments in document.iter(f"{AUTHORIT}VariableAssignments"):
        values = {
            (e.findtext(f"{AUTHORIT}Name") or ""): (e.findtext(f"{AUTHORIT}Value") or "").strip()
            for e in assignments.iter(f"{AUTHORIT}VariableAssignment")
        }
        if values.get("Code") == code and values.get("TpcmsObjectType") in {
            "StreamlineUnit",
            "UnitOfCompetency",
            "StreamlineQualification",
        }:
            return values
    raise AssertionError(f"no Book for {code}")


def recorded_path(code: str) -> str:
    """The TGA RelativePath SOURCES.md records for ``<code>_XML.xml``."""
    text = real_data("tga", "SOURCES.md").read_text(encoding="utf-8")
    match = re.search(rf"^\| {code}_XML\.xml \|[^|]*\| `([^`]+)`", text, re.MULTILINE)
    assert match, code
    return match.group(1)


def unit_codes() -> set[str]:
    return {p.name.removesuffix("_XML.xml") for p in real_data("tga", "units").glob("*_XML.xml")}


def training_packages() -> list[dict[str, Any]]:
    data = json.loads(real_data("tga", "catalogue", "data.txt").read_text(encoding="utf-8"))
    return list(data["trainingpackage"])


# --- the sandbox ---------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server() -> Iterator[Any]:
    with sandbox.SandboxServer() as running:
        yield running


@pytest.fixture
def tga_server(server: Any) -> Any:
    server.reset()
    return server


def settings_for(server: Any, **overrides: Any) -> TgaSettings:
    values: dict[str, Any] = {
        "environment": "local",
        "endpoint": server.service_url,
        "files_base_url": server.url,
        "requests_per_second": 100,
        "retry_attempts": 3,
        "retry_initial_delay": 0.001,
        "retry_max_delay": 0.01,
    }
    values.update(overrides)
    return TgaSettings.model_validate(values)


def client_for(server: Any, **overrides: Any) -> TgaClient:
    return TgaClient(settings_for(server, **overrides))


def operations(server: Any, name: str) -> int:
    return int(server.stats()["operations"].get(name, 0))


# --- replies read right ----------------------------------------------------------------------------------------------


async def test_server_time_is_now_in_utc(tga_server: Any) -> None:
    async with client_for(tga_server) as tga:
        now = await tga.get_server_time()
    assert now.tzinfo is dt.UTC
    assert abs(now - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=1)


@pytest.mark.parametrize("code", ["BSBCMM412", "WRWSL201A", "RIICOM201E", "CPCCBC4047A"])
async def test_unit_details_and_file_match_the_real_files(tga_server: Any, code: str) -> None:
    book = book_variables("units", code)
    real_file = real_data("tga", "units", f"{code}_XML.xml")
    async with client_for(tga_server) as tga:
        details = await tga.get_details(code)
        release = latest_release(details)
        assert release is not None
        chosen = choose_release_file(release.files)
        assert chosen is not None
        data = await tga.download_file(chosen.relative_path, expected_size=chosen.size)
    assert (details.code, details.title, details.component_types) == (code, book["Title"], ["Unit"])
    assert release.release_number == book["ReleaseNumber"]
    assert details.usage_recommendations[-1].state == book["UsageRecommendation"].capitalize()
    assert chosen.relative_path == recorded_path(code)
    assert chosen.size == real_file.stat().st_size
    assert data == real_file.read_bytes()


async def test_qualification_unit_grid_has_the_core_units_of_the_packaging_rules(tga_server: Any) -> None:
    text = real_data("tga", "qualifications", "BSB41419_XML.xml").read_text(encoding="utf-8")
    core_block = text.split('<cs id="24">Core units</cs>', 1)[1].split("Elective units", 1)[0]
    core = dict(re.findall(r'<p id="4">([A-Z]{3}[A-Z0-9]+) ([^<]+?)\s*</p>', core_block))
    assert len(core) == 5  # "5 core units plus 5 elective units"
    book = book_variables("qualifications", "BSB41419")
    async with client_for(tga_server) as tga:
        details = await tga.get_details("BSB41419")
    release = latest_release(details)
    assert release is not None
    assert (details.title, details.component_types, release.release_number) == (
        book["Title"],
        ["Qualification"],
        book["ReleaseNumber"],
    )
    assert [f.relative_path for f in release.files] == [recorded_path("BSB41419")]
    essential = {g.code: g.title for g in release.unit_grid if g.is_essential}
    assert essential == core


async def test_search_pages_through_every_training_package_once(tga_server: Any) -> None:
    packages = training_packages()
    async with client_for(tga_server) as tga:
        # data.txt's versioned packages (CPC08…) are superseded by their successors: asked for like the refresh.
        pages = [page async for page in tga.search(["TrainingPackage"], page_size=7, include_superseded=True)]
    rows = [row for page in pages for row in page.results]
    assert len(pages) == -(-len(packages) // 7)  # ceil(Count / PageSize)
    assert {page.count for page in pages} == {len(packages)}
    assert len(rows) == len({row.code for row in rows}) == len(packages)
    titles = {p["code"].strip().upper(): p["title"].strip() for p in packages}
    assert {row.code: row.title for row in rows} == titles
    assert all(row.component_types == ["TrainingPackage"] for row in rows)


async def test_search_units_superseded_and_filtered(tga_server: Any) -> None:
    units = unit_codes()
    superseded = {c for c in units if book_variables("units", c).get("UsageRecommendation") == "superseded"}
    assert "WRWSL201A" in superseded
    async with client_for(tga_server) as tga:
        everything = {s.code async for page in tga.search(["Unit"], include_superseded=True) for s in page.results}
        current = {s.code async for page in tga.search(["Unit"]) for s in page.results}
        bsb = {
            s.code
            async for page in tga.search(["Unit"], code=True, filter_text="bsb", include_superseded=True)
            for s in page.results
        }
    assert everything == units
    assert current == units - superseded
    assert bsb == {c for c in units if "BSB" in c}


async def test_search_by_modified_date_window(tga_server: Any) -> None:
    # data.txt's release_date is the package's first UsageRecommendation StartDate (SOURCES.md §3).
    in_2015 = {
        p["code"].strip().upper()
        for p in training_packages()
        if p.get("release_date") and p["release_date"].startswith("2015-")
    }
    assert in_2015
    start = dt.datetime(2015, 1, 1, tzinfo=CANBERRA)
    end = dt.datetime(2015, 12, 31, 23, 59, 59, tzinfo=CANBERRA)
    async with client_for(tga_server) as tga:
        found = [s async for page in tga.search_by_modified_date(start, end, ["TrainingPackage"]) for s in page.results]
    assert {s.code for s in found} == in_2015
    assert all(s.updated_at is not None and start <= s.updated_at <= end for s in found)


async def test_modified_and_deleted_components_are_found(tga_server: Any) -> None:
    since = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=5)
    touched = dt.datetime.now(dt.UTC).replace(microsecond=0)
    deleted_at = dt.datetime(2024, 3, 5, 1, 2, 3, tzinfo=dt.UTC)
    tga_server.mark_modified("BSBCMM412", touched)
    tga_server.mark_deleted("ZZZ99999", "PhysicalDelete", deleted_at)
    async with client_for(tga_server) as tga:
        changed = [s async for page in tga.search_by_modified_date(since, None, ["Unit"]) for s in page.results]
        deleted = await tga.search_deleted(
            dt.datetime(2024, 3, 1, tzinfo=dt.UTC), dt.datetime(2024, 4, 1, tzinfo=dt.UTC)
        )
    assert [(s.code, s.updated_at) for s in changed] == [("BSBCMM412", touched)]
    assert [(d.national_code, d.operation, d.updated_at) for d in deleted] == [
        ("ZZZ99999", "PhysicalDelete", deleted_at)
    ]


# --- faults ----------------------------------------------------------------------------------------------------------


async def test_unknown_code_is_a_validation_fault(tga_server: Any) -> None:
    async with client_for(tga_server) as tga:
        with pytest.raises(TgaValidationFault) as caught:
            await tga.get_details("NOPE999")
    assert caught.value.code == "NotFound"
    assert caught.value.component == "NOPE999"
    assert "NOPE999" in str(caught.value)
    assert operations(tga_server, "GetDetails") == 1  # not retried


async def test_injected_soap_fault_is_not_retried(tga_server: Any) -> None:
    tga_server.set_faults(soap_fault_codes=["BSBCMM412"])
    async with client_for(tga_server) as tga:
        with pytest.raises(TgaValidationFault) as caught:
            await tga.get_details("BSBCMM412")
        other: ComponentDetails = await tga.get_details("BSBITU111")
    assert caught.value.code == "SandboxFault"
    assert [e.severity for e in caught.value.errors] == ["Error"]
    assert other.title == book_variables("units", "BSBITU111")["Title"]
    assert operations(tga_server, "GetDetails") == 2


async def test_http_500_is_retried_until_the_attempts_run_out(tga_server: Any) -> None:
    tga_server.set_faults(http_500_codes=["BSBCMM412"])
    async with client_for(tga_server, retry_attempts=4) as tga:
        with pytest.raises(TgaTransportError) as caught:
            await tga.get_details("BSBCMM412")
    assert (caught.value.status, caught.value.attempts) == (500, 4)
    assert operations(tga_server, "GetDetails") == 4


async def test_every_nth_500_is_absorbed_by_retries(tga_server: Any) -> None:
    tga_server.set_faults(http_500_every_nth=2)
    async with client_for(tga_server) as tga:
        titles = [(await tga.get_details(code)).title for code in ("BSBCMM412", "BSBITU111", "BSBSTR802")]
    assert titles == [book_variables("units", c)["Title"] for c in ("BSBCMM412", "BSBITU111", "BSBSTR802")]


@pytest.mark.parametrize("mode", ["close", "short"])
async def test_truncated_file_is_retried_then_a_file_error(tga_server: Any, mode: str) -> None:
    tga_server.set_faults(truncated_files=["BSBCMM412"], truncate_mode=mode)
    size = real_data("tga", "units", "BSBCMM412_XML.xml").stat().st_size
    async with client_for(tga_server) as tga:
        with pytest.raises(TgaFileError) as caught:
            await tga.download_file(recorded_path("BSBCMM412"), expected_size=size)
    assert caught.value.transient
    assert caught.value.attempts == 3
    assert "truncated" in str(caught.value)


async def test_message_too_large_halves_the_page_and_loses_nothing(tga_server: Any) -> None:
    tga_server.set_faults(message_too_large_pad_bytes=20_000)
    packages = training_packages()
    async with client_for(tga_server, max_reply_bytes=100_000, min_page_size=2) as tga:
        search = tga.search(["TrainingPackage"], page_size=50, include_superseded=True)
        rows = [s.code async for page in search for s in page.results]
    assert rows == sorted(p["code"].strip().upper() for p in packages)  # the sandbox orders Search by code
    asked = [(e["page_number"], e["page_size"]) for e in tga_server.stats()["log"] if e.get("op") == "Search"]
    # 50 rows padded by 20 kB each are ~1 MB: 50 -> 25 -> 12 -> 6 -> 3 rows (~60 kB), then 20 pages of 3.
    assert asked == [(1, 50), (1, 25), (1, 12), (1, 6)] + [(n, 3) for n in range(1, 21)]


async def test_wrong_password_is_an_auth_error(tga_server: Any) -> None:
    async with client_for(tga_server, password="wrong") as tga:
        with pytest.raises(TgaAuthError):
            await tga.get_server_time()
    assert tga_server.stats()["auth_failures"] == 1


async def test_latency_over_the_timeout_is_a_transport_error(tga_server: Any) -> None:
    tga_server.set_faults(latency_ms=400)
    async with client_for(tga_server, timeout_seconds=0.1, retry_attempts=2) as tga:
        with pytest.raises(TgaTransportError, match="timed out") as caught:
            await tga.get_server_time()
    assert caught.value.attempts == 2
