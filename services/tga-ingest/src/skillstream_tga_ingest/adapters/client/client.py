"""``TgaClient``: the TrainingComponentService operations and release file downloads, politely.

- Politeness, retries and the streamed size cap are ``transport.py``'s: at most ``max_concurrency`` requests in
  flight and ``requests_per_second`` started, transient failures (5xx, 429, network, timeouts, truncated
  bodies) retried with backoff; SOAP faults are answers, never retried.
- Paging (TGA-FORMAT.md §1.4): from page 1 until ``ceil(Count / PageSize)`` pages, an empty or short page, or
  ``max_pages``. A reply over ``max_reply_bytes`` (the body is streamed and reading stops at the limit) or a WCF
  "maximum message size quota" fault halves the page size down to ``min_page_size`` (duyen0629's client) and
  resumes at the first row not yet yielded, so no row is skipped or repeated.
- Envelopes are built by ``requests.py`` and read by ``replies.py``. Logs are structlog lines bound to
  ``operation`` and ``code``; the envelope (which holds the password) is never logged.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Generic, NamedTuple, Self, TypeVar

import httpx
import structlog
from lxml import etree

from skillstream_tga_ingest.adapters.client.errors import TgaError, TgaFileError, TgaMessageTooLarge, TgaTransportError
from skillstream_tga_ingest.adapters.client.files import file_url_path
from skillstream_tga_ingest.adapters.client.models import (
    ComponentDetails,
    ComponentSummary,
    DeletedComponent,
    SearchPage,
)
from skillstream_tga_ingest.adapters.client.replies import (
    read_deleted,
    read_details,
    read_reply,
    read_search_result,
    read_server_time,
)
from skillstream_tga_ingest.adapters.client.requests import (
    CONTENT_TYPE,
    deleted_search_request,
    envelope,
    get_details_request,
    modified_search_request,
    search_request,
    server_time_request,
    soap_action,
)
from skillstream_tga_ingest.adapters.client.settings import TgaSettings
from skillstream_tga_ingest.adapters.client.transport import PoliteHttp, raise_for_status

T = TypeVar("T")
_log = structlog.get_logger(__name__)


class _Chunk(NamedTuple, Generic[T]):
    """One page of rows; the numbers as the reply stated them (None = not stated)."""

    page_number: int | None
    page_size: int | None
    total: int | None
    rows: list[T]


class TgaClient:
    """Async client of TGA's ``TrainingComponentService`` (SOAP 1.1) and ``/TrainingComponentFiles/``.

    Use as ``async with TgaClient(settings) as client: …``; it owns one ``httpx.AsyncClient`` (``transport``
    replaces its network transport, e.g. ``httpx.MockTransport`` in tests). Every method raises
    :class:`~skillstream_tga_ingest.adapters.client.errors.TgaError` subclasses (see ``errors.py``).
    """

    def __init__(self, settings: TgaSettings, *, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._settings = settings
        self._http = PoliteHttp(settings, transport)

    def __repr__(self) -> str:
        return f"TgaClient(environment={self._settings.environment!r}, endpoint={self._settings.service_url!r})"

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP connections."""
        await self._http.aclose()

    # --- operations -------------------------------------------------------------------------------------------

    async def search(
        self,
        types: Iterable[str],
        *,
        code: bool | None = None,
        title: bool | None = None,
        filter_text: str = "",
        include_superseded: bool = False,
        include_deleted: bool = False,
        page_size: int | None = None,
    ) -> AsyncIterator[SearchPage]:
        """``Search`` page by page. ``types`` are ``TrainingComponentTypes`` names (``"Unit"``,
        ``"Qualification"``, ``"SkillSet"``, ``"TrainingPackage"``, ``"AccreditedCourse"``…); ``filter_text`` is
        matched in codes when ``code`` and in titles when ``title`` (XSD ``SearchCode``/``SearchTitle``; None =
        leave TGA's default). A yielded page holds only rows not yielded before (see the module docstring).

        Raises:
            ValueError: an unknown or empty ``types``.
            TgaError: as the module docstring says.
        """
        wanted = list(types)

        def build(page_number: int, size: int) -> etree._Element:
            return search_request(
                wanted,
                page_number=page_number,
                page_size=size,
                filter_text=filter_text,
                search_code=code,
                search_title=title,
                include_superseded=include_superseded,
                include_deleted=include_deleted,
            )

        build(1, 1)  # refuse bad arguments before the first request
        async for page in self._search_pages("Search", build, page_size):
            yield page

    async def search_by_modified_date(
        self, start: dt.datetime, end: dt.datetime | None, types: Iterable[str], *, page_size: int | None = None
    ) -> AsyncIterator[SearchPage]:
        """``SearchByModifiedDate`` page by page: components of ``types`` changed in [``start``, ``end``]
        (timezone-aware; ``end`` None = up to now), as oncourse's incremental sync asks (TGA-FORMAT.md §1.4).

        Raises:
            ValueError: naive datetimes, unknown or empty ``types``.
            TgaError: as the module docstring says.
        """
        wanted = list(types)

        def build(page_number: int, size: int) -> etree._Element:
            return modified_search_request(start, end, wanted, page_number=page_number, page_size=size)

        build(1, 1)
        async for page in self._search_pages("SearchByModifiedDate", build, page_size):
            yield page

    async def search_deleted(self, start: dt.datetime, end: dt.datetime | None) -> list[DeletedComponent]:
        """``SearchDeletedByDeletedDate``: components deleted in [``start``, ``end``], all pages (paged as
        duyen0629's client does; the reply carries no Count, so paging stops on an empty or short page).

        Raises:
            ValueError: naive datetimes.
            TgaError: as the module docstring says.
        """
        deleted_search_request(start, end, page_number=1, page_size=1)

        def build(page_number: int, size: int) -> etree._Element:
            return deleted_search_request(start, end, page_number=page_number, page_size=size)

        def read(response: etree._Element) -> _Chunk[DeletedComponent]:
            return _Chunk(None, None, None, read_deleted(response))

        deleted: list[DeletedComponent] = []
        async for chunk in self._pages("SearchDeletedByDeletedDate", build, read, None):
            deleted.extend(chunk.rows)
        return deleted

    async def get_details(
        self,
        code: str,
        *,
        releases: bool = True,
        files: bool = True,
        unit_grid: bool = True,
        components: bool = False,
        usage: bool = True,
        mappings: bool = True,
    ) -> ComponentDetails:
        """``GetDetails`` of one training component. The flags are the ``InformationRequest`` ``Show*`` flags;
        asking for files, unit grid or components also asks for releases (they are parts of a ``Release``).

        Raises:
            TgaValidationFault: TGA refused the code (e.g. unknown component).
            TgaError: as the module docstring says.
        """
        code = code.strip()
        request = get_details_request(
            code,
            releases=releases,
            files=files,
            unit_grid=unit_grid,
            components=components,
            usage=usage,
            mappings=mappings,
        )
        response = await self._soap("GetDetails", request, component=code)
        return self._read(lambda r: read_details(r, code=code), response, "GetDetails", code)

    async def get_server_time(self) -> dt.datetime:
        """``GetServerTime`` as an aware UTC datetime (the upper bound of an incremental sync window)."""
        response = await self._soap("GetServerTime", server_time_request(), component=None)
        return self._read(read_server_time, response, "GetServerTime", None)

    async def download_file(self, relative_path: str, *, expected_size: int | None = None) -> bytes:
        """The bytes of a release file (``ReleaseFile.RelativePath``), exactly as served (a BOM included), from
        ``<files_base_url>/TrainingComponentFiles/<path with / >`` (TGA-FORMAT.md §1.5). Redirects are followed.

        Raises:
            TgaFileError: unsafe path, 404 or other 4xx, body over ``max_file_bytes``, body shorter than its
                Content-Length or than ``expected_size`` (truncated: retried first) or longer than
                ``expected_size``.
            TgaTransportError: 5xx / 429 / network / timeout after the retries.
        """
        try:
            url = f"{self._settings.files_url}/TrainingComponentFiles/{file_url_path(relative_path)}"
        except ValueError as exc:
            raise TgaFileError(str(exc), component=relative_path) from exc
        return await self._http.download(url, relative_path, expected_size=expected_size)

    # --- paging -----------------------------------------------------------------------------------------------

    async def _search_pages(
        self, operation: str, build: Callable[[int, int], etree._Element], page_size: int | None
    ) -> AsyncIterator[SearchPage]:
        def read(response: etree._Element) -> _Chunk[ComponentSummary]:
            reply = read_search_result(response, operation)
            return _Chunk(reply.page_number, reply.page_size, reply.total, reply.results)

        seen = 0
        async for chunk in self._pages(operation, build, read, page_size):
            seen += len(chunk.rows)
            count = chunk.total if chunk.total is not None else seen  # no Count: the rows seen so far
            number, size = chunk.page_number or 1, chunk.page_size or 0
            yield SearchPage(count=count, page_number=number, page_size=size, results=chunk.rows)

    async def _pages(
        self,
        operation: str,
        build: Callable[[int, int], etree._Element],
        read: Callable[[etree._Element], _Chunk[T]],
        page_size: int | None,
    ) -> AsyncIterator[_Chunk[T]]:
        size = page_size or self._settings.page_size
        minimum = min(self._settings.min_page_size, size)
        offset = 0  # rows yielded so far = index of the first row not yet yielded
        previous: list[T] | None = None
        for _ in range(self._settings.max_pages):
            page_number = offset // size + 1
            where = f"page {page_number} of {size}"
            try:
                response = await self._soap(operation, build(page_number, size), component=where)
            except TgaMessageTooLarge as exc:
                if size <= minimum:
                    raise
                size = max(minimum, size // 2)
                _log.warning("tga page too large, halving", operation=operation, code=where, size=size, why=exc.reason)
                continue
            reply = self._read(read, response, operation, where)
            rows = reply.rows
            if rows and rows == previous:
                _log.warning("tga repeated a page; stopping", operation=operation, code=where)
                return
            previous = rows
            # The reply states the page it served; a server may cap PageSize (the sandbox does), so trust it.
            served_number, served_size = reply.page_number or page_number, reply.page_size or size
            if served_size != size:
                _log.info("tga changed the page size", operation=operation, code=where, size=served_size)
                size = served_size
            first = (served_number - 1) * served_size  # index of the page's first row
            if not first <= offset <= first + len(rows):
                continue  # the page does not reach the resume point: ask again with the served size
            fresh = rows[offset - first :]  # after a halving, the start of the page may be yielded already
            if fresh:
                yield _Chunk(served_number, served_size, reply.total, fresh)
            offset += len(fresh)
            if len(rows) != served_size or (reply.total is not None and offset >= reply.total):
                return  # empty, short or unpaged (over-long) page, or all Count rows seen
        raise TgaError(f"stopped after max_pages={self._settings.max_pages} requests", operation=operation)

    # --- one SOAP call ----------------------------------------------------------------------------------------

    async def _soap(self, operation: str, request: etree._Element, *, component: str | None) -> etree._Element:
        username, password = self._settings.credentials
        content = envelope(request, username, password)
        headers = {"Content-Type": CONTENT_TYPE, "SOAPAction": soap_action(operation)}
        limit = self._settings.max_reply_bytes

        async def once() -> etree._Element:
            reply = await self._http.exchange(
                "POST", self._settings.service_url, operation, component, limit, content=content, headers=headers
            )
            if reply.status == 200:
                return read_reply(reply.body, operation=operation, component=component)
            if reply.status == 500 and reply.body.lstrip().startswith(b"<"):
                try:  # WCF answers faults with HTTP 500 and a SOAP envelope
                    return read_reply(reply.body, operation=operation, component=component)
                except TgaTransportError:
                    pass  # not a SOAP reply: an HTTP 500 like any other
            raise_for_status(reply, operation, component)
            raise TgaTransportError(
                f"HTTP {reply.status}", operation=operation, component=component, status=reply.status
            )

        return await self._http.retrying(once)

    @staticmethod
    def _read(
        reader: Callable[[etree._Element], T], response: etree._Element, operation: str, component: str | None
    ) -> T:
        try:
            return reader(response)
        except ValueError as exc:  # a malformed number or date in an otherwise valid envelope
            raise TgaTransportError(f"unreadable reply ({exc})", operation=operation, component=component) from exc


__all__ = ["TgaClient"]
