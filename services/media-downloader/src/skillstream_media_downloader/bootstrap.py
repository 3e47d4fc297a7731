"""Composition root of the media-downloader service: every adapter is built and every handler registered here.

- start-up loads the CloudFront signing key (refusing to start without one) and creates the ``MEDIA_WORK`` work
  queue and its shared consumer (:mod:`.adapters.workqueue`);
- background: the ``media.bulk-download`` :class:`~skillstream_runtime.jobs.JobWorker` runs
  :func:`~.handlers.bulk.run_bulk_download`, and a :class:`~skillstream_runtime.workqueue.WorkConsumer` on
  ``media_segments`` runs :func:`~.handlers.download.download_segment` per message;
- the projection builds the ``media_downloader`` read model the query endpoints (:mod:`.projections.queries`)
  answer from.

Settings: :class:`~skillstream_media_downloader.settings.MediaSettings` (``MEDIA_*``).
"""

from __future__ import annotations

import functools
import os
import socket
from importlib.resources import files
from typing import Any

import httpx

from skillstream_contracts.streams import MEDIA
from skillstream_media_downloader.adapters.cancellations import JobCancellations
from skillstream_media_downloader.adapters.catalogue import HttpCatalogue
from skillstream_media_downloader.adapters.cdn_client import cdn_client
from skillstream_media_downloader.adapters.disk import LocalDisk
from skillstream_media_downloader.adapters.fetch import CdnFetcher
from skillstream_media_downloader.adapters.outcomes import follow_outcomes
from skillstream_media_downloader.adapters.signing import CloudFrontSigner
from skillstream_media_downloader.adapters.workqueue import (
    CONSUMER,
    WORK_STREAM,
    MediaWorkQueue,
    decode_work,
    ensure_work_queue,
)
from skillstream_media_downloader.domain.work import SegmentWork
from skillstream_media_downloader.handlers.bulk import SPEC, BulkDeps, handler, lifecycle_event
from skillstream_media_downloader.handlers.download import SegmentDeps, download_segment
from skillstream_media_downloader.projections.projection import DownloadsProjection
from skillstream_media_downloader.projections.queries import Library, endpoints
from skillstream_media_downloader.settings import MediaSettings
from skillstream_runtime.host import ServiceContext, ServiceDefinition
from skillstream_runtime.jobs import JobWorker, JobWorkerSettings
from skillstream_runtime.workqueue import Delivery, Outcome, WorkConsumer

NAME = "media-downloader"
DESCRIPTION = "Media downloader: bulk download of the course library from a signed-URL CDN"


def definition(settings: MediaSettings | None = None) -> ServiceDefinition:
    """The media-downloader service: owns the ``MEDIA`` stream, the ``MEDIA_WORK`` work queue and the
    ``media_downloader`` PostgreSQL schema."""
    s = settings or MediaSettings()
    catalogue_client = httpx.AsyncClient(timeout=s.http_timeout)
    catalogue = HttpCatalogue(s.catalogue_url, catalogue_client)
    library = Library(catalogue=catalogue, quality=s.quality, source=s.catalogue_url, ttl=s.catalogue_cache)
    disk = LocalDisk(s.storage_root.resolve())
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
            store=ctx.store,
            catalogue=catalogue,
            queue=MediaWorkQueue(ctx.nc),
            disk=disk,
            follow=functools.partial(follow_outcomes, ctx.nc),
            quality=s.quality,
            disk_margin_bytes=s.disk_margin_bytes,
        )
        worker_settings = JobWorkerSettings(concurrency=s.jobs_at_once, ack_wait=s.ack_wait, timeout=s.job_timeout)
        try:
            await JobWorker(ctx.nc, ctx.store, SPEC, MEDIA, handler(deps), lifecycle_event, worker_settings).run()
        finally:
            await catalogue_client.aclose()

    async def download(ctx: ServiceContext) -> None:
        await _download_segments(ctx, s, disk, state["signer"])

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


async def _download_segments(ctx: ServiceContext, s: MediaSettings, disk: LocalDisk, signer: CloudFrontSigner) -> None:
    """Run the segment handler on the shared ``media_segments`` consumer until cancelled."""
    disk.root.mkdir(parents=True, exist_ok=True)
    # One connection per download slot: the fleet cap is the consumer's, this only sizes the pool.
    client = cdn_client(connections=s.concurrency, timeout=s.http_timeout)
    async with client, JobCancellations(ctx.nc) as jobs:
        deps = SegmentDeps(
            store=ctx.store,
            signer=signer,
            fetcher=CdnFetcher(client=client, chunk_bytes=s.chunk_bytes, url_min_remaining=s.url_min_remaining),
            disk=disk,
            queue=MediaWorkQueue(ctx.nc),
            settings=s,
            worker=f"{socket.gethostname()}-{os.getpid()}",
            cancelled=jobs.is_cancelled,
        )

        async def handle(work: SegmentWork, delivery: Delivery) -> Outcome:
            return await download_segment(work, deps, deliveries=delivery.number)

        consumer = WorkConsumer(
            stream=WORK_STREAM,
            durable=CONSUMER,
            decode=decode_work,
            handler=handle,
            concurrency=s.concurrency,
            ack_wait=s.ack_wait,
        )
        await consumer.run(ctx.nc)


__all__ = ["MediaSettings", "definition"]
