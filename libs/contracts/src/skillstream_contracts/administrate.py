"""Administrate sync: the event union of the ``ADMINISTRATE`` stream (tutorial records ⇄ Administrate).

Subjects (see :mod:`skillstream_contracts.streams`)::

    administrate.<record kind>.<local id>   RecordLinked, AdministrateWriteFailed
                                            e.g. administrate.course_template.CB1_LO_6
    administrate.event.<local event id>     TutorialEventImported, EventCreatedInAdministrate
    administrate.session.<local session id> SessionCreatedInAdministrate
    administrate.sync.<sync run id>         DiscrepancyFound
    administrate.import.<import id>         ImportRowRejected

Sources: seed 002 (bridge records, matching rules FR-017..FR-020, discrepancy reports FR-003/FR-004,
Excel import FR-010..FR-016) and ``ADMINISTRATE-API.md`` (Relay ids such as ``Q291cnNlOjk1MTM=`` =
``Course:9513`` for an event, ``legacyId``, per-mode create mutations, ``LocalDateTime`` + ``timeZoneName``,
mutation ``errors { label message value }``). Local ids are the tutorial tables' keys as strings.
Administrate times are naive local wall-clock datetimes (``LocalDateTime``) in ``time_zone_name`` (IANA).
"""

from __future__ import annotations

import datetime as dt
import enum

import msgspec

from skillstream_contracts.events import Event, EventRegistry


class RecordKind(enum.StrEnum):
    """A bridged record type; its value is also the aggregate token of its subject."""

    COURSE_TEMPLATE = "course_template"  # matched by code, case-insensitive (FR-017)
    LOCATION = "location"  # by name (FR-018)
    VENUE = "venue"  # by name and location (FR-019)
    INSTRUCTOR = "instructor"  # by first and last name of the Administrate contact (FR-020)
    EVENT = "event"
    SESSION = "session"


class LearningMode(enum.StrEnum):
    """The workbook's "Learning mode" (blended/classroom/lms), i.e. ``event.createClassroom|Blended|LMS``."""

    CLASSROOM = "classroom"
    BLENDED = "blended"
    LMS = "lms"


class LifecycleState(enum.StrEnum):
    """Administrate ``EventLifecycleState`` literals (lowercase, ADMINISTRATE-API.md §2.7)."""

    DRAFT = "draft"
    PUBLISHED = "published"
    CANCELLED = "cancelled"


class DiscrepancyKind(enum.StrEnum):
    MISSING_IN_ADMINISTRATE = "missing_in_administrate"  # tutorial record, no match (FR-003)
    MISSING_LOCALLY = "missing_locally"  # Administrate record, no tutorial match (FR-004)
    AMBIGUOUS = "ambiguous"  # several Administrate records match one tutorial record (edge cases)


class MutationError(msgspec.Struct, frozen=True, kw_only=True):
    """One entry of a mutation payload's ``errors { label message value }``."""

    message: str
    label: str | None = None
    value: str | None = None


class ImportedSession(msgspec.Struct, frozen=True, kw_only=True):
    """A session row under an event row of the workbook; ``sequence`` is its "Day" column (1-based)."""

    local_session_id: str
    sequence: int
    title: str
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    instructors: list[str] = msgspec.field(default_factory=list)


# --- events (stream ADMINISTRATE) ------------------------------------------------------------------


class RecordLinked(Event, frozen=True, kw_only=True, tag="administrate.RecordLinked"):
    """A tutorial record and an Administrate record were matched and bridged (FR-001, FR-002).

    ``match_key`` is the matched value (``"CM2"``, ``"London"``, ``"Jane Smith"``); ``external_id`` is the
    Relay id, ``legacy_id`` the integer of REST v2. ``attributes`` holds Administrate-owned metadata copied
    onto the bridge (custom field values by definition key, ``eventLearningMode``, ``lifecycleState``;
    FR-006). Appended again when the link or the attributes change.
    """

    record_kind: RecordKind
    local_id: str
    external_id: str
    match_key: str
    legacy_id: int | None = None
    sync_run_id: str | None = None
    attributes: dict[str, str] = msgspec.field(default_factory=dict)


