"""The runtime's exception tree.

::

    SkillstreamRuntimeError
    ├── EventStoreError
    │   ├── ConcurrencyError       the aggregate moved on since it was loaded (expected sequence mismatch)
    │   │   └── ContendedAggregateError  a command lost the race on every attempt the decider runner made
    │   ├── StreamNotFoundError    no stream holds the subject
    │   └── AppendError            JetStream refused the append for another reason
    ├── ProjectionError
    │   └── ReplayError            a rebuild could not complete or be swapped in
    ├── MigrationError             a migration file is malformed, changed after being applied, or failed
    ├── CommandRejected            raised by a handler: reply with this typed error
    └── RequestError               a command/query reply carried an error (``.reply`` is the ErrorReply)
"""

from __future__ import annotations

from skillstream_contracts import ErrorCode, ErrorReply


class SkillstreamRuntimeError(Exception):
    """Root of the runtime's errors."""


class EventStoreError(SkillstreamRuntimeError):
    """Root of event store errors."""


class ConcurrencyError(EventStoreError):
    """The aggregate's last sequence is not the expected one: reload it and decide again."""

    def __init__(self, subject: str, expected: int | None, detail: str = "") -> None:
        super().__init__(f"concurrency conflict on {subject}: expected last sequence {expected}. {detail}")
        self.subject = subject
        self.expected = expected


class ContendedAggregateError(ConcurrencyError):
    """A command was decided ``attempts`` times on fresh state and lost the race to other writers each time."""

    def __init__(self, subject: str, attempts: int) -> None:
        EventStoreError.__init__(self, f"{subject} kept moving on: {attempts} decisions in a row lost the race")
        self.subject = subject
        self.expected = None
        self.attempts = attempts


class StreamNotFoundError(EventStoreError):
    """No JetStream stream listens on the subject."""


class AppendError(EventStoreError):
    """JetStream refused the append (other than a concurrency conflict)."""


class ProjectionError(SkillstreamRuntimeError):
    """Root of projection errors."""


class ReplayError(ProjectionError):
    """A rebuild could not complete or be swapped in."""


class MigrationError(SkillstreamRuntimeError):
    """A migration file is malformed, was changed after being applied, or failed."""


class RequestError(SkillstreamRuntimeError):
    """A command or query reply carried an error."""

    def __init__(self, reply: ErrorReply, status: int | None = None) -> None:
        super().__init__(f"{reply.code}: {reply.detail}")
        self.reply = reply
        self.status = status if status is not None else reply.code.status

    @property
    def code(self) -> ErrorCode:
        return self.reply.code


class CommandRejected(SkillstreamRuntimeError):
    """Raised by a command/query handler to reply with a typed error (``code``, ``detail``)."""

    def __init__(self, code: ErrorCode, detail: str, errors: list[dict[str, str]] | None = None) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail
        self.errors = errors or []


def raised_from(
    error: BaseException, types: tuple[type[BaseException], ...], *, implicit: bool = False, depth: int = 8
) -> bool:
    """True when ``error``, or an exception it was raised from (``__cause__``; with ``implicit`` also the one
    being handled when it was raised, ``__context__``), at most ``depth`` links deep, is one of ``types``: an
    error translated at a boundary still says what it was."""
    seen: BaseException | None = error
    for _ in range(depth):
        if seen is None:
            return False
        if isinstance(seen, types):
            return True
        seen = (seen.__cause__ or seen.__context__) if implicit else seen.__cause__
    return False


__all__ = [
    "AppendError",
    "CommandRejected",
    "ConcurrencyError",
    "EventStoreError",
    "MigrationError",
    "ProjectionError",
    "ReplayError",
    "RequestError",
    "SkillstreamRuntimeError",
    "StreamNotFoundError",
    "raised_from",
]
