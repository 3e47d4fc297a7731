"""The catalogue API: paging, documents, determinism, hostile names, and a 100,000-segment catalogue."""

from __future__ import annotations

import unicodedata

import httpx
import pytest

from skillstream_media_sandbox import Catalogue, CatalogueShape, SandboxServer, object_key

from .conftest import SHAPE, course_documents, files_of


def test_pages_cover_every_course_in_id_order(media: SandboxServer, client: httpx.Client) -> None:
    first = client.get(media.catalogue_url + "/courses", params={"page": 1, "per_page": 5}).json()
    assert {k: first[k] for k in ("page", "per_page", "total", "pages")} == {
        "page": 1,
        "per_page": 5,
        "total": SHAPE["courses"],
        "pages": -(-SHAPE["courses"] // 5),
    }
    rows = list(first["courses"])
    for page in range(2, first["pages"] + 1):
        rows += client.get(media.catalogue_url + "/courses", params={"page": page, "per_page": 5}).json()["courses"]
    ids = [row["id"] for row in rows]
    assert ids == sorted(ids)
    assert len(set(ids)) == SHAPE["courses"]
    assert sum(row["segment_count"] for row in rows) == SHAPE["segments"]
    assert all(row["title"] for row in rows)
    past = client.get(media.catalogue_url + "/courses", params={"page": 99, "per_page": 5}).json()
    assert past["courses"] == []
    assert past["total"] == SHAPE["courses"]
    assert client.get(media.catalogue_url + "/courses").json()["per_page"] == 100


@pytest.mark.parametrize(
    ("params", "named"),
    [({"per_page": 0}, "per_page"), ({"per_page": 501}, "per_page"), ({"page": "x"}, "page"), ({"page": 0}, "page")],
)
def test_bad_paging_is_400_naming_the_parameter(
    media: SandboxServer, client: httpx.Client, params: dict[str, object], named: str
) -> None:
    response = client.get(media.catalogue_url + "/courses", params=params)
    assert response.status_code == 400
    assert response.json()["error"] == "bad_request"
    assert named in response.json()["message"]


@pytest.mark.parametrize("course", ["999", "1013", "abc", "-1"])
def test_unknown_course_is_404_json(media: SandboxServer, client: httpx.Client, course: str) -> None:
    response = client.get(f"{media.catalogue_url}/courses/{course}")
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"
    assert course in response.json()["message"]


def test_course_documents_have_the_contract_shape(media: SandboxServer, client: httpx.Client) -> None:
    documents = course_documents(media, client)
    listing = client.get(media.catalogue_url + "/courses", params={"per_page": 500}).json()["courses"]
    segment_ids: list[int] = []
    channel_ids: list[int] = []
    without_video = 0
    for row, document in zip(listing, documents, strict=True):
        assert (document["id"], document["title"]) == (row["id"], row["title"])
        segments = [s for channel in document["channels"] for s in channel["segments"]]
        assert len(segments) == row["segment_count"]
        channel_ids += [channel["id"] for channel in document["channels"]]
        for segment in segments:
            segment_ids.append(segment["id"])
            if segment["video"]:
                assert segment["video"].startswith("mp4:")
                assert list(segment["files"]) == ["low", "med", "hi"]
                sizes = [f["size"] for f in segment["files"].values()]
                assert SHAPE["min_bytes"] <= sizes[0] <= sizes[1] <= sizes[2] <= SHAPE["max_bytes"]
                assert all(
                    len(f["sha256"]) == 64 and f["sha256"] == f["sha256"].lower() for f in segment["files"].values()
                )
            else:
                without_video += 1
                assert segment["files"] == {}
    assert len(set(segment_ids)) == len(segment_ids) == SHAPE["segments"]
    assert len(set(channel_ids)) == len(channel_ids)
    assert min(segment_ids) > 0
    assert min(channel_ids) > 0
    assert 0 < without_video < SHAPE["segments"] // 2


def _sha_list(media: SandboxServer, client: httpx.Client) -> list[str]:
    return [info["sha256"] for document in course_documents(media, client) for _, info in files_of(document)]


def test_same_seed_same_catalogue_and_bytes(media: SandboxServer, client: httpx.Client) -> None:
    first = _sha_list(media, client)
    titles = client.get(media.catalogue_url + "/courses").json()["courses"]
    media.set_catalogue(seed=8)
    other = _sha_list(media, client)
    assert other != first
    assert client.get(media.catalogue_url + "/courses").json()["courses"] != titles
    media.set_catalogue(seed=7)  # a fresh catalogue object: nothing cached from the first run
    assert media.catalogue()["files_hashed"] == 0
    assert _sha_list(media, client) == first
    assert client.get(media.catalogue_url + "/courses").json()["courses"] == titles


def test_hostile_names_appear_only_in_a_few_courses(media: SandboxServer, client: httpx.Client) -> None:
    hostile = set(media.catalogue()["hostile_courses"])
    assert 1 <= len(hostile) < SHAPE["courses"]
    titles: list[str] = []
    videos: list[str] = []
    for document in course_documents(media, client):
        texts = [document["title"]] + [c["title"] for c in document["channels"]]
        texts += [s["title"] for c in document["channels"] for s in c["segments"]]
        paths = [s["video"] for c in document["channels"] for s in c["segments"] if s["video"]]
        if document["id"] in hostile:
            titles += texts
            videos += paths
        else:
            assert all(t.isprintable() and "/" not in t and ".." not in t for t in texts)
    assert {"..", "CON", "aux.mp4", "../../../etc/passwd"} <= set(titles)
    assert any(len(t) == 300 for t in titles)
    assert any(not t.isprintable() for t in titles)
    assert any(unicodedata.is_normalized("NFC", t) is False for t in titles)
    assert any("🎸" in t for t in titles)
    assert any(t.startswith(".") and t not in {".."} for t in titles)
    assert any("%2e%2e/" in v for v in videos)
    assert any(" " in v for v in videos)
    assert any("\\" in v for v in videos)
    assert any("../" in v for v in videos)
    assert any(not v.isascii() for v in videos)


def test_a_100000_segment_catalogue_pages_without_reading_files(media: SandboxServer, client: httpx.Client) -> None:
    shape = media.set_catalogue(courses=400, segments=100_000, min_bytes=1000, max_bytes=3000, seed=11)
    assert (shape["courses"], shape["segments"], shape["layouts_built"], shape["files_hashed"]) == (400, 100_000, 0, 0)
    rows = []
    for page in (1, 2, 3, 4):
        rows += client.get(media.catalogue_url + "/courses", params={"page": page, "per_page": 100}).json()["courses"]
    assert len(rows) == 400
    assert sum(row["segment_count"] for row in rows) == 100_000
    assert media.catalogue()["layouts_built"] == media.catalogue()["files_hashed"] == 0
    document = client.get(f"{media.catalogue_url}/courses/{rows[200]['id']}").json()
    segments = [s for channel in document["channels"] for s in channel["segments"]]
    assert len(segments) == rows[200]["segment_count"]
    after = media.catalogue()
    assert (after["layouts_built"], after["files_hashed"]) == (1, len(files_of(document)))
    assert len(document["channels"]) <= 999


def test_catalogue_objects_are_deterministic_and_lazy() -> None:
    shape = CatalogueShape(**SHAPE)
    one, two = Catalogue(shape), Catalogue(shape)
    assert one.courses == two.courses
    layout = one.layout(1003)
    assert layout is not None
    assert layout == two.layout(1003)
    assert one.layouts_built == 1
    assert one.files_hashed == 0
    segment = next(s for c in layout.channels for s in c.segments if s.video)
    key = object_key(segment.video, "hi")
    assert key is not None
    assert key == segment.files[-1][1]
    info = one.file(key)
    assert info is not None
    assert info.size == segment.files[-1][2]
    assert one.files_hashed == 1
    assert one.file("no-such-folder/x_hi.mp4") is None
    assert object_key("", "med") is None
    assert object_key("mp3:a/b", "med") is None
    assert object_key("mp4:bluesgtr_survival/intro", "med") == "bluesgtr_survival/intro_med.mp4"
