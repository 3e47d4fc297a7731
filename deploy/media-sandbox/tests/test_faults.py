"""Every switchable fault through the running server, scripts and rates, and fault-document validation."""

from __future__ import annotations

import datetime as dt
import hashlib
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import pytest

from skillstream_media_sandbox import SandboxServer

from .conftest import Signer, cdn_url, files_of


@pytest.fixture
def keys(media: SandboxServer, client: httpx.Client) -> list[tuple[str, dict[str, Any]]]:
    """``(key, {"size", "sha256"})`` of the first course's files."""
    document = client.get(media.catalogue_url + "/courses/1001").json()
    return files_of(document)


@pytest.fixture
def key(keys: list[tuple[str, dict[str, Any]]]) -> str:
    return keys[0][0]


def _get(client: httpx.Client, signer: Signer, media: SandboxServer, key: str) -> httpx.Response:
    return client.get(signer.sign(cdn_url(media, key)))


def _read_until_error(client: httpx.Client, url: str) -> tuple[httpx.Response, bytes, Exception]:
    received = bytearray()
    with client.stream("GET", url) as response:
        try:
            for chunk in response.iter_raw():
                received += chunk
        except (httpx.RemoteProtocolError, httpx.ReadError) as e:
            return response, bytes(received), e
    raise AssertionError(f"the body ended normally after {len(received)} bytes")


@pytest.mark.parametrize(("outcome", "code"), [("403", "AccessDenied"), ("500", "InternalError"), ("404", "NoSuchKey")])
def test_status_faults(
    media: SandboxServer, client: httpx.Client, signer: Signer, key: str, outcome: str, code: str
) -> None:
    media.set_faults(script={key: [outcome]})
    response = _get(client, signer, media, key)
    assert response.status_code == int(outcome)
    assert response.headers["content-type"] == "text/xml"
    assert f"<Code>{code}</Code>".encode() in response.content
    assert "retry-after" not in response.headers
    assert _get(client, signer, media, key).status_code == 200
    stats = media.stats()
    assert stats["faults"] == {outcome: 1}
    assert stats["by_status"] == {outcome: 1, "200": 1}
    assert stats["denied"]["expired"] == 0  # an injected 403 is a fault, not a signature refusal


@pytest.mark.parametrize("outcome", ["429", "503"])
def test_retry_after_as_delta_seconds(
    media: SandboxServer, client: httpx.Client, signer: Signer, key: str, outcome: str
) -> None:
    media.set_faults(script={key: [outcome]}, retry_after_seconds=7)
    response = _get(client, signer, media, key)
    assert (response.status_code, response.headers["retry-after"]) == (int(outcome), "7")


def test_retry_after_as_http_date(media: SandboxServer, client: httpx.Client, signer: Signer, key: str) -> None:
    media.set_faults(script={key: ["429"]}, retry_after_seconds=120, retry_after_http_date=True)
    before = dt.datetime.now(dt.UTC).replace(microsecond=0)
    response = _get(client, signer, media, key)
    after = dt.datetime.now(dt.UTC)
    assert response.status_code == 429
    assert response.headers["retry-after"].endswith(" GMT")
    when = parsedate_to_datetime(response.headers["retry-after"])
    assert before + dt.timedelta(seconds=120) <= when <= after + dt.timedelta(seconds=121)


def test_reset_drops_a_chunked_body_midway(
    media: SandboxServer, client: httpx.Client, signer: Signer, keys: list[tuple[str, dict[str, Any]]]
) -> None:
    key, info = keys[2]
    media.set_faults(script={key: ["reset", "reset"]})
    response, received, _ = _read_until_error(client, signer.sign(cdn_url(media, key)))
    assert response.status_code == 200
    assert "content-length" not in response.headers
    assert response.headers["transfer-encoding"] == "chunked"
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):  # never a silently short 200
        _get(client, signer, media, key)
    whole = _get(client, signer, media, key).content
    assert hashlib.sha256(whole).hexdigest() == info["sha256"]
    assert len(received) == info["size"] // 2
    assert received == whole[: len(received)]
    stats = media.stats()
    assert (stats["faults"], stats["completed"], stats["in_flight"]) == ({"reset": 2}, {key: 1}, 0)


def test_truncate_closes_short_of_the_content_length(
    media: SandboxServer, client: httpx.Client, signer: Signer, keys: list[tuple[str, dict[str, Any]]]
) -> None:
    key, info = keys[1]
    media.set_faults(script={key: ["truncate", "truncate"]})
    response, received, _ = _read_until_error(client, signer.sign(cdn_url(media, key)))
    assert response.status_code == 200
    assert response.headers["content-length"] == str(info["size"])
    with pytest.raises(httpx.RemoteProtocolError):  # never a silently short 200
        client.get(signer.sign(cdn_url(media, key)), headers={"Range": "bytes=100-"})
    whole = _get(client, signer, media, key).content
    assert len(received) == info["size"] // 2
    assert received == whole[: len(received)]
    stats = media.stats()
    assert (stats["faults"], stats["completed"], stats["in_flight"]) == ({"truncate": 2}, {key: 1}, 0)
    assert stats["bytes_sent"] == info["size"] // 2 + (info["size"] - 100) // 2 + info["size"]


