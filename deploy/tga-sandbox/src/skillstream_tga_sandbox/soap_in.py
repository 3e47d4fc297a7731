"""Read SOAP 1.1 requests: the envelope, the WS-Security UsernameToken, the operation, its request fields.

Parsing is namespace-aware: the operation element and its fields must be in
``http://training.gov.au/services/`` (the unversioned contract, TGA-FORMAT.md §1.1), dates in the WCF
``System`` namespace. The operation comes from the ``SOAPAction`` header
(``http://training.gov.au/services/ITrainingComponentService/<Op>``) or, when that is empty, from the body
element. Field shapes: XSD ``TrainingComponentSearchRequest``, ``TrainingComponentModifiedSearchRequest``,
``DeletedSearchRequest``, ``TrainingComponentDetailsRequest`` (TGA-FORMAT.md §1.3).
"""

from __future__ import annotations

import datetime as dt
import hmac
import re
from dataclasses import dataclass

from lxml import etree

from skillstream_tga_sandbox.errors import SECEXT_NS, ActionNotSupported, DeserializationFailed, InvalidSecurity
from skillstream_tga_sandbox.wire import SOAP_NS, SYSTEM_NS, TNS, XSI_NS, DetailFlags

ACTION_PREFIX = TNS + "ITrainingComponentService/"
OPERATIONS = ("GetDetails", "GetServerTime", "Search", "SearchByModifiedDate", "SearchDeletedByDeletedDate")
"""The operations the sandbox serves; the contract's others (Add, Update, GetLookup…) are refused like an
unknown action."""
_PLAINTEXT_TYPE = "#PasswordText"  # WSS UsernameToken Profile 1.0 password Type
_TYPE_FILTER = {
    "IncludeAccreditedCourse": "AccreditedCourse",
    "IncludeAccreditedCourseModule": "AccreditedCourseModule",
    "IncludeQualification": "Qualification",
    "IncludeSkillSet": "SkillSet",
    "IncludeTrainingPackage": "TrainingPackage",
    "IncludeUnit": "Unit",
    "IncludeUnitContextualisation": "UnitContextualisation",
}
_DATETIME = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)?$")


@dataclass(frozen=True, slots=True)
class SoapRequest:
    """A read envelope: ``body`` is the Body's first element; credentials as the UsernameToken states them."""

    body: etree._Element
    username: str | None
    password: str | None
    password_type: str | None


@dataclass(frozen=True, slots=True)
class Paging:
    """XSD ``AbstractPageRequest``: None where the request sent no (or a nil) value."""

    page_number: int | None
    page_size: int | None


@dataclass(frozen=True, slots=True)
class SearchRequest:
    """XSD ``TrainingComponentSearchRequest``. ``types``: the ``TrainingComponentTypes`` names asked for,
    None when the filter is absent or selects nothing (then every type is searched)."""

    filter: str
    search_code: bool
    search_title: bool
    include_deleted: bool
    include_superseded: bool
    types: frozenset[str] | None
    paging: Paging


@dataclass(frozen=True, slots=True)
class ModifiedSearchRequest:
    """XSD ``TrainingComponentModifiedSearchRequest`` (DataManagerFilter is ignored: no data managers)."""

    start: dt.datetime | None
    end: dt.datetime | None
    types: frozenset[str] | None
    paging: Paging


@dataclass(frozen=True, slots=True)
class DeletedSearchRequest:
    """XSD ``DeletedSearchRequest``."""

    start: dt.datetime | None
    end: dt.datetime | None
    paging: Paging


@dataclass(frozen=True, slots=True)
class DetailsRequest:
    """XSD ``TrainingComponentDetailsRequest``; ``code`` upper-cased, "" when absent."""

    code: str
    flags: DetailFlags


