"""Decoding a consumer's message: stream and sequence from its ack subject, envelope from its headers."""

from __future__ import annotations

import nats.errors
import pytest
from nats.aio.msg import Msg

from skillstream_contracts.jobs import JOB_EVENTS, JobStarted
from skillstream_runtime.envelope import EnvelopeWriter
from skillstream_runtime.eventstore import NewEvent, decode_message

NEW = NewEvent(event=JobStarted(job_id="j1", worker="w", total_items=3), correlation_id="c1")
DATA, HEADERS = EnvelopeWriter(JOB_EVENTS).message("j1", NEW)

REPLIES = [
    "$JS.ACK.JOBS.progress.1.4711.12.1733230000000000000.0",  # v1 layout
    "$JS.ACK._.ACCHASH.JOBS.progress.1.4711.12.1733230000000000000.0.RANDOM",  # v2 layout, no domain
    "$JS.ACK.hub.ACCHASH.JOBS.progress.2.4711.12.1733230000000000000.5.RANDOM",  # v2 layout, a domain
]


@pytest.mark.parametrize("reply", REPLIES)
def test_stream_and_sequence_come_from_the_ack_subject(reply: str) -> None:
    msg = Msg(_client=None, subject="jobs.job.j1", reply=reply, data=DATA, headers=HEADERS)  # type: ignore[arg-type]
    recorded = decode_message(JOB_EVENTS, msg)
    assert (recorded.stream, recorded.sequence) == (msg.metadata.stream, msg.metadata.sequence.stream)
    assert (recorded.stream, recorded.sequence) == ("JOBS", 4711)
    assert recorded.subject == "jobs.job.j1"
    assert recorded.event == NEW.event
    assert recorded.metadata.event_id == NEW.event_id
    assert recorded.metadata.correlation_id == "c1"
    assert recorded.data == DATA


@pytest.mark.parametrize("reply", ["", "_INBOX.abc", "$JS.ACK.JOBS.too.few"])
def test_a_message_not_from_a_consumer_is_refused(reply: str) -> None:
    msg = Msg(_client=None, subject="jobs.job.j1", reply=reply, data=DATA, headers=HEADERS)  # type: ignore[arg-type]
    with pytest.raises(nats.errors.NotJSMessageError):
        decode_message(JOB_EVENTS, msg)