def test_wrong_bytes_keeps_the_length_and_flips_some_bytes(
    media: SandboxServer, client: httpx.Client, signer: Signer, keys: list[tuple[str, dict[str, Any]]]
) -> None:
    key, info = keys[0]
    media.set_faults(script={key: ["wrong_bytes"]})
    wrong = _get(client, signer, media, key)
    right = _get(client, signer, media, key)
    assert wrong.status_code == 200
    assert len(wrong.content) == info["size"] == int(wrong.headers["content-length"])
    assert hashlib.sha256(wrong.content).hexdigest() != info["sha256"]
    assert hashlib.sha256(right.content).hexdigest() == info["sha256"]
    differing = [i for i, (a, b) in enumerate(zip(wrong.content, right.content, strict=True)) if a != b]
    assert len(differing) == 16
    assert differing[0] == info["size"] // 2
    stats = media.stats()
    assert (stats["faults"], stats["completed"]) == ({"wrong_bytes": 1}, {key: 1})


def test_latency_is_counted_for_every_cdn_request(
    media: SandboxServer, client: httpx.Client, signer: Signer, key: str
) -> None:
    media.set_faults(latency_ms=5)
    assert _get(client, signer, media, key).status_code == 200
    assert client.get(cdn_url(media, key)).status_code == 403
    client.get(media.catalogue_url + "/courses")  # not a CDN request
    assert media.stats()["faults"] == {"latency": 2}
    assert media.faults()["latency_ms"] == 5


def test_bandwidth_throttles_but_delivers_every_byte(
    media: SandboxServer, client: httpx.Client, signer: Signer, keys: list[tuple[str, dict[str, Any]]]
) -> None:
    key, info = keys[0]
    media.set_faults(bandwidth_bytes_per_second=2_000_000)
    response = _get(client, signer, media, key)
    assert hashlib.sha256(response.content).hexdigest() == info["sha256"]
    stats = media.stats()
    assert (stats["faults"], stats["completed"], stats["bytes_sent"]) == ({"bandwidth": 1}, {key: 1}, info["size"])


def test_a_script_is_used_in_order_after_the_signature_check(
    media: SandboxServer, client: httpx.Client, signer: Signer, keys: list[tuple[str, dict[str, Any]]]
) -> None:
    key, other = keys[0][0], keys[1][0]
    script = ["503", "ok", "500", "429", "404", "403"]
    media.set_faults(script={key: script})
    assert client.get(signer.sign(cdn_url(media, key)) + "x").status_code == 403  # bad signature: not consumed
    assert _get(client, signer, media, other).status_code == 200  # another key: not consumed
    statuses = [_get(client, signer, media, key).status_code for _ in range(3)]
    assert statuses == [503, 200, 500]
    assert media.faults()["script"] == {key: ["429", "404", "403"]}
    statuses += [_get(client, signer, media, key).status_code for _ in range(4)]
    assert statuses == [503, 200, 500, 429, 404, 403, 200]
    assert media.faults()["script"] == {}


def _statuses(client: httpx.Client, signer: Signer, media: SandboxServer, key: str, count: int) -> list[int]:
    return [client.head(signer.sign(cdn_url(media, key))).status_code for _ in range(count)]


def test_rates_are_deterministic_per_key(
    media: SandboxServer, client: httpx.Client, signer: Signer, keys: list[tuple[str, dict[str, Any]]]
) -> None:
    key, other = keys[0][0], keys[1][0]
    media.set_faults(seed=3, rates={"500": 0.5})
    first = _statuses(client, signer, media, key, 30)
    assert set(first) == {200, 500}
    media.set_faults(seed=3, rates={"500": 0.5})  # re-installing starts every key's draws afresh
    _statuses(client, signer, media, other, 7)  # traffic on another key does not shift this key's draws
    assert _statuses(client, signer, media, key, 30) == first
    media.set_faults(seed=4, rates={"500": 0.5})
    assert _statuses(client, signer, media, key, 30) != first
    media.set_faults(rates={"503": 1.0})
    assert _statuses(client, signer, media, key, 3) == [503, 503, 503]


@pytest.mark.parametrize(
    ("document", "mentions"),
    [
        ({"no_such_fault": 1}, "no_such_fault"),
        ({"rates": {"404": 0.1}}, "rates.404"),
        ({"rates": {"500": 1.5}}, "rates.500"),
        ({"rates": {"500": 0.7, "503": 0.6}}, "at most 1"),
        ({"script": {"a/b_med.mp4": ["boom"]}}, "script.a/b_med.mp4.0"),
        ({"latency_ms": -1}, "latency_ms"),
        ({"bandwidth_bytes_per_second": 0}, "bandwidth_bytes_per_second"),
        ([1, 2], "JSON object"),
    ],
)
def test_invalid_fault_documents_are_400_and_change_nothing(
    media: SandboxServer, document: object, mentions: str
) -> None:
    media.set_faults(latency_ms=3)
    response = httpx.put(media.url + "/_sandbox/faults", json=document)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_faults"
    assert mentions in response.json()["message"]
    assert media.faults()["latency_ms"] == 3


def test_a_body_that_is_not_json_is_400(media: SandboxServer) -> None:
    response = httpx.put(media.url + "/_sandbox/faults", content=b"{latency")
    assert response.status_code == 400
    assert "not JSON" in response.json()["message"]


def test_put_replaces_the_whole_fault_set(media: SandboxServer) -> None:
    media.set_faults(latency_ms=3, ignore_range=True)
    replaced = media.set_faults(etag_salt="x")
    assert (replaced["latency_ms"], replaced["ignore_range"], replaced["etag_salt"]) == (0, False, "x")
    assert media.set_faults() == media.faults()
    assert media.faults()["etag_salt"] == ""
