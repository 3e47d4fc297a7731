"""The CDN client (adapters/cdn_client.py) against raw local TCP servers: bodies arrive, and each way a
connection can fail surfaces as the httpx error it is, never as a timeout it is not."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest

from skillstream_media_downloader.adapters.cdn_client import cdn_client

Serve = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
BODY = bytes(range(256)) * 160  # 40 KiB


async def _ok(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while await reader.readuntil(b"\r\n\r\n"):
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(BODY) + BODY)
        await writer.drain()


async def _half_then_hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.readuntil(b"\r\n\r\n")
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(BODY) + BODY[: len(BODY) // 2])
    await writer.drain()
    writer.transport.abort()


async def _hang_up_at_once(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.readuntil(b"\r\n\r\n")
    writer.transport.abort()


async def _garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.readuntil(b"\r\n\r\n")
    writer.write(b"this is not HTTP\r\n\r\n")
    await writer.drain()
    writer.close()


async def _silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.readuntil(b"\r\n\r\n")
    await asyncio.sleep(5)


async def _url(serve: Serve) -> AsyncIterator[str]:
    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/cdn/course/lesson_med.mp4?Expires=1&Signature=a~b-c_&Key-Pair-Id=K"
    finally:
        server.close()


async def _get(url: str, timeout: float = 5.0) -> bytes:
    async with cdn_client(connections=2, timeout=timeout) as client, client.stream("GET", url) as response:
        response.raise_for_status()
        return b"".join([chunk async for chunk in response.aiter_raw()])


async def test_bodies_arrive_whole_over_kept_alive_connections() -> None:
    async for url in _url(_ok):
        async with cdn_client(connections=2, timeout=5) as client:
            for _ in range(3):
                async with client.stream("GET", url) as response:
                    assert response.status_code == 200
                    assert b"".join([c async for c in response.aiter_raw()]) == BODY


@pytest.mark.parametrize(
    ("serve", "expected"),
    [
        (_half_then_hang_up, (httpx.ReadError, httpx.RemoteProtocolError)),
        (_hang_up_at_once, (httpx.ReadError, httpx.RemoteProtocolError)),
        (_garbage, (httpx.RemoteProtocolError, httpx.ReadError)),
    ],
)
async def test_a_broken_connection_is_a_transport_error_not_a_timeout(serve: Serve, expected: tuple[type, ...]) -> None:
    async for url in _url(serve):
        with pytest.raises(httpx.TransportError) as caught:
            await _get(url)
        assert isinstance(caught.value, expected), repr(caught.value)
        assert not isinstance(caught.value, httpx.TimeoutException)


async def test_a_refused_connection_is_a_connect_error() -> None:
    with socket.socket() as s:  # a port nobody listens on: bound, never listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        with pytest.raises(httpx.ConnectError):
            await _get(f"http://127.0.0.1:{port}/cdn/x.mp4")


async def test_a_silent_server_is_a_timeout() -> None:
    async for url in _url(_silent):
        with pytest.raises(httpx.TimeoutException):
            await _get(url, timeout=0.3)
