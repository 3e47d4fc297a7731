"""Planning a bulk download: which courses and segments, and where their files go. Pure: no I/O, no asyncio.

The catalogue lists courses → channels → segments (TrueFire's model, REFERENCE-OPERATIONS.md §2.5); a segment is
downloadable when its ``video`` is ``mp4:<path>`` and its file is ``<path>_<quality>.mp4`` (seed 001). File and
folder names are built from the catalogue's ids and titles through :mod:`~skillstream_media_downloader.domain
.paths`, so nothing a catalogue says can name a file outside the storage root. A segment whose video path is
unusable is still an item: it is queued and fails at once with the reason, and every other segment goes on (bad
input loses nothing).

A bulk download reads the catalogue twice (:mod:`skillstream_media_downloader.handlers.survey`): a survey keeps
only byte counts and a compact array of segment ids per course (:class:`CourseSurvey`: 4 bytes a segment, no
Python object per segment), so memory stays nearly flat with the library's size; each course is read again
when it is queued (:func:`keep_surveyed`), with exactly the surveyed segments.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from skillstream_contracts.media import VideoQuality
from skillstream_media_downloader.domain.catalogue import Course, Segment
from skillstream_media_downloader.domain.paths import cdn_key, course_directory, segment_filename
from skillstream_media_downloader.domain.work import SegmentWork
from skillstream_media_downloader.errors import MediaError


@dataclass(frozen=True, kw_only=True)
class PlannedSegment:
    """A segment to queue: ``work`` (None when it cannot be downloaded, then ``invalid`` says why)."""

    segment_id: int
    channel_id: int
    title: str
    work: SegmentWork | None
    invalid: str | None = None


@dataclass(kw_only=True)
class PlannedCourse:
    """A course to queue: its folder (``directory``, relative to the storage root) and its segments."""

    course_id: int
    title: str
    directory: str
    segments: list[PlannedSegment] = field(default_factory=list)

    @property
    def total_bytes(self) -> int | None:
        """The catalogue's sum of the downloadable segments' sizes (None when one is unknown, or none is)."""
        sizes = [s.work.expected_size for s in self.segments if s.work is not None]
        return sum_known(sizes) if sizes else None

    @property
    def works(self) -> list[SegmentWork]:
        return [s.work for s in self.segments if s.work is not None]


@dataclass(frozen=True, kw_only=True)
class Selection:
    """Which segments: ``course_ids`` (empty = all), ``test_mode`` (the first course with a downloadable
    segment, seed 001's ``?test=true``), ``only_segments`` (a retry-failed job: those segments only)."""

    quality: VideoQuality
    course_ids: frozenset[int] = frozenset()
    test_mode: bool = False
    only_segments: frozenset[int] = frozenset()


@dataclass(frozen=True, kw_only=True)
class CourseSurvey:
    """What the survey keeps of one course: its segment ids (the items the job will report; ascending, each
    once, as :func:`segment_ids_of` makes them), their expected bytes (None if unknown) and the bytes still to
    write to disk (None if unknown)."""

    course_id: int
    segment_ids: array[int]
    total_bytes: int | None
    remaining_bytes: int | None
    title: str = ""


def segment_ids_of(ids: Iterable[int]) -> array[int]:
    """``ids`` ascending and each once, as a machine-word array: 4 bytes an id (8 when one is ≥ 2³²), where a
    set of ints costs about 60 bytes an id.

    Raises:
        MediaError: an id is not in 0 … 2⁶⁴ − 1 (a catalogue cannot be planned with it).
    """
    ordered = sorted(set(ids))
    if ordered and (ordered[0] < 0 or ordered[-1] >= 1 << 64):
        raise MediaError(f"segment id out of range: {ordered[0] if ordered[0] < 0 else ordered[-1]}")
    return array("I" if not ordered or ordered[-1] < 1 << 32 else "Q", ordered)


def index_of(ids: array[int], segment_id: int) -> int:
    """Where ``segment_id`` is in the ascending ``ids`` (binary search), or -1 when it is not there."""
    i = bisect_left(ids, segment_id)
    return i if i < len(ids) and ids[i] == segment_id else -1


def selection_of(parameters: Mapping[str, Any], only_items: Iterable[str], default: VideoQuality) -> Selection:
    """The selection a job's parameters ask for (``quality``, ``course_ids``, ``test_mode``; the dispatch's
    ``only_items`` are segment ids).

    Raises:
        ValueError: a parameter does not parse (the job fails with this message).
    """
    try:
        quality = VideoQuality(parameters.get("quality") or default)
        course_ids = frozenset(int(c) for c in parameters.get("course_ids") or ())
        only = frozenset(int(k) for k in only_items)
    except (TypeError, ValueError) as e:
        raise ValueError(f"invalid bulk download parameters {dict(parameters)!r}: {e}") from e
    return Selection(
        quality=quality, course_ids=course_ids, test_mode=bool(parameters.get("test_mode")), only_segments=only
    )


def plan_course(course: Course, selection: Selection, *, job_id: str, correlation_id: str | None) -> PlannedCourse:
    """The downloadable segments of ``course`` that ``selection`` chooses, in catalogue order, as work."""
    directory = course_directory(course.id, course.title)
    out = PlannedCourse(course_id=course.id, title=course.title, directory=directory)
    for channel in course.channels:
        for segment in channel.segments:
            if not segment.downloadable:
                continue
            if selection.only_segments and segment.id not in selection.only_segments:
                continue
            out.segments.append(
                _plan_segment(course, channel.id, segment, directory, selection, job_id, correlation_id)
            )
    return out


def has_work(course: PlannedCourse, selection: Selection) -> bool:
    """False when the job has nothing to do in ``course``: no segment at all, or — in test mode, which wants
    one course to download — no downloadable one."""
    return any(s.work is not None for s in course.segments) or (bool(course.segments) and not selection.test_mode)


def survey_of(course: PlannedCourse, remaining_bytes: int | None) -> CourseSurvey:
    """What the survey keeps of ``course``; ``remaining_bytes``: what is still to write to disk."""
    return CourseSurvey(
        course_id=course.course_id,
        segment_ids=segment_ids_of(s.segment_id for s in course.segments),
        total_bytes=course.total_bytes,
        remaining_bytes=remaining_bytes,
        title=course.title,
    )


def keep_surveyed(course: PlannedCourse, surveyed: CourseSurvey) -> PlannedCourse:
    """``course`` read again to be queued, with exactly the surveyed segments: one that left the catalogue
    meanwhile is still an item, failing with that reason, so the job's planned total stays exact."""
    course.segments = [s for s in course.segments if index_of(surveyed.segment_ids, s.segment_id) >= 0]
    present = {s.segment_id for s in course.segments}  # one course's ids, dropped on return
    course.segments += [
        invalid_segment(i, "no longer in the catalogue") for i in surveyed.segment_ids if i not in present
    ]
    return course


def unreadable_course(surveyed: CourseSurvey, reason: str) -> PlannedCourse:
    """A surveyed course that could not be read again: its segments are still items, failing with ``reason``
    (the rest of the job goes on)."""
    failed = [invalid_segment(i, reason) for i in surveyed.segment_ids]
    return PlannedCourse(course_id=surveyed.course_id, title="", directory="", segments=failed)


def invalid_segment(segment_id: int, reason: str) -> PlannedSegment:
    return PlannedSegment(segment_id=segment_id, channel_id=0, title="", work=None, invalid=reason)


def sum_known(values: Sequence[int | None]) -> int | None:
    """The sum of byte counts, or None when any is unknown."""
    return None if any(v is None for v in values) else sum(v for v in values if v is not None)


def _plan_segment(
    course: Course,
    channel_id: int,
    segment: Segment,
    directory: str,
    selection: Selection,
    job_id: str,
    correlation_id: str | None,
) -> PlannedSegment:
    quality = selection.quality
    try:
        key = cdn_key(segment.video, quality)
        name = key.rsplit("/", 1)[-1].removesuffix(f"_{quality.value}.mp4")
        target = f"{directory}/{segment_filename(segment.id, name, quality)}"
    except (MediaError, ValueError) as e:
        return PlannedSegment(
            segment_id=segment.id,
            channel_id=channel_id,
            title=segment.title,
            work=None,
            invalid=f"unusable video path {segment.video!r}: {e}",
        )
    info = segment.files.get(quality.value)
    work = SegmentWork(
        job_id=job_id,
        course_id=course.id,
        segment_id=segment.id,
        cdn_key=key,
        target_path=target,
        expected_size=None if info is None else info.size,
        expected_sha256=None if info is None else info.sha256,
        correlation_id=correlation_id,
    )
    return PlannedSegment(segment_id=segment.id, channel_id=channel_id, title=segment.title, work=work)


__all__ = [
    "CourseSurvey",
    "PlannedCourse",
    "PlannedSegment",
    "Selection",
    "has_work",
    "index_of",
    "invalid_segment",
    "keep_surveyed",
    "plan_course",
    "segment_ids_of",
    "selection_of",
    "sum_known",
    "survey_of",
    "unreadable_course",
]
