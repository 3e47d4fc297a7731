"""The orchestrator's command handlers and reactions against the in-memory event store and fakes."""

from __future__ import annotations

import pytest

from skillstream_contracts import ErrorCode
from skillstream_contracts.jobs import (
    JOB_EVENTS,
    JobDispatch,
    JobPhase,
    JobRef,
    JobReport,
    JobStatus,
    RequestJob,
)
from skillstream_contracts.streams import JOBS
from skillstream_orchestrator.handlers.commands import (
    CommandDeps,
    cancel_job,
    load_job,
    request_job,
    resume_job,
    retry_failed,
)
from skillstream_orchestrator.handlers.reactions import ReactionDeps, dispatch, follow
from skillstream_runtime.errors import CommandRejected
from skillstream_runtime.memorystore import InMemoryEventStore

KIND = "tga.download-units"


class Fakes:
    def __init__(self) -> None:
        self.store = InMemoryEventStore({"JOBS": JOB_EVENTS})
        self.kinds = {KIND}
        self.items: dict[tuple[str, str], list[str]] = {}
        self.seen: dict[str, int] = {}
        self.dispatched: list[JobDispatch] = []

    async def kind_registered(self, kind: str) -> bool:
        return kind in self.kinds

    async def items_in(self, job_id: str, state: str) -> list[str]:
        return self.items.get((job_id, state), [])

    async def items_seen(self, job_id: str) -> int:
        return self.seen.get(job_id, 0)

    async def publish(self, d: JobDispatch) -> None:
        self.dispatched.append(d)

    @property
    def commands(self) -> CommandDeps:
        return CommandDeps(
            store=self.store,
            kind_registered=self.kind_registered,
            items_in=self.items_in,
            items_seen=self.items_seen,
        )

    @property
    def reactions(self) -> ReactionDeps:
        return ReactionDeps(store=self.store, publish_dispatch=self.publish)

    async def status(self, job_id: str) -> JobStatus:
        job = (await load_job(self.store, job_id)).state
        assert job is not None
        return job.view.status

    async def report(self, job_id: str, phase: JobPhase, sequence: int, **fields: object) -> None:
        headers = JobReport(job_id=job_id, phase=phase.value, **fields).to_headers()  # type: ignore[arg-type]
        await follow(headers, "TGA", sequence, self.reactions)


@pytest.fixture
def fakes() -> Fakes:
    return Fakes()


def request(key: str | None = None, **parameters: object) -> RequestJob:
    return RequestJob(kind=KIND, parameters=dict(parameters), requested_by="ops", idempotency_key=key)


async def test_a_request_is_idempotent_per_key(fakes: Fakes) -> None:
    first = await request_job(request("nightly", codes=["A"]), fakes.commands)
    again = await request_job(request("nightly", codes=["A"]), fakes.commands)
    assert first.created
    assert not again.created
    assert again.job.job_id == first.job.job_id
    with pytest.raises(CommandRejected) as caught:
        await request_job(request("nightly", codes=["B"]), fakes.commands)
    assert caught.value.code is ErrorCode.CONFLICT
    assert len(await fakes.store.load(JOBS, JOBS.aggregate_subject("job", first.job.job_id))) == 1


async def test_an_unknown_or_malformed_kind_is_refused(fakes: Fakes) -> None:
    for kind in ("media.nothing", "Not A Kind"):
        with pytest.raises(CommandRejected) as caught:
            await request_job(RequestJob(kind=kind, requested_by="ops"), fakes.commands)
        assert caught.value.code is ErrorCode.INVALID_REQUEST


async def test_dispatch_publishes_once_and_marks_queued(fakes: Fakes) -> None:
    job = (await request_job(request(), fakes.commands)).job
    await dispatch(job.job_id, "corr", fakes.reactions)
    await dispatch(job.job_id, "corr", fakes.reactions)  # a redelivered JobRequested
    assert [d.job_id for d in fakes.dispatched] == [job.job_id]
    assert fakes.dispatched[0].correlation_id == "corr"
    assert await fakes.status(job.job_id) is JobStatus.QUEUED


async def test_reports_follow_the_job_to_its_end_once(fakes: Fakes) -> None:
    job_id = (await request_job(request(), fakes.commands)).job.job_id
    await dispatch(job_id, None, fakes.reactions)
    await fakes.report(job_id, JobPhase.STARTED, 10, total=3)
    await fakes.report(job_id, JobPhase.COMPLETED, 20, summary='{"succeeded": 3}')
    await fakes.report(job_id, JobPhase.COMPLETED, 20, summary='{"succeeded": 3}')  # redelivered
    await fakes.report(job_id, JobPhase.FAILED, 21, reason="late")  # after the end: ignored
    await fakes.report("never-requested", JobPhase.STARTED, 22)  # ignored, logged
    events = await fakes.store.load(JOBS, JOBS.aggregate_subject("job", job_id))
    tags = [r.metadata.event_type for r in events]
    assert tags == ["jobs.JobRequested", "jobs.JobQueued", "jobs.JobStarted", "jobs.JobCompleted"]
    assert events[-1].event.summary == {"succeeded": 3}  # type: ignore[attr-defined]


