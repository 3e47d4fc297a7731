"""Server-side counters: completions per key, in-flight and its peak under concurrency, aborted downloads,
and reset."""

from __future__ import annotations

import time
from contextlib import AsyncExitStack

import httpx

from skillstream_media_sandbox import SandboxServer

from .conftest import Signer, cdn_url, files_of


def _keys(media: SandboxServer, count: int) -> list[str]:
    document = httpx.get(media.catalogue_url + "/courses/1001").json()
    keys = [key for key, _ in files_of(document)]
    assert len(keys) >= count
    return keys[:count]


def test_completed_counts_each_full_download(media: SandboxServer, client: httpx.Client, signer: Signer) -> None:
    one, two = _keys(media, 2)
    for key in (one, one, two):
        assert client.get(signer.sign(cdn_url(media, key))).status_code == 200
    client.get(signer.sign(cdn_url(media, two)), headers={"Range": "bytes=0-99"})  # stops short
    stats = media.stats()
    assert stats["completed"] == {one: 2, two: 1}
    assert stats["by_status"] == {"200": 3, "206": 1}
    assert stats["requests"] == 4
    assert stats["in_flight"] == 0


async def test_peak_in_flight_with_concurrent_downloads(media: SandboxServer, signer: Signer) -> None:
    media.set_catalogue(min_bytes=6000, max_bytes=6000)  # every file 6,000 bytes
    keys = _keys(media, 5)
    media.set_faults(bandwidth_bytes_per_second=3000)  # each body takes about 2 s to send
    media.reset_stats()
    async with httpx.AsyncClient(timeout=30) as client, AsyncExitStack() as stack:
        responses = [
            await stack.enter_async_context(client.stream("GET", signer.sign(cdn_url(media, key)))) for key in keys
        ]
        during = media.stats()  # every response has its headers, none its whole body
        bodies = [await response.aread() for response in responses]
    after = media.stats()
    assert all(response.status_code == 200 for response in responses)
    assert [len(body) for body in bodies] == [6000] * 5
    assert (during["in_flight"], during["peak_in_flight"]) == (5, 5)
    assert (after["in_flight"], after["peak_in_flight"]) == (0, 5)
    assert after["completed"] == dict.fromkeys(keys, 1)
    assert after["bytes_sent"] == 5 * 6000


def test_an_abandoned_download_is_not_completed(media: SandboxServer, client: httpx.Client, signer: Signer) -> None:
    (key,) = _keys(media, 1)
    media.set_faults(bandwidth_bytes_per_second=5000)
    with client.stream("GET", signer.sign(cdn_url(media, key))) as response:
        next(response.iter_raw())  # then close the connection mid-body
    deadline = time.monotonic() + 10
    while media.stats()["in_flight"] and time.monotonic() < deadline:
        time.sleep(0.05)
    stats = media.stats()
    assert (stats["in_flight"], stats["completed"], stats["peak_in_flight"]) == (0, {}, 1)
    assert 0 < stats["bytes_sent"] < int(response.headers["content-length"])


def test_reset_zeroes_every_counter(media: SandboxServer, client: httpx.Client, signer: Signer) -> None:
    (key,) = _keys(media, 1)
    media.set_faults(latency_ms=1)
    client.get(signer.sign(cdn_url(media, key)))
    client.get(cdn_url(media, key))
    client.get(media.catalogue_url + "/courses")
    before = media.stats()
    assert before["requests"] == 2
    assert before["catalogue_requests"] == 2
    assert before["peak_in_flight"] == 1
    zeroed = media.reset_stats()
    assert (
        zeroed
        == media.stats()
        == {
            "requests": 0,
            "catalogue_requests": 0,
            "by_status": {},
            "faults": {},
            "denied": {"expired": 0, "bad_signature": 0, "unknown_key": 0, "missing": 0},
            "in_flight": 0,
            "peak_in_flight": 0,
            "bytes_sent": 0,
            "completed": {},
        }
    )
