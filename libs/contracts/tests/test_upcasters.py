"""The upcaster mechanism of :class:`EventRegistry`, on a test-local event with a v1 → v2 → v3 history.

History of ``test.ThingMeasured``:

- v1 ``{"id": str, "size_kb": int}``
- v2 renamed ``id`` → ``thing_id``
- v3 ``size_kb`` → ``size_bytes`` (times 1024) and a defaulted ``unit``
"""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from skillstream_contracts.errors import EventDecodeError, UnknownEventType, UnsupportedSchemaVersion
from skillstream_contracts.events import Event, EventRegistry


class ThingMeasured(Event, frozen=True, kw_only=True, tag="test.ThingMeasured"):
    schema_version = 3

    thing_id: str
    size_bytes: int
    unit: str = "bytes"


class ThingNoted(Event, frozen=True, kw_only=True, tag="test.ThingNoted"):
    thing_id: str


V1 = b'{"type": "test.ThingMeasured", "id": "BSBCMM412", "size_kb": 250}'
V2 = b'{"type": "test.ThingMeasured", "thing_id": "BSBCMM412", "size_kb": 250}'
V3 = b'{"type": "test.ThingMeasured", "thing_id": "BSBCMM412", "size_bytes": 256000, "unit": "bytes"}'
EXPECTED = ThingMeasured(thing_id="BSBCMM412", size_bytes=256000)


def _registry(*, with_v1: bool = True, calls: list[int] | None = None) -> EventRegistry:
    registry = EventRegistry("test", [ThingMeasured, ThingNoted])
    log = calls if calls is not None else []

    if with_v1:

        @registry.upcaster("test.ThingMeasured", 1)
        def v1_to_v2(body: dict[str, Any]) -> dict[str, Any]:
            log.append(1)
            body["thing_id"] = body.pop("id")
            return body

    @registry.upcaster("test.ThingMeasured", 2)
    def v2_to_v3(body: dict[str, Any]) -> dict[str, Any]:
        log.append(2)
        body["size_bytes"] = body.pop("size_kb") * 1024
        return body

    return registry


def test_each_old_version_is_upcast_in_order_to_the_current_one() -> None:
    calls: list[int] = []
    registry = _registry(calls=calls)
    assert registry.decode("test.ThingMeasured", 1, V1) == EXPECTED
    assert calls == [1, 2]
    calls.clear()
    assert registry.decode("test.ThingMeasured", 2, V2) == EXPECTED
    assert calls == [2]
    calls.clear()
    assert registry.decode("test.ThingMeasured", 3, V3) == EXPECTED
    assert calls == []


def test_upcast_ignores_unknown_fields_and_is_strict() -> None:
    registry = _registry()
    extra = b'{"type": "test.ThingMeasured", "id": "BSBCMM412", "size_kb": 250, "colour": "red"}'
    assert registry.decode("test.ThingMeasured", 1, extra) == EXPECTED
    wrong = b'{"type": "test.ThingMeasured", "id": "BSBCMM412", "size_kb": "250"}'  # str * 1024 is a str
    with pytest.raises(EventDecodeError):
        registry.decode("test.ThingMeasured", 1, wrong)
    with pytest.raises(EventDecodeError):
        registry.decode("test.ThingMeasured", 1, b"[1, 2]")


def test_a_missing_upcaster_raises_unsupported_schema_version() -> None:
    registry = _registry(with_v1=False)
    with pytest.raises(UnsupportedSchemaVersion, match="v1 -> v2"):
        registry.decode("test.ThingMeasured", 1, V1)
    assert registry.decode("test.ThingMeasured", 2, V2) == EXPECTED


def test_a_newer_version_raises_unsupported_schema_version() -> None:
    with pytest.raises(UnsupportedSchemaVersion):
        _registry().decode("test.ThingMeasured", 4, V3)


def test_other_types_of_the_registry_are_unaffected() -> None:
    registry = _registry()
    noted = ThingNoted(thing_id="RIICOM201E")
    assert registry.decode("test.ThingNoted", 1, registry.encode(noted)) == noted


def test_an_upcaster_for_an_unknown_type_is_refused() -> None:
    registry = _registry()
    with pytest.raises(UnknownEventType):
        registry.upcaster("test.ThingVanished", 1)(lambda body: body)


def test_the_encoded_current_version_has_no_version_field() -> None:
    # The schema version travels in the Skillstream-Schema-Version header, never in the body.
    body = msgspec.json.decode(_registry().encode(EXPECTED))
    assert body == {
        "type": "test.ThingMeasured",
        "thing_id": "BSBCMM412",
        "size_bytes": 256000,
        "unit": "bytes",
    }
