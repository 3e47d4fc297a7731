"""Training programs: the event union of the ``TRAINING`` stream.

Subjects (see :mod:`skillstream_contracts.streams`)::

    training.requirement.<requirement id>   RequirementImported
    training.program.<program id>           ProgramCreated, ProgramPublished
    training.enrollment.<enrollment id>     MemberEnrolled, RequirementProgressRecorded, MilestoneCompleted,
                                            EnrollmentCompleted

Sources: seed 004 (the training module's models: TrainingRequirement, TrainingProgram, ProgramPhase,
ProgramRequirement, ProgramMilestone, ProgramEnrollment, RequirementProgress; its enums are kept as the
seed spells them), the registry files in ``real-data/registries`` (NFPA, NREMT, Pro Board) and
``REFERENCE-OPERATIONS.md`` §5.4 (progress = average of the required requirements' percentages). Ids are
UUIDs as 32 hex digits; hours are decimal hours; ``*_days`` are whole days; percentages are 0 to 100.
"""

from __future__ import annotations

import datetime as dt
import enum

import msgspec

from skillstream_contracts.events import Event, EventRegistry


class RequirementType(enum.StrEnum):
    HOURS = "hours"
    COURSES = "courses"
    CERTIFICATION = "certification"
    SHIFTS = "shifts"
    CALLS = "calls"
    SKILLS_EVALUATION = "skills_evaluation"
    CHECKLIST = "checklist"


class RequirementSource(enum.StrEnum):
    DEPARTMENT = "department"
    STATE = "state"
    NATIONAL = "national"


class Frequency(enum.StrEnum):
    """How often a requirement recurs; ``biannual`` is the seed's (and registries') word for 2-yearly."""

    ANNUAL = "annual"
    BIANNUAL = "biannual"
    QUARTERLY = "quarterly"
    MONTHLY = "monthly"
    ONE_TIME = "one_time"


class StructureType(enum.StrEnum):
    FLEXIBLE = "flexible"
    SEQUENTIAL = "sequential"
    PHASES = "phases"


class ProgressStatus(enum.StrEnum):
    NOT_STARTED = "not_started"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    WAIVED = "waived"


class CategoryHours(msgspec.Struct, frozen=True, kw_only=True):
    """A topic minimum within an hours requirement (hours), e.g. NCCR-AIRWAY 4.0 (NREMT registry files)."""

    registry_code: str
    min_hours: float


class ProgramPhase(msgspec.Struct, frozen=True, kw_only=True):
    """A phase of a phase-based program; ``phase_number`` is its 1-based order."""

    phase_id: str
    phase_number: int
    name: str
    prerequisite_phase_ids: list[str] = msgspec.field(default_factory=list)
    requires_manual_advancement: bool = False
    time_limit_days: int | None = None


class ProgramRequirement(msgspec.Struct, frozen=True, kw_only=True):
    """A requirement placed in a program (``phase_id`` None = program level)."""

    requirement_id: str
    phase_id: str | None = None
    is_required: bool = True
    is_prerequisite: bool = False
    sort_order: int = 0
    custom_deadline_days: int | None = None


class ProgramMilestone(msgspec.Struct, frozen=True, kw_only=True):
    """A checkpoint reached at ``completion_percentage_threshold`` percent (e.g. 50.0)."""

    milestone_id: str
    name: str
    completion_percentage_threshold: float
    phase_id: str | None = None
    requires_verification: bool = False
    notification_message: str | None = None


# --- events (stream TRAINING) ----------------------------------------------------------------------


class RequirementImported(Event, frozen=True, kw_only=True, tag="training.RequirementImported"):
    """A requirement entered the catalogue, from a registry file (``registry_name`` such as ``"NFPA"``,
    ``registry_code`` such as ``"NFPA 1001"``) or defined by the department (``registry_name`` None).
    Quantities apply by ``requirement_type``: ``required_hours`` (hours), ``required_shifts``,
    ``required_calls``, ``checklist_items``."""

    requirement_id: str
    name: str
    requirement_type: RequirementType
    source: RequirementSource
    frequency: Frequency
    description: str = ""
    registry_name: str | None = None
    registry_code: str | None = None
    training_type: str | None = None
    required_hours: float | None = None
    national_component_hours: float | None = None
    category_hour_distributions: list[CategoryHours] = msgspec.field(default_factory=list)
    required_shifts: int | None = None
    required_calls: int | None = None
    checklist_items: list[str] = msgspec.field(default_factory=list)
    time_limit_days: int | None = None
    applies_to_all: bool = False
    required_positions: list[str] = msgspec.field(default_factory=list)
    is_editable: bool = True


