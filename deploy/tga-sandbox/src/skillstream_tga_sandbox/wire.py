"""Write the SOAP 1.1 replies: envelopes, faults and the XSD types of ``TrainingComponentService.xsd``.

Element names, order and nillability follow the real XSD (real-data/tga/wsdl/…-production-2013/). As WCF's
DataContractSerializer does, nillable members with no value are written ``i:nil="true"`` rather than left
out; non-nillable optional members with no value (``Release/ReleaseDate``) are left out. Types the base
XSD type lacks a field for are written with ``i:type`` of the derived type (``UnitGridEntry3`` carries
``IsEssential``, TGA-FORMAT.md §1.2). ``DateTimeOffset`` = ``DateTime`` in UTC + ``OffsetMinutes``, in
the ``System`` data-contract namespace. Successful replies carry the WS-Security ``Timestamp`` header that
WCF adds under TransportWithMessageCredential (the WSDL policy's ``sp:IncludeTimestamp``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from lxml import etree

from skillstream_tga_sandbox.catalogue import Component, ComponentType, GridEntry
from skillstream_tga_sandbox.errors import SECEXT_NS, SoapFault

SOAP_NS = "http://schemas.xmlsoap.org/soap/envelope/"
TNS = "http://training.gov.au/services/"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
SYSTEM_NS = "http://schemas.datacontract.org/2004/07/System"
WSU_NS = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
_NIL = f"{{{XSI_NS}}}nil"
_TYPE = f"{{{XSI_NS}}}type"
_PAYLOAD_NSMAP = {None: TNS, "i": XSI_NS, "b": SYSTEM_NS}


@dataclass(frozen=True, slots=True)
class ComponentView:
    """A component as the sandbox serves it now: its ``updated`` date (maybe bumped through the control
    API) and ``usage`` (``Deleted`` once logically deleted); ``deleted`` is the deletion date if any."""

    component: Component
    updated: dt.datetime
    usage: str
    deleted: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class DetailFlags:
    """XSD ``TrainingComponentInformationRequested`` (all default False)."""

    releases: bool = False
    files: bool = False
    unit_grid: bool = False
    components: bool = False
    usage_recommendation: bool = False
    mapping_information: bool = False
    classifications: bool = False
    completion_mapping: bool = False
    contacts: bool = False
    currency_periods: bool = False
    data_managers: bool = False
    recognition_managers: bool = False


def _add(parent: etree._Element, name: str, text: str | None = None) -> etree._Element:
    element = etree.SubElement(parent, f"{{{TNS}}}{name}")
    if text is not None:
        element.text = text
    return element


def _nil(parent: etree._Element, name: str) -> etree._Element:
    element = _add(parent, name)
    element.set(_NIL, "true")
    return element


def _opt(parent: etree._Element, name: str, text: str | None) -> etree._Element:
    return _nil(parent, name) if text is None else _add(parent, name, text)


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _utc(when: dt.datetime) -> str:
    text = (
        when.astimezone(dt.UTC)
        .replace(tzinfo=None)
        .isoformat(timespec="milliseconds" if when.microsecond else "seconds")
    )
    return text + "Z"


def _offset(parent: etree._Element, name: str, when: dt.datetime) -> None:
    """XSD ``System:DateTimeOffset``: the instant in UTC and the offset it was recorded at."""
    element = _add(parent, name)
    etree.SubElement(element, f"{{{SYSTEM_NS}}}DateTime").text = _utc(when)
    offset = when.utcoffset() or dt.timedelta()
    etree.SubElement(element, f"{{{SYSTEM_NS}}}OffsetMinutes").text = str(int(offset.total_seconds() // 60))


def _array(parent: etree._Element, name: str, wanted: bool) -> etree._Element | None:
    """An ``ArrayOf…`` member: the (maybe empty) list when requested, else ``i:nil``."""
    if not wanted:
        _nil(parent, name)
        return None
    return _add(parent, name)


def payload(name: str) -> etree._Element:
    """An operation's response element (``SearchResponse``…) with the namespaces WCF declares."""
    return etree.Element(f"{{{TNS}}}{name}", nsmap=_PAYLOAD_NSMAP)


def search_result(
    operation: str, rows: Sequence[ComponentView], count: int, page_number: int, page_size: int, pad_bytes: int
) -> etree._Element:
    """``{operation}Response/{operation}Result`` (XSD ``TrainingComponentSearchResult``). ``pad_bytes`` of
    whitespace follow each summary (the message-too-large fault; whitespace is allowed between elements)."""
    root = payload(f"{operation}Response")
    result = _add(root, "SearchResult" if operation == "Search" else f"{operation}Result")
    _add(result, "Count", str(count))
    _add(result, "PageNumber", str(page_number))
    _add(result, "PageSize", str(page_size))
    results = _add(result, "Results")
    for view in rows:
        summary = _add(results, "TrainingComponentSummary")
        component = view.component
        _add(summary, "Code", component.code)
        _add(summary, "ComponentType", component.component_type.value)
        _offset(summary, "CreatedDate", component.modified)
        _add(summary, "IsConfidential", "false")
        _add(summary, "IsCurrent", _bool(view.usage == "Current"))
        _add(summary, "Title", component.title)
        _offset(summary, "UpdatedDate", view.updated)
        _add(summary, "UsageReccomendation", view.usage)  # sic: the XSD's spelling
        if pad_bytes:
            summary.tail = " " * pad_bytes
    return root


