"""Every stored envelope shape still decodes: the NATS headers of events already in the streams.

The fixtures in ``envelopes/`` are header sets exactly as they were first written (an item report, a phase
report, an event outside any job). They must decode into :class:`EventMetadata` with the same values, and
encoding the result must give the same headers back, so old and new events are indistinguishable on the wire.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from skillstream_contracts.errors import EventDecodeError
from skillstream_contracts.events import EventMetadata
from skillstream_contracts.jobs import ItemOutcome, JobPhase, JobReport

ENVELOPES = Path(__file__).parent / "envelopes"
JOB = "0123456789abcdef0123456789abcdef"


def _headers(name: str) -> dict[str, str]:
    return json.loads((ENVELOPES / f"{name}.json").read_text())


@pytest.mark.parametrize("name", sorted(p.stem for p in ENVELOPES.glob("*.json")))
def test_stored_envelopes_round_trip(name: str) -> None:
    headers = _headers(name)
    assert EventMetadata.from_headers(headers).to_headers() == headers


def test_an_item_report_decodes_into_its_job_report() -> None:
    meta = EventMetadata.from_headers(_headers("item-report"))
    assert meta.job == JobReport(
        job_id=JOB,
        item_key="4711",
        item_outcome=ItemOutcome.FAILED.value,
        item_group="1001",
        item_bytes=1_048_576,
        reason="HTTP 503 after 6 attempts",
    )
    assert meta.job_id == JOB
    assert meta.correlation_id == "c0ffee00c0ffee00c0ffee00c0ffee00"
    assert meta.occurred_at == dt.datetime(2026, 11, 20, 9, 15, 2, 123456, tzinfo=dt.UTC)


def test_a_phase_report_decodes_into_its_job_report() -> None:
    meta = EventMetadata.from_headers(_headers("phase-report"))
    assert meta.job == JobReport(job_id=JOB, phase=JobPhase.COMPLETED.value, total=9, summary='{"succeeded":9}')


def test_an_event_outside_any_job_has_no_report() -> None:
    meta = EventMetadata.from_headers(_headers("plain"))
    assert meta.job is None
    assert meta.job_id is None
    assert meta.causation_id == "99887766554433221100998877665544"


def test_a_reason_is_kept_on_one_line_and_bounded() -> None:
    report = JobReport(job_id=JOB, reason="line one\nline two\t" + "x" * 600)
    reason = report.to_headers()["Skillstream-Job-Reason"]
    assert reason.startswith("line one line two x")
    assert len(reason) == 500


@pytest.mark.parametrize("header", ["Skillstream-Job-Total", "Skillstream-Item-Bytes"])
def test_a_malformed_number_is_a_decode_error(header: str) -> None:
    headers = _headers("item-report") | {header: "many"}
    with pytest.raises(EventDecodeError):
        EventMetadata.from_headers(headers)
