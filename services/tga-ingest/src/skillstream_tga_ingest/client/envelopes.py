"""SOAP 1.1 envelopes of ``TrainingComponentService``: build requests, read replies and faults (lxml only).

Shapes follow the real 2013 WSDL/XSDs (``real-data/tga/wsdl/TrainingComponentService-production-2013/``;
TGA-FORMAT.md §1.3): document/literal, operation element in ``http://training.gov.au/services/`` holding one
``request``; WCF data-contract members in alphabetical ``xs:sequence`` order; ``DateTimeOffset`` as
``DateTime`` + ``OffsetMinutes`` in ``http://schemas.datacontract.org/2004/07/System``. The header is a
WS-Security ``UsernameToken`` with a ``PasswordText`` password and no Timestamp, as the non-.NET clients send
it (TGA-FORMAT.md §1.2). Every value is set as element text by lxml, never spliced into markup.

Replies are parsed with entity resolution, DTD loading and network access off. A ``<s:Fault>`` becomes a
:class:`TgaSoapFault` subclass (see ``errors.py``); a reply that is not a SOAP envelope becomes a transient
:class:`TgaTransportError`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import NamedTuple

from lxml import etree
from pydantic import SecretStr

from skillstream_tga_ingest.client.errors import (
    TgaAuthError,
    TgaMessageTooLarge,
    TgaSoapFault,
    TgaTransportError,
    TgaValidationFault,
    ValidationErrorDetail,
)
from skillstream_tga_ingest.client.models import (
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

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
PASSWORD_TEXT = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText"  # noqa: S105 - a URI
TGA = "http://training.gov.au/services/"
SYSTEM = "http://schemas.datacontract.org/2004/07/System"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
SOAP_ACTION_PREFIX = TGA + "ITrainingComponentService/"
CONTENT_TYPE = "text/xml; charset=utf-8"

# XSD TrainingComponentTypeFilter members, in schema order, keyed by the TrainingComponentTypes value they include.
COMPONENT_TYPE_FLAGS: dict[str, str] = {
    "AccreditedCourse": "IncludeAccreditedCourse",
    "AccreditedCourseModule": "IncludeAccreditedCourseModule",
    "Qualification": "IncludeQualification",
    "SkillSet": "IncludeSkillSet",
    "TrainingPackage": "IncludeTrainingPackage",
    "Unit": "IncludeUnit",
    "UnitContextualisation": "IncludeUnitContextualisation",
}
# XSD TrainingComponentInformationRequested members in schema order.
_INFORMATION_FLAGS = (
    "ShowClassifications",
    "ShowCompletionMapping",
    "ShowComponents",
    "ShowContacts",
    "ShowCurrencyPeriods",
    "ShowDataManagers",
    "ShowFiles",
    "ShowMappingInformation",
    "ShowRecognitionManagers",
    "ShowReleases",
    "ShowUnitGrid",
    "ShowUsageRecommendation",
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


def soap_action(operation: str) -> str:
    """The quoted ``SOAPAction`` header of an operation (WSDL ``soap:operation/@soapAction``)."""
    return f'"{SOAP_ACTION_PREFIX}{operation}"'


# --- requests -------------------------------------------------------------------------------------------------


def _tga(parent: etree._Element, name: str, text: str | None = None) -> etree._Element:
    element = etree.SubElement(parent, f"{{{TGA}}}{name}")
    if text is not None:
        element.text = text
    return element


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _operation(name: str) -> tuple[etree._Element, etree._Element]:
    """The operation element and its ``request`` child."""
    operation = etree.Element(f"{{{TGA}}}{name}", nsmap={None: TGA})
    return operation, _tga(operation, "request")


def _paging(request: etree._Element, page_number: int, page_size: int) -> None:
    # XSD AbstractPageRequest comes first: extensions append their members after the base sequence.
    _tga(request, "PageNumber", str(page_number))
    _tga(request, "PageSize", str(page_size))


def _date_time_offset(parent: etree._Element, name: str, value: dt.datetime) -> None:
    """WCF ``DateTimeOffset``: ``DateTime`` is the UTC instant, ``OffsetMinutes`` the caller's offset (as the
    .NET DataContractSerializer writes it)."""
    offset = value.utcoffset()
    if offset is None:
        raise ValueError(f"{name} must be timezone-aware, got {value!r}")
    element = etree.SubElement(parent, f"{{{TGA}}}{name}", nsmap={"a": SYSTEM})
    utc = value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    etree.SubElement(element, f"{{{SYSTEM}}}DateTime").text = utc
    etree.SubElement(element, f"{{{SYSTEM}}}OffsetMinutes").text = str(int(offset.total_seconds() // 60))


def _window(request: etree._Element, start: dt.datetime, end: dt.datetime | None) -> None:
    """``EndDate`` (omitted when None = open) then ``StartDate``: the XSD's alphabetical member order."""
    if end is not None:
        _date_time_offset(request, "EndDate", end)
        if end < start:
            raise ValueError(f"the window ends ({end.isoformat()}) before it starts ({start.isoformat()})")
    _date_time_offset(request, "StartDate", start)