def _release_component(parent: etree._Element, member: Component) -> None:
    """XSD ``ReleaseComponent`` (its ``ReleaseDate`` is an xs:string, nil when unknown)."""
    entry = _add(parent, "ReleaseComponent")
    _add(entry, "Code", member.code)
    _opt(entry, "ReleaseCurrency", member.currency)
    _opt(entry, "ReleaseDate", member.release_date.isoformat() if member.release_date else None)
    _opt(entry, "ReleaseNumber", member.release_number)
    _add(entry, "Title", member.title)
    _add(entry, "Type", member.component_type.value)


def _release(
    parent: etree._Element,
    view: ComponentView,
    flags: DetailFlags,
    members: Iterable[ComponentView],
    grid: Sequence[GridEntry] | None,
) -> None:
    component = view.component
    release = _add(_add(parent, "Releases"), "Release")
    _nil(release, "ApprovalProcess")
    is_package = component.component_type is ComponentType.TRAINING_PACKAGE
    components = _array(release, "Components", flags.components and is_package)
    if components is not None:
        for member in members:
            _release_component(components, member.component)
    _opt(release, "Currency", component.currency)
    files = _array(release, "Files", flags.files)
    if files is not None and component.file is not None:
        release_file = _add(files, "ReleaseFile")
        _add(release_file, "RelativePath", component.file.relative_path)
        _add(release_file, "Size", str(component.file.size))
    for name in ("IscApprovalDate", "MinisterialAgreementDate", "NqcEndorsementDate"):
        _nil(release, name)
    if component.release_date is not None:
        _add(release, "ReleaseDate", component.release_date.isoformat())
    _opt(release, "ReleaseNumber", component.release_number)
    unit_grid = _array(release, "UnitGrid", flags.unit_grid and grid is not None)
    if unit_grid is not None and grid is not None:
        for unit in grid:
            entry = _add(unit_grid, "UnitGridEntry")
            entry.set(_TYPE, "UnitGridEntry3")
            _add(entry, "Code", unit.code)
            _opt(entry, "Title", unit.title)
            _add(entry, "IsEssential", _bool(unit.is_essential))


def _usage_recommendations(parent: etree._Element, view: ComponentView) -> None:
    """XSD ``UsageRecommendation`` periods: the stated usage from the release date (nil if unknown),
    then ``Deleted`` from the deletion date once the component was logically deleted."""
    periods = _add(parent, "UsageRecommendations")
    released = view.component.release_date.isoformat() if view.component.release_date else None
    stated = view.component.usage
    ended = view.deleted.astimezone(dt.UTC).date().isoformat() if view.deleted else None
    for state, start, end in [(stated, released, ended), *([("Deleted", ended, None)] if ended else [])]:
        period = _add(periods, "UsageRecommendation")
        _opt(period, "EndDate", end)
        _opt(period, "StartDate", start)
        _add(period, "State", state)


def details(
    view: ComponentView,
    flags: DetailFlags,
    parent_title: str | None,
    members: Sequence[ComponentView],
    grid: Sequence[GridEntry] | None,
) -> etree._Element:
    """``GetDetailsResponse/GetDetailsResult`` (XSD ``TrainingComponent``) with only what ``flags`` asks
    for: ``Releases`` (with ``Files``/``UnitGrid``/``Components`` inside), ``UsageRecommendations``,
    ``MappingInformation`` (what the component supersedes, ``catalogue.Component.mappings``) and the other
    lists (empty: the real data holds none of them)."""
    component = view.component
    root = payload("GetDetailsResponse")
    result = _add(root, "GetDetailsResult")
    _array(result, "Classifications", flags.classifications)
    _add(result, "Code", component.code)
    _array(result, "CompletionMapping", flags.completion_mapping)
    _add(result, "ComponentType", component.component_type.value)
    _array(result, "Contacts", flags.contacts)
    _offset(result, "CreatedDate", component.modified)
    _array(result, "CurrencyPeriods", flags.currency_periods)
    _array(result, "DataManagers", flags.data_managers)
    _add(result, "IsConfidential", "false")
    _nil(result, "IscOrganisationCode")
    mappings = _array(result, "MappingInformation", flags.mapping_information)
    for m in component.mappings if mappings is not None else ():
        mapping = _add(mappings, "Mapping")  # type: ignore[arg-type]  # not None: the loop is empty then
        _add(mapping, "Code", m.code)
        if m.is_equivalent is not None:  # minOccurs=0, not nillable: left out when the statement does not say
            _add(mapping, "IsEquivalent", _bool(m.is_equivalent))
        _add(mapping, "MapsToCode", m.maps_to_code)
        _opt(mapping, "MapsToTitle", m.maps_to_title)
        _add(mapping, "Notes", m.notes)
        _opt(mapping, "Title", m.title)
    _opt(result, "ParentCode", component.parent_code)
    _opt(result, "ParentTitle", parent_title)
    _array(result, "RecognitionManagers", flags.recognition_managers)
    if flags.releases:
        _release(result, view, flags, members, grid)
    else:
        _nil(result, "Releases")
    _add(result, "Title", component.title)
    _offset(result, "UpdatedDate", view.updated)
    if flags.usage_recommendation:
        _usage_recommendations(result, view)
    else:
        _nil(result, "UsageRecommendations")
    return root


