"""Fixtures of the unit tests: no server. The ``TGA`` stream is an
:class:`~skillstream_runtime.memorystore.InMemoryEventStore` (same contract as the JetStream store), TGA is
:class:`FakeTga` serving the real release XML of ``real-data/tga`` for a small catalogue of real codes, and the
raw-XML store is :class:`FakeRaw` (a dict keyed by SHA-256, as the object store).

``ledger`` reads back what a job appended: its phases, and per item key the terminal reports.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

import pytest

from skillstream_contracts.jobs import ItemOutcome, JobDispatch
from skillstream_contracts.streams import TGA
from skillstream_contracts.tga import TGA_EVENTS, ComponentType, IngestJobEnded, IngestJobStarted
from skillstream_runtime.eventstore import RecordedEvent
from skillstream_runtime.jobs import JobContext
from skillstream_runtime.memorystore import InMemoryEventStore
from skillstream_runtime.realdata import real_data
from skillstream_tga_ingest.adapters.client.models import (
    ComponentDetails,
    DeletedComponent,
    Release,
    ReleaseComponent,
    ReleaseFile,
    SearchPage,
    UsageRecommendationPeriod,
)
from skillstream_tga_ingest.adapters.rawstore import RawFileMissing, raw_key
from skillstream_tga_ingest.domain.outcomes import Downloaded
from skillstream_tga_ingest.handlers.deps import Deps

BSB_UNITS = ("BSBCMM412", "BSBESB302", "BSBITU111", "BSBSTR602", "BSBSTR802")
"""Real unit files of ``real-data/tga/units`` in the BSB package."""
BSB_QUALIFICATIONS = ("BSB41419",)
RII_UNITS = ("RIICAM403", "RIICOM201E", "RIIDES301D")
CHC_UNITS = ("CHCCDE024", "CHCCDE027", "CHCCEL005", "CHCCOM006", "CHCFIN007", "CHCLAH003")


def real_xml(code: str) -> bytes:
    """The real release file of ``code`` (a unit, else a qualification)."""
    for folder in ("units", "qualifications"):
        path = real_data("tga", folder) / f"{code}_XML.xml"
        if path.exists():
            return path.read_bytes()
    raise KeyError(code)


class FakeTga:
    """TGA as the handlers see it (``handlers.deps.TgaApi``): ``GetDetails`` of the packages in ``packages``
    (code → its components' codes) and of any component with a real file, whose release lists that file.

    ``faults``: code → the error ``GetDetails`` raises; ``corrupt``: codes whose file is served cut in half
    (malformed XML); ``on_details``: awaited first on each ``GetDetails`` (tests cancel or crash there).
    ``calls`` counts ``GetDetails`` per code, ``files_served`` the files downloaded."""

    def __init__(self, packages: dict[str, tuple[str, ...]]) -> None:
        self.packages = packages
        self.faults: dict[str, BaseException] = {}
        self.corrupt: set[str] = set()
        self.on_details: Callable[[str], Awaitable[None]] | None = None
        self.calls: Counter[str] = Counter()
        self.files_served = 0

    async def get_details(self, code: str, *, components: bool = False) -> ComponentDetails:
        self.calls[code] += 1
        if self.on_details is not None:
            await self.on_details(code)
        if code in self.faults:
            raise self.faults[code]
        current = [UsageRecommendationPeriod(state="Current")]
        if code in self.packages:
            listed = [
                ReleaseComponent(code=c, title=c, type="Qualification" if c[3].isdigit() else "Unit")
                for c in self.packages[code]
            ]
            release = Release(release_number="9", components=listed if components else [])
            return ComponentDetails(
                code=code,
                title=f"{code} training package",
                component_types=["TrainingPackage"],
                releases=[release],
                usage_recommendations=current,
            )
        data = real_xml(code)
        path = f"{code[:3]}\\{code}_Complete_R1.xml"
        release = Release(release_number="1", files=[ReleaseFile(relative_path=path, size=len(data))])
        return ComponentDetails(
            code=code,
            title=code,
            component_types=["Qualification" if code[3].isdigit() else "Unit"],
            parent_code=code[:3],
            releases=[release],
            usage_recommendations=current,
        )

    async def download_file(self, relative_path: str, *, expected_size: int | None = None) -> bytes:
        self.files_served += 1
        code = relative_path.split("\\")[-1].split("_")[0]
        data = real_xml(code)
        return data[: len(data) // 2] if code in self.corrupt else data

    async def search(self, types: Iterable[str], *, include_superseded: bool = False) -> AsyncIterator[SearchPage]:
        raise NotImplementedError
        yield  # an async generator, as the client's

    async def search_by_modified_date(
        self, start: dt.datetime, end: dt.datetime | None, types: Iterable[str]
    ) -> AsyncIterator[SearchPage]:
        raise NotImplementedError
        yield

    async def search_deleted(self, start: dt.datetime, end: dt.datetime | None) -> list[DeletedComponent]:
        raise NotImplementedError

    async def get_server_time(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)


class FakeRaw:
    """The raw-XML store as a dict keyed by the bytes' SHA-256 (``handlers.deps.RawFiles``)."""

    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}

    async def put(self, data: bytes) -> str:
        key = raw_key(data)
        self.objects.setdefault(key, data)
        return key

    async def get(self, key: str) -> bytes:
        try:
            return self.objects[key]
        except KeyError:
            raise RawFileMissing(f"no raw file {key}") from None


