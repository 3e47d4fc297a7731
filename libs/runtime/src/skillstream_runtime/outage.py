"""Riding out a NATS outage: which errors are transient, and retrying a JetStream request through them.

The services connect with endless reconnects (:func:`skillstream_runtime.host.connect_nats`), so nats-py comes
back by itself when the server does. Meanwhile a JetStream request (an append, a direct get, a publish to a
work-queue stream, a consumer or stream request) raises one of :data:`TRANSIENT_ERRORS`: no answer in time, no
responder yet, the connection closed or reconnecting, the JetStream API unavailable. Those are classified here,
in one place; :func:`through_outage` retries a request with exponential backoff and jitter (``stamina``) until
it succeeds or ``timeout`` seconds have passed, then raises the last error.

A retried request must be idempotent: an append carries its event id as ``Nats-Msg-Id`` (the same on every try,
so JetStream's duplicate window stores it once), a work message its deterministic message id.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final, TypeVar

import nats.errors
import nats.js.errors
import stamina
import structlog
from nats.aio.client import Client

from skillstream_runtime.errors import raised_from

log = structlog.get_logger(__name__)

T = TypeVar("T")

TRANSIENT_ERRORS: Final[tuple[type[BaseException], ...]] = (
    nats.errors.TimeoutError,  # includes FlushTimeoutError and JetStream's FetchTimeoutError
    nats.errors.NoRespondersError,
    nats.errors.ConnectionClosedError,
    nats.errors.ConnectionReconnectingError,
    nats.errors.StaleConnectionError,
    nats.errors.OutboundBufferLimitError,
    nats.js.errors.ServiceUnavailableError,
    TimeoutError,
)
"""Errors of a NATS or JetStream request that say "the server is away", not "the request is wrong"."""

OUTAGE_TIMEOUT: Final = 6 * 3600.0
"""Default seconds a request is retried through an outage (a job's own timeout usually ends it sooner)."""


def is_transient(error: BaseException) -> bool:
    """True when ``error`` (or the error it was raised from) is one of :data:`TRANSIENT_ERRORS`."""
    return raised_from(error, TRANSIENT_ERRORS, depth=4)


@dataclass(frozen=True, kw_only=True)
class OutagePolicy:
    """How long and how often a request is retried through an outage: ``timeout`` seconds in all (None: no
    limit), backoff from ``wait_initial`` to ``wait_max`` seconds with up to ``wait_jitter`` seconds of jitter."""

    timeout: float | None = OUTAGE_TIMEOUT
    wait_initial: float = 0.2
    wait_max: float = 5.0
    wait_jitter: float = 0.5


DEFAULT_POLICY: Final = OutagePolicy()


async def through_outage(
    request: Callable[[], Awaitable[T]],
    *,
    what: str,
    policy: OutagePolicy = DEFAULT_POLICY,
    transient: Callable[[BaseException], bool] = is_transient,
) -> T:
    """Await ``request()`` until it returns, retrying it while it raises a transient error (``transient``).

    ``what`` names the request in the log (a subject, a stream). Raises the last error once ``policy.timeout``
    seconds have passed, and any error that is not transient at once.
    """
    attempts = 0
    async for attempt in stamina.retry_context(
        on=transient,
        attempts=None,
        timeout=policy.timeout,
        wait_initial=policy.wait_initial,
        wait_max=policy.wait_max,
        wait_jitter=policy.wait_jitter,
    ):
        with attempt:
            attempts += 1
            if attempts == 2 or attempts % 20 == 0:
                log.warning("NATS request retried: the server is unreachable", request=what, attempt=attempts)
            return await request()
    raise AssertionError("stamina ended without a result or an error")  # pragma: no cover


class OutageGuard:
    """:func:`through_outage` for the requests of one connection ``nc``: a transient error is retried while the
    connection is open (a closed one, at shutdown, never comes back); once ``policy`` gives up, the last error
    is translated by the caller's ``give_up``."""

    def __init__(self, nc: Client, policy: OutagePolicy = DEFAULT_POLICY) -> None:
        self._nc = nc
        self._policy = policy

    def transient(self, error: BaseException) -> bool:
        return isinstance(error, TRANSIENT_ERRORS) and not self._nc.is_closed

    async def call(
        self, request: Callable[[], Awaitable[T]], *, what: str, give_up: Callable[[BaseException], Exception]
    ) -> T:
        """``request()`` through an outage; raises ``give_up(last error)`` when the outage outlasts the policy,
        and any error that is not transient as it is."""
        try:
            return await through_outage(request, what=what, policy=self._policy, transient=self.transient)
        except TRANSIENT_ERRORS as e:
            raise give_up(e) from e


__all__ = [
    "DEFAULT_POLICY",
    "OUTAGE_TIMEOUT",
    "TRANSIENT_ERRORS",
    "OutageGuard",
    "OutagePolicy",
    "is_transient",
    "through_outage",
]
