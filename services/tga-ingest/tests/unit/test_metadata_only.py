"""A qualification TGA lists no content file for is downloaded as *metadata only*, never as a full success.

Against the TGA sandbox serving ``real-data/tga`` (a real ``TgaClient``; the in-memory event store): the CPC
training package lists qualifications with a real XML file in ``qualifications/`` and others known only
from the catalogue dump (``catalogue/vet_qualifications.sql.gz``, no file). The first are parsed; the others
say why they hold details only, and the job's summary counts them apart from the downloaded components.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from skillstream_contracts.tga import ComponentType, PackageDownloaded, QualificationDownloaded
from skillstream_contracts.tga_queries import KIND_DOWNLOAD_PACKAGES
from skillstream_runtime.jobs import JobContext
from skillstream_runtime.realdata import real_data
from skillstream_tga_ingest.adapters.client import TgaClient, TgaSettings
from skillstream_tga_ingest.domain.items import Item
from skillstream_tga_ingest.domain.outcomes import counts_of, metadata_only_reason, outcome_of
from skillstream_tga_ingest.handlers.deps import Deps
from skillstream_tga_ingest.handlers.download import download
from skillstream_tga_ingest.handlers.fetch import download_component

from .conftest import FakeRaw, Ledger

sandbox = pytest.importorskip("skillstream_tga_sandbox")

QUAL = ComponentType.QUALIFICATION
PACKAGE = "CPC"
WITH_FILE = "CPC30220"  # qualifications/CPC30220_XML.xml (SOURCES.md §2: CPC\CPC30220_R6.xml)


def _with_files() -> set[str]:
    return {p.name.removesuffix("_XML.xml") for p in real_data("tga", "qualifications").glob("*_XML.xml")}


@pytest.fixture(scope="module")
def server() -> Iterator[Any]:
    with sandbox.SandboxServer() as running:
        yield running


@pytest.fixture
def client(server: Any) -> TgaClient:
    server.reset()
    settings = TgaSettings.model_validate(
        {
            "environment": "local",
            "endpoint": server.service_url,
            "files_base_url": server.url,
            "requests_per_second": 200,
        }
    )
    return TgaClient(settings)


async def _without_file(client: TgaClient) -> str:
    """A CPC qualification the package lists and no real file holds (one of the dump's rows)."""
    details = await client.get_details(PACKAGE, components=True)
    listed = [c.code for r in details.releases for c in r.components if c.type == "Qualification"]
    return sorted(set(listed) - _with_files())[0]


async def test_a_qualification_without_a_content_file_is_metadata_only_with_the_reason(client: TgaClient) -> None:
    code = await _without_file(client)
    bare = await download_component(client, FakeRaw(), Item(QUAL, code, PACKAGE), None)  # type: ignore[arg-type]
    event = bare.event
    assert isinstance(event, QualificationDownloaded)
    assert event.source is None
    assert (event.description, event.packaging_rules) == ("", "")
    # The catalogue dump states no release number, so the sandbox's release has a nil ReleaseNumber.
    assert event.metadata_only_reason == "TGA lists no content file for this release"
    assert metadata_only_reason(event) == event.metadata_only_reason
    assert counts_of(event) == {"metadata_only": 1}  # not a downloaded component
    assert outcome_of(event).value == "succeeded"  # TGA's details were read: not a failure either

    parsed = (await download_component(client, FakeRaw(), Item(QUAL, WITH_FILE, PACKAGE), None)).event  # type: ignore[arg-type]
    assert isinstance(parsed, QualificationDownloaded)
    assert parsed.source is not None
    assert parsed.description
    assert parsed.metadata_only_reason is None
    assert metadata_only_reason(parsed) is None
    assert counts_of(parsed) == {"components": 1}


async def test_a_package_job_counts_metadata_only_qualifications_apart(
    client: TgaClient, store: Any, new_job: Callable[..., JobContext], ledger: Ledger
) -> None:
    async def nothing(*_: Any) -> list[tuple[ComponentType, str]]:
        return []

    deps = Deps(store=store, client=client, raw=FakeRaw(), held=nothing, outdated=nothing, item_concurrency=4)
    job = new_job(KIND_DOWNLOAD_PACKAGES, {"codes": [PACKAGE]})
    await download(job, deps, kind=KIND_DOWNLOAD_PACKAGES)

    (package,) = [
        e.event for e in ledger.on(ComponentType.TRAINING_PACKAGE, PACKAGE) if isinstance(e.event, PackageDownloaded)
    ]
    bare = sorted(set(package.qualification_codes) - _with_files())
    assert bare, "CPC lists qualifications the real data has no file for"
    summary = ledger.ended(job.job_id).summary
    assert summary["metadata_only"] == len(bare)
    listed = 1 + len(package.qualification_codes) + len(package.unit_codes) + len(package.skill_set_codes)
    assert summary["components"] == listed - len(bare)
    for code in bare:
        (event,) = [e.event for e in ledger.on(QUAL, code) if isinstance(e.event, QualificationDownloaded)]
        assert metadata_only_reason(event) is not None


async def test_a_package_carries_the_release_the_real_files_name_or_none(client: TgaClient) -> None:
    # "… released with CPC Construction, Plumbing and Services Training Package Release 9.0." (CPC units'
    # Modification History); no real file names a UEG release, so TGA (the sandbox) states none.
    cpc = (await download_component(client, FakeRaw(), Item(ComponentType.TRAINING_PACKAGE, "CPC", "CPC"), None)).event  # type: ignore[arg-type]
    ueg = (await download_component(client, FakeRaw(), Item(ComponentType.TRAINING_PACKAGE, "UEG", "UEG"), None)).event  # type: ignore[arg-type]
    assert isinstance(cpc, PackageDownloaded)
    assert isinstance(ueg, PackageDownloaded)
    assert cpc.release == "9.0"
    assert (ueg.release, str(ueg.release_date)) == (None, "2018-09-05")  # catalogue/data.txt
