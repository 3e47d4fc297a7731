"""Deciders, and the one function that runs a command against one.

An aggregate is a :class:`Decider`: three pure functions with no I/O and no asyncio,

- ``initial_state``: the state before the aggregate's first event;
- ``evolve(state, event) -> state``: fold one recorded event (payload ``.event``, envelope ``.metadata``,
  stream ``.sequence``) into the state;
- ``decide(command, state) -> events``: the new events a command causes (none: nothing to do), or raise
  the service's own error to refuse it.

:func:`run_command` is the write path of every aggregate: load the aggregate's subject, fold, decide, append
the events with the subject's last sequence as the expected one (optimistic concurrency), and on a
:class:`~skillstream_runtime.errors.ConcurrencyError` (another writer got there first) reload and decide again,
``attempts`` times at most, then raise :class:`~skillstream_runtime.errors.ContendedAggregateError`.

A handler that works in several steps with I/O between them (start an attempt, download, record the outcome)
keeps the :class:`Aggregate` a run returns and passes it to the next run, so the subject is loaded once and
reloaded only on a conflict.

A process manager is a decider too: its state is folded from the events it reacts to, and each step is an
event with a deterministic id (set by the ``envelope`` function), so redelivery and replay never repeat it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from skillstream_contracts.events import Event
from skillstream_contracts.streams import StreamDefinition
from skillstream_runtime.errors import ConcurrencyError, ContendedAggregateError
from skillstream_runtime.eventstore import AbstractEventStore, AppendResult, NewEvent, RecordedEvent, metadata_for

C = TypeVar("C")
S = TypeVar("S")

DEFAULT_ATTEMPTS = 5
"""Decisions tried per command before a contended aggregate is reported (each after a fresh load)."""


@dataclass(frozen=True)
class Decider(Generic[C, S]):
    """An aggregate's rules: ``initial_state``, ``evolve`` and ``decide`` (see the module docstring)."""

    initial_state: S
    evolve: Callable[[S, RecordedEvent], S]
    decide: Callable[[C, S], Sequence[Event]]

    def fold(self, events: Iterable[RecordedEvent], state: S | None = None) -> S:
        """The state after ``events`` (oldest first), starting from ``state`` or :attr:`initial_state`."""
        s = self.initial_state if state is None else state
        for e in events:
            s = self.evolve(s, e)
        return s


@dataclass(frozen=True)
class Aggregate(Generic[S]):
    """One aggregate as last seen: where it lives, its folded ``state`` and ``version`` — the stream sequence
    of its subject's last event (0: no event yet), the expected sequence of the next append."""

    stream: StreamDefinition
    subject: str
    aggregate_id: str
    state: S
    version: int = 0


@dataclass(frozen=True)
class Decided(Generic[S]):
    """What a command did: the ``aggregate`` after it, the ``events`` it appended (empty: nothing to do) and
    the store's ``result`` (None when nothing was appended; ``result.duplicate`` when the same event ids were
    already stored, e.g. a step repeated after a crash)."""

    aggregate: Aggregate[S]
    events: Sequence[NewEvent] = field(default_factory=tuple)
    result: AppendResult | None = None


Envelope = Callable[[Event], NewEvent]
"""Wraps a decided event into a :class:`NewEvent` (its id, job report, correlation); default: a plain one."""


def _plain(event: Event) -> NewEvent:
    return NewEvent(event=event)


async def load_aggregate(
    store: AbstractEventStore,
    decider: Decider[C, S],
    stream: StreamDefinition,
    subject: str,
    aggregate_id: str,
) -> Aggregate[S]:
    """Load and fold one aggregate's subject.

    Raises:
        EventStoreError: the store could not read the subject.
    """
    history = await store.load(stream, subject)
    return Aggregate(
        stream=stream,
        subject=subject,
        aggregate_id=aggregate_id,
        state=decider.fold(history),
        version=history[-1].sequence if history else 0,
    )


def _evolved(
    store: AbstractEventStore,
    decider: Decider[C, S],
    agg: Aggregate[S],
    new: Sequence[NewEvent],
    result: AppendResult,
) -> Aggregate[S]:
    registry = store.registry(agg.stream.name)
    recorded = [
        RecordedEvent(
            stream=agg.stream.name,
            subject=agg.subject,
            sequence=result.first_sequence + i,
            metadata=metadata_for(registry, agg.aggregate_id, n),
            event=n.event,
        )
        for i, n in enumerate(new)
    ]
    return Aggregate(agg.stream, agg.subject, agg.aggregate_id, decider.fold(recorded, agg.state), result.last_sequence)


async def run_command(
    store: AbstractEventStore,
    decider: Decider[C, S],
    aggregate: Aggregate[S],
    command: C,
    *,
    envelope: Envelope = _plain,
    attempts: int = DEFAULT_ATTEMPTS,
    expect_version: bool = True,
) -> Decided[S]:
    """Decide ``command`` on ``aggregate`` and append what it decides, retrying on conflicts.

    ``aggregate`` is either loaded (:func:`load_aggregate`) or the one a previous run returned; when another
    writer moved the subject on, it is reloaded and the command decided again on the fresh state.
    ``expect_version=False`` appends without the expected sequence, for facts that stay true whatever other
    writers appended meanwhile (the last resort of a command that lost every race); the aggregate is then
    reloaded, since others' events may sit between its version and the appended ones.

    Raises:
        ContendedAggregateError: ``attempts`` decisions in a row lost the race.
        EventStoreError: the store refused the append for another reason.
        Exception: whatever ``decide`` raises to refuse the command (nothing is appended).
    """
    agg = aggregate
    for attempt in range(1, attempts + 1):
        decided = decider.decide(command, agg.state)
        if not decided:
            return Decided(agg)
        new = [envelope(e) for e in decided]
        try:
            expected = agg.version if expect_version else None
            result = await store.append(agg.stream, agg.subject, agg.aggregate_id, new, expected_last_sequence=expected)
        except ConcurrencyError as e:
            if attempt == attempts:
                raise ContendedAggregateError(agg.subject, attempts) from e
            agg = await load_aggregate(store, decider, agg.stream, agg.subject, agg.aggregate_id)
            continue
        if result.duplicate or not expect_version:  # others' events may lie around ours: only a reload tells
            agg = await load_aggregate(store, decider, agg.stream, agg.subject, agg.aggregate_id)
            return Decided(agg, new, result)
        return Decided(_evolved(store, decider, agg, new, result), new, result)
    raise AssertionError("unreachable")  # the loop returns or raises


async def execute(
    store: AbstractEventStore,
    decider: Decider[C, S],
    stream: StreamDefinition,
    subject: str,
    aggregate_id: str,
    command: C,
    *,
    envelope: Envelope = _plain,
    attempts: int = DEFAULT_ATTEMPTS,
) -> Decided[S]:
    """Load the aggregate at ``subject``, then :func:`run_command` (the one-step write path)."""
    agg = await load_aggregate(store, decider, stream, subject, aggregate_id)
    return await run_command(store, decider, agg, command, envelope=envelope, attempts=attempts)


__all__ = [
    "DEFAULT_ATTEMPTS",
    "Aggregate",
    "Decided",
    "Decider",
    "Envelope",
    "execute",
    "load_aggregate",
    "run_command",
]
