"""The event store contract, run against every backend: the JetStream store on a real ``nats-server -js``
and the in-memory store of unit tests. Concurrency, dedupe, atomic batches, upcasting on read, paging.

A backend that passes this suite can stand in for the other: handler unit tests use the in-memory one.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

import msgspec
import nats
import nats.js.errors
import pytest

from skillstream_contracts.events import Event, EventRegistry
from skillstream_contracts.jobs import JOB_EVENTS, JobQueued, JobReport, JobRequested, JobStarted
from skillstream_contracts.streams import JOBS, StreamDefinition, aggregate_subject
from skillstream_runtime.errors import AppendError, ConcurrencyError, StreamNotFoundError
from skillstream_runtime.eventstore import AbstractEventStore, AppendResult, EventStore, NewEvent, ensure_stream
from skillstream_runtime.memorystore import InMemoryEventStore

Open = Callable[[Mapping[str, EventRegistry]], Awaitable[AbstractEventStore]]


@pytest.fixture(params=[pytest.param("jetstream", marks=pytest.mark.e2e), "memory"])
async def open_store(request: pytest.FixtureRequest) -> AsyncIterator[Open]:
    """Opens a store with the given registries; every store of one test shares the same events."""
    if request.param == "memory":
        shared = InMemoryEventStore({})

        async def open_memory(registries: Mapping[str, EventRegistry]) -> AbstractEventStore:
            return shared.with_registries(registries)

        yield open_memory
        return
    nc = await nats.connect(request.getfixturevalue("nats_url"), max_reconnect_attempts=2)

    async def open_jetstream(registries: Mapping[str, EventRegistry]) -> AbstractEventStore:
        for name in registries:
            await ensure_stream(nc, {"JOBS": JOBS, "UPCAST": UPCAST}[name])
        return EventStore(nc, registries)

    yield open_jetstream
    await nc.drain()


@pytest.fixture
async def store(open_store: Open) -> AbstractEventStore:
    return await open_store({"JOBS": JOB_EVENTS})


def requested(job_id: str) -> NewEvent:
    return NewEvent(event=JobRequested(job_id=job_id, kind="test", requested_by="alice"))


async def test_stream_settings_follow_design(nc: Any) -> None:
    await ensure_stream(nc, JOBS)
    info = await nc.jetstream().stream_info("JOBS")
    assert info.config.deny_delete
    assert info.config.deny_purge
    assert str(getattr(info.config.storage, "value", info.config.storage)) == "file"
    assert not info.config.max_age
    with pytest.raises(nats.js.errors.APIError):
        await nc.jetstream().purge_stream("JOBS")


async def test_two_writers_same_expected_version_exactly_one_wins(store: AbstractEventStore) -> None:
    subject = aggregate_subject("jobs", "job", "j1")
    first = await store.append(JOBS, subject, "j1", [requested("j1")], expected_last_sequence=0)
    a = NewEvent(event=JobQueued(job_id="j1", kind="test"))
    b = NewEvent(event=JobStarted(job_id="j1", worker="w"))
    results = await asyncio.gather(
        store.append(JOBS, subject, "j1", [a], expected_last_sequence=first.last_sequence),
        store.append(JOBS, subject, "j1", [b], expected_last_sequence=first.last_sequence),
        return_exceptions=True,
    )
    assert sum(isinstance(r, ConcurrencyError) for r in results) == 1
    assert sum(not isinstance(r, BaseException) for r in results) == 1
    assert len(await store.load(JOBS, subject)) == 2


async def test_fifty_concurrent_writers_end_with_gapless_history(store: AbstractEventStore) -> None:
    subject = aggregate_subject("jobs", "job", "hot")

    async def writer(n: int) -> int:
        conflicts = 0
        while True:
            history = await store.load(JOBS, subject)
            expected = history[-1].sequence if history else 0
            event = NewEvent(event=JobStarted(job_id="hot", worker=f"w{n}", total_items=len(history)))
            try:
                await store.append(JOBS, subject, "hot", [event], expected_last_sequence=expected)
                return conflicts
            except ConcurrencyError:
                conflicts += 1

    conflicts = await asyncio.gather(*(writer(n) for n in range(50)))
    history = await store.load(JOBS, subject)
    assert len(history) == 50
    # Every writer saw the full history it extended: version i wrote total_items == i, no gaps, no repeats.
    assert [r.event.total_items for r in history] == list(range(50))  # type: ignore[attr-defined]
    assert sorted(r.event.worker for r in history) == sorted(f"w{n}" for n in range(50))  # type: ignore[attr-defined]
    assert sum(conflicts) > 0  # they really raced


async def test_same_event_id_is_stored_once(store: AbstractEventStore) -> None:
    subject = aggregate_subject("jobs", "job", "d1")
    event = requested("d1")
    r1 = await store.append(JOBS, subject, "d1", [event])
    r2 = await store.append(JOBS, subject, "d1", [event])
    assert r2.duplicate
    assert r2.last_sequence == r1.last_sequence
    assert len(await store.load(JOBS, subject)) == 1


async def test_batch_is_atomic_and_retry_is_idempotent(store: AbstractEventStore) -> None:
    subject = aggregate_subject("jobs", "job", "b1")
    batch = [
        requested("b1"),
        NewEvent(event=JobQueued(job_id="b1", kind="test")),
        NewEvent(event=JobStarted(job_id="b1", worker="w")),
    ]
    r1 = await store.append(JOBS, subject, "b1", batch, expected_last_sequence=0)
    assert r1.last_sequence - r1.first_sequence == 2
    again = await store.append(JOBS, subject, "b1", batch, expected_last_sequence=0)
    assert again.duplicate
    assert again.last_sequence == r1.last_sequence
    # A conflicting batch stores nothing at all.
    with pytest.raises(ConcurrencyError):
        await store.append(JOBS, subject, "b1", [requested("x"), requested("y")], expected_last_sequence=1)
    loaded = await store.load(JOBS, subject)
    assert [type(r.event).__name__ for r in loaded] == ["JobRequested", "JobQueued", "JobStarted"]
    assert loaded[0].metadata.aggregate_id == "b1"


async def test_append_to_unknown_subject_is_typed(store: AbstractEventStore) -> None:
    with pytest.raises(StreamNotFoundError):
        await store.append(JOBS, "nowhere.job.x", "x", [requested("x")])


# --- upcasting on read --------------------------------------------------------------------------------

UPCAST = StreamDefinition(name="UPCAST", context="upcast", subjects=("upcast.>",), description="test")


class UnitSeenV1(Event, frozen=True, kw_only=True, tag="upcast.UnitSeen"):
    code: str
    release: str  # v1 wrote the release as text, e.g. "1"


class UnitSeen(Event, frozen=True, kw_only=True, tag="upcast.UnitSeen"):
    schema_version = 2
    code: str
    release_number: int


async def test_v1_event_in_stream_is_read_as_v2(open_store: Open) -> None:
    old = await open_store({"UPCAST": EventRegistry("upcast-v1", [UnitSeenV1])})
    subject = aggregate_subject("upcast", "unit", "BSBCMM412")
    await old.append(UPCAST, subject, "BSBCMM412", [NewEvent(event=UnitSeenV1(code="BSBCMM412", release="2"))])

    registry = EventRegistry("upcast", [UnitSeen])

    @registry.upcaster("upcast.UnitSeen", from_version=1)
    def _v1_to_v2(raw: dict[str, Any]) -> dict[str, Any]:
        raw["release_number"] = int(raw.pop("release"))
        return raw

    new = await open_store({"UPCAST": registry})
    [recorded] = await new.load(UPCAST, subject)
    assert recorded.metadata.schema_version == 1
    assert recorded.event == UnitSeen(code="BSBCMM412", release_number=2)
    assert msgspec.json.decode(recorded.data)["release"] == "2"  # the stored bytes are untouched


async def test_load_pages_through_long_histories_and_after_sequence(store: AbstractEventStore) -> None:
    subject = aggregate_subject("jobs", "job", "long")
    other = aggregate_subject("jobs", "job", "other")
    for chunk in range(3):  # 3 x 900 events interleaved with another aggregate
        await store.append(
            JOBS,
            subject,
            "long",
            [NewEvent(event=JobStarted(job_id="long", worker="w", total_items=chunk * 900 + k)) for k in range(900)],
        )
        await store.append(JOBS, other, "other", [requested("other")])
    history = await store.load(JOBS, subject)
    assert [r.event.total_items for r in history] == list(range(2700))  # type: ignore[attr-defined]
    assert all(r.subject == subject for r in history)
    tail = await store.load(JOBS, subject, after_sequence=history[-2].sequence)
    assert [r.sequence for r in tail] == [history[-1].sequence]
    assert await store.load(JOBS, aggregate_subject("jobs", "job", "never")) == []


async def test_a_resent_event_after_the_subject_moved_on(store: AbstractEventStore) -> None:
    subject = aggregate_subject("jobs", "job", "r1")
    first = requested("r1")
    stored = await store.append(JOBS, subject, "r1", [first], expected_last_sequence=0)
    await store.append(JOBS, subject, "r1", [NewEvent(event=JobQueued(job_id="r1", kind="test"))])
    # with its stale expectation it is a conflict (the caller reloads and finds its event stored) ...
    with pytest.raises(ConcurrencyError):
        await store.append(JOBS, subject, "r1", [first], expected_last_sequence=0)
    # ... without one, a duplicate
    again = await store.append(JOBS, subject, "r1", [first])
    assert again.duplicate
    assert again.last_sequence == stored.last_sequence
    assert len(await store.load(JOBS, subject)) == 2


async def test_a_batch_repeating_some_stored_ids_but_not_all_is_refused(store: AbstractEventStore) -> None:
    subject = aggregate_subject("jobs", "job", "p1")
    first = requested("p1")
    await store.append(JOBS, subject, "p1", [first])
    with pytest.raises(AppendError):
        await store.append(JOBS, subject, "p1", [first, NewEvent(event=JobQueued(job_id="p1", kind="test"))])
    assert len(await store.load(JOBS, subject)) == 1


async def test_subjects_share_one_stream_sequence(store: AbstractEventStore) -> None:
    a = await store.append(JOBS, aggregate_subject("jobs", "job", "s1"), "s1", [requested("s1")])
    b = await store.append(JOBS, aggregate_subject("jobs", "job", "s2"), "s2", [requested("s2")])
    assert b.first_sequence == a.last_sequence + 1
    # the expected sequence is the subject's last one, not the stream's
    c = await store.append(
        JOBS,
        aggregate_subject("jobs", "job", "s1"),
        "s1",
        [requested("s1-again")],
        expected_last_sequence=a.last_sequence,
    )
    assert c.first_sequence == b.last_sequence + 1


async def test_the_envelope_round_trips(store: AbstractEventStore) -> None:
    subject = aggregate_subject("jobs", "job", "e1")
    report = JobReport(job_id="e1", item_key="k", item_outcome="failed", item_bytes=7, reason="HTTP 503 again")
    new = NewEvent(event=requested("e1").event, correlation_id="corr", causation_id="cause", job=report)
    await store.append(JOBS, subject, "e1", [new])
    [loaded] = await store.load(JOBS, subject)
    m = loaded.metadata
    assert (m.event_id, m.event_type, m.schema_version, m.aggregate_id) == (new.event_id, "jobs.JobRequested", 1, "e1")
    assert (m.occurred_at, m.correlation_id, m.causation_id) == (new.occurred_at, "corr", "cause")
    assert m.job == report
    assert loaded.event == new.event
    assert loaded.subject == subject


async def test_an_empty_or_oversized_append_is_refused(store: AbstractEventStore) -> None:
    subject = aggregate_subject("jobs", "job", "z1")
    with pytest.raises(ValueError, match="at least one"):
        await store.append(JOBS, subject, "z1", [])
    with pytest.raises(ValueError, match="at most"):
        await store.append(JOBS, subject, "z1", [requested(f"z{i}") for i in range(1001)])
    assert await store.load(JOBS, subject) == []


async def test_append_many_reports_each_outcome_in_order(store: AbstractEventStore) -> None:
    subject = aggregate_subject("jobs", "job", "m1")
    results = await store.append_many(
        JOBS,
        [
            (subject, "m1", [requested("m1")], 0),
            (aggregate_subject("jobs", "job", "m2"), "m2", [requested("m2")], None),
            (subject, "m1", [requested("m1-b")], 0),  # m1 exists now: conflict
        ],
        concurrency=1,
    )
    assert isinstance(results[0], AppendResult)
    assert isinstance(results[1], AppendResult)
    assert isinstance(results[2], ConcurrencyError)


async def test_append_many_keeps_order_with_many_in_flight(store: AbstractEventStore) -> None:
    taken = [aggregate_subject("jobs", "job", f"t{i}") for i in range(10)]
    for i, subject in enumerate(taken):
        await store.append(JOBS, subject, f"t{i}", [requested(f"t{i}")], expected_last_sequence=0)
    appends: list[tuple[str, str, list[NewEvent], int | None]] = []
    for i in range(40):
        if i % 4 == 0:  # an aggregate that exists already: a conflict, reported in its place
            appends.append((taken[i // 4], f"t{i // 4}", [requested(f"t{i}-again")], 0))
        appends.append((aggregate_subject("jobs", "job", f"w{i}"), f"w{i}", [requested(f"w{i}")], 0))
    results = await store.append_many(JOBS, appends, concurrency=7)
    assert len(results) == 50
    for (subject, _, _, _), result in zip(appends, results, strict=True):
        if subject in taken:
            assert isinstance(result, ConcurrencyError)
        else:
            assert isinstance(result, AppendResult)
            assert [r.subject for r in await store.load(JOBS, subject)] == [subject]
            assert (await store.load(JOBS, subject))[0].sequence == result.last_sequence
    assert await store.append_many(JOBS, [], concurrency=7) == []
