"""The append path's envelope headers are exactly the ones :class:`EventMetadata` writes and reads back."""

from __future__ import annotations

import datetime as dt

import pytest

from skillstream_contracts.errors import UnknownEventType
from skillstream_contracts.events import Event, EventMetadata, EventRegistry
from skillstream_contracts.jobs import JOB_EVENTS, JobReport, JobStarted
from skillstream_runtime.envelope import EnvelopeWriter
from skillstream_runtime.eventstore import NewEvent, metadata_for


class Stranger(Event, frozen=True, kw_only=True, tag="test.Stranger"):
    pass


CASES = [
    NewEvent(event=JobStarted(job_id="j1", worker="w")),
    NewEvent(
        event=JobStarted(job_id="j2", worker="w", total_items=3),
        event_id="0123456789abcdef" * 2,
        occurred_at=dt.datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=dt.UTC),
        correlation_id="corr",
        causation_id="cause",
        job=JobReport(job_id="j2", phase="started", total=3, reason="line one\nline two", item_bytes=12),
    ),
]


@pytest.mark.parametrize("new", CASES)
def test_headers_equal_the_metadata_encoding_and_decode_back(new: NewEvent) -> None:
    body, headers = EnvelopeWriter(JOB_EVENTS).message("agg-1", new)
    expected = metadata_for(JOB_EVENTS, "agg-1", new)
    assert headers == expected.to_headers()
    assert list(headers) == list(expected.to_headers())
    assert body == JOB_EVENTS.encode(new.event)
    assert EventMetadata.from_headers(headers) == EventMetadata.from_headers(expected.to_headers())


def test_each_message_gets_its_own_headers() -> None:
    writer = EnvelopeWriter(JOB_EVENTS)
    _, first = writer.message("a", CASES[0])
    first["Nats-Batch-Id"] = "x"
    _, second = writer.message("a", CASES[0])
    assert "Nats-Batch-Id" not in second


def test_unknown_type_is_refused() -> None:
    with pytest.raises(UnknownEventType):
        EnvelopeWriter(JOB_EVENTS).message("a", NewEvent(event=Stranger()))
    with pytest.raises(UnknownEventType):
        EnvelopeWriter(EventRegistry("other", [Stranger])).message("a", CASES[0])


def test_schema_version_follows_the_registry() -> None:
    class V3(Event, frozen=True, kw_only=True, tag="test.V3"):
        schema_version = 3

    _, headers = EnvelopeWriter(EventRegistry("v", [V3])).message("a", NewEvent(event=V3()))
    assert headers["Skillstream-Schema-Version"] == "3"
