"""Sending a generated file's bytes as an ASGI response, with the body faults (media-spec §3).

- ``ok``: the range in full; the last piece ends the message.
- ``truncate``: ``Content-Length`` declares the range, half of it is sent, then the app returns without
  ending the message; uvicorn then closes the connection (``h11_impl.run_asgi``: "ASGI callable returned
  without completing response", logged by uvicorn), so the client sees a body shorter than declared.
- ``reset``: the same cut, but the response goes out chunked (no ``Content-Length``), so the connection
  drops with no terminating chunk.
- ``wrong_bytes``: the full length, with 16 bytes from the middle of the range inverted.

The file's completion and the end of the request's flight are recorded right after the last byte is
handed to the transport, with no ``await`` in between, so a client that has its last byte and then asks
``GET /_sandbox/stats`` always sees them. A client disconnect is watched for (uvicorn silently drops writes
after one), so an abandoned download is never counted as completed.
"""

from __future__ import annotations

import time
from typing import Literal

import anyio
from starlette.types import Receive, Scope, Send

from skillstream_media_sandbox.content import BLOCK_SIZE, ByteRange, iter_bytes
from skillstream_media_sandbox.stats import Flight, Stats

BodyMode = Literal["ok", "reset", "truncate", "wrong_bytes"]
_FLIPPED = 16


class FileBody:
    """An ASGI response: ``status``/``headers`` (``Content-Length`` of the range included), then bytes
    ``byte_range`` of ``key``'s file, shaped by ``mode`` and ``bandwidth`` (bytes per second or None).
    ``HEAD`` gets the headers only."""

    def __init__(
        self,
        *,
        status: int,
        headers: list[tuple[str, str]],
        seed: int,
        key: str,
        byte_range: ByteRange,
        mode: BodyMode,
        bandwidth: int | None,
        stats: Stats,
        flight: Flight,
    ) -> None:
        self.status = status
        self.headers = headers
        self.seed, self.key, self.byte_range = seed, key, byte_range
        self.mode: BodyMode = mode
        self.bandwidth = bandwidth
        self.stats, self.flight = stats, flight
        self._disconnected = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = self.headers
        if self.mode == "reset":
            headers = [(name, value) for name, value in headers if name.lower() != "content-length"]
        raw = [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers]
        await send({"type": "http.response.start", "status": self.status, "headers": raw})
        if scope["method"] == "HEAD":
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            return
        async with anyio.create_task_group() as group:

            async def watch() -> None:
                while (await receive())["type"] != "http.disconnect":
                    pass
                self._disconnected = True
                group.cancel_scope.cancel()

            group.start_soon(watch)
            await self._stream(send)
            group.cancel_scope.cancel()
        # reset/truncate/disconnect: the message is left unfinished and uvicorn closes the connection

    async def _stream(self, send: Send) -> None:
        first, length = self.byte_range.first, self.byte_range.length
        cut = self.mode in ("reset", "truncate")
        stop = first + length // 2 if cut else first + length
        bandwidth = self.bandwidth
        chunk_size = BLOCK_SIZE if bandwidth is None else min(BLOCK_SIZE, max(1, bandwidth // 10))
        flip_from = first + length // 2
        flip = range(flip_from, flip_from + _FLIPPED) if self.mode == "wrong_bytes" else range(0)
        started, position = time.monotonic(), first
        for chunk in iter_bytes(self.seed, self.key, first, stop, chunk_size):
            if bandwidth is not None:
                # pace the whole response, not each chunk: wait until the bytes sent so far are "due"
                await anyio.sleep(max(0.0, started + (position - first) / bandwidth - time.monotonic()))
            if flip and position < flip.stop and flip.start < position + len(chunk):
                chunk = _invert(chunk, position, flip)
            position += len(chunk)
            last = position == stop and not cut
            await send({"type": "http.response.body", "body": chunk, "more_body": not last})
            self.stats.sent(len(chunk))
            if last and not self._disconnected:
                if self.mode == "ok" and self.byte_range.whole:
                    self.stats.complete(self.key)
                self.flight.land()


def _invert(chunk: bytes, position: int, flip: range) -> bytes:
    data = bytearray(chunk)
    for offset in range(max(flip.start, position), min(flip.stop, position + len(chunk))):
        data[offset - position] ^= 0xFF
    return bytes(data)


__all__ = ["BodyMode", "FileBody"]
