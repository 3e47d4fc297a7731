"""SOAP 1.1 replies of ``TrainingComponentService``: unwrap the envelope, map faults, read results into models.

Replies are parsed with entity resolution, DTD loading and network access off. A ``<s:Fault>`` becomes a
:class:`TgaSoapFault` subclass (see ``errors.py``): ``<detail><ValidationFault>`` a :class:`TgaValidationFault`,
a WS-Security fault code (OASIS SOAP Message Security 1.0 §12) a :class:`TgaAuthError`, WCF's "maximum message
size quota" fault (TGA-FORMAT.md §1.4) a :class:`TgaMessageTooLarge`. A reply that is not a SOAP envelope
becomes a transient :class:`TgaTransportError`. Result shapes follow the real 2013 XSDs
(``real-data/tga/wsdl/TrainingComponentService-production-2013/``); single values are read by ``values.py``.
"""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple

from lxml import etree

from skillstream_tga_ingest.adapters.client.errors import (
    TgaAuthError,
    TgaMessageTooLarge,
    TgaSoapFault,
    TgaTransportError,
    TgaValidationFault,
    ValidationErrorDetail,
)
from skillstream_tga_ingest.adapters.client.models import (
    ComponentDetails,
    ComponentSummary,
    DeletedComponent,
    Mapping,
    Release,
    ReleaseComponent,
    ReleaseFile,
    UnitGridEntry,
    UsageRecommendationPeriod,
)
from skillstream_tga_ingest.adapters.client.namespaces import SOAP_ENV, TGA, WSSE
from skillstream_tga_ingest.adapters.client.values import (
    child,
    date,
    date_time_offset,
    flag,
    integer,
    items,
    parse_date_time,
    text,
)

_WSSE_AUTH_FAULTS = frozenset(
    {"InvalidSecurity", "InvalidSecurityToken", "FailedAuthentication", "FailedCheck", "SecurityTokenUnavailable"}
)
_QUOTA_FAULT = "maximum message size quota"


class SearchReply(NamedTuple):
    """XSD ``TrainingComponentSearchResult`` as read: ``total`` is ``Count``, None when the reply omitted it."""

    total: int | None
    page_number: int | None
    page_size: int | None
    results: list[ComponentSummary]


