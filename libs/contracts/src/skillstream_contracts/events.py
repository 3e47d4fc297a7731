"""The event base class, the envelope and the per-stream registry that decodes (and upcasts) events.

Wire format of one stored event (a JetStream message):

- subject: the aggregate's subject, e.g. ``tga.unit.BSBCMM412`` (see :mod:`skillstream_contracts.streams`);
- body: the event as msgspec JSON, a tagged union member whose ``type`` field is the stable tag;
- headers (:class:`Headers`): event id (also ``Nats-Msg-Id`` for dedupe), type, schema version, aggregate id,
  occurred-at, correlation and causation ids, and optionally the job report (job id, phase, item, outcome)
  that the progress view counts without decoding the body.

Evolution policy (``libs/contracts/README.md``): add fields only with defaults; never rename or retype;
an incompatible change bumps ``schema_version`` and registers an upcaster from the previous version.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any, ClassVar

import msgspec

from skillstream_contracts.errors import EventDecodeError, UnknownEventType, UnsupportedSchemaVersion
from skillstream_contracts.jobreport import JobHeaders, JobReport

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]
"""Turns the JSON object of version N into the JSON object of version N+1."""


class Headers:
    """NATS header names carried by every stored event."""

    MSG_ID = "Nats-Msg-Id"
    EXPECTED_LAST_SUBJECT_SEQUENCE = "Nats-Expected-Last-Subject-Sequence"
    EVENT_ID = "Skillstream-Event-Id"
    EVENT_TYPE = "Skillstream-Event-Type"
    SCHEMA_VERSION = "Skillstream-Schema-Version"
    AGGREGATE_ID = "Skillstream-Aggregate-Id"
    OCCURRED_AT = "Skillstream-Occurred-At"
    CORRELATION_ID = "Skillstream-Correlation-Id"
    CAUSATION_ID = "Skillstream-Causation-Id"
    # The job report (skillstream_contracts.jobs.JobReport): lets the orchestrator's progress projection
    # count items of any context, and follow the owner's phases, from headers alone.
    JOB_ID = JobHeaders.JOB_ID
    ITEM_KEY = JobHeaders.ITEM_KEY
    ITEM_OUTCOME = JobHeaders.ITEM_OUTCOME
    ITEM_GROUP = JobHeaders.ITEM_GROUP
    ITEM_BYTES = JobHeaders.ITEM_BYTES
    JOB_PHASE = JobHeaders.PHASE
    JOB_TOTAL = JobHeaders.TOTAL
    JOB_SUMMARY = JobHeaders.SUMMARY
    JOB_REASON = JobHeaders.REASON


class Event(msgspec.Struct, frozen=True, kw_only=True, tag_field="type"):
    """Base of every domain event: a frozen, keyword-only struct with a stable tag in ``type``.

    Subclasses set ``tag="<context>.<PastTenseName>"`` and, when their schema changes incompatibly,
    ``schema_version`` (a class variable, not a field: the version travels in a header).
    """

    schema_version: ClassVar[int] = 1


def new_event_id() -> str:
    """A new event id: a random UUID4 as 32 lowercase hex digits."""
    return uuid.uuid4().hex


def utcnow() -> dt.datetime:
    """The current time, timezone-aware UTC."""
    return dt.datetime.now(dt.UTC)


class EventMetadata(msgspec.Struct, frozen=True, kw_only=True):
    """The envelope of an event: everything but the payload, carried in NATS headers.

    ``occurred_at`` is timezone-aware UTC. ``correlation_id`` ties together everything caused by one
    request; ``causation_id`` is the id of the command or event that directly caused this one. ``job`` is
    set on the events a job's work appends: which job, and what the event says about the job or one of its
    items (:class:`~skillstream_contracts.jobs.JobReport`).
    """

    event_id: str
    event_type: str
    schema_version: int
    aggregate_id: str
    occurred_at: dt.datetime
    correlation_id: str | None = None
    causation_id: str | None = None
    job: JobReport | None = None

    @property
    def job_id(self) -> str | None:
        """The id of the job this event belongs to, if any."""
        return None if self.job is None else self.job.job_id

    def to_headers(self) -> dict[str, str]:
        """Encode as NATS headers (``Nats-Msg-Id`` = event id, for JetStream dedupe)."""
        h = {
            Headers.MSG_ID: self.event_id,
            Headers.EVENT_ID: self.event_id,
            Headers.EVENT_TYPE: self.event_type,
            Headers.SCHEMA_VERSION: str(self.schema_version),
            Headers.AGGREGATE_ID: self.aggregate_id,
            Headers.OCCURRED_AT: self.occurred_at.isoformat(),
        }
        if self.correlation_id is not None:
            h[Headers.CORRELATION_ID] = self.correlation_id
        if self.causation_id is not None:
            h[Headers.CAUSATION_ID] = self.causation_id
        if self.job is not None:
            h.update(self.job.to_headers())
        return h

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> EventMetadata:
        """Decode from NATS headers.

        Raises:
            EventDecodeError: a required header is missing or malformed.
        """
        try:
            return cls(
                event_id=headers[Headers.EVENT_ID],
                event_type=headers[Headers.EVENT_TYPE],
                schema_version=int(headers[Headers.SCHEMA_VERSION]),
                aggregate_id=headers[Headers.AGGREGATE_ID],
                occurred_at=dt.datetime.fromisoformat(headers[Headers.OCCURRED_AT]),
                correlation_id=headers.get(Headers.CORRELATION_ID),
                causation_id=headers.get(Headers.CAUSATION_ID),
                job=None if Headers.JOB_ID not in headers else JobReport.from_headers(headers),
            )
        except (KeyError, ValueError) as e:
            raise EventDecodeError(f"bad event headers: {e!r}") from e


class EventRegistry:
    """The event types of one stream: their tagged union, current versions and upcasters.

    Decoding the current version uses one ``msgspec.json.Decoder`` over the union (fast path); an older
    version is decoded to a dict, passed through the chain of upcasters ``v → v+1 → … → current`` and then
    converted strictly. Unknown fields are ignored, so adding a defaulted field needs no upcaster.
    """

    def __init__(self, name: str, types: Iterable[type[Event]]) -> None:
        self.name = name
        self._types: dict[str, type[Event]] = {}
        for t in types:
            tag = t.__struct_config__.tag
            if not isinstance(tag, str):
                raise TypeError(f"{t.__name__} must declare a string tag")
            if tag in self._types:
                raise TypeError(f"duplicate event tag {tag!r} in registry {name!r}")
            self._types[tag] = t
        self._upcasters: dict[tuple[str, int], Upcaster] = {}
        union: Any = self._union()
        self._union_type = union
        self._decoder: msgspec.json.Decoder[Any] = msgspec.json.Decoder(union)

    def _union(self) -> Any:
        types = tuple(self._types.values())
        if not types:
            raise TypeError(f"registry {self.name!r} has no event types")
        union: Any = types[0]
        for t in types[1:]:
            union = union | t
        return union

    @property
    def types(self) -> Mapping[str, type[Event]]:
        """Event classes by tag."""
        return dict(self._types)

    def upcaster(self, event_type: str, from_version: int) -> Callable[[Upcaster], Upcaster]:
        """Decorator registering the upcaster of ``event_type`` from ``from_version`` to the next version."""

        def register(fn: Upcaster) -> Upcaster:
            if event_type not in self._types:
                raise UnknownEventType(f"{event_type!r} is not in registry {self.name!r}")
            self._upcasters[(event_type, from_version)] = fn
            return fn

        return register

    def current_version(self, event_type: str) -> int:
        """The schema version this code writes for ``event_type``."""
        try:
            return self._types[event_type].schema_version
        except KeyError as e:
            raise UnknownEventType(f"{event_type!r} is not in registry {self.name!r}") from e

    def decode(self, event_type: str, schema_version: int, data: bytes) -> Event:
        """Decode one stored event body, upcasting it to the current version.

        Raises:
            UnknownEventType: the tag is not registered here.
            UnsupportedSchemaVersion: the version is newer than this code or an upcaster is missing.
            EventDecodeError: the body does not match the schema.
        """
        current = self.current_version(event_type)
        try:
            if schema_version == current:
                event: Event = self._decoder.decode(data)
            elif schema_version < current:
                raw = msgspec.json.decode(data)
                if not isinstance(raw, dict):
                    raise EventDecodeError(f"{event_type} v{schema_version}: body is not a JSON object")
                for v in range(schema_version, current):
                    up = self._upcasters.get((event_type, v))
                    if up is None:
                        raise UnsupportedSchemaVersion(f"no upcaster for {event_type} v{v} -> v{v + 1}")
                    raw = up(raw)
                raw["type"] = event_type
                event = msgspec.convert(raw, self._union_type, strict=True)
            else:
                raise UnsupportedSchemaVersion(f"{event_type} v{schema_version} is newer than this code (v{current})")
        except msgspec.ValidationError as e:
            raise EventDecodeError(f"{event_type} v{schema_version}: {e}") from e
        except msgspec.DecodeError as e:
            raise EventDecodeError(f"{event_type} v{schema_version}: malformed JSON: {e}") from e
        if event.__struct_config__.tag != event_type:
            raise EventDecodeError(f"header says {event_type} but body is {event.__struct_config__.tag}")
        return event

    def encode(self, event: Event) -> bytes:
        """Encode an event body as JSON (the tag is included in ``type``)."""
        if type(event).__struct_config__.tag not in self._types:
            raise UnknownEventType(f"{type(event).__name__} is not in registry {self.name!r}")
        return msgspec.json.encode(event)


class OpaqueEvent(Event, frozen=True, kw_only=True, tag="opaque"):
    """What :class:`HeadersOnlyRegistry` decodes every event to: the type from the headers, the body unread."""

    event_type: str


class HeadersOnlyRegistry(EventRegistry):
    """A registry for readers that need only the envelope (the orchestrator counting job items of any
    context): every event decodes to an :class:`OpaqueEvent` without looking at the body, so such a reader
    never breaks on another context's schema changes."""

    def __init__(self, name: str) -> None:
        super().__init__(name, [OpaqueEvent])

    def current_version(self, event_type: str) -> int:
        return 1

    def decode(self, event_type: str, schema_version: int, data: bytes) -> Event:
        return OpaqueEvent(event_type=event_type)


def event_type_of(event: Event) -> str:
    """The stable tag of an event instance."""
    tag = event.__struct_config__.tag
    assert isinstance(tag, str)
    return tag


__all__ = [
    "Event",
    "EventMetadata",
    "EventRegistry",
    "Headers",
    "HeadersOnlyRegistry",
    "OpaqueEvent",
    "Upcaster",
    "event_type_of",
    "new_event_id",
    "utcnow",
]