def read_envelope(data: bytes) -> SoapRequest:
    """Parse a SOAP 1.1 envelope (no entities, no network).

    Raises:
        DeserializationFailed: not XML (HTTP 400), not a SOAP 1.1 envelope, or an empty Body.
    """
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as e:
        raise DeserializationFailed(f"The request body is not well-formed XML: {e}", http_status=400) from e
    name = etree.QName(root)
    if (name.namespace, name.localname) != (SOAP_NS, "Envelope"):
        raise DeserializationFailed(f"Expected a SOAP 1.1 Envelope ({SOAP_NS}), found {name.text}", http_status=400)
    body = root.find(f"{{{SOAP_NS}}}Body")
    operation = next(iter(body.iterchildren(etree.Element)), None) if body is not None else None
    if operation is None:
        raise DeserializationFailed("The SOAP Body holds no operation element.")
    token = root.find(f"{{{SOAP_NS}}}Header/{{{SECEXT_NS}}}Security/{{{SECEXT_NS}}}UsernameToken")
    password = token.find(f"{{{SECEXT_NS}}}Password") if token is not None else None
    return SoapRequest(
        body=operation,
        username=token.findtext(f"{{{SECEXT_NS}}}Username") if token is not None else None,
        password=(password.text or "") if password is not None else None,
        password_type=password.get("Type") if password is not None else None,
    )


def check_credentials(request: SoapRequest, username: str, password: str) -> None:
    """Accept only the configured UsernameToken with a PasswordText (or untyped) password.

    Raises:
        InvalidSecurity: no token, a digest password, or a wrong name or password.
    """
    if request.username is None or request.password is None:
        raise InvalidSecurity
    if request.password_type and not request.password_type.endswith(_PLAINTEXT_TYPE):
        raise InvalidSecurity
    name_ok = hmac.compare_digest(request.username.encode(), username.encode())
    password_ok = hmac.compare_digest(request.password.encode(), password.encode())
    if not (name_ok and password_ok):
        raise InvalidSecurity


def operation_of(request: SoapRequest, soap_action: str | None) -> str:
    """The served operation this request calls.

    Raises:
        ActionNotSupported: the action (or, without one, the body element) names no served operation.
        DeserializationFailed: the body element does not match the action's operation.
    """
    action = (soap_action or "").strip().strip('"')
    qname = etree.QName(request.body)
    if not action:
        if qname.namespace == TNS and qname.localname in OPERATIONS:
            return qname.localname
        raise ActionNotSupported(action)
    operation = action.removeprefix(ACTION_PREFIX)
    if not action.startswith(ACTION_PREFIX) or operation not in OPERATIONS:
        raise ActionNotSupported(action)
    if qname.namespace != TNS or qname.localname != operation:
        raise DeserializationFailed(
            f"Error in deserializing body of request message for operation '{operation}'. OperationFormatter "
            f"encountered an invalid Message body. Expected to find node type 'Element' with name '{operation}' "
            f"and namespace '{TNS}'. Found node type 'Element' with name '{qname.localname}' and namespace "
            f"'{qname.namespace or ''}'"
        )
    return operation


def _child(parent: etree._Element | None, name: str) -> etree._Element | None:
    if parent is None:
        return None
    element = parent.find(f"{{{TNS}}}{name}")
    if element is None or element.get(f"{{{XSI_NS}}}nil") in {"true", "1"}:
        return None
    return element


def _text(parent: etree._Element | None, name: str) -> str | None:
    element = _child(parent, name)
    return None if element is None else (element.text or "").strip()


def _bool(parent: etree._Element | None, name: str) -> bool:
    value = _text(parent, name)
    if value in {None, "", "false", "0"}:
        return False
    if value in {"true", "1"}:
        return True
    raise DeserializationFailed(f"'{value}' is not a valid xs:boolean for {name}.")


def _int(parent: etree._Element | None, name: str) -> int | None:
    value = _text(parent, name)
    if not value:
        return None
    try:
        return int(value)
    except ValueError as e:
        raise DeserializationFailed(f"'{value}' is not a valid xs:int for {name}.") from e


def parse_datetime(text: str) -> dt.datetime:
    """An xs:dateTime (fractions of any length, ``Z``/offset/none); without an offset it is UTC, as WCF
    writes ``DateTimeOffset/DateTime``.

    Raises:
        ValueError: not an xs:dateTime.
    """
    match = _DATETIME.match(text.strip())
    if match is None:
        raise ValueError(f"not an xs:dateTime: {text!r}")
    base, fraction, zone = match.groups()
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    when = dt.datetime.fromisoformat(base).replace(microsecond=micro)
    if zone in {None, "Z"}:
        return when.replace(tzinfo=dt.UTC)
    sign = 1 if zone[0] == "+" else -1
    hours, minutes = int(zone[1:3]), int(zone[4:6])
    return when.replace(tzinfo=dt.timezone(sign * dt.timedelta(hours=hours, minutes=minutes)))


