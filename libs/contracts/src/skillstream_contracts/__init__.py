"""Skillstream contracts: everything that crosses a service boundary, and no I/O.

Modules:

- :mod:`.events`   — the :class:`Event` base, the event envelope (metadata carried in NATS headers) and
  the :class:`EventRegistry` that decodes a stream's tagged union, applying upcasters on read.
- :mod:`.streams`  — stream definitions and subject names of every bounded context.
- :mod:`.errors`   — the error payload of command/query replies and the contract exception tree.
- :mod:`.jobs`     — the job aggregate's events, job commands/queries and the progress document.
- :mod:`.tga`, :mod:`.media`, :mod:`.administrate`, :mod:`.training` — each context's event union.

Exception tree (all in :mod:`.errors`)::

    ContractError
    ├── UnknownEventType        an event type this registry does not know
    ├── UnsupportedSchemaVersion a version newer than the code, or with no upcaster path
    └── EventDecodeError        the payload does not match the schema
"""

from skillstream_contracts.errors import (
    ContractError,
    ErrorCode,
    ErrorReply,
    EventDecodeError,
    UnknownEventType,
    UnsupportedSchemaVersion,
)
from skillstream_contracts.events import Event, EventMetadata, EventRegistry, Headers

__all__ = [
    "ContractError",
    "ErrorCode",
    "ErrorReply",
    "Event",
    "EventDecodeError",
    "EventMetadata",
    "EventRegistry",
    "Headers",
    "UnknownEventType",
    "UnsupportedSchemaVersion",
]
