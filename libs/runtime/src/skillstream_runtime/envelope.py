"""The envelope headers an append writes, built straight from a :class:`NewEvent` on the append path.

They are exactly the :meth:`EventMetadata.to_headers` of :func:`metadata_for`, the envelope a store writes
(a test holds them equal), without building the metadata struct for every event: the type comes from the
event's tag and its schema version, as header text, from a per-registry cache. On the way back,
:func:`stream_position` reads where a delivered message sits in its stream from its ack subject.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from nats.aio.msg import Msg

from skillstream_contracts.events import EventMetadata, EventRegistry, Headers, event_type_of

if TYPE_CHECKING:
    from skillstream_runtime.eventstore import NewEvent


class EnvelopeWriter:
    """Encodes events of one :class:`EventRegistry` as (body bytes, envelope headers) for an append."""

    def __init__(self, registry: EventRegistry) -> None:
        self.registry = registry
        # event type → schema version as header text; filled on first use (a registry's types are fixed)
        self._versions: dict[str, str] = {}

    def message(self, aggregate_id: str, new: NewEvent) -> tuple[bytes, dict[str, str]]:
        """The body and headers of ``new``, a fresh dict the caller may add to.

        Raises:
            skillstream_contracts.UnknownEventType: the event's type is not in the registry.
        """
        event = new.event
        event_type = event_type_of(event)
        version = self._versions.get(event_type)
        if version is None:
            version = self._versions[event_type] = str(self.registry.current_version(event_type))
        event_id = new.event_id
        headers = {
            Headers.MSG_ID: event_id,
            Headers.EVENT_ID: event_id,
            Headers.EVENT_TYPE: event_type,
            Headers.SCHEMA_VERSION: version,
            Headers.AGGREGATE_ID: aggregate_id,
            Headers.OCCURRED_AT: new.occurred_at.isoformat(),
        }
        if new.correlation_id is not None:
            headers[Headers.CORRELATION_ID] = new.correlation_id
        if new.causation_id is not None:
            headers[Headers.CAUSATION_ID] = new.causation_id
        if new.job is not None:
            headers.update(new.job.to_headers())
        return self.registry.encode(event), headers


def metadata_for(registry: EventRegistry, aggregate_id: str, new: NewEvent) -> EventMetadata:
    """The envelope a store writes for ``new``: its own fields plus the event's type, the schema version
    ``registry`` writes for it and ``aggregate_id``.

    Raises:
        skillstream_contracts.UnknownEventType: the event's type is not in ``registry``.
    """
    event_type = event_type_of(new.event)
    return EventMetadata(
        event_id=new.event_id,
        event_type=event_type,
        schema_version=registry.current_version(event_type),
        aggregate_id=aggregate_id,
        occurred_at=new.occurred_at,
        correlation_id=new.correlation_id,
        causation_id=new.causation_id,
        job=new.job,
    )


_ACK_V1_TOKENS = 9  # $JS.ACK.<stream>.<consumer>.<delivered>.<stream seq>.<consumer seq>.<timestamp>.<pending>


def stream_position(msg: Msg) -> tuple[str, int]:
    """(stream name, stream sequence) of a message delivered by a JetStream consumer.

    Raises:
        nats.errors.NotJSMessageError: ``msg`` was not delivered by a JetStream consumer.
    """
    # The stream and stream sequence are tokens of the ack reply subject (ADR-15). Reading just those two
    # of the usual layout skips nats-py's full metadata (a timestamp and two dataclasses per message),
    # which was half the cost of decoding one; any other layout goes through nats-py.
    tokens = (msg.reply or "").split(".")
    if len(tokens) == _ACK_V1_TOKENS and tokens[0] == "$JS" and tokens[1] == "ACK":
        return tokens[2], int(tokens[5])
    metadata = msg.metadata
    return metadata.stream, metadata.sequence.stream


__all__ = ["EnvelopeWriter", "metadata_for", "stream_position"]
