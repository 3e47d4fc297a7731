"""Replay workload of the ``replay`` benchmark: one unit download job's events on ``TGA``.

:func:`append_units` appends ``n`` events (rounded down to an even number): for each of ``n // 2`` units,
``ComponentDownloadStarted`` → ``UnitDownloaded`` on the unit's own subject ``tga.unit.<code>``, each with the
job/item report the service writes (``processing``, then ``succeeded`` with the file's size). The contents are
the real unit files of ``real-data/tga/units`` (32 of them) parsed by the service's parser and turned into
events by the service's own :func:`~skillstream_tga_ingest.domain.outcomes.parsed_download`; unit ``i`` is
real file ``i % 32`` under a code of its own (``<real code>X<i>``) so that every unit is a new row, as in a
full-catalogue download (about 7 KB of JSON and 40 child rows per unit).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

import msgspec

from skillstream_contracts.jobs import ItemOutcome, JobReport
from skillstream_contracts.streams import TGA
from skillstream_contracts.tga import ComponentDownloadStarted, ComponentType, SourceFile, UnitDownloaded
from skillstream_runtime.eventstore import EventStore, NewEvent, ensure_stream
from skillstream_runtime.realdata import real_data
from skillstream_tga_ingest.domain.outcomes import package_code, parsed_download
from skillstream_tga_ingest.parser import parse_unit

JOB = "fedcba9876543210" * 2
T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def real_units() -> list[tuple[UnitDownloaded, int]]:
    """``UnitDownloaded`` of every real unit file (as the service records a fresh download) and its size."""
    out = []
    for path in sorted(real_data("tga", "units").glob("*.xml")):
        data = path.read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        parsed = parse_unit(data)
        source = SourceFile(relative_path=f"{package_code(parsed.code)}/{path.name}", size=len(data), sha256=digest,
                            raw_key=digest)  # fmt: skip
        event = parsed_download(ComponentType.UNIT, parsed.code, parsed, source).event
        assert isinstance(event, UnitDownloaded), event
        out.append((event, len(data)))
    return out


def _unit_events(i: int, real: UnitDownloaded, size: int) -> tuple[str, list[NewEvent]]:
    code = f"{real.code}X{i}"
    at = T0 + dt.timedelta(seconds=i)

    def report(outcome: ItemOutcome, **extra: Any) -> JobReport:
        return JobReport(job_id=JOB, item_key=code, item_group=real.training_package, item_outcome=outcome, **extra)

    started = ComponentDownloadStarted(code=code, component_type=ComponentType.UNIT)
    downloaded = msgspec.structs.replace(real, code=code)
    return code, [
        NewEvent(event=started, occurred_at=at, job=report(ItemOutcome.PROCESSING)),
        NewEvent(event=downloaded, occurred_at=at, job=report(ItemOutcome.SUCCEEDED, item_bytes=size)),
    ]


async def append_units(store: EventStore, nc: Any, n: int) -> int:
    """Append ``n // 2`` unit downloads' two events each on ``TGA``; returns the number of events."""
    await ensure_stream(nc, TGA)
    reals = real_units()
    appends = []
    for i in range(n // 2):
        code, events = _unit_events(i, *reals[i % len(reals)])
        appends.append((TGA.aggregate_subject(ComponentType.UNIT.value, code), code, events, 0))
    results = await store.append_many(TGA, appends, concurrency=64)
    assert not [r for r in results if isinstance(r, BaseException)]
    return 2 * (n // 2)


__all__ = ["JOB", "append_units", "real_units"]
