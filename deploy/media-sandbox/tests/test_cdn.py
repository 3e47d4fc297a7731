"""The CDN: bytes equal the catalogue's SHA-256, signed-URL refusals with CloudFront's bodies, Range,
If-Range and ETags, HEAD, and expiry checked only when a request starts."""

from __future__ import annotations

import hashlib
import time
from typing import Any

import httpx
import pytest

from skillstream_media_sandbox import SandboxServer

from .conftest import KEY_PAIR_ID, Signer, cdn_url, course_documents, files_of

ACCESS_DENIED = (
    b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Access denied</Message></Error>'
)
MISSING_KEY = (
    b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>MissingKey</Code>'
    b"<Message>Missing Key-Pair-Id query parameter or cookie value</Message></Error>"
)
INVALID_KEY = (
    b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>InvalidKey</Code><Message>Unknown Key</Message></Error>'
)


@pytest.fixture
def files(media: SandboxServer, client: httpx.Client) -> dict[str, dict[str, Any]]:
    """Object key → ``{"size", "sha256"}`` of every file, from the catalogue API."""
    return {key: info for document in course_documents(media, client) for key, info in files_of(document)}


@pytest.fixture
def key(media: SandboxServer, client: httpx.Client) -> str:
    """A file of an ordinary (non-hostile) course, larger than one generated block (65,536 bytes)."""
    hostile = media.catalogue()["hostile_courses"]
    ordinary = [d for d in course_documents(media, client) if d["id"] not in hostile]
    return next(k for document in ordinary for k, info in files_of(document) if info["size"] > 70_000)


