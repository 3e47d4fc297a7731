"""The job decider, with no server: every lifecycle transition, refusals, and what a late event changes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import pytest

from skillstream_contracts.events import Event, EventMetadata
from skillstream_contracts.jobs import (
    JobCancelled,
    JobCancelRequested,
    JobCompleted,
    JobFailed,
    JobItemsPlanned,
    JobPhase,
    JobQueued,
    JobRequested,
    JobStarted,
    JobStatus,
)
from skillstream_orchestrator.domain.job import (
    JOB,
    ApplyReport,
    Cancel,
    IdempotencyConflict,
    Job,
    JobAlreadyEnded,
    MarkQueued,
    NoSuchJob,
    Request,
    event_id_for,
    job_id_for,
)
from skillstream_runtime.eventstore import RecordedEvent

T0 = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)
REQUESTED = JobRequested(
    job_id="j1", kind="tga.download-units", parameters={"codes": ["BSBCMM412"]}, requested_by="ops"
)


def history(*events: Event) -> Job | None:
    """The state after ``events``, recorded one second apart."""
    recorded = [
        RecordedEvent(
            stream="JOBS",
            subject="jobs.job.j1",
            sequence=i,
            metadata=EventMetadata(
                event_id=f"e{i}",
                event_type=type(e).__struct_config__.tag,  # type: ignore[arg-type]
                schema_version=1,
                aggregate_id="j1",
                occurred_at=T0 + dt.timedelta(seconds=i),
            ),
            event=e,
        )
        for i, e in enumerate(events, start=1)
    ]
    return JOB.fold(recorded)


def decided(state: Job | None, command: object) -> Sequence[Event]:
    return JOB.decide(command, state)  # type: ignore[arg-type]


def report(phase: JobPhase, **fields: object) -> ApplyReport:
    return ApplyReport(phase=phase, worker="TGA", **fields)  # type: ignore[arg-type]


def test_a_request_creates_the_job_once() -> None:
    assert decided(None, Request(REQUESTED)) == [REQUESTED]
    state = history(REQUESTED)
    assert state is not None
    assert state.view.status is JobStatus.REQUESTED
    assert state.view.requested_at == T0 + dt.timedelta(seconds=1)
    assert decided(state, Request(REQUESTED)) == []  # the same idempotency key again: nothing new


def test_the_same_key_for_another_request_is_refused() -> None:
    other = JobRequested(job_id="j1", kind="tga.download-units", parameters={"codes": ["X"]}, requested_by="ops")
    with pytest.raises(IdempotencyConflict):
        decided(history(REQUESTED), Request(other))


def test_the_full_lifecycle() -> None:
    state = history(REQUESTED)
    assert decided(state, MarkQueued()) == [JobQueued(job_id="j1", kind=REQUESTED.kind)]
    state = history(REQUESTED, JobQueued(job_id="j1", kind=REQUESTED.kind))
    assert state is not None
    assert state.view.status is JobStatus.QUEUED
    assert decided(state, MarkQueued()) == []  # queued once
    assert decided(state, report(JobPhase.STARTED, total=4)) == [JobStarted(job_id="j1", worker="TGA", total_items=4)]
    running = history(REQUESTED, JobQueued(job_id="j1", kind="k"), JobStarted(job_id="j1", worker="TGA"))
    assert running is not None
    assert running.view.status is JobStatus.RUNNING
    assert running.started
    assert decided(running, report(JobPhase.STARTED)) == []  # started once
    assert decided(running, report(JobPhase.PLANNED, total=9, summary='{"groups": {"BSB": 9}}')) == [
        JobItemsPlanned(job_id="j1", total_items=9, groups={"BSB": 9})
    ]
    labelled = '{"groups": {"1001": 2}, "group_labels": {"1001": "Blues Guitar 101"}}'
    assert decided(running, report(JobPhase.PLANNED, total=2, summary=labelled)) == [
        JobItemsPlanned(job_id="j1", total_items=2, groups={"1001": 2}, group_labels={"1001": "Blues Guitar 101"})
    ]
    assert decided(running, report(JobPhase.PLANNED)) == []  # a plan without a total says nothing
    assert decided(running, report(JobPhase.COMPLETED, summary='{"succeeded": 9}')) == [
        JobCompleted(job_id="j1", summary={"succeeded": 9}, reported_on="TGA")
    ]
    assert decided(running, report(JobPhase.FAILED)) == [
        JobFailed(job_id="j1", reason="the job failed", reported_on="TGA")
    ]
    assert decided(running, report(JobPhase.CANCELLED, summary="not json")) == [
        JobCancelled(job_id="j1", reported_on="TGA")
    ]


def test_a_start_is_accepted_before_the_job_was_marked_queued() -> None:
    # the orchestrator crashed after publishing the dispatch and before appending JobQueued
    assert decided(history(REQUESTED), report(JobPhase.STARTED)) == [JobStarted(job_id="j1", worker="TGA")]


@pytest.mark.parametrize(
    "end", [JobCompleted(job_id="j1"), JobFailed(job_id="j1", reason="x"), JobCancelled(job_id="j1")]
)
def test_an_ended_job_takes_no_more_lifecycle_events(end: Event) -> None:
    state = history(REQUESTED, JobStarted(job_id="j1", worker="w"), end)
    assert state is not None
    assert state.view.status.is_terminal
    for late in (MarkQueued(), report(JobPhase.COMPLETED), report(JobPhase.PLANNED, total=3)):
        assert decided(state, late) == []
    with pytest.raises(JobAlreadyEnded):
        decided(state, Cancel("ops"))
    # and a late event in the stream changes nothing either
    assert (
        history(REQUESTED, JobStarted(job_id="j1", worker="w"), end, JobItemsPlanned(job_id="j1", total_items=7))
        == state
    )


def test_cancelling_an_unstarted_job_ends_it_at_once() -> None:
    assert decided(history(REQUESTED), Cancel("ops")) == [
        JobCancelRequested(job_id="j1", requested_by="ops"),
        JobCancelled(job_id="j1", summary={"cancelled_before_start": True}),
    ]


def test_cancelling_a_running_job_asks_its_owner_once() -> None:
    running = history(REQUESTED, JobStarted(job_id="j1", worker="w"))
    assert decided(running, Cancel("ops")) == [JobCancelRequested(job_id="j1", requested_by="ops")]
    asked = history(REQUESTED, JobStarted(job_id="j1", worker="w"), JobCancelRequested(job_id="j1", requested_by="ops"))
    assert asked is not None
    assert asked.view.cancel_requested
    assert decided(asked, Cancel("ops")) == []


def test_commands_on_a_job_never_requested_are_refused() -> None:
    for command in (Cancel("ops"), MarkQueued(), report(JobPhase.STARTED)):
        with pytest.raises(NoSuchJob):
            decided(None, command)


def test_a_retry_of_failed_items_keeps_its_items() -> None:
    retry = JobRequested(job_id="j1", kind="k", requested_by="ops", retry_of="j0", only_items=["a", "b"])
    state = history(retry)
    assert state is not None
    assert state.only_items == ("a", "b")
    assert state.view.retry_of == "j0"


def test_ids_are_deterministic_where_they_must_be() -> None:
    assert job_id_for("ops", "nightly") == job_id_for("ops", "nightly") != job_id_for("eve", "nightly")
    assert job_id_for("ops", None) != job_id_for("ops", None)
    assert event_id_for("j1", "queued") == event_id_for("j1", "queued") != event_id_for("j2", "queued")
