"""Subject names: reversible tokens, aggregate subjects, and commands/queries kept out of every stream."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from skillstream_contracts.streams import (
    ALL_STREAMS,
    JOBS,
    SERVICE_STREAMS,
    TGA,
    StreamDefinition,
    aggregate_subject,
    command_subject,
    decode_token,
    encode_token,
    query_subject,
)


def subject_matches(subject_filter: str, subject: str) -> bool:
    """NATS subject matching: ``*`` matches exactly one token, a final ``>`` one or more tokens."""
    pattern, tokens = subject_filter.split("."), subject.split(".")
    for i, p in enumerate(pattern):
        if p == ">":
            return len(tokens) > i
        if i >= len(tokens) or (p != "*" and p != tokens[i]):
            return False
    return len(pattern) == len(tokens)


# Names as streams.py accepts them for contexts, aggregate types, commands and queries.
plain_tokens = st.from_regex(r"\A[a-z][a-z0-9_-]{0,20}\Z")
stream_names = [s.name for s in ALL_STREAMS]
contexts = sorted({s.context for s in ALL_STREAMS} | set(SERVICE_STREAMS))


@pytest.mark.parametrize(
    ("subject_filter", "subject", "expected"),
    [
        ("tga.>", "tga.unit.BSBCMM412", True),
        ("tga.>", "tga.unit", True),
        ("tga.>", "tga", False),
        ("tga.*", "tga.unit", True),
        ("tga.*", "tga.unit.BSBCMM412", False),
        ("tga.*.BSBCMM412", "tga.unit.BSBCMM412", True),
        ("tga.unit.*", "tga.qualification.BSB41419", False),
        ("media.>", "tga.unit.BSBCMM412", False),
        ("cmd.tga.download-packages", "cmd.tga.download-packages", True),
    ],
)
def test_the_matching_helper(subject_filter: str, subject: str, expected: bool) -> None:
    assert subject_matches(subject_filter, subject) is expected


# --- tokens ----------------------------------------------------------------------------------------


@given(st.text(min_size=1))
def test_encode_token_is_reversible_and_yields_one_safe_token(value: str) -> None:
    token = encode_token(value)
    assert decode_token(token) == value
    assert token
    assert not any(c in ".*>" or c.isspace() for c in token), token


@given(st.from_regex(r"\A[A-Za-z0-9_-]+\Z"))
def test_safe_ids_are_left_readable(value: str) -> None:
    assert encode_token(value) == value


def test_unsafe_characters_are_percent_encoded() -> None:
    assert encode_token("a.b c*>") == "a%2Eb%20c%2A%3E"
    assert encode_token("100%") == "100%25"
    assert encode_token("Tutorial - London") == "Tutorial%20-%20London"
    assert decode_token("Tutorial%20-%20London") == "Tutorial - London"


def test_an_empty_id_is_refused() -> None:
    with pytest.raises(ValueError, match="empty"):
        encode_token("")


# --- aggregate subjects ----------------------------------------------------------------------------


def test_aggregate_subjects() -> None:
    assert aggregate_subject("tga", "unit", "BSBCMM412") == "tga.unit.BSBCMM412"
    assert TGA.aggregate_subject("qualification", "BSB41419") == "tga.qualification.BSB41419"
    assert JOBS.aggregate_subject("job", "5f0c8e9a") == "jobs.job.5f0c8e9a"
    assert TGA.aggregate_subject("unit", "odd.id with space") == "tga.unit.odd%2Eid%20with%20space"
    assert TGA.all_of("unit") == "tga.unit.*"


@pytest.mark.parametrize("aggregate_type", ["Unit", "unit.x", "", "1unit", "un it", "*", ">"])
def test_aggregate_types_must_be_plain_tokens(aggregate_type: str) -> None:
    with pytest.raises(ValueError, match="subject token"):
        TGA.aggregate_subject(aggregate_type, "BSBCMM412")
    with pytest.raises(ValueError, match="subject token"):
        TGA.all_of(aggregate_type)


def test_an_aggregate_needs_an_id() -> None:
    with pytest.raises(ValueError, match="empty"):
        TGA.aggregate_subject("unit", "")


@pytest.mark.parametrize("stream", ALL_STREAMS, ids=stream_names)
@given(aggregate_type=plain_tokens, aggregate_id=st.text(min_size=1))
def test_an_aggregate_subject_is_stored_in_its_own_stream_only(
    stream: StreamDefinition, aggregate_type: str, aggregate_id: str
) -> None:
    subject = stream.aggregate_subject(aggregate_type, aggregate_id)
    assert len(subject.split(".")) == 3
    for other in ALL_STREAMS:
        stored = any(subject_matches(f, subject) for f in other.subjects)
        assert stored is (other is stream), f"{subject} vs {other.name} {other.subjects}"
        assert subject_matches(other.all_of(aggregate_type), subject) is (other is stream)


# --- commands and queries are never stored ---------------------------------------------------------


def _stored_in(subject: str) -> list[str]:
    return [s.name for s in ALL_STREAMS for f in s.subjects if subject_matches(f, subject)]


@pytest.mark.parametrize("context", contexts)
def test_known_contexts_commands_and_queries_match_no_stream(context: str) -> None:
    for name in ("download-packages", "list-jobs", "cancel", "get"):
        assert _stored_in(command_subject(context, name)) == []
        assert _stored_in(query_subject(context, name)) == []


@given(context=plain_tokens, name=plain_tokens)
def test_any_command_or_query_subject_matches_no_stream(context: str, name: str) -> None:
    assert _stored_in(command_subject(context, name)) == []
    assert _stored_in(query_subject(context, name)) == []


def test_no_stream_context_collides_with_the_request_prefixes() -> None:
    assert {s.context for s in ALL_STREAMS}.isdisjoint({"cmd", "qry"})
    assert len({s.name for s in ALL_STREAMS}) == len({s.context for s in ALL_STREAMS}) == len(ALL_STREAMS)
    for stream in ALL_STREAMS:
        assert stream.subjects == (f"{stream.context}.>",)
