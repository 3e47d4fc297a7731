"""The catalogue over HTTP (media spec §1): ``GET {base}/courses?page=N&per_page=M`` and
``GET {base}/courses/{id}``, JSON decoded straight into the Structs of
:mod:`~skillstream_media_downloader.domain.catalogue`.

Transient failures — HTTP 5xx, 429 (waiting ``Retry-After`` up to ``retry_after_max``), connection errors and
timeouts — are retried with ``stamina`` (exponential backoff with jitter); the last one becomes a
:class:`CatalogueError` with ``transient`` set. A 404, any other status, a body that is not JSON or JSON of
the wrong shape is a :class:`CatalogueError` at once, naming the URL, the course and msgspec's reason (which
gives the JSON path, e.g. ``$.channels[0].segments[1].id``).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import TypeVar

import httpx
import msgspec
import stamina
import structlog

from skillstream_media_downloader.domain.catalogue import Course, CoursePage, CourseRef
from skillstream_media_downloader.domain.retry import parse_retry_after
from skillstream_media_downloader.errors import CatalogueError

T = TypeVar("T")
_log = structlog.get_logger(__name__)


class _Transient(Exception):
    def __init__(self, status: int, retry_after: float | None) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status
        self.retry_after = retry_after


class _ErrorBody(msgspec.Struct):
    error: str = ""
    message: str = ""


class HttpCatalogue:
    """The :class:`~skillstream_media_downloader.domain.catalogue.Catalogue` served at ``base_url`` (e.g.
    ``http://127.0.0.1:8191/catalogue/v1``) through ``client`` (its timeouts apply; the caller closes it).

    ``per_page`` (1..500) is the course-list page size; ``attempts`` the tries per request;
    ``wait_initial``/``wait_max`` the backoff bounds and ``retry_after_max`` the longest ``Retry-After`` obeyed,
    all in seconds.
    """

    def __init__(
        self,
        base_url: str,
        client: httpx.AsyncClient,
        *,
        per_page: int = 100,
        attempts: int = 5,
        wait_initial: float = 0.5,
        wait_max: float = 30.0,
        retry_after_max: float = 60.0,
    ) -> None:
        if not 1 <= per_page <= 500:
            raise ValueError(f"per_page must be 1..500, got {per_page}")
        if attempts < 1:
            raise ValueError(f"attempts must be >= 1, got {attempts}")
        self.base_url = base_url.rstrip("/")
        self._client = client
        self._per_page = per_page
        self._attempts = attempts
        self._wait_initial = wait_initial
        self._wait_max = wait_max
        self._retry_after_max = retry_after_max

    async def courses(self) -> AsyncIterator[CourseRef]:
        """Every course, page by page, ordered by id. A course id not above the last one yielded (the list
        shifted between pages) is skipped rather than yielded twice.

        Raises:
            CatalogueError: a page could not be read or decoded.
        """
        page, pages, last_id = 1, 1, 0
        while page <= pages:
            params = {"page": page, "per_page": self._per_page}
            listing = await self._get(f"{self.base_url}/courses", CoursePage, params=params)
            pages = listing.pages
            for ref in listing.courses:
                if ref.id > last_id:
                    last_id = ref.id
                    yield ref
            if not listing.courses:
                break
            page += 1

    async def course(self, course_id: int) -> Course:
        """One course with its channels and segments.

        Raises:
            CatalogueError: not found (404), unreachable after the retries, or malformed.
        """
        course = await self._get(f"{self.base_url}/courses/{course_id}", Course, course_id=course_id)
        if course.id != course_id:
            url = f"{self.base_url}/courses/{course_id}"
            raise CatalogueError(f"answered with course {course.id}", url=url, course_id=course_id)
        return course

    async def _get(
        self,
        url: str,
        type_: type[T],
        *,
        params: dict[str, int] | None = None,
        course_id: int | None = None,
    ) -> T:
        shown = str(httpx.URL(url, params=params))
        response = await self._fetch(url, params, shown, course_id)
        if response.status_code == 404:
            why = f"not found (HTTP 404){_server_message(response.content)}"
            raise CatalogueError(why, url=shown, course_id=course_id, status=404)
        if response.status_code != 200:
            why = f"HTTP {response.status_code}{_server_message(response.content)}"
            raise CatalogueError(why, url=shown, course_id=course_id, status=response.status_code)
        try:
            return msgspec.json.decode(response.content, type=type_)
        except msgspec.ValidationError as exc:
            raise CatalogueError(f"unexpected JSON: {exc}", url=shown, course_id=course_id) from exc
        except msgspec.DecodeError as exc:
            raise CatalogueError(f"not JSON: {exc}", url=shown, course_id=course_id) from exc

    async def _fetch(
        self, url: str, params: dict[str, int] | None, shown: str, course_id: int | None
    ) -> httpx.Response:
        tries = 0
        try:
            async for attempt in stamina.retry_context(
                on=self._retry_hook,
                attempts=self._attempts,
                timeout=None,
                wait_initial=self._wait_initial,
                wait_max=self._wait_max,
                wait_jitter=self._wait_initial,
            ):
                with attempt:
                    tries += 1
                    response = await self._client.get(url, params=params, headers={"Accept": "application/json"})
                    if response.status_code == 429 or response.status_code >= 500:
                        retry_after = parse_retry_after(response.headers.get("Retry-After"), time.time())
                        raise _Transient(response.status_code, retry_after)
                    return response
        except _Transient as exc:
            why = f"HTTP {exc.status} after {tries} attempts"
            raise CatalogueError(why, url=shown, course_id=course_id, status=exc.status, transient=True) from exc
        except httpx.TransportError as exc:
            why = f"unreachable after {tries} attempts ({type(exc).__name__}: {exc})"
            raise CatalogueError(why, url=shown, course_id=course_id, transient=True) from exc
        raise AssertionError("stamina ended without a result or an error")  # pragma: no cover

    def _retry_hook(self, exc: Exception) -> bool | float:
        if isinstance(exc, _Transient):
            _log.warning("catalogue request failed (transient)", status=exc.status, retry_after=exc.retry_after)
            if exc.retry_after is not None:
                return min(exc.retry_after, self._retry_after_max)
            return True
        if isinstance(exc, httpx.TransportError):
            _log.warning("catalogue unreachable (transient)", error=type(exc).__name__)
            return True
        return False


def _server_message(body: bytes) -> str:
    try:
        error = msgspec.json.decode(body, type=_ErrorBody)
    except msgspec.DecodeError:
        return ""
    text = "; ".join(p for p in (error.error, error.message) if p)
    return f" ({text[:200]})" if text else ""


__all__ = ["HttpCatalogue"]
