"""A job kind that exists only in the test suite: ``test.items`` processes N items with chosen failures
and skips, reporting through its own stream ``TESTWORK`` exactly as a real owning service does.

Parameters: ``count`` items named ``item-0001`` …; ``fail`` / ``skip``: item numbers (1-based) that fail /
are skipped; ``delay``: seconds per item; ``groups``: items are spread over ``group-1`` … ``group-<groups>``.
A retry job (``only_items`` set) processes only those items, and they succeed: the "failures" were
transient. The handler resumes a redelivered job by reading its own stream and skipping finished items.
"""

from __future__ import annotations

import asyncio
from typing import Any

from skillstream_contracts.events import Event, EventRegistry
from skillstream_contracts.jobs import ItemOutcome, JobKindSpec, JobPhase
from skillstream_contracts.streams import StreamDefinition
from skillstream_runtime.jobs import JobContext

TESTWORK = StreamDefinition(
    name="TESTWORK", context="testwork", subjects=("testwork.>",), description="test-only job kind"
)
KIND = "test.items"


class RunStarted(Event, frozen=True, kw_only=True, tag="testwork.RunStarted"):
    job_id: str
    total: int


class ItemReported(Event, frozen=True, kw_only=True, tag="testwork.ItemReported"):
    job_id: str
    item: str
    outcome: str


class RunEnded(Event, frozen=True, kw_only=True, tag="testwork.RunEnded"):
    job_id: str
    phase: str
    reason: str | None = None


TEST_EVENTS = EventRegistry("testwork", [RunStarted, ItemReported, RunEnded])

SPEC = JobKindSpec(
    kind=KIND,
    owner="tests",
    stream=TESTWORK.name,
    title="Test items",
    description="Processes N numbered items, failing and skipping the ones you choose (test suite only).",
    parameters={
        "type": "object",
        "properties": {
            "count": {"type": "integer", "title": "Items", "default": 20, "minimum": 1},
            "fail": {"type": "array", "items": {"type": "string"}, "title": "Items that fail", "default": []},
            "skip": {"type": "array", "items": {"type": "string"}, "title": "Items skipped", "default": []},
            "delay": {"type": "number", "title": "Seconds per item", "default": 0.05},
            "groups": {"type": "integer", "title": "Groups", "default": 2},
        },
        "required": ["count"],
    },
)


def item_key(n: int) -> str:
    return f"item-{n:04d}"


def lifecycle_event(job: JobContext, phase: JobPhase, reason: str | None) -> Event:
    return RunEnded(job_id=job.job_id, phase=phase.value, reason=reason)


def handler() -> Any:
    """The job handler."""

    async def run(job: JobContext) -> None:
        p = job.dispatch.parameters
        count, delay, groups = int(p.get("count", 20)), float(p.get("delay", 0.05)), max(1, int(p.get("groups", 2)))
        fail = {str(x) for x in p.get("fail", [])}
        skip = {str(x) for x in p.get("skip", [])}
        keys = [item_key(n) for n in range(1, count + 1)]
        retry = bool(job.dispatch.only_items)
        if retry:
            keys = [k for k in keys if k in set(job.dispatch.only_items)]
        history = await job.store.load(TESTWORK, job.subject)
        done = {e.event.item for e in history if isinstance(e.event, ItemReported) and e.event.outcome != "processing"}
        if not any(isinstance(e.event, RunStarted) for e in history):
            await job.report_phase(RunStarted(job_id=job.job_id, total=len(keys)), JobPhase.STARTED, total=len(keys))
        for key in keys:
            if key in done:
                continue
            if job.cancel_requested:
                await job.report_end(lifecycle_event(job, JobPhase.CANCELLED, None), JobPhase.CANCELLED)
                return
            n = int(key.split("-")[1])
            group = f"group-{(n - 1) % groups + 1}"
            await job.report_item(
                ItemReported(job_id=job.job_id, item=key, outcome="processing"),
                subject=job.subject,
                aggregate_id=job.job_id,
                item_key=key,
                group=group,
                outcome=ItemOutcome.PROCESSING,
            )
            await asyncio.sleep(delay)
            if str(n) in skip and not retry:
                outcome, reason = ItemOutcome.SKIPPED, None
            elif str(n) in fail and not retry:
                outcome, reason = ItemOutcome.FAILED, f"{key} failed on purpose"
            else:
                outcome, reason = ItemOutcome.SUCCEEDED, None
            await job.report_item(
                ItemReported(job_id=job.job_id, item=key, outcome=outcome.value),
                outcome=outcome,
                subject=job.subject,
                aggregate_id=job.job_id,
                item_key=key,
                group=group,
                size_bytes=1000 + n,
                reason=reason,
            )
        await job.report_end(
            lifecycle_event(job, JobPhase.COMPLETED, None), JobPhase.COMPLETED, summary={"items": len(keys)}
        )

    return run


__all__ = ["KIND", "SPEC", "TESTWORK", "TEST_EVENTS", "ItemReported", "handler", "item_key", "lifecycle_event"]