def _date_offset(parent: etree._Element | None, name: str) -> dt.datetime | None:
    element = _child(parent, name)
    if element is None:
        return None
    text = element.findtext(f"{{{SYSTEM_NS}}}DateTime")
    if not text:
        raise DeserializationFailed(f"{name} has no {{{SYSTEM_NS}}}DateTime.")
    try:
        return parse_datetime(text)
    except ValueError as e:
        raise DeserializationFailed(f"{name}: {e}") from e


def _types(parent: etree._Element | None) -> frozenset[str] | None:
    selected = frozenset(
        kind for flag, kind in _TYPE_FILTER.items() if _bool(_child(parent, "TrainingComponentTypes"), flag)
    )
    return selected or None


def _paging(request: etree._Element | None) -> Paging:
    return Paging(page_number=_int(request, "PageNumber"), page_size=_int(request, "PageSize"))


def search_request(operation: etree._Element) -> SearchRequest:
    """Read ``Search/request``. Raises DeserializationFailed on a malformed value."""
    request = _child(operation, "request")
    return SearchRequest(
        filter=_text(request, "Filter") or "",
        search_code=_bool(request, "SearchCode"),
        search_title=_bool(request, "SearchTitle"),
        include_deleted=_bool(request, "IncludeDeleted"),
        include_superseded=_bool(request, "IncludeSuperseeded"),  # sic: the XSD's spelling
        types=_types(request),
        paging=_paging(request),
    )


def modified_search_request(operation: etree._Element) -> ModifiedSearchRequest:
    """Read ``SearchByModifiedDate/request``. Raises DeserializationFailed on a malformed value."""
    request = _child(operation, "request")
    return ModifiedSearchRequest(
        start=_date_offset(request, "StartDate"),
        end=_date_offset(request, "EndDate"),
        types=_types(request),
        paging=_paging(request),
    )


def deleted_search_request(operation: etree._Element) -> DeletedSearchRequest:
    """Read ``SearchDeletedByDeletedDate/request``. Raises DeserializationFailed on a malformed value."""
    request = _child(operation, "request")
    return DeletedSearchRequest(
        start=_date_offset(request, "StartDate"), end=_date_offset(request, "EndDate"), paging=_paging(request)
    )


def details_request(operation: etree._Element) -> DetailsRequest:
    """Read ``GetDetails/request``. Raises DeserializationFailed on a malformed value."""
    request = _child(operation, "request")
    asked = _child(request, "InformationRequest")
    return DetailsRequest(
        code=(_text(request, "Code") or "").upper(),
        flags=DetailFlags(
            releases=_bool(asked, "ShowReleases"),
            files=_bool(asked, "ShowFiles"),
            unit_grid=_bool(asked, "ShowUnitGrid"),
            components=_bool(asked, "ShowComponents"),
            usage_recommendation=_bool(asked, "ShowUsageRecommendation"),
            mapping_information=_bool(asked, "ShowMappingInformation"),
            classifications=_bool(asked, "ShowClassifications"),
            completion_mapping=_bool(asked, "ShowCompletionMapping"),
            contacts=_bool(asked, "ShowContacts"),
            currency_periods=_bool(asked, "ShowCurrencyPeriods"),
            data_managers=_bool(asked, "ShowDataManagers"),
            recognition_managers=_bool(asked, "ShowRecognitionManagers"),
        ),
    )


__all__ = [
    "ACTION_PREFIX",
    "OPERATIONS",
    "DeletedSearchRequest",
    "DetailsRequest",
    "ModifiedSearchRequest",
    "Paging",
    "SearchRequest",
    "SoapRequest",
    "check_credentials",
    "deleted_search_request",
    "details_request",
    "modified_search_request",
    "operation_of",
    "parse_datetime",
    "read_envelope",
    "search_request",
]
