"""The decider runner on the in-memory store: fold, decide, append with the expected sequence, retry on a
conflict with fresh state, give up with a typed error, keep the aggregate between steps."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import pytest

from skillstream_contracts.events import Event
from skillstream_contracts.jobs import JOB_EVENTS, JobItemsPlanned, JobRequested
from skillstream_contracts.streams import JOBS, aggregate_subject
from skillstream_runtime.decider import Decider, execute, load_aggregate, run_command
from skillstream_runtime.errors import ConcurrencyError, ContendedAggregateError
from skillstream_runtime.eventstore import AppendResult, NewEvent, RecordedEvent
from skillstream_runtime.memorystore import InMemoryEventStore

SUBJECT = aggregate_subject("jobs", "job", "j1")


@dataclass(frozen=True)
class Plan:
    """A command: raise the job's planned total to ``total`` (nothing to do if it is there already)."""

    total: int


class Refused(Exception):
    pass


def evolve(state: int | None, r: RecordedEvent) -> int | None:
    match r.event:
        case JobRequested():
            return 0
        case JobItemsPlanned(total_items=total):
            return total
    return state


def decide(cmd: Plan, state: int | None) -> Sequence[Event]:
    if state is None:
        raise Refused("no such job")
    return [] if state >= cmd.total else [JobItemsPlanned(job_id="j1", total_items=cmd.total)]


PLANNER: Decider[Plan, int | None] = Decider(initial_state=None, evolve=evolve, decide=decide)


@pytest.fixture
async def store() -> InMemoryEventStore:
    s = InMemoryEventStore({"JOBS": JOB_EVENTS})
    await s.append(JOBS, SUBJECT, "j1", [NewEvent(event=JobRequested(job_id="j1", kind="k", requested_by="u"))])
    return s


async def test_a_command_appends_what_it_decides_and_evolves_the_state(store: InMemoryEventStore) -> None:
    done = await execute(store, PLANNER, JOBS, SUBJECT, "j1", Plan(3))
    assert done.aggregate.state == 3
    assert done.result is not None
    assert done.aggregate.version == done.result.last_sequence == 2
    assert [type(r.event) for r in await store.load(JOBS, SUBJECT)] == [JobRequested, JobItemsPlanned]


async def test_nothing_decided_appends_nothing(store: InMemoryEventStore) -> None:
    first = await execute(store, PLANNER, JOBS, SUBJECT, "j1", Plan(3))
    again = await run_command(store, PLANNER, first.aggregate, Plan(2))
    assert again.events == ()
    assert again.result is None
    assert again.aggregate == first.aggregate
    assert len(await store.load(JOBS, SUBJECT)) == 2


async def test_a_refusal_appends_nothing(store: InMemoryEventStore) -> None:
    with pytest.raises(Refused):
        await execute(store, PLANNER, JOBS, aggregate_subject("jobs", "job", "nope"), "nope", Plan(1))
    assert await store.load(JOBS, aggregate_subject("jobs", "job", "nope")) == []


async def test_a_stale_aggregate_is_reloaded_and_decided_again(store: InMemoryEventStore) -> None:
    stale = await load_aggregate(store, PLANNER, JOBS, SUBJECT, "j1")
    await execute(store, PLANNER, JOBS, SUBJECT, "j1", Plan(5))  # another writer moves the job on
    done = await run_command(store, PLANNER, stale, Plan(4))
    assert done.events == ()  # on fresh state (5) there is nothing left to do
    assert done.aggregate.state == 5
    assert done.aggregate.version == 2


async def test_steps_chain_without_reloading(store: InMemoryEventStore) -> None:
    loads = 0
    real_load = store.load

    async def counting_load(*args: object, **kwargs: object) -> list[RecordedEvent]:
        nonlocal loads
        loads += 1
        return await real_load(*args, **kwargs)  # type: ignore[arg-type]

    store.load = counting_load  # type: ignore[method-assign]
    agg = await load_aggregate(store, PLANNER, JOBS, SUBJECT, "j1")
    for total in (1, 2, 3):
        agg = (await run_command(store, PLANNER, agg, Plan(total))).aggregate
    assert (agg.state, agg.version, loads) == (3, 4, 1)