def _type_filter(request: etree._Element, types: Iterable[str]) -> None:
    wanted = set(types)
    unknown = wanted - COMPONENT_TYPE_FLAGS.keys()
    if unknown:
        raise ValueError(f"unknown TrainingComponentTypes {sorted(unknown)}; known: {sorted(COMPONENT_TYPE_FLAGS)}")
    if not wanted:
        raise ValueError("at least one training component type is needed")
    element = _tga(request, "TrainingComponentTypes")
    for type_name, flag in COMPONENT_TYPE_FLAGS.items():
        _tga(element, flag, _bool(type_name in wanted))


def get_details_request(
    code: str,
    *,
    releases: bool = True,
    files: bool = True,
    unit_grid: bool = True,
    components: bool = False,
    usage: bool = True,
    mappings: bool = True,
) -> etree._Element:
    """``GetDetails`` (XSD ``TrainingComponentDetailsRequest``): ``Code`` + ``InformationRequest`` flags."""
    if not code.strip():
        raise ValueError("GetDetails needs a training component code")
    operation, request = _operation("GetDetails")
    _tga(request, "Code", code.strip())
    wanted = {
        "ShowComponents": components,
        "ShowFiles": files,
        "ShowMappingInformation": mappings,
        "ShowReleases": releases or files or unit_grid or components,  # files/grid/components live in releases
        "ShowUnitGrid": unit_grid,
        "ShowUsageRecommendation": usage,
    }
    information = _tga(request, "InformationRequest")
    for flag in _INFORMATION_FLAGS:
        _tga(information, flag, _bool(wanted.get(flag, False)))
    return operation


def search_request(
    types: Iterable[str],
    *,
    page_number: int,
    page_size: int,
    filter_text: str = "",
    search_code: bool | None = None,
    search_title: bool | None = None,
    include_superseded: bool = False,
    include_deleted: bool = False,
) -> etree._Element:
    """``Search`` (XSD ``TrainingComponentSearchRequest``; ``IncludeSuperseeded`` is TGA's spelling)."""
    operation, request = _operation("Search")
    _paging(request, page_number, page_size)
    _tga(request, "Filter", filter_text)  # required (nillable); "" = no filter
    _tga(request, "IncludeDeleted", _bool(include_deleted))
    _tga(request, "IncludeSuperseeded", _bool(include_superseded))
    if search_code is not None:
        _tga(request, "SearchCode", _bool(search_code))
    if search_title is not None:
        _tga(request, "SearchTitle", _bool(search_title))
    _type_filter(request, types)
    return operation


def modified_search_request(
    start: dt.datetime, end: dt.datetime | None, types: Iterable[str], *, page_number: int, page_size: int
) -> etree._Element:
    """``SearchByModifiedDate`` (XSD ``TrainingComponentModifiedSearchRequest``); ``end`` None = open window."""
    operation, request = _operation("SearchByModifiedDate")
    _paging(request, page_number, page_size)
    _window(request, start, end)
    _type_filter(request, types)
    return operation


def deleted_search_request(
    start: dt.datetime, end: dt.datetime | None, *, page_number: int, page_size: int
) -> etree._Element:
    """``SearchDeletedByDeletedDate`` (XSD ``DeletedSearchRequest``, paged like duyen0629's client)."""
    operation, request = _operation("SearchDeletedByDeletedDate")
    _paging(request, page_number, page_size)
    _window(request, start, end)
    return operation


def server_time_request() -> etree._Element:
    """``GetServerTime`` (empty sequence)."""
    return etree.Element(f"{{{TGA}}}GetServerTime", nsmap={None: TGA})


