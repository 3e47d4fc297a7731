"""The work-queue consumer loop against a fake pull subscription (no server): fetches only as many messages as it
has free slots, settles each by its handler's outcome, terminates undecodable bodies, leaves a failed handler's
message unsettled for redelivery, heartbeats long work, pauses intake when asked, and leaves nothing running."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from skillstream_runtime.workqueue import ACK, TERM, Delivery, Outcome, WorkConsumer, consumer_config, nak

_SEQUENCES = itertools.count(1)


@dataclass
class FakeMsg:
    data: bytes
    subject: str = "work.test.1"
    num_delivered: int = 1
    settled: list[tuple[str, float | None]] = field(default_factory=list)
    heartbeats: int = 0
    stream_sequence: int = field(default_factory=lambda: next(_SEQUENCES))

    @property
    def metadata(self) -> Any:
        return SimpleNamespace(num_delivered=self.num_delivered, sequence=SimpleNamespace(stream=self.stream_sequence))

    async def ack(self) -> None:
        self.settled.append(("ack", None))

    async def nak(self, delay: float | None = None) -> None:
        self.settled.append(("nak", delay))

    async def term(self) -> None:
        self.settled.append(("term", None))

    async def in_progress(self) -> None:
        self.heartbeats += 1


@dataclass
class FakeSubscription:
    """Hands out queued messages; records the batch size of every fetch."""

    queue: list[FakeMsg]
    batches: list[int] = field(default_factory=list)
    unsubscribed: bool = False

    async def fetch(self, batch: int = 1, timeout: float | None = 5) -> list[Any]:
        self.batches.append(batch)
        if not self.queue:
            await asyncio.sleep(0.01)
            raise TimeoutError
        out, self.queue[:] = self.queue[:batch], self.queue[batch:]
        return out

    async def unsubscribe(self) -> None:
        self.unsubscribed = True


async def serve_until(
    consumer: WorkConsumer[Any], sub: FakeSubscription, done: Callable[[], bool], timeout: float = 2.0
) -> None:
    task = asyncio.create_task(consumer.serve(sub))
    try:
        async with asyncio.timeout(timeout):
            while not done():
                await asyncio.sleep(0.005)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def consumer(handler: Callable[[str, Delivery], Awaitable[Outcome]], **kw: Any) -> WorkConsumer[str]:
    def decode(body: bytes) -> str:
        if body == b"bad":
            raise ValueError("not a work message")
        return body.decode()

    return WorkConsumer(stream="WORK", durable="workers", decode=decode, handler=handler, **kw)


async def test_each_message_is_settled_by_its_outcome() -> None:
    outcomes = {"a": ACK, "n": nak(7.5), "t": TERM}
    seen: list[tuple[str, int]] = []

    async def handle(work: str, delivery: Delivery) -> Outcome:
        seen.append((work, delivery.number))
        return outcomes[work]

    msgs = [FakeMsg(b"a"), FakeMsg(b"n", num_delivered=3), FakeMsg(b"t"), FakeMsg(b"bad")]
    sub = FakeSubscription(list(msgs))
    await serve_until(consumer(handle, concurrency=4), sub, lambda: all(m.settled for m in msgs))
    assert [m.settled for m in msgs] == [[("ack", None)], [("nak", 7.5)], [("term", None)], [("term", None)]]
    assert sorted(seen) == [("a", 1), ("n", 3), ("t", 1)]  # the undecodable body never reached the handler
    assert sub.unsubscribed


async def test_fetches_only_as_many_as_free_slots() -> None:
    release = asyncio.Event()
    running = 0
    peak = 0

    async def handle(work: str, delivery: Delivery) -> Outcome:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await release.wait()
        running -= 1
        return ACK

    msgs = [FakeMsg(str(i).encode()) for i in range(5)]
    sub = FakeSubscription(list(msgs))
    task = asyncio.create_task(consumer(handle, concurrency=3).serve(sub))
    await asyncio.sleep(0.05)
    assert peak == 3
    assert sub.batches == [3]  # no fetch while every slot is busy
    release.set()
    async with asyncio.timeout(2):
        while not all(m.settled for m in msgs):
            await asyncio.sleep(0.005)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert peak == 3
    assert max(sub.batches) == 3


async def test_a_failing_handler_leaves_its_message_for_redelivery() -> None:
    async def handle(work: str, delivery: Delivery) -> Outcome:
        raise RuntimeError("outage")

    msg = FakeMsg(b"x")
    sub = FakeSubscription([msg])
    await serve_until(consumer(handle), sub, lambda: len(sub.batches) >= 3)
    assert msg.settled == []


async def test_long_work_sends_heartbeats_and_shutdown_leaves_it_unsettled() -> None:
    async def handle(work: str, delivery: Delivery) -> Outcome:
        await asyncio.sleep(10)
        return ACK

    msg = FakeMsg(b"slow")
    sub = FakeSubscription([msg])
    await serve_until(consumer(handle, ack_wait=0.03), sub, lambda: msg.heartbeats >= 2)
    assert msg.settled == []  # cancelled mid-work: redelivered to another replica after ack_wait


async def test_a_message_redelivered_while_handled_here_is_left_to_its_handler() -> None:
    release = asyncio.Event()
    calls = 0

    async def handle(work: str, delivery: Delivery) -> Outcome:
        nonlocal calls
        calls += 1
        await release.wait()
        return ACK

    first = FakeMsg(b"x")
    again = FakeMsg(b"x", num_delivered=2, stream_sequence=first.stream_sequence)  # heartbeats lost in an outage
    sub = FakeSubscription([first])
    task = asyncio.create_task(consumer(handle, concurrency=2).serve(sub))
    await asyncio.sleep(0.02)
    sub.queue.append(again)
    async with asyncio.timeout(2):
        while sub.queue:
            await asyncio.sleep(0.005)
    release.set()
    async with asyncio.timeout(2):
        while not first.settled:
            await asyncio.sleep(0.005)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert calls == 1
    assert (first.settled, again.settled) == ([("ack", None)], [])


async def test_a_pause_stops_intake_for_a_while() -> None:
    handled: list[float] = []
    loop = asyncio.get_running_loop()

    async def handle(work: str, delivery: Delivery) -> Outcome:
        handled.append(loop.time())
        return nak(1.0, pause=0.2) if work == "full" else ACK

    msgs = [FakeMsg(b"full"), FakeMsg(b"next")]
    sub = FakeSubscription([msgs[0]])
    task = asyncio.create_task(consumer(handle).serve(sub))
    await asyncio.sleep(0.05)
    sub.queue.append(msgs[1])
    async with asyncio.timeout(2):
        while not msgs[1].settled:
            await asyncio.sleep(0.005)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert msgs[0].settled == [("nak", 1.0)]
    assert handled[1] - handled[0] >= 0.19


def test_consumer_config_is_a_shared_work_consumer() -> None:
    c = consumer_config("workers", filter_subject="work.test.>", max_ack_pending=10, ack_wait=30.0)
    assert (c.durable_name, c.filter_subject, c.max_ack_pending, c.ack_wait, c.max_deliver) == (
        "workers",
        "work.test.>",
        10,
        30.0,
        -1,
    )
    assert c.ack_policy is not None
    assert c.ack_policy.value == "explicit"
