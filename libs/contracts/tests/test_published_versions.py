"""Every published event version decodes strictly from its fixture, forever (README, "Evolution policy").

Fixtures live at ``fixtures/<registry name>/<event type>.v<N>.json``, one per published version. A new event
type or a bumped ``schema_version`` without a fixture fails here, and so does a fixture whose type or
version no longer exists (a renamed or removed event type).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest

from skillstream_contracts.errors import EventDecodeError, UnknownEventType, UnsupportedSchemaVersion
from skillstream_contracts.events import Event, EventRegistry, event_type_of
from skillstream_contracts.registries import REGISTRIES
from skillstream_contracts.streams import ALL_STREAMS

FIXTURES = Path(__file__).parent / "fixtures"


def fixture_path(registry: EventRegistry, event_type: str, version: int) -> Path:
    return FIXTURES / registry.name / f"{event_type}.v{version}.json"


def _published() -> Iterator[tuple[EventRegistry, str, int]]:
    for _, registry in sorted(REGISTRIES.items()):
        for event_type in sorted(registry.types):
            for version in range(1, registry.current_version(event_type) + 1):
                yield registry, event_type, version


PUBLISHED = [pytest.param(r, t, v, id=f"{t}.v{v}") for r, t, v in _published()]
CURRENT = [pytest.param(r, t, id=t) for r, t, v in _published() if v == r.current_version(t)]


def _read_fixture(registry: EventRegistry, event_type: str, version: int) -> bytes:
    path = fixture_path(registry, event_type, version)
    if not path.is_file():
        pytest.fail(
            f"no fixture for {event_type} v{version}: add {path.relative_to(FIXTURES.parent)} "
            "(every published event version keeps a fixture forever; see libs/contracts/README.md)"
        )
    return path.read_bytes()


def assert_contains(actual: Any, expected: Any, where: str = "$") -> None:
    """Every key of ``expected`` is in ``actual`` with an equal value, recursively (lists element-wise)."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f"{where}: expected an object, got {actual!r}"
        for key, value in expected.items():
            assert key in actual, f"{where}.{key}: field dropped or renamed"
            assert_contains(actual[key], value, f"{where}.{key}")
    elif isinstance(expected, list):
        assert isinstance(actual, list), f"{where}: expected an array, got {actual!r}"
        assert len(actual) == len(expected), f"{where}: length {len(actual)} != {len(expected)}"
        for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
            assert_contains(a, e, f"{where}[{i}]")
    else:
        assert actual == expected, f"{where}: {actual!r} != {expected!r}"


@pytest.mark.parametrize(("registry", "event_type", "version"), PUBLISHED)
def test_every_published_version_decodes_strictly(registry: EventRegistry, event_type: str, version: int) -> None:
    data = _read_fixture(registry, event_type, version)
    event = registry.decode(event_type, version, data)
    assert event_type_of(event) == event_type
    if version != registry.current_version(event_type):
        return
    fixture = msgspec.json.decode(data)
    assert fixture.get("type") == event_type
    assert_contains(msgspec.to_builtins(event), fixture)
    reencoded = registry.encode(event)
    assert_contains(msgspec.json.decode(reencoded), fixture)
    assert registry.decode(event_type, version, reencoded) == event


def test_no_fixture_without_a_published_version() -> None:
    expected = {fixture_path(r, t, v) for r, t, v in _published()}
    orphans = sorted(str(p.relative_to(FIXTURES)) for p in FIXTURES.rglob("*.json") if p not in expected)
    assert not orphans, f"fixtures of unknown event types or versions (renamed? removed?): {orphans}"


@pytest.mark.parametrize(("registry", "event_type"), CURRENT)
def test_unknown_fields_are_ignored(registry: EventRegistry, event_type: str) -> None:
    version = registry.current_version(event_type)
    data = _read_fixture(registry, event_type, version)
    body = msgspec.json.decode(data)
    body["field_from_a_newer_producer"] = {"nested": [1, 2, 3]}
    assert registry.decode(event_type, version, msgspec.json.encode(body)) == registry.decode(event_type, version, data)


@pytest.mark.parametrize(("registry", "event_type"), CURRENT)
def test_a_version_newer_than_the_code_is_refused(registry: EventRegistry, event_type: str) -> None:
    version = registry.current_version(event_type)
    data = _read_fixture(registry, event_type, version)
    with pytest.raises(UnsupportedSchemaVersion):
        registry.decode(event_type, version + 1, data)


def test_decoding_is_strict() -> None:
    registry = REGISTRIES["JOBS"]
    body = msgspec.json.decode(_read_fixture(registry, "jobs.JobItemsPlanned", 1))
    body["total_items"] = str(body["total_items"])  # "412" is not an int
    with pytest.raises(EventDecodeError):
        registry.decode("jobs.JobItemsPlanned", 1, msgspec.json.encode(body))
    with pytest.raises(EventDecodeError):
        registry.decode("jobs.JobItemsPlanned", 1, b'{"type": "jobs.JobItemsPlanned", "job_id": ')


def test_header_type_must_match_body_type() -> None:
    registry = REGISTRIES["JOBS"]
    data = _read_fixture(registry, "jobs.JobQueued", 1)
    with pytest.raises(EventDecodeError):
        registry.decode("jobs.JobCancelRequested", 1, data)
    with pytest.raises(UnknownEventType):
        registry.decode("jobs.JobVanished", 1, data)


# --- the registries agree with the streams --------------------------------------------------------


def _struct_types(info: msgspec.inspect.Type) -> Iterator[msgspec.inspect.StructType]:
    """Every struct type reachable from ``info`` (fields, list items, dict values, unions)."""
    if isinstance(info, msgspec.inspect.StructType):
        yield info
        for f in info.fields:
            yield from _struct_types(f.type)
    elif isinstance(info, msgspec.inspect.UnionType):
        for t in info.types:
            yield from _struct_types(t)
    elif isinstance(info, msgspec.inspect.ListType | msgspec.inspect.VarTupleType):
        yield from _struct_types(info.item_type)
    elif isinstance(info, msgspec.inspect.TupleType):
        for t in info.item_types:
            yield from _struct_types(t)
    elif isinstance(info, msgspec.inspect.DictType):
        yield from _struct_types(info.value_type)


def test_every_stream_has_a_registry_named_after_its_context() -> None:
    assert set(REGISTRIES) == {s.name for s in ALL_STREAMS}
    for stream in ALL_STREAMS:
        assert REGISTRIES[stream.name].name == stream.context


@pytest.mark.parametrize("stream", ALL_STREAMS, ids=lambda s: s.name)
def test_event_types_follow_the_conventions(stream: Any) -> None:
    for tag, cls in REGISTRIES[stream.name].types.items():
        context, _, name = tag.partition(".")
        assert context == stream.context, f"{tag} is not tagged with its stream's context"
        assert name == cls.__name__, f"{tag}: the tag names another class than {cls.__name__}"
        assert issubclass(cls, Event)
        assert cls.schema_version >= 1
        assert cls.__struct_config__.frozen, f"{tag} must be frozen"
        for st in _struct_types(msgspec.inspect.type_info(cls)):
            assert not st.forbid_unknown_fields, f"{st.cls.__name__} must ignore unknown fields"
            assert st.cls.__struct_config__.frozen, f"{st.cls.__name__} (in {tag}) must be frozen"