async def test_cancel_ends_an_unstarted_job_and_refuses_an_ended_one(fakes: Fakes) -> None:
    job_id = (await request_job(request(), fakes.commands)).job.job_id
    view = await cancel_job(JobRef(job_id=job_id, requested_by="ops"), fakes.commands)
    assert view.status is JobStatus.CANCELLED
    with pytest.raises(CommandRejected) as caught:
        await cancel_job(JobRef(job_id=job_id, requested_by="ops"), fakes.commands)
    assert caught.value.code is ErrorCode.CONFLICT


async def test_cancel_asks_a_running_job_to_stop(fakes: Fakes) -> None:
    job_id = (await request_job(request(), fakes.commands)).job.job_id
    await fakes.report(job_id, JobPhase.STARTED, 1)
    view = await cancel_job(JobRef(job_id=job_id, requested_by="ops"), fakes.commands)
    assert view.status is JobStatus.RUNNING
    assert view.cancel_requested


async def test_a_job_is_invisible_to_other_requesters(fakes: Fakes) -> None:
    job_id = (await request_job(request(), fakes.commands)).job.job_id
    with pytest.raises(CommandRejected) as caught:
        await cancel_job(JobRef(job_id=job_id, requested_by="eve", visible_to="eve"), fakes.commands)
    assert caught.value.code is ErrorCode.NOT_FOUND


async def test_retry_failed_runs_only_the_failed_items_of_an_ended_job(fakes: Fakes) -> None:
    job_id = (await request_job(request(codes=["A", "B"]), fakes.commands)).job.job_id
    ref = JobRef(job_id=job_id, requested_by="ops")
    with pytest.raises(CommandRejected, match="not ended"):
        await retry_failed(ref, fakes.commands)
    await fakes.report(job_id, JobPhase.STARTED, 1)
    await fakes.report(job_id, JobPhase.COMPLETED, 2)
    with pytest.raises(CommandRejected, match="no failed items"):
        await retry_failed(ref, fakes.commands)
    fakes.items[(job_id, "failed")] = ["unit:B"]
    retry = await retry_failed(ref, fakes.commands)
    assert retry.created
    assert (retry.job.retry_of, retry.job.only_items) == (job_id, ["unit:B"])  # what it runs, for people
    assert (await retry_failed(ref, fakes.commands)).job.job_id == retry.job.job_id  # idempotent
    await dispatch(retry.job.job_id, None, fakes.reactions)
    assert fakes.dispatched[-1].only_items == ["unit:B"]


async def test_resume_runs_only_the_items_a_cancelled_job_had_not_ended(fakes: Fakes) -> None:
    job_id = (await request_job(request(codes=["A", "B", "C"]), fakes.commands)).job.job_id
    ref = JobRef(job_id=job_id, requested_by="ops")
    await fakes.report(job_id, JobPhase.STARTED, 1, total=3)
    with pytest.raises(CommandRejected, match="not ended"):
        await resume_job(ref, fakes.commands)
    await fakes.report(job_id, JobPhase.CANCELLED, 2)
    fakes.seen[job_id] = 3  # every planned item was reported
    with pytest.raises(CommandRejected, match="no cancelled items"):
        await resume_job(ref, fakes.commands)
    fakes.items[(job_id, "cancelled")] = ["unit:B", "unit:C"]
    fakes.items[(job_id, "failed")] = ["unit:A"]
    resumed = await resume_job(ref, fakes.commands)
    assert (resumed.created, resumed.job.retry_of, resumed.job.only_items) == (True, job_id, ["unit:B", "unit:C"])
    assert (await resume_job(ref, fakes.commands)).job.job_id == resumed.job.job_id  # idempotent
    retried = await retry_failed(ref, fakes.commands)  # a retry of the same job is another job
    assert retried.job.job_id != resumed.job.job_id
    assert retried.job.only_items == ["unit:A"]


async def test_resume_runs_the_whole_request_when_items_were_never_reported(fakes: Fakes) -> None:
    job_id = (await request_job(request(codes=["A", "B", "C"]), fakes.commands)).job.job_id
    ref = JobRef(job_id=job_id, requested_by="ops")
    await fakes.report(job_id, JobPhase.STARTED, 1, total=3)
    await fakes.report(job_id, JobPhase.CANCELLED, 2)
    fakes.seen[job_id] = 1  # two planned items were never reported: their keys are unknown here
    resumed = await resume_job(ref, fakes.commands)
    assert (resumed.job.retry_of, resumed.job.only_items, resumed.job.parameters) == (
        job_id,
        [],
        {"codes": ["A", "B", "C"]},
    )
    done = (await request_job(request(codes=["D"]), fakes.commands)).job.job_id
    await fakes.report(done, JobPhase.STARTED, 3, total=1)
    await fakes.report(done, JobPhase.COMPLETED, 4)
    with pytest.raises(CommandRejected, match="nothing to resume"):
        await resume_job(JobRef(job_id=done, requested_by="ops"), fakes.commands)