_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def read_reply(body: bytes, *, operation: str, component: str | None = None) -> etree._Element:
    """The ``<{operation}Response>`` element of a reply.

    Raises:
        TgaValidationFault, TgaAuthError, TgaSoapFault: the Body holds a ``<s:Fault>``.
        TgaMessageTooLarge: the fault is WCF's "maximum message size quota" fault.
        TgaTransportError: (transient) the body is not a SOAP 1.1 envelope or holds another element.
    """
    try:
        root = etree.fromstring(body, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise TgaTransportError(
            f"unreadable reply ({exc.msg})", operation=operation, component=component, transient=True
        ) from exc
    soap_body = root.find(f"{{{SOAP_ENV}}}Body") if root.tag == f"{{{SOAP_ENV}}}Envelope" else None
    payload = None if soap_body is None else next(soap_body.iterchildren(etree.Element), None)
    if payload is None:
        reason = f"reply is not a SOAP 1.1 envelope ({etree.QName(root).text})"
        raise TgaTransportError(reason, operation=operation, component=component, transient=True)
    if payload.tag == f"{{{SOAP_ENV}}}Fault":
        raise _fault(payload, operation=operation, component=component)
    if payload.tag != f"{{{TGA}}}{operation}Response":
        reason = f"unexpected reply element {etree.QName(payload).text}"
        raise TgaTransportError(reason, operation=operation, component=component, transient=True)
    return payload


def _fault(fault: etree._Element, *, operation: str, component: str | None) -> TgaSoapFault | TgaMessageTooLarge:
    fault_code = _qname(fault.find("faultcode"))
    fault_string = (fault.findtext("faultstring") or "").strip() or None
    local = (fault_code or "?").rsplit("}", 1)[-1]
    detail = fault.find("detail")
    validation = None if detail is None else detail.find(f"{{{TGA}}}ValidationFault")
    if validation is not None:
        errors = tuple(_validation_error(e) for e in validation.iterfind(f"{{{TGA}}}Errors/{{{TGA}}}ValidationError"))
        first = next((e for e in errors if e.code), None)
        said = "; ".join(f"{e.code or '?'} {e.message or ''}".strip() for e in errors) or fault_string or "no detail"
        return TgaValidationFault(
            f"validation fault: {said}",
            operation=operation,
            component=component,
            code=first.code if first else local,
            message=first.message if first else fault_string,
            errors=errors,
            fault_code=fault_code,
            fault_string=fault_string,
        )
    if (fault_code or "").startswith(f"{{{WSSE}}}") or local in _WSSE_AUTH_FAULTS:
        return TgaAuthError(
            f"credentials refused ({local}: {fault_string})",
            operation=operation,
            component=component,
            fault_code=fault_code,
            fault_string=fault_string,
        )
    if fault_string and _QUOTA_FAULT in fault_string.lower():
        return TgaMessageTooLarge(f"server fault: {fault_string}", operation=operation, component=component)
    return TgaSoapFault(
        f"SOAP fault {local}: {fault_string}",
        operation=operation,
        component=component,
        fault_code=fault_code,
        fault_string=fault_string,
    )


def _qname(element: etree._Element | None) -> str | None:
    """``faultcode`` text ``a:InvalidSecurity`` as ``{namespace}InvalidSecurity`` (prefix from the element)."""
    raw = (element.text or "").strip() if element is not None else ""
    if not raw:
        return None
    prefix, _, local = raw.rpartition(":")
    namespace = element.nsmap.get(prefix or None) if element is not None else None
    return f"{{{namespace}}}{local}" if namespace else local


def _validation_error(element: etree._Element) -> ValidationErrorDetail:
    return ValidationErrorDetail(
        code=text(element, "Code"),
        message=text(element, "Message"),
        severity=text(element, "Severity"),
        sub_code=text(element, "SubCode"),
        validation_target=text(element, "ValidationTarget"),
        context=text(element, "Context"),
    )


def _summary(element: etree._Element) -> ComponentSummary:
    # xsi:type TrainingComponentSummary2/3 only append members, so reading by name covers them all.
    return ComponentSummary(
        code=text(element, "Code") or "",
        title=text(element, "Title") or "",
        component_types=(text(element, "ComponentType") or "").split(),
        is_current=flag(element, "IsCurrent"),
        usage_recommendation=text(element, "UsageReccomendation"),
        created_at=date_time_offset(element, "CreatedDate"),
        updated_at=date_time_offset(element, "UpdatedDate"),
    )


def read_search_result(response: etree._Element, operation: str) -> SearchReply:
    """``SearchResult`` / ``SearchByModifiedDateResult`` (XSD ``TrainingComponentSearchResult``)."""
    result = child(response, f"{operation}Result")
    if result is None:
        return SearchReply(total=None, page_number=None, page_size=None, results=[])
    return SearchReply(
        total=integer(result, "Count"),
        page_number=integer(result, "PageNumber"),
        page_size=integer(result, "PageSize"),
        results=[_summary(e) for e in items(result, "Results", "TrainingComponentSummary")],
    )


def _release(element: etree._Element) -> Release:
    return Release(
        release_number=text(element, "ReleaseNumber") or "",
        release_date=date(element, "ReleaseDate"),
        currency=text(element, "Currency"),
        files=[
            ReleaseFile(relative_path=text(f, "RelativePath") or "", size=integer(f, "Size"))
            for f in items(element, "Files", "ReleaseFile")
        ],
        components=[
            ReleaseComponent(
                code=text(c, "Code") or "",
                title=text(c, "Title") or "",
                type=text(c, "Type"),
                release_number=text(c, "ReleaseNumber"),
                release_date=date(c, "ReleaseDate"),
                currency=text(c, "ReleaseCurrency"),
            )
            for c in items(element, "Components", "ReleaseComponent")
        ],
        unit_grid=[  # IsEssential only on xsi:type UnitGridEntry3
            UnitGridEntry(code=text(g, "Code") or "", title=text(g, "Title") or "", is_essential=flag(g, "IsEssential"))
            for g in items(element, "UnitGrid", "UnitGridEntry")
        ],
    )


def read_details(response: etree._Element, *, code: str) -> ComponentDetails:
    """``GetDetailsResult`` (XSD ``TrainingComponent``, maybe xsi:type ``TrainingComponent2/3``).

    Raises:
        TgaTransportError: the result is nil (no such component gives a ValidationFault, not this).
    """
    result = child(response, "GetDetailsResult")
    if result is None:
        raise TgaTransportError("GetDetailsResult is empty", operation="GetDetails", component=code)
    return ComponentDetails(
        code=text(result, "Code") or code,
        title=text(result, "Title") or "",
        component_types=(text(result, "ComponentType") or "").split(),
        parent_code=text(result, "ParentCode"),
        parent_title=text(result, "ParentTitle"),
        created_at=date_time_offset(result, "CreatedDate"),
        updated_at=date_time_offset(result, "UpdatedDate"),
        releases=[_release(r) for r in items(result, "Releases", "Release")],
        usage_recommendations=[
            UsageRecommendationPeriod(
                state=text(u, "State") or "", start_date=date(u, "StartDate"), end_date=date(u, "EndDate")
            )
            for u in items(result, "UsageRecommendations", "UsageRecommendation")
        ],
        mappings=[
            Mapping(
                code=text(m, "Code") or "",
                title=text(m, "Title"),
                maps_to_code=text(m, "MapsToCode"),
                maps_to_title=text(m, "MapsToTitle"),
                is_equivalent=flag(m, "IsEquivalent"),
                notes=text(m, "Notes"),
            )
            for m in items(result, "MappingInformation", "Mapping")
        ],
    )


def read_deleted(response: etree._Element) -> list[DeletedComponent]:
    """``SearchDeletedByDeletedDateResult`` (XSD ``ArrayOfDeletedTrainingComponent``)."""
    return [
        DeletedComponent(
            national_code=text(d, "NationalCode") or "",
            operation=text(d, "Operation") or "",
            updated_at=date_time_offset(d, "UpdatedDate"),
        )
        for d in items(response, "SearchDeletedByDeletedDateResult", "DeletedTrainingComponent")
    ]


def read_server_time(response: etree._Element) -> dt.datetime:
    """``GetServerTimeResult`` (XSD ``dateTime``) as aware UTC.

    Raises:
        TgaTransportError: the element is missing.
    """
    raw = text(response, "GetServerTimeResult")
    if not raw:
        raise TgaTransportError("GetServerTimeResult is missing", operation="GetServerTime")
    return parse_date_time(raw)


__all__ = [
    "SearchReply",
    "read_deleted",
    "read_details",
    "read_reply",
    "read_search_result",
    "read_server_time",
]
