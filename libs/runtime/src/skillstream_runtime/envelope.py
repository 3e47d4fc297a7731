"""The envelope headers an append writes, built straight from a :class:`NewEvent` on the append path.

They are exactly the :meth:`EventMetadata.to_headers` of :func:`metadata_for`, the envelope a store writes
(a test holds them equal), without building the metadata struct for every event: the type comes from the
event's tag and its schema version, as header text, from a per-registry cache.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from skillstream_contracts.events import EventMetadata, EventRegistry, Headers, event_type_of

if TYPE_CHECKING:
    from skillstream_runtime.eventstore import NewEvent

_MSG_ID = Headers.MSG_ID
_EVENT_ID = Headers.EVENT_ID
_EVENT_TYPE = Headers.EVENT_TYPE
_SCHEMA_VERSION = Headers.SCHEMA_VERSION
_AGGREGATE_ID = Headers.AGGREGATE_ID
_OCCURRED_AT = Headers.OCCURRED_AT
_CORRELATION_ID = Headers.CORRELATION_ID
_CAUSATION_ID = Headers.CAUSATION_ID


class EnvelopeWriter:
    """Encodes events of one :class:`EventRegistry` as (body bytes, envelope headers) for an append."""

    def __init__(self, registry: EventRegistry) -> None:
        self._registry = registry
        # event type → schema version as header text; filled on first use (a registry's types are fixed)
        self._versions: dict[str, str] = {}

    def message(self, aggregate_id: str, new: NewEvent) -> tuple[bytes, dict[str, str]]:
        """The body and headers of ``new``, a fresh dict the caller may add to.

        Raises:
            skillstream_contracts.UnknownEventType: the event's type is not in the registry.
        """
        event = new.event
        event_type = event.__struct_config__.tag
        assert isinstance(event_type, str)
        version = self._versions.get(event_type)
        if version is None:
            version = self._versions[event_type] = str(self._registry.current_version(event_type))
        event_id = new.event_id
        headers = {
            _MSG_ID: event_id,
            _EVENT_ID: event_id,
            _EVENT_TYPE: event_type,
            _SCHEMA_VERSION: version,
            _AGGREGATE_ID: aggregate_id,
            _OCCURRED_AT: new.occurred_at.isoformat(),
        }
        if new.correlation_id is not None:
            headers[_CORRELATION_ID] = new.correlation_id
        if new.causation_id is not None:
            headers[_CAUSATION_ID] = new.causation_id
        if new.job is not None:
            headers.update(new.job.to_headers())
        return self._registry.encode(event), headers


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


__all__ = ["EnvelopeWriter", "metadata_for"]
