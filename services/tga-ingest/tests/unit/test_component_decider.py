"""The TGA component item decider, driven directly: every command from each state that matters, duplicates,
an item already ended in this job (never reported twice), another job's facts, the kept XML, deletions, and
one run through the runtime's ``run_command`` on the in-memory store (a conflict decided again)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from skillstream_contracts.jobs import ItemOutcome, JobReport
from skillstream_contracts.streams import TGA
from skillstream_contracts.tga import (
    TGA_EVENTS,
    ComponentDeleted,
    ComponentDownloadFailed,
    ComponentDownloadStarted,
    ComponentSuperseded,
    ComponentType,
    DeleteOperation,
    ParseFailure,
    SourceFile,
    UnitDownloaded,
    UnitFormat,
    UnitParseFailed,
    UsageRecommendation,
)
from skillstream_runtime.decider import load_aggregate, run_command
from skillstream_runtime.eventstore import NewEvent, RecordedEvent, metadata_for
from skillstream_runtime.memorystore import InMemoryEventStore
from skillstream_tga_ingest.domain.component import (
    COMPONENT,
    ComponentState,
    ItemNotStarted,
    MarkDeleted,
    MarkSuperseded,
    RecordDownloaded,
    RecordFailed,
    StartDownload,
    ended_in,
    item_event_id,
    kept_xml,
    recording,
)

CODE, KEY = "BSBCMM412", "unit:BSBCMM412"
UNIT = ComponentType.UNIT
SUBJECT = TGA.aggregate_subject(UNIT.value, CODE)
JOB, OTHER = "a" * 32, "b" * 32
SOURCE = SourceFile(relative_path="BSB/BSBCMM412_Complete_R2.xml", size=255483, sha256="f" * 64, raw_key="f" * 64)
DOWNLOADED = UnitDownloaded(
    code=CODE,
    title="Lead difficult conversations",
    release="2",
    training_package="BSB",
    usage_recommendation=UsageRecommendation.CURRENT,
    format=UnitFormat.STREAMLINED_2012,
    source=SOURCE,
)
REFUSED = UnitParseFailed(
    code=CODE, reason="line 3: no root", failure=ParseFailure.MALFORMED, release="2", source=SOURCE
)
UNREACHABLE = ComponentDownloadFailed(code=CODE, component_type=UNIT, reason="TGA GetDetails BSBCMM412: 503")
AT = dt.datetime(2026, 11, 2, tzinfo=dt.UTC)
DELETED = ComponentDeleted(code=CODE, component_type=UNIT, operation=DeleteOperation.LOGICAL, deleted_at=AT)


def _start(job: str = JOB) -> StartDownload:
    return StartDownload(job_id=job, item_key=KEY, code=CODE, component_type=UNIT)


def _recorded(event: Any, job: str | None = None, outcome: ItemOutcome | None = None, seq: int = 1) -> RecordedEvent:
    report = None if job is None else JobReport(job_id=job, item_key=KEY, item_outcome=outcome and outcome.value)
    metadata = metadata_for(TGA_EVENTS, CODE, NewEvent(event=event, job=report))
    return RecordedEvent(stream=TGA.name, subject=SUBJECT, sequence=seq, metadata=metadata, event=event)


def given(*events: RecordedEvent) -> ComponentState:
    return COMPONENT.fold(events)


STARTED = ComponentDownloadStarted(code=CODE, component_type=UNIT)


def started(job: str = JOB) -> RecordedEvent:
    return _recorded(STARTED, job, ItemOutcome.PROCESSING)


def ended(event: Any, job: str = JOB) -> RecordedEvent:
    return _recorded(event, job, ItemOutcome.FAILED if "Failed" in type(event).__name__ else ItemOutcome.SUCCEEDED)


# --- start ------------------------------------------------------------------------------------------------


def test_a_new_item_starts() -> None:
    assert COMPONENT.decide(_start(), COMPONENT.initial_state) == [STARTED]


def test_a_started_item_starts_again_after_a_crash() -> None:
    assert COMPONENT.decide(_start(), given(started())) == [STARTED]


def test_an_item_ended_in_this_job_does_not_start_again() -> None:
    assert COMPONENT.decide(_start(), given(started(), ended(DOWNLOADED))) == []


def test_an_item_another_job_ended_starts_in_this_one() -> None:
    assert COMPONENT.decide(_start(), given(started(OTHER), ended(DOWNLOADED, OTHER))) == [STARTED]


# --- outcomes ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("event", [DOWNLOADED, REFUSED, UNREACHABLE], ids=type)
def test_a_started_item_ends_with_its_outcome(event: Any) -> None:
    state = given(started())
    command = recording(JOB, KEY, event)
    assert COMPONENT.decide(command, state) == [event]
    after = COMPONENT.evolve(state, ended(event))
    assert ended_in(after, JOB, KEY) == event
    assert ended_in(after, OTHER, KEY) is None


@pytest.mark.parametrize("event", [DOWNLOADED, REFUSED, UNREACHABLE], ids=type)
def test_an_item_ended_in_this_job_is_not_reported_twice(event: Any) -> None:
    state = given(started(), ended(UNREACHABLE))
    assert COMPONENT.decide(recording(JOB, KEY, event), state) == []
    assert ended_in(state, JOB, KEY) == UNREACHABLE


def test_an_outcome_without_a_start_is_refused() -> None:
    with pytest.raises(ItemNotStarted, match=f"job {JOB} records an outcome for {KEY} without starting it"):
        COMPONENT.decide(RecordDownloaded(job_id=JOB, item_key=KEY, event=DOWNLOADED), COMPONENT.initial_state)


def test_another_jobs_start_does_not_start_this_jobs_item() -> None:
    with pytest.raises(ItemNotStarted):
        COMPONENT.decide(RecordFailed(job_id=JOB, item_key=KEY, event=REFUSED), given(started(OTHER)))


def test_a_concurrent_jobs_facts_do_not_change_this_jobs_decision() -> None:
    # the other job started and ended the item between this job's start and its outcome
    state = given(started(), started(OTHER), ended(DOWNLOADED, OTHER))
    assert COMPONENT.decide(recording(JOB, KEY, REFUSED), state) == [REFUSED]


def test_recording_picks_the_command_by_the_event() -> None:
    assert isinstance(recording(JOB, KEY, DOWNLOADED), RecordDownloaded)
    assert isinstance(recording(JOB, KEY, UNREACHABLE), RecordFailed)
    with pytest.raises(TypeError):
        recording(JOB, KEY, STARTED)


def test_an_outcome_this_version_does_not_know_is_not_counted() -> None:
    report = JobReport(job_id=JOB, item_key=KEY, item_outcome="paused")
    unknown = RecordedEvent(
        stream=TGA.name,
        subject=SUBJECT,
        sequence=1,
        metadata=metadata_for(TGA_EVENTS, CODE, NewEvent(event=STARTED, job=report)),
        event=STARTED,
    )
    assert given(unknown) == COMPONENT.initial_state


# --- marks ------------------------------------------------------------------------------------------------


def test_a_supersession_is_recorded_each_time_it_is_seen() -> None:
    mark = ComponentSuperseded(code=CODE, component_type=UNIT, superseded_by="BSBCMM512")
    state = given(_recorded(mark))
    assert COMPONENT.decide(MarkSuperseded(event=mark), state) == [mark]


def test_a_deletion_is_recorded_once_until_a_download_comes_after_it() -> None:
    assert COMPONENT.decide(MarkDeleted(event=DELETED), COMPONENT.initial_state) == [DELETED]
    assert COMPONENT.decide(MarkDeleted(event=DELETED), given(_recorded(DELETED))) == []
    later = ComponentDeleted(code=CODE, component_type=UNIT, operation=DeleteOperation.PHYSICAL, deleted_at=AT)
    assert COMPONENT.decide(MarkDeleted(event=later), given(_recorded(DELETED))) == [later]
    again = given(_recorded(DELETED), started(), ended(DOWNLOADED))
    assert COMPONENT.decide(MarkDeleted(event=DELETED), again) == [DELETED]


# --- kept XML ---------------------------------------------------------------------------------------------


def test_the_kept_xml_is_the_last_file_a_download_or_refusal_kept() -> None:
    kept = kept_xml(given(started(), ended(DOWNLOADED)), CODE)
    assert (kept.source, kept.release, kept.training_package, kept.usage) == (
        SOURCE,
        "2",
        "BSB",
        UsageRecommendation.CURRENT,
    )
    refused = kept_xml(given(started(), ended(DOWNLOADED), _recorded(REFUSED), _recorded(UNREACHABLE)), CODE)
    assert (refused.source, refused.release, refused.training_package, refused.usage) == (SOURCE, "2", None, None)


def test_nothing_kept_cannot_be_reparsed() -> None:
    with pytest.raises(ValueError, match="BSBCMM412: no kept XML to re-parse"):
        kept_xml(given(started(), ended(UNREACHABLE)), CODE)


# --- event ids and the runtime's write path ---------------------------------------------------------------


def test_item_event_ids_are_the_same_for_the_same_step_of_the_same_job() -> None:
    start, end = _start(), recording(JOB, KEY, DOWNLOADED)
    assert item_event_id(start) == item_event_id(_start())
    assert len({item_event_id(start), item_event_id(end), item_event_id(_start(OTHER))}) == 3
    assert len(item_event_id(start)) == 32


async def test_a_conflict_is_decided_again_on_the_fresh_state() -> None:
    store = InMemoryEventStore({TGA.name: TGA_EVENTS})
    mine = await load_aggregate(store, COMPONENT, TGA, SUBJECT, CODE)

    def other(event: Any) -> NewEvent:
        return NewEvent(event=event, job=JobReport(job_id=OTHER, item_key=KEY, item_outcome="processing"))

    await run_command(store, COMPONENT, mine, _start(OTHER), envelope=other)  # the other job got there first

    def envelope(event: Any) -> NewEvent:
        return NewEvent(event=event, job=JobReport(job_id=JOB, item_key=KEY, item_outcome="processing"))

    decided = await run_command(store, COMPONENT, mine, _start(), envelope=envelope)  # stale: version 0
    assert [e.event for e in decided.events] == [STARTED]
    assert decided.aggregate.state.started == {(OTHER, KEY), (JOB, KEY)}
    assert decided.aggregate.version == 2
