"""Media downloader: the event union of the ``MEDIA`` stream (TrueFire course library downloads).

Subjects (see :mod:`skillstream_contracts.streams`)::

    media.job.<job_id>           BulkDownloadRequested, BulkDownloadPlanned, BulkDownloadCompleted,
                                 BulkDownloadFailed (the job phases)
    media.course.<course_id>     CourseQueued, CourseCompleted
    media.segment.<segment_id>   SegmentQueued, SegmentDownloadStarted, SegmentDownloaded, SegmentSkipped,
                                 SegmentRetryScheduled, SegmentFailed

One subject per segment gives per-segment optimistic concurrency, so no segment is downloaded twice to
completion. Every segment ends in exactly one terminal event: ``SegmentDownloaded``, ``SegmentSkipped`` or
``SegmentFailed``; segment events carry the job/item headers (item key = segment id, item group = course id).

Sources: REFERENCE-OPERATIONS.md §1 (skip, retry, resume rules), seed 001 (TrueFire data model: courses → channels →
segments; ``<path>_{low|med|hi}.mp4``; retry schedule 30/60/120/300/600 s) and
``REFERENCE-OPERATIONS.md`` §2.6 (defects of the original that these contracts rule out: skip means a
verified file, never "a file over 1 KB"; a failure is counted once). Ids are TrueFire's integer ids.
Signed URLs are bearer credentials and are never stored: events carry the CDN key and the URL's expiry only.
"""

from __future__ import annotations

import datetime as dt
import enum

import msgspec

from skillstream_contracts.events import Event, EventRegistry


class VideoQuality(enum.StrEnum):
    """The file variant downloaded: ``<path>_low.mp4``, ``<path>_med.mp4`` or ``<path>_hi.mp4``."""

    LOW = "low"
    MED = "med"
    HI = "hi"


class SkipReason(enum.StrEnum):
    """What proved the file already complete (size and SHA-256, or a recorded digest)."""

    VERIFIED_ON_DISK = "verified_on_disk"  # size and SHA-256 of the file on disk match the catalogue
    RECORDED_DIGEST = "recorded_digest"  # an earlier SegmentDownloaded recorded this size and digest


class BulkDownloadRequested(Event, frozen=True, kw_only=True, tag="media.BulkDownloadRequested"):
    """A bulk download job was accepted. ``course_ids`` empty = every course with video segments;
    ``test_mode`` limits the job to one course (seed 001: ``download-all-courses?test=true``)."""

    job_id: str
    requested_by: str
    quality: VideoQuality = VideoQuality.MED
    test_mode: bool = False
    course_ids: list[int] = msgspec.field(default_factory=list)


class BulkDownloadPlanned(Event, frozen=True, kw_only=True, tag="media.BulkDownloadPlanned"):
    """The catalogue was read and the disk checked: ``segments`` downloadable segments in ``courses`` courses
    will be queued. ``total_bytes`` is the catalogue's sum of the chosen quality's file sizes (None if the
    catalogue gives no sizes); ``remaining_bytes`` is what still has to be written (files already complete
    on disk and ``.part`` prefixes not counted); ``free_bytes`` is the storage root's free space then."""

    job_id: str
    courses: int
    segments: int
    total_bytes: int | None = None
    remaining_bytes: int | None = None
    free_bytes: int | None = None


class BulkDownloadFailed(Event, frozen=True, kw_only=True, tag="media.BulkDownloadFailed"):
    """The bulk download could not run at all (catalogue unreachable, not enough disk space, a crash of the
    job handler); ``reason`` is for people. Segments already queued keep their own terminal events."""

    job_id: str
    reason: str


class CourseQueued(Event, frozen=True, kw_only=True, tag="media.CourseQueued"):
    """A course's downloadable segments were queued. ``total_bytes`` is the catalogue's sum of file sizes
    (None if unknown); ``directory`` is the course folder relative to the storage root, sanitised."""

    job_id: str
    course_id: int
    title: str
    segment_count: int
    directory: str
    total_bytes: int | None = None


class SegmentQueued(Event, frozen=True, kw_only=True, tag="media.SegmentQueued"):
    """A segment became an item on the download work consumer. ``cdn_key`` is the object key
    (``<path>_<quality>.mp4``) that is signed when the download starts — never a signed URL.
    ``target_path`` is relative to the storage root; ``expected_size`` (bytes) and ``expected_sha256``
    (lowercase hex) come from the catalogue when it knows them."""

    job_id: str
    course_id: int
    segment_id: int
    channel_id: int
    title: str
    cdn_key: str
    target_path: str
    expected_size: int | None = None
    expected_sha256: str | None = None


