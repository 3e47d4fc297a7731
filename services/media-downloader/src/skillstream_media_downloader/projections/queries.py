"""Query handlers of the media downloader (``qry.media.*``, :mod:`skillstream_contracts.media_queries`).

Status queries read the ``media_downloader`` read model (:mod:`.readmodel`); the library summary reads the
catalogue adapter (cached for ``catalogue_cache`` seconds: a 100,000-segment library takes hundreds of
requests) and, asked before a bulk download (``for_download``), refuses an empty library with
``nothing_to_download``; the queue status adds the work consumer's live JetStream counts. Downloads are not
commands here: a bulk download is a job (``media.bulk-download``) the orchestrator dispatches.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import msgspec

from skillstream_contracts import ErrorCode
from skillstream_contracts.media import VideoQuality
from skillstream_contracts.media_queries import (
    BULK_STATUS,
    COURSE_STATUS,
    LIBRARY_SUMMARY,
    QUEUE_STATUS,
    BulkStatus,
    CourseStatus,
    GetBulkStatus,
    GetCourseStatus,
    GetLibrarySummary,
    GetQueueStatus,
    LibrarySummary,
    QueueStatus,
)
from skillstream_media_downloader.adapters.workqueue import MediaWorkQueue
from skillstream_media_downloader.domain.catalogue import Catalogue
from skillstream_media_downloader.errors import MediaError
from skillstream_media_downloader.projections import readmodel
from skillstream_runtime.endpoints import Endpoint
from skillstream_runtime.errors import CommandRejected
from skillstream_runtime.host import ServiceContext


@dataclass(kw_only=True)
class Library:
    """The catalogue summary cache shared by the query handlers."""

    catalogue: Catalogue
    quality: VideoQuality
    source: str
    ttl: float
    _cache: dict[VideoQuality, tuple[float, LibrarySummary]] = field(default_factory=dict)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def summary(self, quality: VideoQuality | None) -> LibrarySummary:
        """Courses, channels, downloadable segments and their summed sizes for ``quality``.

        Raises:
            CatalogueError: the catalogue could not be read.
        """
        q = quality or self.quality
        async with self._lock:
            hit = self._cache.get(q)
            if hit is not None and time.monotonic() - hit[0] < self.ttl:
                return hit[1]
            courses = channels = segments = 0
            size: int | None = 0
            async for ref in self.catalogue.courses():
                course = await self.catalogue.course(ref.id)
                found = [s for ch in course.channels for s in ch.segments if s.downloadable]
                if not found:
                    continue
                courses += 1
                channels += len(course.channels)
                segments += len(found)
                for s in found:
                    info = s.files.get(q.value)
                    size = None if size is None or info is None else size + info.size
            result = LibrarySummary(
                courses=courses,
                channels=channels,
                segments=segments,
                estimated_bytes=size,
                quality=q,
                source=self.source,
            )
            self._cache[q] = (time.monotonic(), result)
            return result


def endpoints(library: Library) -> tuple[Endpoint, ...]:
    """The ``qry.media.*`` endpoints, bound to the catalogue summary cache."""

    async def library_summary(ctx: ServiceContext, q: GetLibrarySummary) -> LibrarySummary:
        try:
            summary = await library.summary(q.quality)
        except MediaError as e:
            raise CommandRejected(ErrorCode.UNAVAILABLE, f"the course catalogue cannot be read: {e.reason}") from e
        if q.for_download and (summary.courses == 0 or summary.segments == 0):
            # refuse here, where the catalogue is known, rather than let a job with nothing to do be started
            detail = f"The catalogue ({summary.source or 'media'}) lists nothing to download."
            raise CommandRejected(ErrorCode.NOTHING_TO_DOWNLOAD, detail)
        assert ctx.pool is not None
        downloaded = await readmodel.downloaded_segments(ctx.pool)
        return msgspec.structs.replace(summary, downloaded_segments=downloaded)

    async def bulk_status(ctx: ServiceContext, q: GetBulkStatus) -> BulkStatus:
        assert ctx.pool is not None
        found = await readmodel.bulk_status(ctx.pool, q)
        if found is None:
            what = "no bulk download has been requested" if q.job_id is None else f"no bulk download {q.job_id}"
            raise CommandRejected(ErrorCode.NOT_FOUND, what)
        return found

    async def course_status(ctx: ServiceContext, q: GetCourseStatus) -> CourseStatus:
        assert ctx.pool is not None
        found = await readmodel.course_status(ctx.pool, q)
        if found is None:
            raise CommandRejected(ErrorCode.NOT_FOUND, f"course {q.course_id} is in no bulk download")
        return found

    async def queue_status(ctx: ServiceContext, q: GetQueueStatus) -> QueueStatus:
        assert ctx.pool is not None
        courses, total_queued, total_failed = await readmodel.queued_courses(ctx.pool, q.limit)
        live = await MediaWorkQueue(ctx.nc).counts()
        return QueueStatus(**live, total_queued=total_queued, total_failed=total_failed, courses=courses)

    return (
        Endpoint(
            name="library_summary", subject=LIBRARY_SUMMARY, request_type=GetLibrarySummary, handler=library_summary
        ),
        Endpoint(name="bulk_status", subject=BULK_STATUS, request_type=GetBulkStatus, handler=bulk_status),
        Endpoint(name="course_status", subject=COURSE_STATUS, request_type=GetCourseStatus, handler=course_status),
        Endpoint(name="queue_status", subject=QUEUE_STATUS, request_type=GetQueueStatus, handler=queue_status),
    )


__all__ = ["Library", "endpoints"]
