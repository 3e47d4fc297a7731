"""The text and number rule of commands and queries (``skillstream_contracts.constraints``): what decodes, what
is refused (a ``msgspec.ValidationError``, which a service answers with ``invalid_request``)."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from skillstream_contracts.constraints import INT64_MAX, check_json, text_problem
from skillstream_contracts.jobs import GetJob, JobRef, ListJobs, ProgressSince, RequestJob
from skillstream_contracts.media_queries import GetBulkStatus, GetCourseStatus, GetQueueStatus
from skillstream_contracts.tga_queries import GetComponent, ListAvailable

ACCEPTED: list[tuple[type[Any], dict[str, Any]]] = [
    (RequestJob, {"kind": "tga.sync", "requested_by": "ops", "idempotency_key": "nightly 2025-03-04 ü"}),
    (RequestJob, {"kind": "media.bulk-download", "requested_by": "ops", "parameters": {"note": "a\tb\r\nc"}}),
    (RequestJob, {"kind": "tga.sync", "requested_by": "ops", "parameters": {"n": INT64_MAX, "x": 1.5}}),
    (JobRef, {"job_id": "0123456789abcdef0123456789abcdef", "requested_by": "ops"}),
    (ListJobs, {"kind": "tga.sync", "limit": 200, "cursor": "eyJ0IjoxfQ=="}),
    (ProgressSince, {"after_sequence": INT64_MAX}),
    (ListAvailable, {"component_type": "unit", "search": "Communicate – workplace", "page": 1_000_000}),
    (GetComponent, {"code": "BSBCMM412"}),
    (GetBulkStatus, {"courses_offset": 2**31 - 1, "courses_limit": 1000}),
    (GetCourseStatus, {"course_id": INT64_MAX}),
    (GetQueueStatus, {"limit": 1}),
]

REFUSED: list[tuple[type[Any], dict[str, Any]]] = [
    (RequestJob, {"kind": "tga.sync", "requested_by": "ops", "idempotency_key": "k\u0000"}),
    (RequestJob, {"kind": "tga.sync", "requested_by": "ops", "idempotency_key": ""}),
    (RequestJob, {"kind": "tga.sync", "requested_by": "ops", "idempotency_key": "k\n"}),
    (RequestJob, {"kind": "TGA SYNC", "requested_by": "ops"}),
    (RequestJob, {"kind": "tga.sync", "requested_by": "\u001b[31m"}),
    (RequestJob, {"kind": "tga.sync", "requested_by": "ops", "parameters": {"a": {"b": ["\u0000"]}}}),
    (RequestJob, {"kind": "tga.sync", "requested_by": "ops", "parameters": {"n": INT64_MAX + 1}}),
    (RequestJob, {"kind": "tga.sync", "requested_by": "ops", "priority": 2**31}),
    (RequestJob, {"kind": "tga.sync", "requested_by": "ops", "depends_on": ["j"] * 101}),
    (JobRef, {"job_id": "a\u0000", "requested_by": "ops"}),
    (GetJob, {"job_id": "j", "visible_to": "\u007f"}),
    (ListJobs, {"requested_by": "x" * 201}),
    (ListJobs, {"limit": 2**63}),
    (ProgressSince, {"after_sequence": -1}),
    (ListAvailable, {"component_type": "unit", "search": "x" * 101}),
    (ListAvailable, {"component_type": "unit", "page": 0}),
    (ListAvailable, {"component_type": "unit", "page_size": 501}),
    (GetComponent, {"code": "BSB\u0000"}),
    (GetBulkStatus, {"courses_offset": 9223372036854775808}),
    (GetCourseStatus, {"course_id": -1}),
    (GetQueueStatus, {"limit": 0}),
]


@pytest.mark.parametrize(("kind", "body"), ACCEPTED, ids=lambda v: getattr(v, "__name__", ""))
def test_what_postgresql_holds_decodes(kind: type[Any], body: dict[str, Any]) -> None:
    msgspec.json.decode(msgspec.json.encode(body), type=kind)


@pytest.mark.parametrize(("kind", "body"), REFUSED, ids=lambda v: getattr(v, "__name__", ""))
def test_what_it_does_not_is_refused_when_decoded(kind: type[Any], body: dict[str, Any]) -> None:
    with pytest.raises(msgspec.ValidationError):
        msgspec.json.decode(msgspec.json.encode(body), type=kind)


def test_a_lone_surrogate_does_not_decode() -> None:
    with pytest.raises(msgspec.MsgspecError):
        msgspec.json.decode(b'{"kind": "tga.sync", "requested_by": "\\ud800"}', type=RequestJob)


def test_text_problem_names_the_character_and_its_position() -> None:
    assert text_problem("ab\u0000") == "control character U+0000 at position 2"
    assert text_problem("a\nb") is None
    assert text_problem("a\nb", line=True) == "control character U+000A at position 1"
    assert text_problem("\ud800x") == "lone surrogate U+D800 at position 0"
    assert text_problem("x" * 11, max_length=10) == "longer than 10 characters"


def test_check_json_says_where() -> None:
    with pytest.raises(ValueError, match=r"^parameters\.codes\.1: control character U\+0000"):
        check_json({"codes": ["BSB", "\u0000"]}, "parameters")
    deep: Any = "x"
    for _ in range(20):
        deep = [deep]
    with pytest.raises(ValueError, match="nested deeper"):
        check_json(deep)
    check_json({"a": [1, 2.5, None, True, {"b": "line\nbreak"}]})
