"""A projection source with several subject filters: its consumer reads the whole stream and the runner keeps
only the wanted subjects (real NATS JetStream and PostgreSQL), and the filter's own matching rules."""

from __future__ import annotations

from typing import Any, ClassVar

import asyncpg
import pytest

from skillstream_contracts.jobs import JobStarted
from skillstream_contracts.streams import JOBS, aggregate_subject
from skillstream_runtime.deadletters import list_dead_letters
from skillstream_runtime.eventstore import EventStore, NewEvent
from skillstream_runtime.generations import active_generation, checkpoints, rebuild
from skillstream_runtime.projections import ProjectionRunner, RunnerSettings, consumer_name, generation_schema
from skillstream_runtime.subjectfilter import SubjectFilter
from skillstream_testing.sample import LedgerProjection

FAST = RunnerSettings(batch_size=7, fetch_timeout=0.2, max_deliver=2, backoff_initial=0.01, backoff_max=0.05)


class TwoKinds(LedgerProjection):
    """The sample ledger over two of the three aggregate types the test appends."""

    name: ClassVar[str] = "two_kinds"
    sources: ClassVar = {"JOBS": ("jobs.job.*", "jobs.alpha.*")}


async def _append(store: EventStore, kinds: tuple[str, ...], n: int, worker: str = "w") -> list[str]:
    """``n`` rounds of one event per kind (in that order); returns each event's subject in stream order."""
    subjects = []
    for i in range(n):
        for kind in kinds:
            subject = aggregate_subject("jobs", kind, f"{kind}-{i % 3}")
            event = JobStarted(job_id=f"{kind}-{i % 3}", worker=worker if kind == "alpha" and i == n // 2 else "w")
            await store.append(JOBS, subject, f"{kind}-{i % 3}", [NewEvent(event=event)])
            subjects.append(subject)
    return subjects


async def _ledger(pool: asyncpg.Pool, generation: int) -> list[tuple[int, str]]:
    schema = generation_schema(TwoKinds.name, generation)
    return [tuple(r) for r in await pool.fetch(f'SELECT stream_sequence, subject FROM "{schema}".ledger ORDER BY 1')]


def _wanted(subjects: list[str]) -> list[tuple[int, str]]:
    return [(seq, s) for seq, s in enumerate(subjects, start=1) if s.split(".")[1] in ("job", "alpha")]


async def test_several_filters_read_the_whole_stream_and_apply_only_theirs(
    nc: Any, pg_pool: asyncpg.Pool, store: EventStore
) -> None:
    subjects = await _append(store, ("job", "beta", "alpha", "beta"), 10)  # ends on an unwanted subject
    projection = TwoKinds()
    gen = await active_generation(pg_pool, projection)
    await ProjectionRunner(projection, gen, "JOBS", nc, pg_pool, FAST).run(until_caught_up=True)
    assert await _ledger(pg_pool, gen) == _wanted(subjects)
    # The checkpoint covers the skipped subjects too, up to the stream's last event.
    assert (await checkpoints(pg_pool, TwoKinds.name, gen))["JOBS"] == len(subjects)
    info = await nc.jetstream().consumer_info("JOBS", consumer_name(TwoKinds.name, gen))
    assert not info.config.filter_subject
    assert not info.config.filter_subjects
    assert info.num_ack_pending == 0
    assert info.num_pending == 0

    # Run again, then rebuild: nothing applied twice, the same rows.
    await ProjectionRunner(projection, gen, "JOBS", nc, pg_pool, FAST).run(until_caught_up=True)
    assert await _ledger(pg_pool, gen) == _wanted(subjects)
    new = await rebuild(projection, nc, pg_pool, settings=FAST)
    assert await _ledger(pg_pool, new) == _wanted(subjects)


async def test_a_failing_event_among_skipped_subjects_is_isolated(
    nc: Any, pg_pool: asyncpg.Pool, store: EventStore
) -> None:
    subjects = await _append(store, ("beta", "alpha", "beta", "job"), 6, worker="bad")
    projection = TwoKinds()
    projection.poisoned_workers.add("bad")
    gen = await active_generation(pg_pool, projection)
    await ProjectionRunner(projection, gen, "JOBS", nc, pg_pool, FAST).run(until_caught_up=True)
    [dead] = await list_dead_letters(pg_pool)
    assert subjects[dead.stream_sequence - 1].startswith("jobs.alpha.")
    assert await _ledger(pg_pool, gen) == [w for w in _wanted(subjects) if w[0] != dead.stream_sequence]
    info = await nc.jetstream().consumer_info("JOBS", consumer_name(TwoKinds.name, gen))
    assert info.num_ack_pending == 0
    assert info.num_pending == 0


@pytest.mark.parametrize(
    ("filters", "subject", "wanted"),
    [
        (("media.job.*", "media.segment.*"), "media.segment.17", True),
        (("media.job.*", "media.segment.*"), "media.course.17", False),
        (("media.job.*", "media.segment.*"), "media.segment.17.x", False),
        (("media.job.*", "media.segment.*"), "media.segmentX7", False),
        (("a.>", "b.c"), "a.b.c", True),
        (("a.>", "b.c"), "a", False),
        (("a.>", "b.c"), "b.c", True),
        (("a.>", "b.c"), "b.c.d", False),
    ],
)
def test_several_filters_match_in_process(filters: tuple[str, ...], subject: str, wanted: bool) -> None:
    f = SubjectFilter(filters)
    assert f.in_process
    assert f.consumer_filters is None
    assert f.wants(subject) is wanted


@pytest.mark.parametrize("filters", [(), ("tga.unit.*",)])
def test_one_filter_or_none_is_left_to_the_server(filters: tuple[str, ...]) -> None:
    f = SubjectFilter(filters)
    assert not f.in_process
    assert f.consumer_filters == (list(filters) or None)
    assert f.wants("anything.at.all")
