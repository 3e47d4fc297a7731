"""Reading XSD values out of ``TrainingComponentService`` reply elements (lxml only).

Every reader looks up a child in the ``http://training.gov.au/services/`` namespace by its XSD member name and
treats ``xsi:nil="true"`` as absent (most members are ``nillable="true"`` in ``TrainingComponentService.xsd``,
and that is how WCF writes a null one). An absent member reads as None; a malformed ``xs:int`` or
``xs:dateTime`` raises ``ValueError``, which the client turns into a
:class:`~skillstream_tga_ingest.adapters.client.errors.TgaTransportError` (not retried).
"""

from __future__ import annotations

import datetime as dt

from lxml import etree

from skillstream_tga_ingest.adapters.client.namespaces import SYSTEM, TGA, XSI


def child(parent: etree._Element, name: str) -> etree._Element | None:
    """The ``name`` child of ``parent``; None when missing or nil."""
    element = parent.find(f"{{{TGA}}}{name}")
    if element is None or element.get(f"{{{XSI}}}nil") == "true":
        return None
    return element


def text(parent: etree._Element, name: str) -> str | None:
    """The stripped text of the ``name`` child; None when missing, nil or empty-tagged."""
    element = child(parent, name)
    return None if element is None or element.text is None else element.text.strip()


def items(parent: etree._Element, array: str, item: str) -> list[etree._Element]:
    """The non-nil ``item`` elements of the ``array`` child (XSD ``ArrayOf…``); [] when the array is absent."""
    container = child(parent, array)
    if container is None:
        return []
    return [e for e in container.iterfind(f"{{{TGA}}}{item}") if e.get(f"{{{XSI}}}nil") != "true"]


def integer(parent: etree._Element, name: str) -> int | None:
    """XSD ``int`` / ``long``; None when absent or empty. Raises ``ValueError`` on a malformed number."""
    raw = text(parent, name)
    return None if not raw else int(raw)


def flag(parent: etree._Element, name: str) -> bool | None:
    """XSD ``boolean`` (``true``/``1`` are true); None when absent."""
    raw = text(parent, name)
    return None if raw is None else raw in {"true", "1"}


def date(parent: etree._Element, name: str) -> dt.date | None:
    """XSD ``date`` (``2012-05-01``, maybe with a zone) or a dateTime string; the calendar date is kept."""
    raw = text(parent, name)
    try:
        return dt.date.fromisoformat(raw[:10]) if raw else None
    except ValueError:
        return None  # ReleaseComponent.ReleaseDate is an xs:string: tolerate what is not a date


def parse_date_time(raw: str) -> dt.datetime:
    """XSD ``dateTime`` as an aware UTC datetime; .NET's 7 fraction digits are fine; no zone is read as UTC."""
    value = dt.datetime.fromisoformat(raw.strip())
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def date_time_offset(parent: etree._Element, name: str) -> dt.datetime | None:
    """WCF ``DateTimeOffset`` (``TrainingComponentServiceSystem.xsd``): its ``DateTime`` as aware UTC."""
    element = child(parent, name)
    raw = None if element is None else element.findtext(f"{{{SYSTEM}}}DateTime")
    return parse_date_time(raw) if raw else None


__all__ = ["child", "date", "date_time_offset", "flag", "integer", "items", "parse_date_time", "text"]
