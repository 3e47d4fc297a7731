"""SOAP 1.1 request envelopes of ``TrainingComponentService``: operation bodies and the WS-Security header.

Shapes follow the real 2013 WSDL/XSDs (``real-data/tga/wsdl/TrainingComponentService-production-2013/``;
TGA-FORMAT.md §1.3): document/literal, operation element in ``http://training.gov.au/services/`` holding one
``request``; WCF data-contract members in alphabetical ``xs:sequence`` order; ``DateTimeOffset`` as
``DateTime`` + ``OffsetMinutes`` in ``http://schemas.datacontract.org/2004/07/System``. The header is a
WS-Security ``UsernameToken`` with a ``PasswordText`` password and no Timestamp, as the non-.NET clients send
it (TGA-FORMAT.md §1.2). Every value is set as element text by lxml, never spliced into markup.

Builders raise ``ValueError`` on arguments TGA would refuse (naive datetimes, unknown component types…) before
anything is sent. Replies are read by ``replies.py``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from lxml import etree
from pydantic import SecretStr

from skillstream_tga_ingest.adapters.client.namespaces import SOAP_ENV, SYSTEM, TGA, WSSE

PASSWORD_TEXT = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText"  # noqa: S105 - a URI
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


def soap_action(operation: str) -> str:
    """The quoted ``SOAPAction`` header of an operation (WSDL ``soap:operation/@soapAction``)."""
    return f'"{SOAP_ACTION_PREFIX}{operation}"'


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


__all__ = [
    "COMPONENT_TYPE_FLAGS",
    "CONTENT_TYPE",
    "SOAP_ACTION_PREFIX",
    "deleted_search_request",
    "envelope",
    "get_details_request",
    "modified_search_request",
    "search_request",
    "server_time_request",
    "soap_action",
]
