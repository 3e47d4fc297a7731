"""A cancelled bulk download, end to end (media sandbox, orchestrator, media-downloader and gateway as real
processes on a real nats-server and PostgreSQL): the segments it had not ended when it ended count as
cancelled in the job's progress and in the media status, nothing stays queued, processing or retrying, and
"resume" downloads exactly those segments in a new job, after which every segment of the library is on disk.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from skillstream_contracts.media import SegmentDownloaded, SegmentSkipped
from skillstream_contracts.media_queries import KIND_BULK_DOWNLOAD
from skillstream_testing.jobstack import job_ended, poll_job
from skillstream_testing.mediastack import media_stack

pytestmark = pytest.mark.slow

CATALOGUE = {"courses": 3, "segments": 60, "min_bytes": 4096, "max_bytes": 8192, "seed": 5, "hostile": False}
# Slow enough that a cancel finds segments still queued; the first segment fails until the faults are lifted,
# and waits long between attempts, so the cancel also finds one waiting to retry.
ENV = {"MEDIA_RETRY_DELAYS": "60,60,60,60,60", "MEDIA_RETRY_JITTER": "0"}


def _open(p: dict[str, Any]) -> tuple[int, int, int]:
    return p["queued"], p["processing"], p["retrying"]


async def test_a_cancelled_bulk_download_ends_its_segments_and_resume_downloads_the_rest(
    nats_url: str, database_url: str, tmp_path: Path
) -> None:
    async with media_stack(nats_url, database_url, tmp_path, media_env=ENV) as stack:
        await stack.set_catalogue(**CATALOGUE)
        videos = await stack.videos()
        await stack.set_faults(latency_ms=150, script={videos[min(videos)]: ["500"] * 20})
        async with stack.client() as client:
            r = await client.post("/api/jobs", json={"kind": KIND_BULK_DOWNLOAD, "parameters": {}})
            assert r.status_code == 201, r.text
            job_id = r.json()["job"]["job_id"]
            await poll_job(
                client, job_id, lambda d: d["progress"]["succeeded"] >= 5 and d["progress"]["retrying"] >= 1, 120
            )
            assert (await client.post(f"/api/jobs/{job_id}/cancel")).status_code == 202
            ended = await poll_job(client, job_id, job_ended, 120)
            p = ended["progress"]
            assert ended["job"]["status"] == "cancelled"
            assert _open(p) == (0, 0, 0)  # nothing left "queued" or "processing" forever
            assert p["total"] == len(videos)
            assert p["cancelled"] > 0
            assert p["succeeded"] + p["failed"] + p["skipped"] + p["cancelled"] == p["total"]
            status = (
                (await client.get("/truefire-courses/bulk-download-status", params={"job_id": job_id}))
                .raise_for_status()
                .json()
            )
            counts = status["counts"]
            assert (counts["queued"], counts["processing"], counts["retrying"]) == (0, 0, 0)
            assert (counts["cancelled"], counts["succeeded"]) == (p["cancelled"], p["succeeded"])

            await stack.set_faults()  # the CDN has recovered
            r = await client.post(f"/api/jobs/{job_id}/resume")
            assert r.status_code == 201, r.text
            resumed = r.json()["job"]
            assert (resumed["retry_of"], len(resumed["only_items"])) == (job_id, p["cancelled"])
            done = await poll_job(client, resumed["job_id"], job_ended, 180)
        assert done["job"]["status"] == "completed"
        assert (done["progress"]["total"], done["progress"]["succeeded"]) == (p["cancelled"], p["cancelled"])

        # Across the two jobs every segment was downloaded exactly once, and every file is on disk.
        downloaded: defaultdict[int, int] = defaultdict(int)
        for r in await stack.segment_events():
            if isinstance(r.event, SegmentDownloaded | SegmentSkipped):
                downloaded[r.event.segment_id] += 1
        assert downloaded == dict.fromkeys(videos, 1)
        files = stack.files()
        assert not [f for f in files if ".part" in f.name]
        assert len(files) == len(videos)
