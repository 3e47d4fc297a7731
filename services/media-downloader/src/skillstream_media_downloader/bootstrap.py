"""Composition root of the media-downloader service: everything it runs is wired here, nowhere else.

Start-up loads the CloudFront signing key (refusing to start without one) and creates the download work queue;
the background runs the ``media.bulk-download`` :class:`~skillstream_runtime.jobs.JobWorker` (planning and
following bulk downloads) and one :class:`~skillstream_media_downloader.handlers.download.SegmentWorker` (downloading
segments from the shared consumer); the projection builds the ``media_downloader`` read model the query
endpoints answer from. Settings: :class:`~skillstream_media_downloader.settings.MediaSettings` (``MEDIA_*``).
"""

from __future__ import annotations

import os
import socket
from importlib.resources import files
from typing import Any

import httpx

from skillstream_contracts.streams import MEDIA
from skillstream_media_downloader.adapters.catalogue import HttpCatalogue
from skillstream_media_downloader.adapters.signing import CloudFrontSigner
from skillstream_media_downloader.adapters.workqueue import ensure_work_queue
from skillstream_media_downloader.handlers.bulk import SPEC, BulkDeps, handler, lifecycle_event
from skillstream_media_downloader.handlers.download import SegmentWorker
from skillstream_media_downloader.projections.projection import DownloadsProjection
from skillstream_media_downloader.projections.queries import Library, endpoints
from skillstream_media_downloader.settings import MediaSettings
from skillstream_runtime.host import ServiceContext, ServiceDefinition
from skillstream_runtime.jobs import JobWorker, JobWorkerSettings

NAME = "media-downloader"
DESCRIPTION = "Media downloader: bulk download of the course library from a signed-URL CDN"


def definition(settings: MediaSettings | None = None) -> ServiceDefinition:
    """The media-downloader service: owns the ``MEDIA`` stream, the ``MEDIA_WORK`` work queue and the
    ``media_downloader`` PostgreSQL schema."""
    s = settings or MediaSettings()
    catalogue_client = httpx.AsyncClient(timeout=s.http_timeout)
    catalogue = HttpCatalogue(s.catalogue_url, catalogue_client)
    library = Library(catalogue=catalogue, quality=s.quality, source=s.catalogue_url, ttl=s.catalogue_cache)
    state: dict[str, Any] = {}

    async def prepare(ctx: ServiceContext) -> None:
        try:
            state["signer"] = CloudFrontSigner(s.key_pair_id, s.private_key_pem())
        except ValueError as e:
            raise SystemExit(f"media-downloader cannot sign CDN URLs: {e}") from e
        await ensure_work_queue(
            ctx.nc, concurrency=s.concurrency, ack_wait=s.ack_wait, replicas=ctx.settings.stream_replicas
        )

    async def plan_jobs(ctx: ServiceContext) -> None:
        deps = BulkDeps(
            nc=ctx.nc,
            store=ctx.store,
            catalogue=catalogue,
            storage_root=s.storage_root.resolve(),
            quality=s.quality,
            disk_margin_bytes=s.disk_margin_bytes,
        )
        worker_settings = JobWorkerSettings(concurrency=s.jobs_at_once, ack_wait=s.ack_wait)
        try:
            await JobWorker(ctx.nc, ctx.store, SPEC, MEDIA, handler(deps), lifecycle_event, worker_settings).run()
        finally:
            await catalogue_client.aclose()

    async def download(ctx: ServiceContext) -> None:
        # One connection per download slot: the fleet cap is the consumer's, this only sizes the pool.
        limits = httpx.Limits(max_connections=s.concurrency, max_keepalive_connections=s.concurrency)
        async with httpx.AsyncClient(timeout=s.http_timeout, limits=limits) as client:
            worker = SegmentWorker(
                nc=ctx.nc,
                store=ctx.store,
                settings=s,
                signer=state["signer"],
                client=client,
                name=f"{socket.gethostname()}-{os.getpid()}",
                replicas=ctx.settings.stream_replicas,
            )
            await worker.run()

    return ServiceDefinition(
        name=NAME,
        description=DESCRIPTION,
        default_http_port=8103,
        stream=MEDIA,
        migrations=files("skillstream_media_downloader") / "migrations",
        projections=(DownloadsProjection(),),
        endpoints=endpoints(library),
        startup=(prepare,),
        background=(plan_jobs, download),
    )


__all__ = ["MediaSettings", "definition"]