async def test_concurrent_commands_each_land_once_on_fresh_state(store: InMemoryEventStore) -> None:
    # 8 writers: in the worst interleaving one loses 7 races, so 8 attempts always suffice
    commands = (execute(store, PLANNER, JOBS, SUBJECT, "j1", Plan(n), attempts=8) for n in range(1, 9))
    results = await asyncio.gather(*commands)
    history = await store.load(JOBS, SUBJECT)
    totals = [r.event.total_items for r in history[1:]]  # type: ignore[attr-defined]
    assert totals == sorted(totals)  # every append was decided on the state it extended
    assert totals[-1] == 8
    assert sum(r.result is not None for r in results) == len(totals)


class AlwaysConflicting(InMemoryEventStore):
    """Another writer always appends first."""

    async def append(self, *args: object, **kwargs: object) -> AppendResult:
        raise ConcurrencyError(SUBJECT, 0, "another writer")


async def test_a_contended_aggregate_gives_up_with_a_typed_error(store: InMemoryEventStore) -> None:
    store = AlwaysConflicting({"JOBS": JOB_EVENTS}, _streams=store._streams)
    agg = await load_aggregate(store, PLANNER, JOBS, SUBJECT, "j1")
    with pytest.raises(ContendedAggregateError) as caught:
        await run_command(store, PLANNER, agg, Plan(1), attempts=3)
    assert caught.value.attempts == 3
    assert isinstance(caught.value, ConcurrencyError)  # callers that retry on conflicts still catch it


async def test_a_step_repeated_after_a_lost_ack_is_stored_once(store: InMemoryEventStore) -> None:
    def same_id(event: Event) -> NewEvent:
        return NewEvent(event=event, event_id="plan-3")

    first = await execute(store, PLANNER, JOBS, SUBJECT, "j1", Plan(3), envelope=same_id)
    stale = await load_aggregate(store, PLANNER, JOBS, SUBJECT, "j1")
    stale = dataclasses.replace(stale, state=0, version=1)  # as if the ack of the first append was lost
    again = await run_command(store, PLANNER, stale, Plan(3), envelope=same_id)
    assert again.result is None  # the conflict reloaded the job: on its fresh state nothing is left to do
    assert again.aggregate == first.aggregate
    assert len(await store.load(JOBS, SUBJECT)) == 2


async def test_a_batch_repeated_after_a_lost_ack_is_a_duplicate(store: InMemoryEventStore) -> None:
    def twice(cmd: Plan, state: int | None) -> Sequence[Event]:
        return [
            JobItemsPlanned(job_id="j1", total_items=cmd.total),
            JobItemsPlanned(job_id="j1", total_items=cmd.total),
        ]

    batch = Decider(initial_state=None, evolve=evolve, decide=twice)
    ids = iter(["a", "b", "a", "b"])

    def numbered(event: Event) -> NewEvent:
        return NewEvent(event=event, event_id=next(ids))

    stale = await load_aggregate(store, batch, JOBS, SUBJECT, "j1")
    first = await run_command(store, batch, stale, Plan(3), envelope=numbered)
    again = await run_command(store, batch, stale, Plan(3), envelope=numbered)
    assert again.result is not None
    assert again.result.duplicate
    assert again.aggregate == first.aggregate  # reloaded: the stored state, not a second fold
    assert len(await store.load(JOBS, SUBJECT)) == 3


async def test_without_the_expected_version_a_decision_lands_on_a_moved_subject(store: InMemoryEventStore) -> None:
    stale = await load_aggregate(store, PLANNER, JOBS, SUBJECT, "j1")
    await execute(store, PLANNER, JOBS, SUBJECT, "j1", Plan(2))  # another writer moves the job on
    done = await run_command(store, PLANNER, stale, Plan(4), attempts=1, expect_version=False)
    assert done.result is not None
    assert done.aggregate.state == 4
    assert done.aggregate.version == 3  # reloaded: the other writer's event is counted
    assert len(await store.load(JOBS, SUBJECT)) == 3
