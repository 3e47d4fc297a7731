"""The job handler's fold of segment outcomes from event headers (tally.py): exact under repeats."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from skillstream_contracts.events import Headers
from skillstream_media_downloader.domain.plan import segment_ids_of
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


def planned() -> JobTally:
    """Courses 1 (segments 1 and 3) and 2 (segment 2) planned, as the job handler plans them."""
    t = JobTally(job_id=JOB)
    t.expect(1, segment_ids_of([3, 1]))
    t.expect(2, segment_ids_of([2]))
    return t


@pytest.mark.parametrize("make", [planned, lambda: JobTally(job_id=JOB)], ids=["planned", "unplanned"])
def test_counts_each_segment_once_in_its_terminal_state(make: Callable[[], JobTally]) -> None:
    t = make()
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
    assert t.state("9", "1") is None
    assert t.state("3", "1") == "failed"


def test_a_planned_course_keeps_states_in_its_byte_array_and_a_stranger_in_others() -> None:
    t = planned()
    t.apply(h("SegmentQueued", "1", "queued"))
    t.apply(h("SegmentQueued", "7", "queued"))  # not surveyed: a resumed job whose catalogue changed
    t.apply(h("SegmentDownloaded", "7", "succeeded", size=5))
    t.apply(h("SegmentDownloadStarted", "1", "processing"))
    assert bytes(t.courses["1"].states) == bytes([2, 0])
    assert t.others == {"7": 4}
    assert (t.courses["1"].succeeded, t.courses["1"].bytes_written, t.running, t.terminal) == (1, 5, 1, 1)
    t.apply(h("SegmentDownloaded", "7", "succeeded", size=5))  # a repeat never counts twice
    assert t.terminal == 1


def test_retrying_is_not_running_and_course_completed_is_recorded() -> None:
    t = JobTally(job_id=JOB)
    t.apply(h("SegmentDownloadStarted", "1", "processing"))
    t.apply(h("SegmentRetryScheduled", "1", None))  # as stored before retries reported an outcome
    assert t.running == 0
    assert t.state("1", "1") == "retrying"
    t.apply(h("SegmentDownloadStarted", "2", "processing"))
    t.apply(h("SegmentRetryScheduled", "2", "retrying"))
    t.apply(h("SegmentDownloaded", "3", "a-later-outcome"))  # unknown to this version: not counted
    assert (t.running, t.state("2", "1"), t.state("3", "1")) == (0, "retrying", None)
    t.apply({Headers.EVENT_TYPE: "media.CourseCompleted", Headers.JOB_ID: JOB, Headers.AGGREGATE_ID: "1"})
    assert t.courses["1"].completed_recorded
