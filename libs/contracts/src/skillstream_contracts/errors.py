"""Error payloads of command/query replies, and the contract exception tree.

A command or query that fails replies with the ``Nats-Service-Error`` / ``Nats-Service-Error-Code`` headers
of the NATS micro protocol and an :class:`ErrorReply` JSON body, so every client gets the same typed error.
"""

from __future__ import annotations

import enum

import msgspec


class ErrorCode(enum.StrEnum):
    """Stable error codes; HTTP-like numbers travel in ``Nats-Service-Error-Code``.

    A code names what the caller can act on; the ones beyond the generic HTTP-like set below are typed refusals
    a client maps to its own answer (the gateway to a problem document). A client built before a code was added
    cannot decode its reply and reports it as ``internal`` with the header's status, so deploy the clients first.
    """

    INVALID_REQUEST = "invalid_request"  # 400: the body does not decode or fails validation
    UNAUTHORIZED = "unauthorized"  # 401
    FORBIDDEN = "forbidden"  # 403
    NOT_FOUND = "not_found"  # 404
    CONFLICT = "conflict"  # 409: optimistic concurrency or a state transition that is not allowed
    UNAVAILABLE = "unavailable"  # 503: a dependency (NATS, PostgreSQL, an upstream) is down
    INTERNAL = "internal"  # 500: a bug; the detail is logged, not returned
    NOTHING_TO_DOWNLOAD = "nothing_to_download"  # 409: a bulk download asked of a catalogue that lists nothing

    @property
    def status(self) -> int:
        """The HTTP-like status number sent in ``Nats-Service-Error-Code``."""
        return _STATUS[self]


_STATUS = {
    ErrorCode.INVALID_REQUEST: 400,
    ErrorCode.UNAUTHORIZED: 401,
    ErrorCode.FORBIDDEN: 403,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.CONFLICT: 409,
    ErrorCode.UNAVAILABLE: 503,
    ErrorCode.INTERNAL: 500,
    ErrorCode.NOTHING_TO_DOWNLOAD: 409,
}


class ErrorReply(msgspec.Struct, frozen=True, kw_only=True):
    """Body of an error reply to a command or query.

    ``code`` is stable and machine-readable; ``detail`` is for people; ``errors`` lists field-level
    problems as ``{"loc": "...", "msg": "..."}`` where the request did not validate.
    """

    code: ErrorCode
    detail: str
    errors: list[dict[str, str]] = msgspec.field(default_factory=list)
    correlation_id: str | None = None


class ContractError(Exception):
    """Root of the errors raised while encoding or decoding contracts."""


class UnknownEventType(ContractError):
    """The event type tag is not registered for this stream."""


class UnsupportedSchemaVersion(ContractError):
    """The stored schema version is newer than this code, or no upcaster leads to the current one."""


class EventDecodeError(ContractError):
    """The payload does not match the event's schema (raised from the msgspec error)."""
