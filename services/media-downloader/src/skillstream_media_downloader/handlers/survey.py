"""The two catalogue passes of a bulk download: survey every course, then read each again when it is queued.

The survey keeps only byte counts and a compact array of segment ids per course (:class:`~skillstream_media_downloader
.domain.plan.CourseSurvey`, 4 bytes a segment), so memory barely grows with the library (a 1,000,000-segment
library holds about 4 MiB of ids); one course's plan at a time is alive while surveying; the second pass,
:func:`read_course`, reads one course again when it is queued. What to keep of a course is the domain's rule
(:mod:`skillstream_media_downloader.domain.plan`); this module does the reading.
"""

from __future__ import annotations

import asyncio
from typing import Protocol

from skillstream_media_downloader.domain.catalogue import Catalogue, CourseRef
from skillstream_media_downloader.domain.plan import (
    CourseSurvey,
    PlannedCourse,
    Selection,
    has_work,
    keep_surveyed,
    plan_course,
    survey_of,
)
from skillstream_media_downloader.domain.work import SegmentWork

_DETAIL_CONCURRENCY = 8  # course detail requests in flight while surveying


class MissingBytes(Protocol):
    """The disk adapter's count of bytes still to write for some work (None: a size is unknown)."""

    def bytes_missing(self, works: list[SegmentWork]) -> int | None: ...


async def survey(catalogue: Catalogue, selection: Selection, disk: MissingBytes, *, job_id: str) -> list[CourseSurvey]:
    """The job's courses in id order, those with nothing to do left out (test mode: the first course with a
    downloadable segment only), each with its segment ids and bytes (expected, and still to write on disk).

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
            course = plan_course(await catalogue.course(ref.id), selection, job_id=job_id, correlation_id=None)
        if not has_work(course, selection):
            return None
        return survey_of(course, disk.bytes_missing(course.works))

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


async def read_course(
    catalogue: Catalogue, selection: Selection, surveyed: CourseSurvey, *, job_id: str, correlation_id: str | None
) -> PlannedCourse:
    """One surveyed course read again to be queued, with exactly the surveyed segments (see
    :func:`~skillstream_media_downloader.domain.plan.keep_surveyed`).

    Raises:
        CatalogueError: the course could not be read.
    """
    course = await catalogue.course(surveyed.course_id)
    return keep_surveyed(plan_course(course, selection, job_id=job_id, correlation_id=correlation_id), surveyed)


__all__ = ["MissingBytes", "read_course", "survey"]
