"""An event store in memory, for unit tests of deciders and handlers: no server, same behaviour.

:class:`InMemoryEventStore` implements :class:`~skillstream_runtime.eventstore.AbstractEventStore` with the
rules of the JetStream store and passes the same contract suite (``libs/runtime/tests/
test_eventstore_contract.py``):

- one sequence per stream, starting at 1, shared by every subject of the stream;
- ``expected_last_sequence`` is checked against the subject's last sequence (0: no event yet), else
  :class:`ConcurrencyError`;
- an event id already stored in the stream is not stored again (``duplicate``; JetStream keeps ids for its
  duplicate window, this store for its lifetime); a batch that repeats some stored ids but not all is an
  :class:`AppendError`, as JetStream refuses it. As on JetStream, a single event's expected sequence is
  checked before its id (re-sent with a stale expectation, it is a conflict), a batch's ids before its
  expected sequence (re-sent, it is a duplicate whatever the expectation);
- several events for one subject are stored all or none;
- events are stored encoded (body + headers, as on the wire) and decoded on load through the stream's
  registry, so upcasters and schema errors behave as they do on JetStream.

A subject no stream listens on is a :class:`StreamNotFoundError`: a stream listens on its definition's
subjects (``>`` and ``*`` wildcards).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from skillstream_contracts.events import EventRegistry
from skillstream_contracts.streams import StreamDefinition
from skillstream_runtime.errors import AppendError, ConcurrencyError, EventStoreError, StreamNotFoundError
from skillstream_runtime.eventstore import AppendResult, NewEvent, RecordedEvent, metadata_for, record_event

_MAX_ATOMIC_BATCH = 1000  # as the JetStream store: the server's limit for one atomic batch


@dataclass(frozen=True)
class _Stored:
    subject: str
    sequence: int
    headers: Mapping[str, str]
    data: bytes


class _Stream:
    def __init__(self, definition: StreamDefinition) -> None:
        self.definition = definition
        self.messages: list[_Stored] = []
        self.last_by_subject: dict[str, int] = {}
        self.sequence_of_id: dict[str, int] = {}


def subject_matches(pattern: str, subject: str) -> bool:
    """True when NATS subject ``subject`` matches ``pattern`` (``*`` one token, ``>`` one or more)."""
    want, have = pattern.split("."), subject.split(".")
    for i, part in enumerate(want):
        if part == ">":
            return len(have) > i
        if i >= len(have) or part not in ("*", have[i]):
            return False
    return len(want) == len(have)


class InMemoryEventStore:
    """Append and read events of the streams whose registries it is given (``registries``: stream name →
    :class:`EventRegistry`), held in this process's memory."""

    def __init__(self, registries: Mapping[str, EventRegistry], *, _streams: dict[str, _Stream] | None = None) -> None:
        self._registries = dict(registries)
        self._streams: dict[str, _Stream] = {} if _streams is None else _streams

    def with_registries(self, registries: Mapping[str, EventRegistry]) -> InMemoryEventStore:
        """Another store over the same events with other registries: a second client of the same server,
        e.g. an older version of the code that wrote an earlier schema version."""
        return InMemoryEventStore(registries, _streams=self._streams)

    def registry(self, stream: str) -> EventRegistry:
        try:
            return self._registries[stream]
        except KeyError as e:
            raise EventStoreError(f"no event registry for stream {stream!r}") from e

    def _stream(self, definition: StreamDefinition, subject: str) -> _Stream:
        if not any(subject_matches(p, subject) for p in definition.subjects):
            raise StreamNotFoundError(f"no stream listens on {subject}")
        return self._streams.setdefault(definition.name, _Stream(definition))

    async def append(
        self,
        stream: StreamDefinition,
        subject: str,
        aggregate_id: str,
        events: Sequence[NewEvent],
        *,
        expected_last_sequence: int | None = None,
    ) -> AppendResult:
        """Append ``events`` (1..1000) to one subject, all or nothing (see
        :meth:`skillstream_runtime.eventstore.EventStore.append` for the arguments and errors)."""
        if not events:
            raise ValueError("append needs at least one event")
        if len(events) > _MAX_ATOMIC_BATCH:
            raise ValueError(f"at most {_MAX_ATOMIC_BATCH} events per append")
        # An append is a suspension point, as on the network, so concurrent writers interleave as they would on
        # JetStream; from here on nothing awaits, so the check and the write are one step, as on the server.
        await asyncio.sleep(0)
        s = self._stream(stream, subject)
        registry = self.registry(stream.name)
        encoded = [(registry.encode(e.event), metadata_for(registry, aggregate_id, e).to_headers()) for e in events]
        seqs = [seq for e in events if (seq := s.sequence_of_id.get(e.event_id)) is not None]
        last = s.last_by_subject.get(subject, 0)
        # JetStream checks a single message's expected sequence before its id, and a batch's ids first.
        if len(events) == 1 and expected_last_sequence is not None and expected_last_sequence != last:
            raise ConcurrencyError(subject, expected_last_sequence, f"last sequence is {last}")
        if len(seqs) == len(events):  # a re-sent append (lost ack): stored once, as JetStream's dedupe does
            return AppendResult(stream=stream.name, first_sequence=min(seqs), last_sequence=max(seqs), duplicate=True)
        if seqs:
            raise AppendError(f"batch to {subject} repeats some stored event ids but not all")
        if expected_last_sequence is not None and expected_last_sequence != last:
            raise ConcurrencyError(subject, expected_last_sequence, f"last sequence is {last}")
        first = len(s.messages) + 1
        for (data, headers), new in zip(encoded, events, strict=True):
            seq = len(s.messages) + 1
            s.messages.append(_Stored(subject, seq, headers, data))
            s.sequence_of_id[new.event_id] = seq
            s.last_by_subject[subject] = seq
        return AppendResult(stream=stream.name, first_sequence=first, last_sequence=len(s.messages))

    async def append_many(
        self,
        stream: StreamDefinition,
        appends: Iterable[tuple[str, str, Sequence[NewEvent], int | None]],
        *,
        concurrency: int = 256,
    ) -> list[AppendResult | BaseException]:
        """Run many independent appends in order; a failed one yields its exception instead of raising."""
        out: list[AppendResult | BaseException] = []
        for subject, aggregate_id, events, expected in appends:
            try:
                out.append(await self.append(stream, subject, aggregate_id, events, expected_last_sequence=expected))
            except Exception as e:  # noqa: BLE001 - reported in the result, as the JetStream store does
                out.append(e)
        return out

    async def load(self, stream: StreamDefinition, subject: str, *, after_sequence: int = 0) -> list[RecordedEvent]:
        """One subject's events after ``after_sequence``, oldest first, decoded (and upcast) on read.

        Raises:
            skillstream_contracts.ContractError: a stored event does not decode.
        """
        s = self._streams.get(stream.name)
        if s is None:
            return []
        registry = self.registry(stream.name)
        return [
            record_event(registry, stream.name, m.subject, m.sequence, m.headers, m.data)
            for m in s.messages[after_sequence:]
            if m.subject == subject
        ]

    def all_events(self, stream: StreamDefinition) -> list[RecordedEvent]:
        """Every event of ``stream`` in stream order (what a projection replaying it would read)."""
        s = self._streams.get(stream.name)
        if s is None:
            return []
        registry = self.registry(stream.name)
        return [record_event(registry, stream.name, m.subject, m.sequence, m.headers, m.data) for m in s.messages]


__all__ = ["InMemoryEventStore", "subject_matches"]
