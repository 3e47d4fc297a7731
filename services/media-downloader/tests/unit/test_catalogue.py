"""HttpCatalogue against the media spec §1 JSON shapes (httpx.MockTransport), with stamina in test mode."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import httpx
import msgspec
import pytest
import stamina

from skillstream_media_downloader.adapters.catalogue import HttpCatalogue
from skillstream_media_downloader.domain.catalogue import Catalogue, Course
from skillstream_media_downloader.errors import CatalogueError

BASE = "http://catalogue.test/catalogue/v1"
SHA = "ab" * 32

COURSE = {
    "id": 1001,
    "title": "Blues Guitar Survival Kit",
    "channels": [
        {
            "id": 50011,
            "title": "Lesson 1",
            "segments": [
                {
                    "id": 700123,
                    "title": "Intro",
                    "video": "mp4:bluesgtr_survival/intro",
                    "files": {q: {"size": 40960, "sha256": SHA} for q in ("low", "med", "hi")},
                },
                {"id": 700124, "title": "Tab sheet", "video": "", "files": {}},
                {"id": 700125, "title": "Bare prefix", "video": "mp4:", "files": {}},
            ],
        }
    ],
}


@pytest.fixture(autouse=True)
def no_backoff_waits() -> Iterator[None]:
    with stamina.set_testing(True, attempts=100, cap=True):  # our attempt counts, no sleeping
        yield


def serve(routes: Callable[[httpx.Request], httpx.Response]) -> tuple[HttpCatalogue, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return routes(request)

    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return HttpCatalogue(BASE, client, per_page=2, attempts=3), seen


def listing(total: int, per_page: int = 2) -> Callable[[httpx.Request], httpx.Response]:
    pages = -(-total // per_page)

    def route(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params["page"])
        ids = range(1000 + (page - 1) * per_page + 1, 1000 + min(page * per_page, total) + 1)
        courses = [{"id": i, "title": f"Course {i}", "segment_count": i % 7} for i in ids]
        body = {"page": page, "per_page": per_page, "total": total, "pages": pages, "courses": courses}
        return httpx.Response(200, json=body)

    return route


async def test_courses_reads_every_page_in_order() -> None:
    catalogue, seen = serve(listing(5))
    refs = [ref async for ref in catalogue.courses()]
    assert [r.id for r in refs] == [1001, 1002, 1003, 1004, 1005]
    assert refs[2].title == "Course 1003"
    assert refs[2].segment_count == 1003 % 7
    assert [(r.url.path, r.url.params["page"], r.url.params["per_page"]) for r in seen] == [
        ("/catalogue/v1/courses", str(p), "2") for p in (1, 2, 3)
    ]


async def test_empty_catalogue() -> None:
    catalogue, seen = serve(listing(0))
    assert [ref async for ref in catalogue.courses()] == []
    assert len(seen) == 1


async def test_course_decodes_the_spec_shape() -> None:
    catalogue, seen = serve(lambda request: httpx.Response(200, json=COURSE))
    course = await catalogue.course(1001)
    assert seen[0].url.path == "/catalogue/v1/courses/1001"
    intro, sheet, bare = course.channels[0].segments
    assert intro.downloadable
    assert not sheet.downloadable
    assert not bare.downloadable
    assert intro.files["med"].size == 40960
    assert intro.files["med"].sha256 == SHA
    assert [s.id for _, s in course.downloadable_segments()] == [700123]


def test_http_catalogue_is_a_catalogue() -> None:
    def reads(source: Catalogue) -> Catalogue:
        return source

    catalogue, _ = serve(lambda request: httpx.Response(200))
    assert reads(catalogue) is catalogue


async def test_404_names_the_course_and_url() -> None:
    body = {"error": "not_found", "message": "no course 42"}
    catalogue, _ = serve(lambda request: httpx.Response(404, json=body))
    with pytest.raises(CatalogueError) as failed:
        await catalogue.course(42)
    e = failed.value
    assert (e.status, e.course_id, e.transient) == (404, 42, False)
    assert str(e) == f"catalogue course 42 ({BASE}/courses/42): not found (HTTP 404) (not_found; no course 42)"


async def test_malformed_course_gives_msgspec_path() -> None:
    broken = json.loads(json.dumps(COURSE))
    broken["channels"][0]["segments"][1]["id"] = "seven"
    catalogue, _ = serve(lambda request: httpx.Response(200, json=broken))
    with pytest.raises(
        CatalogueError,
        match=r"course 1001 .*unexpected JSON: Expected `int`, got `str` - at "
        r"`\$\.channels\[0\]\.segments\[1\]\.id`",
    ) as failed:
        await catalogue.course(1001)
    assert isinstance(failed.value.__cause__, msgspec.ValidationError)


async def test_bad_digest_and_negative_size_are_schema_errors() -> None:
    broken = json.loads(json.dumps(COURSE))
    broken["channels"][0]["segments"][0]["files"]["hi"] = {"size": -1, "sha256": "XYZ"}
    catalogue, _ = serve(lambda request: httpx.Response(200, json=broken))
    with pytest.raises(CatalogueError, match=r"files\[\.\.\.\]\.size"):
        await catalogue.course(1001)


async def test_not_json() -> None:
    catalogue, _ = serve(lambda request: httpx.Response(200, content=b"<html>oops</html>"))
    with pytest.raises(CatalogueError, match="not JSON"):
        await catalogue.course(1001)


async def test_wrong_course_id_in_answer() -> None:
    catalogue, _ = serve(lambda request: httpx.Response(200, json=COURSE))
    with pytest.raises(CatalogueError, match="answered with course 1001"):
        await catalogue.course(1002)


async def test_transient_errors_are_retried() -> None:
    answers = iter(
        [
            httpx.Response(503),
            httpx.Response(429, headers={"Retry-After": "1"}),
            httpx.Response(200, json=COURSE),
        ]
    )
    catalogue, seen = serve(lambda request: next(answers))
    assert (await catalogue.course(1001)).id == 1001
    assert len(seen) == 3


async def test_network_errors_are_retried_then_reported() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    catalogue, seen = serve(refuse)
    with pytest.raises(CatalogueError, match="unreachable after 3 attempts") as failed:
        await catalogue.course(1001)
    assert failed.value.transient
    assert len(seen) == 3


async def test_5xx_until_the_attempts_run_out() -> None:
    catalogue, seen = serve(lambda request: httpx.Response(500))
    with pytest.raises(CatalogueError, match="HTTP 500 after 3 attempts") as failed:
        _ = [ref async for ref in catalogue.courses()]
    assert (failed.value.status, failed.value.transient, len(seen)) == (500, True, 3)
    assert "page=1" in failed.value.url


async def test_other_4xx_is_not_retried() -> None:
    catalogue, seen = serve(lambda request: httpx.Response(401, json={"error": "unauthorized"}))
    with pytest.raises(CatalogueError, match=r"HTTP 401 \(unauthorized\)"):
        await catalogue.course(1)
    assert len(seen) == 1


def test_bad_settings() -> None:
    client = httpx.AsyncClient()
    with pytest.raises(ValueError, match="per_page"):
        HttpCatalogue(BASE, client, per_page=501)
    with pytest.raises(ValueError, match="attempts"):
        HttpCatalogue(BASE, client, attempts=0)


def test_course_struct_is_strict_about_ids() -> None:
    with pytest.raises(msgspec.ValidationError, match=r"Expected `int` >= 1"):
        msgspec.json.decode(b'{"id": 0, "title": "x"}', type=Course)