def deleted_result(rows: Iterable[tuple[str, str, dt.datetime]]) -> etree._Element:
    """``SearchDeletedByDeletedDateResponse`` (XSD ``ArrayOfDeletedTrainingComponent``) from
    ``(national code, PhysicalDelete|LogicalDelete, deleted at)`` rows."""
    root = payload("SearchDeletedByDeletedDateResponse")
    result = _add(root, "SearchDeletedByDeletedDateResult")
    for code, operation, when in rows:
        entry = _add(result, "DeletedTrainingComponent")
        _add(entry, "NationalCode", code)
        _add(entry, "Operation", operation)
        _offset(entry, "UpdatedDate", when)
    return root


def server_time(now: dt.datetime) -> etree._Element:
    """``GetServerTimeResponse/GetServerTimeResult``: xs:dateTime with the server's offset, as WCF writes a
    local ``DateTime``."""
    root = payload("GetServerTimeResponse")
    _add(root, "GetServerTimeResult", now.isoformat())
    return root


def _security_header(envelope: etree._Element, now: dt.datetime) -> None:
    header = etree.SubElement(envelope, f"{{{SOAP_NS}}}Header")
    security = etree.SubElement(header, f"{{{SECEXT_NS}}}Security", nsmap={"o": SECEXT_NS})
    security.set(f"{{{SOAP_NS}}}mustUnderstand", "1")
    stamp = etree.SubElement(security, f"{{{WSU_NS}}}Timestamp", nsmap={"u": WSU_NS})
    stamp.set(f"{{{WSU_NS}}}Id", "_0")
    etree.SubElement(stamp, f"{{{WSU_NS}}}Created").text = _utc(now.replace(microsecond=now.microsecond // 1000 * 1000))
    expires = now + dt.timedelta(minutes=5)
    etree.SubElement(stamp, f"{{{WSU_NS}}}Expires").text = _utc(
        expires.replace(microsecond=expires.microsecond // 1000 * 1000)
    )


def envelope(body: etree._Element, now: dt.datetime, *, security_header: bool = True) -> bytes:
    """``s:Envelope`` (SOAP 1.1) around ``body``, UTF-8, no XML declaration (as WCF sends)."""
    root = etree.Element(f"{{{SOAP_NS}}}Envelope", nsmap={"s": SOAP_NS})
    if security_header:
        _security_header(root, now)
    etree.SubElement(root, f"{{{SOAP_NS}}}Body").append(body)
    return etree.tostring(root, encoding="utf-8")


def validation_fault_detail(fault: SoapFault) -> etree._Element:
    """XSD ``ValidationFault`` element: ``Errors/ValidationError`` {Code, Message, Severity, SubCode,
    ValidationTarget, Context}."""
    root = etree.Element(f"{{{TNS}}}ValidationFault", nsmap={None: TNS, "i": XSI_NS})
    errors = _add(root, "Errors")
    for item in fault.errors:
        error = _add(errors, "ValidationError")
        _add(error, "Code", item.code)
        _add(error, "Message", item.message)
        _add(error, "Severity", item.severity)
        _nil(error, "SubCode")
        _opt(error, "ValidationTarget", item.validation_target)
        _nil(error, "Context")
    return root


def fault_envelope(fault: SoapFault, now: dt.datetime) -> bytes:
    """``s:Fault`` {faultcode, faultstring xml:lang, detail} as WCF writes it for SOAP 1.1."""
    fault_element = etree.Element(f"{{{SOAP_NS}}}Fault", nsmap={"s": SOAP_NS})
    if fault.code_ns is None:
        etree.SubElement(fault_element, "faultcode").text = f"s:{fault.code}"
    else:
        etree.SubElement(fault_element, "faultcode", nsmap={"a": fault.code_ns}).text = f"a:{fault.code}"
    reason = etree.SubElement(fault_element, "faultstring")
    reason.set("{http://www.w3.org/XML/1998/namespace}lang", "en-AU")
    reason.text = fault.faultstring
    if fault.errors:
        etree.SubElement(fault_element, "detail").append(validation_fault_detail(fault))
    return envelope(fault_element, now, security_header=fault.with_security_header)


__all__ = [
    "SOAP_NS",
    "SYSTEM_NS",
    "TNS",
    "XSI_NS",
    "ComponentView",
    "DetailFlags",
    "deleted_result",
    "details",
    "envelope",
    "fault_envelope",
    "payload",
    "search_result",
    "server_time",
    "validation_fault_detail",
]