class ProgramCreated(Event, frozen=True, kw_only=True, tag="training.ProgramCreated"):
    """A program was created (or duplicated from ``duplicated_from`` with ``version`` incremented) with its
    phases, requirements and milestones. ``warning_days_before`` defaults to 30 (REFERENCE-OPERATIONS
    §5.1)."""

    program_id: str
    name: str
    structure_type: StructureType
    version: int = 1
    description: str = ""
    target_position: str | None = None
    prerequisite_program_ids: list[str] = msgspec.field(default_factory=list)
    allows_concurrent_enrollment: bool = True
    time_limit_days: int | None = None
    warning_days_before: int = 30
    is_template: bool = False
    duplicated_from: str | None = None
    phases: list[ProgramPhase] = msgspec.field(default_factory=list)
    requirements: list[ProgramRequirement] = msgspec.field(default_factory=list)
    milestones: list[ProgramMilestone] = msgspec.field(default_factory=list)


class ProgramPublished(Event, frozen=True, kw_only=True, tag="training.ProgramPublished"):
    """The program's ``version`` is final and open for enrollment; its structure no longer changes."""

    program_id: str
    version: int


class MemberEnrolled(Event, frozen=True, kw_only=True, tag="training.MemberEnrolled"):
    """A member was enrolled after the prerequisite-program and concurrent-enrollment checks (seed 004,
    "Enrollment Logic"). ``requirement_ids`` are the requirements whose progress starts at not_started;
    ``current_phase_id`` is the first phase of a phase-based program."""

    enrollment_id: str
    program_id: str
    program_version: int
    member_id: str
    enrolled_by: str | None = None
    target_completion_date: dt.date | None = None
    current_phase_id: str | None = None
    requirement_ids: list[str] = msgspec.field(default_factory=list)


class RequirementProgressRecorded(Event, frozen=True, kw_only=True, tag="training.RequirementProgressRecorded"):
    """Progress on one requirement of an enrollment. ``progress_value`` is in the requirement's unit
    (hours, shifts, calls, ticked items); ``progress_percentage`` of the requirement and
    ``enrollment_percentage`` (average of the required requirements) are after this update."""

    enrollment_id: str
    requirement_id: str
    status: ProgressStatus
    progress_value: float
    progress_percentage: float
    enrollment_percentage: float
    verified_by: str | None = None
    note: str | None = None


class MilestoneCompleted(Event, frozen=True, kw_only=True, tag="training.MilestoneCompleted"):
    """The enrollment's progress reached a milestone's threshold (and an officer verified it, if required)."""

    enrollment_id: str
    milestone_id: str
    program_id: str
    progress_percentage: float
    verified_by: str | None = None


class EnrollmentCompleted(Event, frozen=True, kw_only=True, tag="training.EnrollmentCompleted"):
    """Every required requirement of the enrollment is completed or waived (progress 100)."""

    enrollment_id: str
    program_id: str
    member_id: str


TRAINING_EVENTS = EventRegistry(
    "training",
    [
        RequirementImported,
        ProgramCreated,
        ProgramPublished,
        MemberEnrolled,
        RequirementProgressRecorded,
        MilestoneCompleted,
        EnrollmentCompleted,
    ],
)
"""The tagged union of the ``TRAINING`` stream."""


__all__ = [
    "TRAINING_EVENTS",
    "CategoryHours",
    "EnrollmentCompleted",
    "Frequency",
    "MemberEnrolled",
    "MilestoneCompleted",
    "ProgramCreated",
    "ProgramMilestone",
    "ProgramPhase",
    "ProgramPublished",
    "ProgramRequirement",
    "ProgressStatus",
    "RequirementImported",
    "RequirementProgressRecorded",
    "RequirementSource",
    "RequirementType",
    "StructureType",
]
