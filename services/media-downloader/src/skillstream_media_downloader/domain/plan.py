"""Planning a bulk download: which courses and segments, where their files go, and how many bytes are left.

The catalogue (an adapter: :class:`~skillstream_media_downloader.adapters.catalogue.Catalogue`) lists courses → channels
→ segments (TrueFire's model, REFERENCE-OPERATIONS.md §2.5); a segment is downloadable when its ``video`` is
``mp4:<path>`` and its file is ``<path>_<quality>.mp4`` (seed 001). File and folder names are built from the
catalogue's ids and titles through :mod:`~skillstream_media_downloader.domain.paths`, so nothing a catalogue says can
point outside the storage root (issue #5). A segment whose video path is unusable is still an item: it is
queued and fails at once with the reason, and every other segment goes on (bad input loses nothing).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from skillstream_contracts.media import VideoQuality
from skillstream_media_downloader.adapters.catalogue import Catalogue, Course, CourseRef, Segment
from skillstream_media_downloader.adapters.workqueue import SegmentWork
from skillstream_media_downloader.domain.paths import cdn_key, course_directory, resolve_inside, segment_filename
from skillstream_media_downloader.errors import MediaError

_DETAIL_CONCURRENCY = 8  # course detail requests in flight while planning


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
    course_id: int
    title: str
    directory: str
    segments: list[PlannedSegment] = field(default_factory=list)

    @property
    def total_bytes(self) -> int | None:
        sizes = [s.work.expected_size for s in self.segments if s.work is not None]
        return None if not sizes or any(n is None for n in sizes) else sum(n for n in sizes if n is not None)


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
    """What the survey keeps of one course: its segment ids (the items the job will report), their expected
    bytes (None if unknown) and the bytes still to write to disk."""

    course_id: int
    segment_ids: frozenset[int]
    total_bytes: int | None
    remaining_bytes: int | None


async def survey(catalogue: Catalogue, selection: Selection, root: Path, *, job_id: str) -> list[CourseSurvey]:
    """First pass over the catalogue: the job's courses in id order (those with nothing to do left out), keeping
    only ids and byte counts, so memory does not grow with the library's files (issue #5's 100,000-segment
    run). The second pass, :func:`plan_course`, reads one course again when it is queued.

    Raises:
        CatalogueError: the catalogue could not be read (the whole job fails: there is nothing to queue).
    """
    refs = sorted(
        [r async for r in catalogue.courses() if not selection.course_ids or r.id in selection.course_ids],
        key=lambda r: r.id,
    )
    gate = asyncio.Semaphore(_DETAIL_CONCURRENCY)

    async def one(ref: CourseRef) -> CourseSurvey | None:
        async with gate:
            course = _plan_course(await catalogue.course(ref.id), selection, job_id, None)
        if not any(s.work is not None for s in course.segments) and (selection.test_mode or not course.segments):
            return None
        return CourseSurvey(
            course_id=course.course_id,
            segment_ids=frozenset(s.segment_id for s in course.segments),
            total_bytes=course.total_bytes,
            remaining_bytes=remaining_bytes(root, [course]),
        )

    if selection.test_mode:
        for ref in refs:
            if (found := await one(ref)) is not None:
                return [found]
        return []
    out: list[CourseSurvey] = []
    step = _DETAIL_CONCURRENCY * 4  # a bounded window of courses in memory, never the whole library
    for start in range(0, len(refs), step):
        out.extend(c for c in await asyncio.gather(*(one(r) for r in refs[start : start + step])) if c is not None)
    return out


async def plan_course(
    catalogue: Catalogue, selection: Selection, surveyed: CourseSurvey, *, job_id: str, correlation_id: str | None
) -> PlannedCourse:
    """Second pass: one surveyed course as it is queued, with exactly the surveyed segments. A segment that left
    the catalogue meanwhile is still an item, failing with that reason, so the job's planned total stays exact.

    Raises:
        CatalogueError: the course could not be read.
    """
    course = _plan_course(await catalogue.course(surveyed.course_id), selection, job_id, correlation_id)
    course.segments = [s for s in course.segments if s.segment_id in surveyed.segment_ids]
    missing = surveyed.segment_ids - {s.segment_id for s in course.segments}
    course.segments += [
        PlannedSegment(segment_id=i, channel_id=0, title="", work=None, invalid="no longer in the catalogue")
        for i in sorted(missing)
    ]
    return course


def _plan_course(course: Course, selection: Selection, job_id: str, correlation_id: str | None) -> PlannedCourse:
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


def remaining_bytes(root: Path, courses: Sequence[PlannedCourse]) -> int | None:
    """Bytes still to write: expected sizes minus files already complete in size and ``.part`` prefixes
    (a cheap ``stat`` each; the hash is checked when the segment runs). None when sizes are unknown."""
    total = 0
    for course in courses:
        for s in course.segments:
            if s.work is None:
                continue
            if s.work.expected_size is None:
                return None
            target = resolve_inside(root, s.work.target_path)
            have = 0
            for candidate in (target, target.with_name(target.name + ".part")):
                try:
                    have = candidate.stat().st_size
                except OSError:
                    continue
                break
            total += max(0, s.work.expected_size - have)
    return total


__all__ = ["CourseSurvey", "PlannedCourse", "PlannedSegment", "Selection", "plan_course", "remaining_bytes", "survey"]
