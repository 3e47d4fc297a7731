"""What can go wrong in the sandbox, as one tree::

    SandboxError
    ├── CatalogueError            the real data (real-data/tga/…) is missing or unreadable at start-up
    ├── InjectedServerError       a switched-on fault asks for IIS's HTML "500 - Internal server error."
    └── SoapFault                 a request answered with a SOAP 1.1 fault envelope (``http_status``)
        ├── InvalidSecurity       no / wrong WS-Security UsernameToken (WCF ``a:InvalidSecurity``, HTTP 500)
        ├── ActionNotSupported    a SOAPAction the sandbox does not serve (WCF ``a:ActionNotSupported``)
        ├── DeserializationFailed the envelope or body could not be read (WCF ``a:DeserializationFailed``)
        └── ValidationFault       TGA's declared fault (XSD ``ValidationFault``: ``ValidationError`` list)

Handlers raise a :class:`SoapFault`; the app turns it into the envelope :mod:`skillstream_tga_sandbox.wire`
writes. Fault codes and strings follow what WCF's basicHttpBinding sends; the ``ValidationError`` texts are
the sandbox's own (no captured TGA fault exists, TGA-FORMAT.md §5).
"""

from __future__ import annotations

from dataclasses import dataclass

SECEXT_NS = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
"""WS-Security 1.0 ``secext`` namespace (UsernameToken, the InvalidSecurity fault code)."""
ADDRESSING_NONE_NS = "http://schemas.microsoft.com/ws/2005/05/addressing/none"
"""WCF's namespace for ``ActionNotSupported`` on a binding without WS-Addressing (basicHttp)."""
DISPATCHER_NS = "http://schemas.microsoft.com/net/2005/12/windowscommunicationfoundation/dispatcher"
"""WCF's dispatcher namespace (``DeserializationFailed``)."""


class SandboxError(Exception):
    """Root of every error the sandbox raises."""


class CatalogueError(SandboxError):
    """A real-data file the sandbox serves is missing or cannot be read; the message names it."""


class InjectedServerError(SandboxError):
    """A fault (``http_500_codes``, ``http_500_every_nth``) wants this request answered with HTTP 500 and
    IIS's HTML error page instead of a SOAP envelope; ``fault`` names which."""

    def __init__(self, fault: str) -> None:
        super().__init__(fault)
        self.fault = fault


@dataclass(frozen=True, slots=True)
class ValidationErrorItem:
    """One XSD ``ValidationError`` (Code, Message, Severity = None|Warning|Error, ValidationTarget)."""

    code: str
    message: str
    severity: str = "Error"
    validation_target: str | None = None


class SoapFault(SandboxError):
    """A SOAP 1.1 fault: ``faultcode`` is ``(namespace or None for the envelope's, local name)``."""

    def __init__(
        self,
        faultstring: str,
        *,
        code_ns: str | None,
        code: str,
        http_status: int = 500,
        with_security_header: bool = False,
    ) -> None:
        super().__init__(faultstring)
        self.faultstring = faultstring
        self.code_ns = code_ns
        self.code = code
        self.http_status = http_status
        self.with_security_header = with_security_header
        self.errors: tuple[ValidationErrorItem, ...] = ()


class InvalidSecurity(SoapFault):
    """WCF's answer to a missing or wrong UsernameToken: HTTP 500, ``a:InvalidSecurity``."""

    def __init__(self) -> None:
        super().__init__(
            "An error occurred when verifying security for the message.", code_ns=SECEXT_NS, code="InvalidSecurity"
        )


class ActionNotSupported(SoapFault):
    """WCF's ContractFilter mismatch for an action the endpoint has no operation for (HTTP 500)."""

    def __init__(self, action: str) -> None:
        super().__init__(
            f"The message with Action '{action}' cannot be processed at the receiver, due to a ContractFilter "
            "mismatch at the EndpointDispatcher. This may be because of either a contract mismatch (mismatched "
            "Actions between sender and receiver) or a binding/security mismatch between the sender and the "
            "receiver.  Check that sender and receiver have the same contract and the same binding (including "
            "security constraints (e.g. Message, Transport, None).",
            code_ns=ADDRESSING_NONE_NS,
            code="ActionNotSupported",
        )


class DeserializationFailed(SoapFault):
    """The request could not be read (not XML, not a SOAP 1.1 envelope, wrong body element): HTTP 400/500."""

    def __init__(self, reason: str, *, http_status: int = 500) -> None:
        super().__init__(reason, code_ns=DISPATCHER_NS, code="DeserializationFailed", http_status=http_status)


class ValidationFault(SoapFault):
    """TGA's declared operation fault (WSDL ``ValidationFaultFault``): faultcode ``s:Client``, the WCF
    default reason for a ``FaultException<T>`` without one, and ``detail/ValidationFault/Errors``."""

    def __init__(self, *errors: ValidationErrorItem) -> None:
        super().__init__(
            "The creator of this fault did not specify a Reason.",
            code_ns=None,
            code="Client",
            with_security_header=True,
        )
        self.errors = errors


__all__ = [
    "ADDRESSING_NONE_NS",
    "DISPATCHER_NS",
    "SECEXT_NS",
    "ActionNotSupported",
    "CatalogueError",
    "DeserializationFailed",
    "InjectedServerError",
    "InvalidSecurity",
    "SandboxError",
    "SoapFault",
    "ValidationErrorItem",
    "ValidationFault",
]
