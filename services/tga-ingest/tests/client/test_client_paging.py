"""Paging of TgaClient searches with ``httpx.MockTransport``: counts, short pages, server-capped page sizes,
page size halving on oversized replies and WCF quota faults, and the reply size cap. Replies come from
``conftest.py`` (transport only)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from skillstream_tga_ingest.adapters.client import (
    TgaError,
    TgaMessageTooLarge,
)

from .conftest import (
    Catalogue,
    all_rows,
    client,
    fault,
    paging,
)

# --- paging ----------------------------------------------------------------------------------------------------


async def test_pages_until_ceil_count_over_page_size() -> None:
    catalogue = Catalogue(30)  # 3 full pages of 10: the 4th page is never asked for
    assert await all_rows(client(catalogue)) == catalogue.codes
    assert catalogue.requests == [(1, 10), (2, 10), (3, 10)]


async def test_short_page_ends_paging_without_count() -> None:
    catalogue = Catalogue(25, count=False)
    assert await all_rows(client(catalogue)) == catalogue.codes
    assert catalogue.requests == [(1, 10), (2, 10), (3, 10)]


async def test_empty_catalogue() -> None:
    catalogue = Catalogue(0)
    assert await all_rows(client(catalogue)) == []
    assert catalogue.requests == [(1, 10)]


async def test_a_server_capped_page_size_is_adopted() -> None:
    catalogue = Catalogue(23, count=False, max_page_size=4)
    assert await all_rows(client(catalogue)) == catalogue.codes  # a 4-row page is not mistaken for the last
    assert catalogue.requests == [(1, 10), (2, 4), (3, 4), (4, 4), (5, 4), (6, 4)]


async def test_a_server_capping_after_a_halving_is_asked_again() -> None:
    # 25 rows served as 25, page 2 of 25 too large -> 12 rows asked from page 3 (rows 24..), but the server
    # caps at 5 and serves rows 10..14: the resume point (25) is not in them, so page 6 of 5 is asked.
    catalogue = Catalogue(40, too_large=lambda number, size: size == 25 and number == 2)
    catalogue.max_page_size = None
    rows = await all_rows(client(catalogue, max_reply_bytes=100_000), page_size=25)
    assert rows == catalogue.codes
    capped = Catalogue(40, too_large=lambda number, size: size == 25 and number == 2, max_page_size=25)
    assert await all_rows(client(capped, max_reply_bytes=100_000), page_size=25) == capped.codes


async def test_page_cap() -> None:
    with pytest.raises(TgaError, match="max_pages=2"):
        await all_rows(client(Catalogue(50, count=False), max_pages=2))


async def test_oversized_reply_halves_the_page_and_resumes_at_the_first_row_not_yielded() -> None:
    # Pages of 25 from row 25 on are too large: 25 -> 12 rows. Row 25 is the 2nd row of page 3 of 12 (rows
    # 24..35), so that page is asked for and its first row (already yielded) dropped.
    catalogue = Catalogue(60, too_large=lambda number, size: size > 12 and number >= 2)
    rows = await all_rows(client(catalogue, max_reply_bytes=100_000), page_size=25)
    assert rows == catalogue.codes
    assert catalogue.requests == [(1, 25), (2, 25), (3, 12), (4, 12), (5, 12)]


async def test_halving_stops_at_the_minimum() -> None:
    catalogue = Catalogue(60, too_large=lambda number, size: True)
    with pytest.raises(TgaMessageTooLarge):
        await all_rows(client(catalogue, max_reply_bytes=100_000, min_page_size=3), page_size=25)
    assert [size for _, size in catalogue.requests] == [25, 12, 6, 3]


async def test_wcf_quota_fault_also_halves() -> None:
    catalogue = Catalogue(8)

    def handler(request: httpx.Request) -> httpx.Response:
        _, _, size = paging(request)
        if size > 4:
            catalogue.requests.append((0, size))
            return fault("Client", "The maximum message size quota for incoming messages (65536) has been exceeded.")
        return catalogue(request)

    assert await all_rows(client(handler)) == catalogue.codes
    assert catalogue.requests == [(0, 10), (0, 5), (1, 2), (2, 2), (3, 2), (4, 2)]


async def test_reply_reading_stops_at_the_limit() -> None:
    sent = 0

    async def endless() -> AsyncIterator[bytes]:
        nonlocal sent
        while sent < 50_000_000:
            sent += 65_536
            yield b" " * 65_536

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=endless())

    async with client(handler, max_reply_bytes=200_000) as tga:
        with pytest.raises(TgaMessageTooLarge) as caught:
            await tga.get_details("BSBCMM412")
    assert sent <= 200_000 + 2 * 65_536
    assert caught.value.limit == 200_000
