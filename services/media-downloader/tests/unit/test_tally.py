"""The job handler's fold of segment outcomes from event headers (tally.py): exact under repeats."""

from __future__ import annotations

from skillstream_contracts.events import Headers
from skillstream_media_downloader.domain.tally import JobTally

JOB = "c" * 32


def h(
    kind: str, key: str, outcome: str | None, group: str = "1", job: str = JOB, size: int | None = None
) -> dict[str, str]:
    out = {Headers.EVENT_TYPE: f"media.{kind}", Headers.JOB_ID: job, Headers.ITEM_KEY: key, Headers.ITEM_GROUP: group}
    if outcome is not None:
        out[Headers.ITEM_OUTCOME] = outcome
    if size is not None:
        out[Headers.ITEM_BYTES] = str(size)
    return out


def test_counts_each_segment_once_in_its_terminal_state() -> None:
    t = JobTally(job_id=JOB)
    for headers in (
        h("SegmentQueued", "1", "queued"),
        h("SegmentQueued", "2", "queued", group="2"),
        h("SegmentQueued", "3", "queued"),
        h("SegmentDownloadStarted", "1", "processing"),
        h("SegmentRetryScheduled", "1", None),
        h("SegmentDownloadStarted", "1", "processing"),
        h("SegmentDownloaded", "1", "succeeded", size=100),
        h("SegmentDownloaded", "1", "succeeded", size=100),  # a repeat never counts twice
        h("SegmentSkipped", "2", "skipped", group="2"),
        h("SegmentDownloadStarted", "3", "processing"),
        h("SegmentQueued", "9", "queued", job="d" * 32),  # another job
    ):
        t.apply(headers)
    assert t.terminal == 2
    assert t.running == 1
    assert t.courses["1"].succeeded == 1
    assert t.courses["1"].bytes_written == 100
    assert t.courses["2"].skipped == 1
    t.apply(h("SegmentFailed", "3", "failed"))
    t.apply(h("SegmentDownloadStarted", "3", "processing"))  # a late event after the end is ignored
    assert t.totals() == {"succeeded": 1, "failed": 1, "skipped": 1, "bytes_written": 100}
    assert t.running == 0
    assert "9" not in t.states


def test_retrying_is_not_running_and_course_completed_is_recorded() -> None:
    t = JobTally(job_id=JOB)
    t.apply(h("SegmentDownloadStarted", "1", "processing"))
    t.apply(h("SegmentRetryScheduled", "1", None))
    assert t.running == 0
    assert t.states["1"] == "retrying"
    t.apply({Headers.EVENT_TYPE: "media.CourseCompleted", Headers.JOB_ID: JOB, Headers.AGGREGATE_ID: "1"})
    assert t.courses["1"].completed_recorded