def envelope(operation: etree._Element, username: str, password: SecretStr) -> bytes:
    """The UTF-8 SOAP 1.1 envelope: WS-Security header (``mustUnderstand="1"``) + ``operation`` in the Body.
    Holds the password in clear text (PasswordText over HTTPS): never log it."""
    root = etree.Element(f"{{{SOAP_ENV}}}Envelope", nsmap={"s": SOAP_ENV})
    header = etree.SubElement(root, f"{{{SOAP_ENV}}}Header")
    security = etree.SubElement(header, f"{{{WSSE}}}Security", nsmap={"o": WSSE})
    security.set(f"{{{SOAP_ENV}}}mustUnderstand", "1")
    token = etree.SubElement(security, f"{{{WSSE}}}UsernameToken")
    etree.SubElement(token, f"{{{WSSE}}}Username").text = username
    secret = etree.SubElement(token, f"{{{WSSE}}}Password", Type=PASSWORD_TEXT)
    secret.text = password.get_secret_value()
    etree.SubElement(root, f"{{{SOAP_ENV}}}Body").append(operation)
    return etree.tostring(root, xml_declaration=True, encoding="utf-8")


# --- replies --------------------------------------------------------------------------------------------------

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
    text = (element.text or "").strip() if element is not None else ""
    if not text:
        return None
    prefix, _, local = text.rpartition(":")
    namespace = element.nsmap.get(prefix or None) if element is not None else None
    return f"{{{namespace}}}{local}" if namespace else local


def _validation_error(element: etree._Element) -> ValidationErrorDetail:
    return ValidationErrorDetail(
        code=_text(element, "Code"),
        message=_text(element, "Message"),
        severity=_text(element, "Severity"),
        sub_code=_text(element, "SubCode"),
        validation_target=_text(element, "ValidationTarget"),
        context=_text(element, "Context"),
    )


def _child(parent: etree._Element, name: str) -> etree._Element | None:
    element = parent.find(f"{{{TGA}}}{name}")
    if element is None or element.get(f"{{{XSI}}}nil") == "true":
        return None
    return element


def _text(parent: etree._Element, name: str) -> str | None:
    element = _child(parent, name)
    return None if element is None or element.text is None else element.text.strip()


def _items(parent: etree._Element, array: str, item: str) -> list[etree._Element]:
    container = _child(parent, array)
    if container is None:
        return []
    return [e for e in container.iterfind(f"{{{TGA}}}{item}") if e.get(f"{{{XSI}}}nil") != "true"]


def _int(parent: etree._Element, name: str) -> int | None:
    text = _text(parent, name)
    return None if not text else int(text)


def _flag(parent: etree._Element, name: str) -> bool | None:
    text = _text(parent, name)
    return None if text is None else text in {"true", "1"}


def _date(parent: etree._Element, name: str) -> dt.date | None:
    """XSD ``date`` (``2012-05-01``, maybe with a zone) or a dateTime string; the calendar date is kept."""
    text = _text(parent, name)
    try:
        return dt.date.fromisoformat(text[:10]) if text else None
    except ValueError:
        return None  # ReleaseComponent.ReleaseDate is an xs:string: tolerate what is not a date


def parse_date_time(text: str) -> dt.datetime:
    """XSD ``dateTime`` as an aware UTC datetime; .NET's 7 fraction digits are fine; no zone is read as UTC."""
    value = dt.datetime.fromisoformat(text.strip())
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def _offset(parent: etree._Element, name: str) -> dt.datetime | None:
    element = _child(parent, name)
    text = None if element is None else element.findtext(f"{{{SYSTEM}}}DateTime")
    return parse_date_time(text) if text else None


def _summary(element: etree._Element) -> ComponentSummary:
    # xsi:type TrainingComponentSummary2/3 only append members, so reading by name covers them all.
    return ComponentSummary(
        code=_text(element, "Code") or "",
        title=_text(element, "Title") or "",
        component_types=(_text(element, "ComponentType") or "").split(),
        is_current=_flag(element, "IsCurrent"),
        usage_recommendation=_text(element, "UsageReccomendation"),
        created_at=_offset(element, "CreatedDate"),
        updated_at=_offset(element, "UpdatedDate"),
    )


