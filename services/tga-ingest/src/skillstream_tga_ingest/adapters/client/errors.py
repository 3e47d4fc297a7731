"""Errors of the TGA client. Every message names the operation, the code it was about and why::

    TgaError                      operation, component (training component code, file path… or None), reason
    ├── TgaSoapFault              the service answered a SOAP 1.1 <s:Fault> (fault_code, fault_string)
    │   ├── TgaValidationFault    <detail><ValidationFault> (XSD ValidationFault / ValidationError); never retried
    │   └── TgaAuthError          WS-Security fault (wsse:InvalidSecurity, FailedAuthentication…) or HTTP 401/403
    ├── TgaTransportError         HTTP 5xx / 429 / other status, network error, timeout, unreadable reply
    ├── TgaMessageTooLarge        reply over ``max_reply_bytes`` or WCF "maximum message size quota" fault
    └── TgaFileError              release file missing, truncated, over ``max_file_bytes`` or an unsafe path

``transient`` says whether the client retries the failure; after the retries are spent the last error is raised
with ``attempts`` = the number of tries made. Messages never contain credentials or request envelopes.
"""

from __future__ import annotations

import msgspec


class ValidationErrorDetail(msgspec.Struct, frozen=True, kw_only=True):
    """One XSD ``ValidationError`` of a ``ValidationFault`` (``TrainingComponentService.xsd``).

    ``severity`` is XSD ``ValidationErrorSeverity``: ``None`` / ``Warning`` / ``Error``.
    """

    code: str | None = None
    message: str | None = None
    severity: str | None = None
    sub_code: str | None = None
    validation_target: str | None = None
    context: str | None = None


class TgaError(Exception):
    """Base of the TGA client errors: ``operation`` (SOAP operation or ``download``), ``component`` (the
    training component code, search page or file path the request was about), ``reason``, ``attempts``."""

    transient: bool = False
    attempts: int = 1

    def __init__(self, reason: str, *, operation: str, component: str | None = None) -> None:
        self.reason = reason
        self.operation = operation
        self.component = component
        where = f"TGA {operation}" + (f" {component}" if component else "")
        super().__init__(f"{where}: {reason}")


class TgaSoapFault(TgaError):
    """A SOAP 1.1 fault: ``fault_code`` is the ``faultcode`` QName as ``{namespace}local``, ``fault_string``."""

    def __init__(
        self,
        reason: str,
        *,
        operation: str,
        component: str | None = None,
        fault_code: str | None = None,
        fault_string: str | None = None,
    ) -> None:
        self.fault_code = fault_code
        self.fault_string = fault_string
        super().__init__(reason, operation=operation, component=component)


class TgaValidationFault(TgaSoapFault):
    """The service refused the request: ``errors`` are the ``ValidationError`` entries of the fault detail,
    ``code``/``message`` those of the first one with a Code (else the faultcode/faultstring)."""

    def __init__(
        self,
        reason: str,
        *,
        operation: str,
        component: str | None = None,
        code: str | None = None,
        message: str | None = None,
        errors: tuple[ValidationErrorDetail, ...] = (),
        fault_code: str | None = None,
        fault_string: str | None = None,
    ) -> None:
        self.code = code
        self.message = message
        self.errors = errors
        super().__init__(
            reason, operation=operation, component=component, fault_code=fault_code, fault_string=fault_string
        )


class TgaAuthError(TgaSoapFault):
    """The credentials were refused (WS-Security fault or HTTP 401/403). Never retried."""


class TgaTransportError(TgaError):
    """HTTP or network failure: ``status`` (None when no reply came), ``retry_after`` seconds if the server sent
    ``Retry-After``. ``transient`` failures (5xx, 429, connect/read errors, timeouts) were retried."""

    def __init__(
        self,
        reason: str,
        *,
        operation: str,
        component: str | None = None,
        status: int | None = None,
        transient: bool = False,
        retry_after: float | None = None,
    ) -> None:
        self.status = status
        self.transient = transient
        self.retry_after = retry_after
        super().__init__(reason, operation=operation, component=component)


class TgaMessageTooLarge(TgaError):
    """The reply was larger than ``limit`` bytes (``received`` is how far reading got), or the server said so.
    Searches halve their page size on it; other operations raise it."""

    def __init__(
        self,
        reason: str,
        *,
        operation: str,
        component: str | None = None,
        limit: int | None = None,
        received: int = 0,
    ) -> None:
        self.limit = limit
        self.received = received
        super().__init__(reason, operation=operation, component=component)


class TgaFileError(TgaError):
    """A release file could not be downloaded whole: ``component`` is its relative path. A truncated body is
    ``transient`` (retried first)."""

    def __init__(
        self, reason: str, *, operation: str = "download", component: str | None = None, transient: bool = False
    ) -> None:
        self.transient = transient
        super().__init__(reason, operation=operation, component=component)


__all__ = [
    "TgaAuthError",
    "TgaError",
    "TgaFileError",
    "TgaMessageTooLarge",
    "TgaSoapFault",
    "TgaTransportError",
    "TgaValidationFault",
    "ValidationErrorDetail",
]