@dataclass
class Ledger:
    """What jobs appended to the in-memory ``TGA`` stream."""

    store: InMemoryEventStore

    def events(self) -> list[RecordedEvent]:
        return self.store.all_events(TGA)

    def terminal(self, job_id: str) -> dict[str, list[RecordedEvent]]:
        """Item key → the job's terminal item events (an item ends exactly once: one each)."""
        out: dict[str, list[RecordedEvent]] = {}
        for e in self.events():
            r = e.metadata.job
            if r and r.job_id == job_id and r.item_key and r.item_outcome and ItemOutcome(r.item_outcome).is_terminal:
                out.setdefault(r.item_key, []).append(e)
        return out

    def outcomes(self, job_id: str) -> dict[str, str]:
        """Item key → its terminal outcome (``succeeded`` / ``failed``)."""
        return {
            k: str(v[-1].metadata.job and v[-1].metadata.job.item_outcome) for k, v in self.terminal(job_id).items()
        }

    def ended(self, job_id: str) -> IngestJobEnded:
        (end,) = [e.event for e in self.events() if isinstance(e.event, IngestJobEnded) and e.event.job_id == job_id]
        return end

    def started(self, job_id: str) -> list[IngestJobStarted]:
        return [e.event for e in self.events() if isinstance(e.event, IngestJobStarted) and e.event.job_id == job_id]

    def on(self, ctype: ComponentType, code: str) -> list[RecordedEvent]:
        subject = TGA.aggregate_subject(ctype.value, code)
        return [e for e in self.events() if e.subject == subject]


@pytest.fixture
def store() -> InMemoryEventStore:
    return InMemoryEventStore({TGA.name: TGA_EVENTS})


@pytest.fixture
def tga() -> FakeTga:
    return FakeTga({"BSB": (*BSB_QUALIFICATIONS, *BSB_UNITS), "RII": RII_UNITS})


@pytest.fixture
def raw() -> FakeRaw:
    return FakeRaw()


@pytest.fixture
def deps(store: InMemoryEventStore, tga: FakeTga, raw: FakeRaw) -> Deps:
    async def held(codes: list[str] | None) -> list[tuple[ComponentType, str]]:
        # what the read model says: the components with a download event on their subject, by code
        subjects = {tuple(e.subject.split(".")[1:3]) for e in store.all_events(TGA) if isinstance(e.event, Downloaded)}
        found = [(ComponentType(t), c) for t, c in subjects if codes is None or c in codes]
        return sorted(found, key=lambda pair: pair[1])

    async def outdated() -> list[tuple[ComponentType, str]]:
        return []

    return Deps(store=store, client=tga, raw=raw, held=held, outdated=outdated, item_concurrency=4)


@pytest.fixture
def ledger(store: InMemoryEventStore) -> Ledger:
    return Ledger(store)


@pytest.fixture
def new_job(store: InMemoryEventStore) -> Callable[..., JobContext]:
    """``new_job(kind, parameters, job_id=None, only_items=())`` → a :class:`JobContext` on the in-memory store."""

    def make(kind: str, parameters: dict[str, Any], job_id: str | None = None, only_items: Iterable[str] = ()) -> Any:
        dispatch = JobDispatch(
            job_id=job_id or uuid.uuid4().hex,
            kind=kind,
            parameters=parameters,
            requested_by="unit-test",
            only_items=list(only_items),
        )
        return JobContext(dispatch, store, TGA)

    return make