class DiscrepancyFound(Event, frozen=True, kw_only=True, tag="administrate.DiscrepancyFound"):
    """A sync run found a record it could not link; the run's discrepancy report lists these."""

    sync_run_id: str
    record_kind: RecordKind
    discrepancy: DiscrepancyKind
    match_key: str
    local_id: str | None = None
    external_ids: list[str] = msgspec.field(default_factory=list)
    detail: str = ""


class TutorialEventImported(Event, frozen=True, kw_only=True, tag="administrate.TutorialEventImported"):
    """A workbook event row and its session rows became local tutorial records, before Administrate is
    written (FR-010..FR-012). ``row`` is the 1-based Excel row of the event row. ``start``/``end`` are the
    classroom dates, ``lms_start``/``lms_end`` the LMS dates (an LMS-only event has only those)."""

    import_id: str
    row: int
    local_event_id: str
    course_template_code: str
    title: str
    learning_mode: LearningMode
    location: str
    time_zone_name: str
    venue: str | None = None
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    lms_start: dt.datetime | None = None
    lms_end: dt.datetime | None = None
    max_places: int | None = None
    instructors: list[str] = msgspec.field(default_factory=list)
    sessions: list[ImportedSession] = msgspec.field(default_factory=list)


class EventCreatedInAdministrate(Event, frozen=True, kw_only=True, tag="administrate.EventCreatedInAdministrate"):
    """The per-mode create mutation created the event (FR-014). ``session_external_ids`` are the sessions
    Administrate created from the course template, in the order returned. ``warnings`` are mutation errors
    returned together with the created event."""

    local_event_id: str
    external_id: str
    learning_mode: LearningMode
    course_template_external_id: str
    location_external_id: str
    time_zone_name: str
    legacy_id: int | None = None
    lifecycle_state: LifecycleState = LifecycleState.DRAFT
    session_external_ids: list[str] = msgspec.field(default_factory=list)
    warnings: list[MutationError] = msgspec.field(default_factory=list)


class SessionCreatedInAdministrate(Event, frozen=True, kw_only=True, tag="administrate.SessionCreatedInAdministrate"):
    """A tutorial session is now an Administrate session: the session auto-created with its event was
    updated with the row's title, times, venue and instructors (``session.update``, ``session.addStaff``)."""

    local_session_id: str
    local_event_id: str
    external_id: str
    event_external_id: str
    sequence: int
    title: str
    time_zone_name: str
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    location_external_id: str | None = None
    venue_external_id: str | None = None
    instructor_external_ids: list[str] = msgspec.field(default_factory=list)


class AdministrateWriteFailed(Event, frozen=True, kw_only=True, tag="administrate.AdministrateWriteFailed"):
    """A write to Administrate failed; local tutorial records stay as they are (FR-015). ``operation`` is
    the mutation (``"event.createBlended"``, ``"session.update"``); ``errors`` are its mutation errors (HTTP
    200) or empty for a transport error (``http_status`` 429/500/…, None when there was no response)."""

    record_kind: RecordKind
    local_id: str
    operation: str
    reason: str
    retryable: bool
    http_status: int | None = None
    errors: list[MutationError] = msgspec.field(default_factory=list)


class ImportRowRejected(Event, frozen=True, kw_only=True, tag="administrate.ImportRowRejected"):
    """A workbook row failed validation (unknown course template, location, venue or instructor; bad
    date; duplicate event) and was not imported. ``row`` is 1-based as Excel shows it."""

    import_id: str
    row: int
    reason: str
    sheet: str = "Import"
    errors: list[str] = msgspec.field(default_factory=list)
    course_template_code: str | None = None
    title: str | None = None


ADMINISTRATE_EVENTS = EventRegistry(
    "administrate",
    [
        RecordLinked,
        DiscrepancyFound,
        TutorialEventImported,
        EventCreatedInAdministrate,
        SessionCreatedInAdministrate,
        AdministrateWriteFailed,
        ImportRowRejected,
    ],
)
"""The tagged union of the ``ADMINISTRATE`` stream."""


__all__ = [
    "ADMINISTRATE_EVENTS",
    "AdministrateWriteFailed",
    "DiscrepancyFound",
    "DiscrepancyKind",
    "EventCreatedInAdministrate",
    "ImportRowRejected",
    "ImportedSession",
    "LearningMode",
    "LifecycleState",
    "MutationError",
    "RecordKind",
    "RecordLinked",
    "SessionCreatedInAdministrate",
    "TutorialEventImported",
]
