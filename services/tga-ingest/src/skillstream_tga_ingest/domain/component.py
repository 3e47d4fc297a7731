"""The TGA component item as a decider: one training package, qualification, skill set or unit on its subject
``tga.<type>.<code>`` (``tga.unit.BSBCMM412``), see :class:`skillstream_runtime.decider.Decider`.

Its events are the contract's (:mod:`skillstream_contracts.tga`). The events a job's work appends carry the
job's report in their envelope (``JobReport``: job id, item key ``unit:BSBCMM412``, item outcome), and the
state is folded from both, so it knows what each job did to the item.

Commands and what they decide::

    command           events                                       nothing (no-op) / refused
    StartDownload     ComponentDownloadStarted                     no-op: the item already ended in this job
    RecordDownloaded  the download event (UnitDownloaded …)        no-op: ended in this job;
    RecordFailed      ComponentDownloadFailed | UnitParseFailed      refused: this job never started the item
    MarkSuperseded    ComponentSuperseded                          never a no-op (see below)
    MarkDeleted       ComponentDeleted                             no-op: the same deletion is the latest
                                                                     mark and no download came after it

Rules:

- **An item ends once per job.** The terminal event (item outcome ``succeeded`` / ``failed``) of a job is
  final: recording it again decides nothing, so a job redelivered after a crash, or running twice at once,
  never reports an item twice; it reads the terminal event back with :func:`ended_in` instead (its counts
  and, for a package, its components).
- **Another job's facts never block this job's.** Two jobs may download the same component at once; both
  record what they saw, as both facts are true. A decision depends only on the deciding job's part of the
  state, so when another job's append wins the race the command decided again on the fresh state decides
  the same events.
- **Re-parse** reads the release file the subject last kept (:func:`kept_xml`): the source of the latest
  ``UnitDownloaded`` / ``QualificationDownloaded`` / ``UnitParseFailed`` that has one.
- **Supersession is recorded each time it is seen**: the read models apply a mark only to the rows that
  exist when it arrives (``projections._readmodel.apply_marks``), so a later download's repeated mark is how
  a row created since learns it.

Event ids: :func:`item_event_id` derives the id of an item's start and end from (job, item, step), so an
append repeated after a lost acknowledgement is stored once (JetStream ``Nats-Msg-Id`` dedupe).

Errors::

    ComponentRuleError      a command the item's rules refuse
    └── ItemNotStarted      an outcome for an item the job never started
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Final

from skillstream_contracts.events import Event
from skillstream_contracts.jobs import ItemOutcome
from skillstream_contracts.tga import (
    ComponentDeleted,
    ComponentDownloadFailed,
    ComponentDownloadStarted,
    ComponentSuperseded,
    ComponentType,
    DeleteOperation,
    PackageDownloaded,
    QualificationDownloaded,
    SkillSetDownloaded,
    SourceFile,
    UnitDownloaded,
    UnitParseFailed,
    UsageRecommendation,
)
from skillstream_runtime.decider import Decider
from skillstream_runtime.eventstore import RecordedEvent

_ITEM_EVENT_NAMESPACE: Final = uuid.UUID("0b9e6d0c-5a3f-4c51-8f0e-7a1d2c3b4e5f")

JobItem = tuple[str, str]
"""``(job id, item key)``: one job's item."""


class ComponentRuleError(Exception):
    """A command the component item's rules refuse (see the module docstring)."""


class ItemNotStarted(ComponentRuleError):
    """An outcome for an item the job never started (``StartDownload`` comes first)."""

    def __init__(self, job_id: str, item_key: str) -> None:
        super().__init__(f"job {job_id} records an outcome for {item_key} without starting it")


@dataclass(frozen=True, kw_only=True)
class KeptXml:
    """The release file a subject last kept, and what its event said that the file alone does not."""

    source: SourceFile
    release: str | None
    training_package: str | None
    usage: UsageRecommendation | None


@dataclass(frozen=True, kw_only=True)
class ComponentState:
    """A component item folded from its subject.

    ``started``: the (job, item) pairs that started it; ``ended``: each (job, item) pair's terminal event;
    ``kept``: the release file to re-parse; ``deletion``: the latest ``ComponentDeleted`` as (operation,
    deleted at) unless a download came after it.
    """

    started: frozenset[JobItem] = frozenset()
    ended: Mapping[JobItem, Event] = field(default_factory=dict)
    kept: KeptXml | None = None
    deletion: tuple[DeleteOperation, dt.datetime] | None = None


# --- commands ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class StartDownload:
    """Job ``job_id`` starts item ``item_key`` (download or re-parse) of ``code``."""

    job_id: str
    item_key: str
    code: str
    component_type: ComponentType


@dataclass(frozen=True, kw_only=True)
class RecordDownloaded:
    """Job ``job_id`` ends item ``item_key`` with the component downloaded (and parsed) as ``event``."""

    job_id: str
    item_key: str
    event: PackageDownloaded | QualificationDownloaded | SkillSetDownloaded | UnitDownloaded


@dataclass(frozen=True, kw_only=True)
class RecordFailed:
    """Job ``job_id`` ends item ``item_key`` failed: TGA or the transfer failed, or the parser refused it."""

    job_id: str
    item_key: str
    event: ComponentDownloadFailed | UnitParseFailed


@dataclass(frozen=True, kw_only=True)
class MarkSuperseded:
    """TGA says the component is superseded (by ``event.superseded_by`` when it names one)."""

    event: ComponentSuperseded


