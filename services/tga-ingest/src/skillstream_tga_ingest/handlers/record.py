"""The write path of the TGA component item from a job: load the subject, decide, append.

:func:`record` runs a command of :mod:`skillstream_tga_ingest.domain.component` with
:func:`skillstream_runtime.decider.run_command` (append with the subject's expected last sequence; on a
conflict reload and decide again). The item's start and end carry the job's report in their envelope
(:func:`item_envelope`: item key, outcome, group, bytes, reason — what the orchestrator's progress view
counts) and their deterministic ids.

Another job writing the same component at the same time is not an error: both jobs' facts are true, and
the decider decides the same events on the fresh state. Should the subject stay contended past the
runner's attempts, the decision is appended without the expectation (``expect_version=False``), as a job
must not fail an item because other jobs keep writing its component.
"""

from __future__ import annotations

import dataclasses

from skillstream_contracts.events import Event
from skillstream_contracts.jobs import ItemOutcome
from skillstream_contracts.streams import TGA
from skillstream_contracts.tga import ComponentType
from skillstream_runtime.decider import Aggregate, Decided, Envelope, load_aggregate, run_command
from skillstream_runtime.errors import ContendedAggregateError
from skillstream_runtime.eventstore import AbstractEventStore, NewEvent
from skillstream_runtime.jobs import JobContext
from skillstream_tga_ingest.domain.component import (
    COMPONENT,
    Command,
    ComponentState,
    MarkDeleted,
    MarkSuperseded,
    Recording,
    StartDownload,
    item_event_id,
)
from skillstream_tga_ingest.domain.items import Item
from skillstream_tga_ingest.domain.outcomes import outcome_of, reason_of, size_of

Component = Aggregate[ComponentState]


async def load_component(store: AbstractEventStore, ctype: ComponentType, code: str) -> Component:
    """The component ``code`` of type ``ctype`` as last stored (subject ``tga.<type>.<code>``).

    Raises:
        EventStoreError: the store could not read the subject.
    """
    return await load_aggregate(store, COMPONENT, TGA, TGA.aggregate_subject(ctype.value, code), code)


async def record(
    store: AbstractEventStore, component: Component, command: Command, envelope: Envelope
) -> Decided[ComponentState]:
    """Decide ``command`` on ``component`` and append what it decides (see the module docstring).

    Raises:
        ComponentRuleError: the component's rules refuse the command.
        EventStoreError: the store refused the append for another reason than a conflict.
    """
    try:
        return await run_command(store, COMPONENT, component, command, envelope=envelope)
    except ContendedAggregateError:
        fresh = await load_aggregate(store, COMPONENT, component.stream, component.subject, component.aggregate_id)
        return await run_command(store, COMPONENT, fresh, command, envelope=envelope, attempts=1, expect_version=False)


def item_envelope(job: JobContext, item: Item, command: StartDownload | Recording) -> Envelope:
    """Envelopes for the events of ``item``'s start or end: ``job``'s correlation id and a report with the
    item's key, group and outcome (``processing`` for a start; for an end ``succeeded`` or ``failed``, the
    file's size in bytes and the failure's reason), under the id :func:`item_event_id` derives."""
    if isinstance(command, StartDownload):
        report = job.report(item_key=item.key, item_outcome=ItemOutcome.PROCESSING.value, item_group=item.group)
    else:
        report = job.report(
            item_key=item.key,
            item_outcome=outcome_of(command.event).value,
            item_group=item.group,
            item_bytes=size_of(command.event),
            reason=reason_of(command.event),
        )
    event_id = item_event_id(command)

    def envelope(event: Event) -> NewEvent:
        return dataclasses.replace(job.new_event(event, report), event_id=event_id)

    return envelope


async def mark_component(store: AbstractEventStore, job: JobContext, command: MarkSuperseded | MarkDeleted) -> None:
    """Record a supersession or a deletion on the subject of the code the event names, as an event of
    ``job`` (no item report: it is not one of the job's items).

    A supersession is TGA's fact whatever the component's history: the decider records it on any state, so it
    is decided on the initial state and appended without loading the subject or expecting a sequence (a
    package job marks thousands of them). A deletion depends on the history (a repeat is not recorded twice).
    """
    event = command.event
    if isinstance(command, MarkSuperseded):
        decided = COMPONENT.decide(command, COMPONENT.initial_state)
        subject = TGA.aggregate_subject(event.component_type.value, event.code)
        if decided:
            await store.append(TGA, subject, event.code, [job.new_event(e) for e in decided])
        return
    component = await load_component(store, event.component_type, event.code)
    await record(store, component, command, job.new_event)


__all__ = ["Component", "item_envelope", "load_component", "mark_component", "record"]
