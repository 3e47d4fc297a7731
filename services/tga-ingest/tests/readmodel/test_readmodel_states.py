"""Each catalogue item's local state (``LocalState``) against real NATS + PostgreSQL: a qualification TGA lists
no content file for is *metadata only* (with the reason) in the list, its filter, the stats and its detail,
never downloaded-and-processed; the stats list every failed component with its code, kind and reason.

The components are real: qualifications of ``catalogue/vet_qualifications.sql.gz`` (no XML file in the real
data) and the real files of ``qualifications/`` and ``units/``, parsed by the service's parser.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from skillstream_contracts.tga import (
    ComponentDownloadFailed,
    ComponentType,
    ParseFailure,
    QualificationDownloaded,
    UnitParseFailed,
    UsageRecommendation,
)
from skillstream_contracts.tga_queries import FailedComponent, FailureCount, ListAvailable, LocalState
from skillstream_tga_ingest.parser import ParseError, parse_unit
from skillstream_tga_ingest.projections.component_state import UNSTATED_METADATA_ONLY
from skillstream_tga_ingest.projections.queries import catalogue_stats, get_qualification, list_available

QUAL = ComponentType.QUALIFICATION
UNIT = ComponentType.UNIT
HOUR = dt.timedelta(hours=1)
NO_FILE = "TGA lists no content file for release 1"


def _bare(real: Any, code: str, *, reason: str | None = NO_FILE) -> QualificationDownloaded:
    """A dump qualification downloaded from its details only (TGA lists no file), as ``details_only`` records
    it; ``reason`` None: an event written before reasons were recorded."""
    (row,) = {(q.package, q.title) for q in real.vet_qualifications() if q.code == code}
    package, title = row
    return QualificationDownloaded(
        code=code,
        title=title,
        release="1",
        training_package=package,
        usage_recommendation=UsageRecommendation.CURRENT,
        metadata_only_reason=reason,
    )


async def _items(tga: Any, ctype: ComponentType, **filters: Any) -> dict[str, Any]:
    page = await list_available(tga.pool, ListAvailable(component_type=ctype, page_size=500, **filters))
    return {i.code: i for i in page.items}


async def test_metadata_only_qualifications_are_a_state_of_their_own(tga: Any, real: Any) -> None:
    await tga.append(QUAL.value, "BSB41415", _bare(real, "BSB41415"))
    await tga.append(QUAL.value, "CHC30113", _bare(real, "CHC30113", reason=None))
    with_file = real.qualification_downloaded("CPC30220", "CPC")
    first = QualificationDownloaded(  # its details only, then (an hour later) with its file
        code=with_file.code,
        title=with_file.title,
        release=with_file.release,
        training_package="CPC",
        usage_recommendation=with_file.usage_recommendation,
        metadata_only_reason=f"TGA lists no content file for release {with_file.release}",
    )
    await tga.append(QUAL.value, "CPC30220", first)
    await tga.append(QUAL.value, "BSB41419", real.qualification_downloaded("BSB41419", "BSB"))
    await tga.append(QUAL.value, "CPC30220", with_file, at=real.t0 + HOUR)
    await tga.catch_up()

    every = await _items(tga, QUAL)
    assert {c: i.state for c, i in every.items()} == {
        "BSB41415": LocalState.METADATA_ONLY,
        "CHC30113": LocalState.METADATA_ONLY,
        "BSB41419": LocalState.DOWNLOADED,
        "CPC30220": LocalState.DOWNLOADED,
    }
    bare = every["BSB41415"]
    assert (bare.downloaded, bare.processed, bare.metadata_only_reason) == (True, False, NO_FILE)
    assert (bare.description, bare.failure) == ("", None)
    assert every["CHC30113"].metadata_only_reason == UNSTATED_METADATA_ONLY
    full = every["BSB41419"]
    assert (full.processed, full.metadata_only_reason) == (True, None)
    assert full.description == real.qualification_downloaded("BSB41419", "BSB").description != ""
    assert every["CPC30220"].metadata_only_reason is None  # the file came later: no longer metadata only

    only = await _items(tga, QUAL, state=LocalState.METADATA_ONLY)
    assert sorted(only) == ["BSB41415", "CHC30113"]
    assert sorted(await _items(tga, QUAL, state=LocalState.DOWNLOADED)) == ["BSB41419", "CPC30220"]

    stats = await catalogue_stats(tga.pool)
    assert stats.metadata_only == {QUAL: 2}
    assert stats.qualifications == 4
    detail = await get_qualification(tga.pool, "BSB41415")
    assert detail is not None
    assert (detail.metadata_only_reason, detail.units, detail.packaging_rules) == (NO_FILE, [], "")
    parsed = await get_qualification(tga.pool, "BSB41419")
    assert parsed is not None
    assert parsed.metadata_only_reason is None


async def test_every_failure_is_listed_with_its_code_kind_and_reason(tga: Any, real: Any) -> None:
    data = real.unit_file("BSBCMM412")
    with pytest.raises(ParseError) as malformed:
        parse_unit(data[: len(data) // 2])  # a truncated download of the real file
    refused = UnitParseFailed(code="BSBCMM412", reason=malformed.value.reason, failure=ParseFailure.MALFORMED)
    # A package code TGA does not know: the sandbox's GetDetails fault (deploy/tga-sandbox README, "Faults").
    unknown = "GetDetails BSB99: TGA ValidationFault NotFound: No training component with code BSB99 exists"
    fault = ComponentDownloadFailed(
        code="BSB99", component_type=ComponentType.TRAINING_PACKAGE, reason=unknown, fault_code="NotFound"
    )
    await tga.append(UNIT.value, "BSBCMM412", refused)
    await tga.append(ComponentType.TRAINING_PACKAGE.value, "BSB99", fault, at=real.t0 + HOUR)
    await tga.catch_up()

    stats = await catalogue_stats(tga.pool)
    assert stats.failures == [
        FailureCount(failure=None, count=1, kind="download"),
        FailureCount(failure=ParseFailure.MALFORMED, count=1, kind="malformed"),
    ]
    assert stats.failed == [  # newest first
        FailedComponent(
            code="BSB99",
            component_type=ComponentType.TRAINING_PACKAGE,
            kind="download",
            reason=unknown,
            failed_at=real.t0 + HOUR,
        ),
        FailedComponent(
            code="BSBCMM412", component_type=UNIT, kind="malformed", reason=malformed.value.reason, failed_at=real.t0
        ),
    ]
    # Both are in their type's list, under the failed filter, with the failure's kind.
    packages = await _items(tga, ComponentType.TRAINING_PACKAGE, state=LocalState.FAILED)
    assert {c: (i.failure, i.failure_kind) for c, i in packages.items()} == {"BSB99": (unknown, "download")}
    units = await _items(tga, UNIT, state=LocalState.FAILED)
    assert {c: i.failure_kind for c, i in units.items()} == {"BSBCMM412": "malformed"}
