"""Media downloader: the queries the media-downloader service answers, their replies, and its job kind.

Queries (``qry.media.<name>``) read the service's PostgreSQL read model (``media_downloader`` schema, folded
from the ``MEDIA`` stream), except :data:`LIBRARY_SUMMARY` (the catalogue adapter, cached) and the live
counts of :data:`QUEUE_STATUS` (the download work consumer's JetStream state). A bulk download is a job run by
the orchestrator (``REQUEST_JOB`` with :data:`KIND_BULK_DOWNLOAD`); its live progress (overall and per course
as job groups keyed by course id) is the job's progress stream.

Counting rules (REFERENCE-OPERATIONS.md §2.6): every segment of a bulk download is in exactly one
state at a time — ``queued`` → ``processing`` (an attempt is running) ⇄ ``retrying`` (waiting for its next
attempt) → one terminal state ``succeeded`` | ``failed`` | ``skipped``, which it never leaves. Counts are
folded from stream events in one transaction with the projection's checkpoint, so redelivery never counts
twice and nothing expires.

Sources: seed 001 (the four ``/truefire-courses/*`` routes, their fields: courses processed and
completed, success/failed/skipped per course, queued and failed jobs per course).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Final

import msgspec

from skillstream_contracts.constraints import INT64_MAX, Count, Key
from skillstream_contracts.media import VideoQuality
from skillstream_contracts.streams import query_subject

LIBRARY_SUMMARY: Final = query_subject("media", "library_summary")
""":class:`GetLibrarySummary` → :class:`LibrarySummary` (``unavailable`` when the catalogue cannot be read;
``nothing_to_download``, 409, when ``for_download`` is set and the catalogue lists no downloadable segment)."""
BULK_STATUS: Final = query_subject("media", "bulk_status")
""":class:`GetBulkStatus` → :class:`BulkStatus` (``not_found`` when there is no such bulk download)."""
COURSE_STATUS: Final = query_subject("media", "course_status")
""":class:`GetCourseStatus` → :class:`CourseStatus` (``not_found`` when the course is not in the download)."""
QUEUE_STATUS: Final = query_subject("media", "queue_status")
""":class:`GetQueueStatus` → :class:`QueueStatus`."""

KIND_BULK_DOWNLOAD: Final = "media.bulk-download"
"""Parameters ``{"test_mode": false, "course_ids": [course ids as strings], "quality": "low"|"med"|"hi"}``:
every downloadable segment of the chosen courses (empty = every course; ``test_mode`` = the first course
with segments, seed 001's ``?test=true``) → one item per segment (item key = segment id, group = course id)."""


class GetLibrarySummary(msgspec.Struct, frozen=True, kw_only=True):
    """Query: the library as the catalogue lists it (seed 001's "Review Download Summary")."""

    quality: VideoQuality | None = None
    """The variant whose sizes are summed; None = the service's configured quality."""
    for_download: bool = False
    """Asked before starting a bulk download: an empty library is then refused with ``nothing_to_download``
    instead of answered with zeros, so no job with nothing to do is started."""


class LibrarySummary(msgspec.Struct, kw_only=True):
    """``segments`` counts downloadable segments (those with a video); ``estimated_bytes`` sums their files of
    ``quality`` when the catalogue gives sizes (None otherwise). ``downloaded_segments`` counts segments whose
    file a bulk download has written or verified (from the read model)."""

    courses: int
    channels: int
    segments: int
    estimated_bytes: int | None
    quality: VideoQuality
    downloaded_segments: int = 0
    source: str = ""
    """Where the catalogue came from, e.g. the catalogue API's base URL."""


class SegmentCounts(msgspec.Struct, kw_only=True):
    """Segment counts by state (see the module docstring); ``total`` is their sum. ``cancelled``: segments that
    had not ended when their bulk download ended (cancelled or failed); a resumed run downloads them."""

    total: int = 0
    queued: int = 0
    processing: int = 0
    retrying: int = 0
    succeeded: int = 0
    failed: int = 0
    skipped: int = 0
    cancelled: int = 0


class SegmentFailure(msgspec.Struct, frozen=True, kw_only=True):
    """One failed segment: the last attempt's ``reason`` and HTTP status (None for a network or
    verification error), after ``attempts`` attempts."""

    segment_id: int
    course_id: int
    title: str
    reason: str
    attempts: int
    http_status: int | None = None
    at: dt.datetime | None = None


class CourseStatus(msgspec.Struct, kw_only=True):
    """One course in one bulk download.

    ``state``: ``queued`` (no attempt yet), ``processing`` (some segment started, not all terminal) or
    ``completed`` (``CourseCompleted``). ``bytes_written`` counts bytes written by this download (skipped files
    not included), ``bytes_expected`` the catalogue's sizes of its segments. ``bytes_per_second`` and
    ``segments_per_second`` are over the time from the course's first attempt to its latest terminal segment;
    ``eta_seconds`` = remaining segments / segment rate (None until a rate is known, 0 when complete).
    ``failures`` lists up to ``failure_limit`` failed segments, newest first.
    """

    job_id: str
    course_id: int
    title: str
    directory: str
    state: str
    counts: SegmentCounts
    bytes_written: int = 0
    bytes_expected: int | None = None
    bytes_per_second: float | None = None
    segments_per_second: float | None = None
    eta_seconds: float | None = None
    queued_at: dt.datetime | None = None
    started_at: dt.datetime | None = None
    completed_at: dt.datetime | None = None
    failures: list[SegmentFailure] = msgspec.field(default_factory=list)


class BulkStatus(msgspec.Struct, kw_only=True):
    """One bulk download (seed 001 ``bulk-download-status``): the totals over its courses, and a page of its
    courses ordered by course id (``courses_offset``/``courses_limit`` of :class:`GetBulkStatus`).

    ``status``: ``running``, ``completed``, ``failed`` or ``cancelled`` (from the job's own events); rates and
    ETA as in :class:`CourseStatus`, over the whole download.
    """

    job_id: str
    status: str
    test_mode: bool
    quality: VideoQuality
    requested_by: str
    requested_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    reason: str | None = None
    courses_total: int = 0
    courses_queued: int = 0
    courses_processing: int = 0
    courses_completed: int = 0
    counts: SegmentCounts = msgspec.field(default_factory=SegmentCounts)
    bytes_written: int = 0
    bytes_expected: int | None = None
    bytes_per_second: float | None = None
    segments_per_second: float | None = None
    eta_seconds: float | None = None
    courses: list[CourseStatus] = msgspec.field(default_factory=list)


class GetBulkStatus(msgspec.Struct, frozen=True, kw_only=True):
    """Query: one bulk download by ``job_id`` (None = the most recently requested one), with a page of its
    courses (``courses_limit`` ≤ 1000)."""

    job_id: Key | None = None
    courses_offset: Count = 0
    courses_limit: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 100


class GetCourseStatus(msgspec.Struct, frozen=True, kw_only=True):
    """Query: one course in a bulk download (``job_id`` None = the latest bulk download holding the course)."""

    course_id: Annotated[int, msgspec.Meta(ge=0, le=INT64_MAX)]
    job_id: Key | None = None
    failure_limit: Annotated[int, msgspec.Meta(ge=0, le=500)] = 50


class QueuedCourse(msgspec.Struct, kw_only=True):
    """A course with work left (seed 001 ``bulk-queue-status``): segments not yet terminal, and failed."""

    job_id: str
    course_id: int
    title: str
    total_segments: int
    queued: int
    processing: int
    retrying: int
    failed: int


class GetQueueStatus(msgspec.Struct, frozen=True, kw_only=True):
    """Query: the download queue now (``limit`` courses with work left, 1..1000)."""

    limit: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 100


class QueueStatus(msgspec.Struct, kw_only=True):
    """The download work queue: ``pending`` work messages not yet delivered, ``in_flight`` downloads running
    (JetStream ack-pending, ≤ ``max_in_flight``, the fleet-wide cap), ``scheduled_retries`` retries waiting for
    their time; ``total_queued``/``total_failed`` are segment counts over running downloads (read model)."""

    pending: int
    in_flight: int
    max_in_flight: int
    scheduled_retries: int
    total_queued: int
    total_failed: int
    courses: list[QueuedCourse] = msgspec.field(default_factory=list)


__all__ = [
    "BULK_STATUS",
    "COURSE_STATUS",
    "KIND_BULK_DOWNLOAD",
    "LIBRARY_SUMMARY",
    "QUEUE_STATUS",
    "BulkStatus",
    "CourseStatus",
    "GetBulkStatus",
    "GetCourseStatus",
    "GetLibrarySummary",
    "GetQueueStatus",
    "LibrarySummary",
    "QueueStatus",
    "QueuedCourse",
    "SegmentCounts",
    "SegmentFailure",
]