def test_served_bytes_hash_to_the_catalogue_sha256_including_hostile_keys(
    media: SandboxServer, client: httpx.Client, signer: Signer, files: dict[str, dict[str, Any]]
) -> None:
    hostile_ids = media.catalogue()["hostile_courses"]
    hostile = [k for d in course_documents(media, client) if d["id"] in hostile_ids for k, _ in files_of(d)]
    ordinary = [k for k in files if k not in hostile]
    assert len(hostile) >= 9
    for key in hostile + ordinary[:: max(1, len(ordinary) // 12)]:
        response = client.get(signer.sign(cdn_url(media, key)))
        assert response.status_code == 200, key
        assert response.headers["content-type"] == "video/mp4"
        assert int(response.headers["content-length"]) == files[key]["size"]
        assert hashlib.sha256(response.content).hexdigest() == files[key]["sha256"], key
        assert response.headers["etag"] == f'"{files[key]["sha256"][:32]}"'
        assert response.headers["accept-ranges"] == "bytes"
        assert response.headers["last-modified"].endswith(" GMT")
    stats = media.stats()
    assert sum(stats["completed"].values()) == stats["by_status"]["200"] == len(stats["completed"])


def test_head_sends_headers_only(media: SandboxServer, client: httpx.Client, signer: Signer, key: str) -> None:
    response = client.head(signer.sign(cdn_url(media, key)))
    assert response.status_code == 200
    assert response.content == b""
    full = client.get(signer.sign(cdn_url(media, key)))
    assert response.headers["content-length"] == full.headers["content-length"]
    assert response.headers["etag"] == full.headers["etag"]
    assert media.stats()["completed"] == {key: 1}


def _denied(response: httpx.Response, body: bytes) -> None:
    assert response.status_code == 403
    assert response.headers["content-type"] == "text/xml"
    assert response.content == body


def test_refusals_have_cloudfront_bodies_and_causes(
    media: SandboxServer, client: httpx.Client, signer: Signer, key: str
) -> None:
    url = cdn_url(media, key)
    signed = signer.sign(url)
    expired = signer.sign(url, expires=int(time.time()) - 1)
    _denied(client.get(expired), ACCESS_DENIED)
    _denied(client.get(signed.replace("Signature=", "Signature=AAAA")), ACCESS_DENIED)
    _denied(client.get(signed.replace(f"Key-Pair-Id={KEY_PAIR_ID}", "Key-Pair-Id=APKAOTHER")), INVALID_KEY)
    _denied(client.get(signed.replace(f"&Key-Pair-Id={KEY_PAIR_ID}", "")), MISSING_KEY)
    _denied(client.get(f"{url}?Key-Pair-Id={KEY_PAIR_ID}"), ACCESS_DENIED)  # no Expires or Signature
    _denied(client.get(signed + "&extra=1"), ACCESS_DENIED)  # a parameter added after signing
    other = cdn_url(media, key.replace("_hi.mp4", "_low.mp4").replace("_med.mp4", "_low.mp4"))
    _denied(client.get(other + "?" + signed.split("?", 1)[1]), ACCESS_DENIED)  # signed for another file
    stats = media.stats()
    assert stats["denied"] == {"expired": 1, "bad_signature": 3, "unknown_key": 1, "missing": 2}
    assert stats["by_status"] == {"403": 7}
    assert stats["completed"] == {}


def test_query_parameters_of_the_url_are_part_of_the_signed_resource(
    media: SandboxServer, client: httpx.Client, signer: Signer, key: str
) -> None:
    assert client.get(signer.sign(cdn_url(media, key) + "?quality=x&b=2")).status_code == 200
    assert client.get(signer.sign(cdn_url(media, key), sha256=True)).status_code == 200


def test_unknown_object_is_404_no_such_key(media: SandboxServer, client: httpx.Client, signer: Signer) -> None:
    response = client.get(signer.sign(cdn_url(media, "nowhere/intro_med.mp4")))
    assert response.status_code == 404
    assert b"<Code>NoSuchKey</Code>" in response.content


def test_range_requests(
    media: SandboxServer, client: httpx.Client, signer: Signer, key: str, files: dict[str, dict[str, Any]]
) -> None:
    whole = client.get(signer.sign(cdn_url(media, key))).content
    size = len(whole)
    for header, first, last in [
        ("bytes=100-", 100, size - 1),
        ("bytes=65530-65545", 65530, 65545),  # across a block boundary
        ("bytes=0-0", 0, 0),
        (f"bytes=10-{size + 500}", 10, size - 1),
        ("bytes=-300", size - 300, size - 1),
    ]:
        response = client.get(signer.sign(cdn_url(media, key)), headers={"Range": header})
        assert response.status_code == 206, header
        assert response.headers["content-range"] == f"bytes {first}-{last}/{size}"
        assert int(response.headers["content-length"]) == last - first + 1
        assert response.content == whole[first : last + 1]
    unsatisfiable = client.get(signer.sign(cdn_url(media, key)), headers={"Range": f"bytes={size}-"})
    assert unsatisfiable.status_code == 416
    assert unsatisfiable.headers["content-range"] == f"bytes */{size}"
    ignored = client.get(signer.sign(cdn_url(media, key)), headers={"Range": "bytes=5-2"})  # invalid → ignored
    assert (ignored.status_code, ignored.content) == (200, whole)
    # the two 200s and the three 206s ending at the last byte complete the file; the others stop short
    assert media.stats()["completed"] == {key: 5}
    assert files[key]["size"] == size


def test_if_range_honours_a_matching_strong_etag_only(
    media: SandboxServer, client: httpx.Client, signer: Signer, key: str
) -> None:
    first = client.get(signer.sign(cdn_url(media, key)))
    tag = first.headers["etag"]
    resumed = client.get(signer.sign(cdn_url(media, key)), headers={"Range": "bytes=1000-", "If-Range": tag})
    assert resumed.status_code == 206
    assert resumed.content == first.content[1000:]
    for validator in ['"0123456789abcdef0123456789abcdef"', "W/" + tag]:
        stale = client.get(signer.sign(cdn_url(media, key)), headers={"Range": "bytes=1000-", "If-Range": validator})
        assert stale.status_code == 200
        assert stale.content == first.content
    dated = client.get(
        signer.sign(cdn_url(media, key)), headers={"Range": "bytes=1000-", "If-Range": first.headers["last-modified"]}
    )
    assert dated.status_code == 206


def test_ignore_range_answers_200_with_the_whole_file(
    media: SandboxServer, client: httpx.Client, signer: Signer, key: str
) -> None:
    media.set_faults(ignore_range=True)
    response = client.get(signer.sign(cdn_url(media, key)), headers={"Range": "bytes=100-"})
    assert response.status_code == 200
    assert "content-range" not in response.headers
    assert hashlib.sha256(response.content).hexdigest() == media_sha(media, client, key)
    assert media.stats()["faults"] == {"ignore_range": 1}


def media_sha(media: SandboxServer, client: httpx.Client, key: str) -> str:
    for document in course_documents(media, client):
        for found, info in files_of(document):
            if found == key:
                return str(info["sha256"])
    raise AssertionError(f"{key} is not in the catalogue")


def test_etag_salt_changes_every_etag_so_if_range_misses(
    media: SandboxServer, client: httpx.Client, signer: Signer, key: str
) -> None:
    before = client.head(signer.sign(cdn_url(media, key))).headers["etag"]
    media.set_faults(etag_salt="v2")
    after = client.head(signer.sign(cdn_url(media, key))).headers["etag"]
    assert after != before
    assert len(after) == 34
    assert after.startswith('"')
    assert after.endswith('"')
    resumed = client.get(signer.sign(cdn_url(media, key)), headers={"Range": "bytes=10-", "If-Range": before})
    assert resumed.status_code == 200
    assert (
        client.get(signer.sign(cdn_url(media, key)), headers={"Range": "bytes=10-", "If-Range": after}).status_code
        == 206
    )


def test_expiry_is_checked_when_the_request_starts(
    media: SandboxServer, client: httpx.Client, signer: Signer, files: dict[str, dict[str, Any]]
) -> None:
    # REFERENCE-OPERATIONS.md §2.2: a download that starts before Expires completes after it.
    key = next(k for k, info in files.items() if 2000 <= info["size"] <= 4000)
    media.set_faults(bandwidth_bytes_per_second=files[key]["size"] // 3)  # the body takes about 3 s
    url = signer.sign(cdn_url(media, key), expires=int(time.time()) + 2)
    with client.stream("GET", url) as response:
        assert response.status_code == 200
        body = response.read()
    assert hashlib.sha256(body).hexdigest() == files[key]["sha256"]
    while time.time() < int(url.split("Expires=")[1].split("&")[0]):
        time.sleep(0.1)
    _denied(client.get(url), ACCESS_DENIED)
    stats = media.stats()
    assert (stats["completed"], stats["denied"]["expired"]) == ({key: 1}, 1)
