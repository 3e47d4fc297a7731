"""The revocation list of one replica: streams waiting on a token are woken by its revocation and forgotten when
they end; a list that cannot be read fails closed."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import nats
import pytest
from nats.aio.client import Client

from skillstream_gateway.revocation import RevocationList, RevocationUnavailable, revocation_key


def test_keys() -> None:
    assert revocation_key("0123abcd", "t") == "jti.0123abcd"
    assert revocation_key("urn:uuid:1 2", "t").startswith("jti.")
    assert len(revocation_key("urn:uuid:1 2", "t")) == len("jti.") + 64
    assert revocation_key(None, "a.b.c").startswith("token.")
    assert revocation_key(None, "a.b.c") != revocation_key(None, "a.b.d")


async def test_waiting_streams_are_woken_and_forgotten(nc: Client) -> None:
    revocations = RevocationList(nc)
    try:
        gone = asyncio.create_task(revocations.wait_revoked("jti.gone"))
        first = asyncio.create_task(revocations.wait_revoked("jti.signed-out"))
        second = asyncio.create_task(revocations.wait_revoked("jti.signed-out"))
        await asyncio.sleep(0.05)
        assert revocations.awaited == 2
        gone.cancel()  # the browser went away
        await asyncio.gather(gone, return_exceptions=True)
        assert revocations.awaited == 1
        exp = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5)
        await revocations.revoke("jti.signed-out", exp, "dev-admin")
        await asyncio.wait_for(asyncio.gather(first, second), 5)
        assert revocations.awaited == 0
        assert await revocations.is_revoked("jti.signed-out")
        assert not await revocations.is_revoked("jti.gone")
        await revocations.revoke("jti.signed-out", exp, "dev-admin")  # twice is fine
    finally:
        await revocations.stop()


async def test_a_list_that_cannot_be_read_fails_closed(nats_url: str) -> None:
    closed: Any = await nats.connect(nats_url)
    await closed.close()
    revocations = RevocationList(closed, ready_timeout=0.3)
    try:
        with pytest.raises(RevocationUnavailable):
            await revocations.is_revoked("jti.anything")
        with pytest.raises(RevocationUnavailable):
            await revocations.revoke("jti.anything", dt.datetime.now(dt.UTC), "dev-admin")
    finally:
        await revocations.stop()
