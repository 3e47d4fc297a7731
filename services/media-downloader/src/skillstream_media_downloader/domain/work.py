"""The work message of one segment download: what a worker needs to download it, except a URL.

A :class:`SegmentWork` is the body of a ``MEDIA_WORK`` message (:mod:`~skillstream_media_downloader.adapters
.workqueue`): the catalogue facts of one segment frozen when the bulk download queued it. URLs are signed when a
download starts, never queued with the work (seed 001: its "V2" job carried a signed URL that expired while the
message waited in a long queue). The segment's own event subject is the truth about its attempts; a message is
only a wake-up call, so duplicates are harmless (:func:`~skillstream_media_downloader.domain.segment.triage`).
"""

from __future__ import annotations

import msgspec


class SegmentWork(msgspec.Struct, frozen=True, kw_only=True):
    """One segment to download in one bulk download.

    ``cdn_key`` is the object key signed when a download starts; ``target_path`` is relative to the storage
    root and already sanitised; ``expected_size`` (bytes) and ``expected_sha256`` (lowercase hex) come from the
    catalogue when it knows them; ``correlation_id`` is the job's, carried onto the segment's events.
    ``queued_sequence`` is the ``MEDIA`` stream sequence of the segment's ``SegmentQueued`` event of this job
    when that append was the subject's newest event (None when unknown, e.g. a resumed job's repeat): a first
    delivery may then append its first step expecting that sequence instead of loading the subject first, and
    loads it only when the append conflicts.
    """

    job_id: str
    course_id: int
    segment_id: int
    cdn_key: str
    target_path: str
    expected_size: int | None = None
    expected_sha256: str | None = None
    correlation_id: str | None = None
    queued_sequence: int | None = None


__all__ = ["SegmentWork"]