@dataclass(frozen=True, kw_only=True)
class MarkDeleted:
    """TGA lists the component as deleted (``SearchDeletedByDeletedDate``)."""

    event: ComponentDeleted


Command = StartDownload | RecordDownloaded | RecordFailed | MarkSuperseded | MarkDeleted
Recording = RecordDownloaded | RecordFailed


def recording(job_id: str, item_key: str, event: Event) -> Recording:
    """The command that ends ``item_key`` with ``event``: :class:`RecordFailed` for a failure event,
    :class:`RecordDownloaded` for a download event.

    Raises:
        TypeError: ``event`` is neither.
    """
    match event:
        case ComponentDownloadFailed() | UnitParseFailed():
            return RecordFailed(job_id=job_id, item_key=item_key, event=event)
        case PackageDownloaded() | QualificationDownloaded() | SkillSetDownloaded() | UnitDownloaded():
            return RecordDownloaded(job_id=job_id, item_key=item_key, event=event)
    raise TypeError(f"{type(event).__name__} does not end an item")


# --- evolve / decide --------------------------------------------------------------------------------------

_DOWNLOADS = (PackageDownloaded, QualificationDownloaded, SkillSetDownloaded, UnitDownloaded)


def _item_outcome(value: str) -> ItemOutcome | None:
    try:
        return ItemOutcome(value)
    except ValueError:  # an outcome a newer version writes: not this version's to count
        return None


def _with_report(state: ComponentState, recorded: RecordedEvent) -> ComponentState:
    report = recorded.metadata.job
    if report is None or not report.item_key or not report.item_outcome:
        return state
    key = (report.job_id, report.item_key)
    outcome = _item_outcome(report.item_outcome)
    if outcome is not None and outcome.is_terminal:
        return replace(state, ended={**state.ended, key: recorded.event})
    if outcome is ItemOutcome.PROCESSING:
        return replace(state, started=state.started | {key})
    return state


def _kept(event: UnitDownloaded | QualificationDownloaded | UnitParseFailed, source: SourceFile) -> KeptXml:
    if isinstance(event, UnitParseFailed):  # a refusal says nothing of the package or the usage
        return KeptXml(source=source, release=event.release, training_package=None, usage=None)
    return KeptXml(
        source=source,
        release=event.release,
        training_package=event.training_package,
        usage=event.usage_recommendation,
    )


def evolve(state: ComponentState, recorded: RecordedEvent) -> ComponentState:
    """Fold one recorded event of the component's subject into ``state``."""
    state = _with_report(state, recorded)
    event = recorded.event
    if isinstance(event, UnitDownloaded | QualificationDownloaded | UnitParseFailed) and event.source is not None:
        state = replace(state, kept=_kept(event, event.source))
    if isinstance(event, ComponentDeleted):
        state = replace(state, deletion=(event.operation, event.deleted_at))
    elif isinstance(event, _DOWNLOADS):
        state = replace(state, deletion=None)
    return state


def decide(command: Command, state: ComponentState) -> list[Event]:
    """The events ``command`` causes on a component in ``state`` (empty: nothing to do).

    Raises:
        ItemNotStarted: an outcome for an item the job never started.
    """
    match command:
        case StartDownload(job_id=job, item_key=key, code=code, component_type=ctype):
            if (job, key) in state.ended:
                return []
            return [ComponentDownloadStarted(code=code, component_type=ctype)]
        case RecordDownloaded(job_id=job, item_key=key) | RecordFailed(job_id=job, item_key=key):
            if (job, key) in state.ended:
                return []
            if (job, key) not in state.started:
                raise ItemNotStarted(job, key)
            return [command.event]
        case MarkSuperseded(event=event):
            return [event]
        case MarkDeleted(event=event):
            if state.deletion == (event.operation, event.deleted_at):
                return []
            return [event]
    raise TypeError(f"not a component command: {command!r}")


COMPONENT: Final[Decider[Command, ComponentState]] = Decider(
    initial_state=ComponentState(), evolve=evolve, decide=decide
)
"""The TGA component item's rules."""


# --- reading the state ------------------------------------------------------------------------------------


def ended_in(state: ComponentState, job_id: str, item_key: str) -> Event | None:
    """The terminal event with which job ``job_id`` ended ``item_key``, or None while it has not."""
    return state.ended.get((job_id, item_key))


def kept_xml(state: ComponentState, code: str) -> KeptXml:
    """The release file to re-parse ``code`` from.

    Raises:
        ValueError: the subject kept no release file (``"<code>: no kept XML to re-parse"``).
    """
    if state.kept is None:
        raise ValueError(f"{code}: no kept XML to re-parse")
    return state.kept


def item_event_id(command: StartDownload | Recording) -> str:
    """The event id of an item's start or end (32 hex digits), the same each time the job decides it."""
    step = "started" if isinstance(command, StartDownload) else "ended"
    return uuid.uuid5(_ITEM_EVENT_NAMESPACE, f"{command.job_id}\x00{command.item_key}\x00{step}").hex


__all__ = [
    "COMPONENT",
    "Command",
    "ComponentRuleError",
    "ComponentState",
    "ItemNotStarted",
    "JobItem",
    "KeptXml",
    "MarkDeleted",
    "MarkSuperseded",
    "RecordDownloaded",
    "RecordFailed",
    "Recording",
    "StartDownload",
    "decide",
    "ended_in",
    "evolve",
    "item_event_id",
    "kept_xml",
    "recording",
]