def read_search_result(response: etree._Element, operation: str) -> SearchReply:
    """``SearchResult`` / ``SearchByModifiedDateResult`` (XSD ``TrainingComponentSearchResult``)."""
    result = _child(response, f"{operation}Result")
    if result is None:
        return SearchReply(total=None, page_number=None, page_size=None, results=[])
    return SearchReply(
        total=_int(result, "Count"),
        page_number=_int(result, "PageNumber"),
        page_size=_int(result, "PageSize"),
        results=[_summary(e) for e in _items(result, "Results", "TrainingComponentSummary")],
    )


def _release(element: etree._Element) -> Release:
    return Release(
        release_number=_text(element, "ReleaseNumber") or "",
        release_date=_date(element, "ReleaseDate"),
        currency=_text(element, "Currency"),
        files=[
            ReleaseFile(relative_path=_text(f, "RelativePath") or "", size=_int(f, "Size"))
            for f in _items(element, "Files", "ReleaseFile")
        ],
        components=[
            ReleaseComponent(
                code=_text(c, "Code") or "",
                title=_text(c, "Title") or "",
                type=_text(c, "Type"),
                release_number=_text(c, "ReleaseNumber"),
                release_date=_date(c, "ReleaseDate"),
                currency=_text(c, "ReleaseCurrency"),
            )
            for c in _items(element, "Components", "ReleaseComponent")
        ],
        unit_grid=[  # IsEssential only on xsi:type UnitGridEntry3
            UnitGridEntry(
                code=_text(g, "Code") or "", title=_text(g, "Title") or "", is_essential=_flag(g, "IsEssential")
            )
            for g in _items(element, "UnitGrid", "UnitGridEntry")
        ],
    )


def read_details(response: etree._Element, *, code: str) -> ComponentDetails:
    """``GetDetailsResult`` (XSD ``TrainingComponent``, maybe xsi:type ``TrainingComponent2/3``).

    Raises:
        TgaTransportError: the result is nil (no such component gives a ValidationFault, not this).
    """
    result = _child(response, "GetDetailsResult")
    if result is None:
        raise TgaTransportError("GetDetailsResult is empty", operation="GetDetails", component=code)
    return ComponentDetails(
        code=_text(result, "Code") or code,
        title=_text(result, "Title") or "",
        component_types=(_text(result, "ComponentType") or "").split(),
        parent_code=_text(result, "ParentCode"),
        parent_title=_text(result, "ParentTitle"),
        created_at=_offset(result, "CreatedDate"),
        updated_at=_offset(result, "UpdatedDate"),
        releases=[_release(r) for r in _items(result, "Releases", "Release")],
        usage_recommendations=[
            UsageRecommendationPeriod(
                state=_text(u, "State") or "", start_date=_date(u, "StartDate"), end_date=_date(u, "EndDate")
            )
            for u in _items(result, "UsageRecommendations", "UsageRecommendation")
        ],
        mappings=[
            Mapping(
                code=_text(m, "Code") or "",
                title=_text(m, "Title"),
                maps_to_code=_text(m, "MapsToCode"),
                maps_to_title=_text(m, "MapsToTitle"),
                is_equivalent=_flag(m, "IsEquivalent"),
                notes=_text(m, "Notes"),
            )
            for m in _items(result, "MappingInformation", "Mapping")
        ],
    )


def read_deleted(response: etree._Element) -> list[DeletedComponent]:
    """``SearchDeletedByDeletedDateResult`` (XSD ``ArrayOfDeletedTrainingComponent``)."""
    return [
        DeletedComponent(
            national_code=_text(d, "NationalCode") or "",
            operation=_text(d, "Operation") or "",
            updated_at=_offset(d, "UpdatedDate"),
        )
        for d in _items(response, "SearchDeletedByDeletedDateResult", "DeletedTrainingComponent")
    ]


def read_server_time(response: etree._Element) -> dt.datetime:
    """``GetServerTimeResult`` (XSD ``dateTime``) as aware UTC.

    Raises:
        TgaTransportError: the element is missing.
    """
    text = _text(response, "GetServerTimeResult")
    if not text:
        raise TgaTransportError("GetServerTimeResult is missing", operation="GetServerTime")
    return parse_date_time(text)


__all__ = [
    "COMPONENT_TYPE_FLAGS",
    "CONTENT_TYPE",
    "SOAP_ACTION_PREFIX",
    "SearchReply",
    "deleted_search_request",
    "envelope",
    "get_details_request",
    "modified_search_request",
    "parse_date_time",
    "read_deleted",
    "read_details",
    "read_reply",
    "read_search_result",
    "read_server_time",
    "search_request",
    "server_time_request",
    "soap_action",
]