class SegmentDownloadStarted(Event, frozen=True, kw_only=True, tag="media.SegmentDownloadStarted"):
    """An attempt started with a freshly signed URL. ``attempt`` is 1-based; ``resume_from`` is the size in
    bytes of the ``.part`` file resumed with ``Range``/``If-Range`` (0 = from scratch); ``url_expires_at``
    is the canned policy's ``Expires``."""

    job_id: str
    course_id: int
    segment_id: int
    attempt: int
    url_expires_at: dt.datetime
    worker: str
    resume_from: int = 0


class SegmentDownloaded(Event, frozen=True, kw_only=True, tag="media.SegmentDownloaded"):
    """The file was written, fsynced, verified and renamed into place (terminal: succeeded).

    ``size`` in bytes and ``sha256`` (lowercase hex) are of the final file; ``seconds`` is the wall time of
    the successful attempt; ``attempts`` counts every attempt including this one (re-signs after a 403 on
    an expired URL are not attempts).
    """

    job_id: str
    course_id: int
    segment_id: int
    target_path: str
    size: int
    sha256: str
    seconds: float
    attempts: int = 1
    resumed: bool = False


class SegmentSkipped(Event, frozen=True, kw_only=True, tag="media.SegmentSkipped"):
    """The file was already complete (terminal: skipped); ``size`` (bytes) and ``sha256`` are the evidence."""

    job_id: str
    course_id: int
    segment_id: int
    target_path: str
    reason: SkipReason
    size: int
    sha256: str


class SegmentRetryScheduled(Event, frozen=True, kw_only=True, tag="media.SegmentRetryScheduled"):
    """Attempt ``attempt`` failed transiently; the next one is due at ``retry_at`` (not terminal).

    ``delay_seconds`` is the delay applied: the schedule's step (30, 60, 120, 300, 600 s with jitter) or
    the server's ``Retry-After`` (``retry_after_seconds``) when that is longer. ``partial_bytes`` is the
    size of the ``.part`` file kept for resuming.
    """

    job_id: str
    course_id: int
    segment_id: int
    attempt: int
    reason: str
    retry_at: dt.datetime
    delay_seconds: float
    http_status: int | None = None
    retry_after_seconds: float | None = None
    partial_bytes: int = 0


class SegmentFailed(Event, frozen=True, kw_only=True, tag="media.SegmentFailed"):
    """The segment failed for good (terminal: failed): the last retry failed, or the error is permanent
    (404, verification failed after a full re-download, disk full). Appended once per segment."""

    job_id: str
    course_id: int
    segment_id: int
    attempts: int
    reason: str
    http_status: int | None = None


class CourseCompleted(Event, frozen=True, kw_only=True, tag="media.CourseCompleted"):
    """Every segment of the course reached a terminal state; counts are segments; ``bytes_written`` counts
    the bytes this job wrote (skipped files not included)."""

    job_id: str
    course_id: int
    succeeded: int
    failed: int
    skipped: int
    bytes_written: int


class BulkDownloadCompleted(Event, frozen=True, kw_only=True, tag="media.BulkDownloadCompleted"):
    """The bulk download ended; counts are segments over all courses, ``bytes_written`` as in CourseCompleted.
    ``cancelled`` is true when it stopped after a cancel request (queued segments were not attempted)."""

    job_id: str
    courses: int
    succeeded: int
    failed: int
    skipped: int
    bytes_written: int
    cancelled: bool = False


MEDIA_EVENTS = EventRegistry(
    "media",
    [
        BulkDownloadRequested,
        BulkDownloadPlanned,
        BulkDownloadFailed,
        CourseQueued,
        SegmentQueued,
        SegmentDownloadStarted,
        SegmentDownloaded,
        SegmentSkipped,
        SegmentRetryScheduled,
        SegmentFailed,
        CourseCompleted,
        BulkDownloadCompleted,
    ],
)
"""The tagged union of the ``MEDIA`` stream."""


__all__ = [
    "MEDIA_EVENTS",
    "BulkDownloadCompleted",
    "BulkDownloadFailed",
    "BulkDownloadPlanned",
    "BulkDownloadRequested",
    "CourseCompleted",
    "CourseQueued",
    "SegmentDownloadStarted",
    "SegmentDownloaded",
    "SegmentFailed",
    "SegmentQueued",
    "SegmentRetryScheduled",
    "SegmentSkipped",
    "SkipReason",
    "VideoQuality",
]
