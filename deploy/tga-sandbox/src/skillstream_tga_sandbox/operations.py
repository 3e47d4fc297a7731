"""The five served operations: Search, SearchByModifiedDate, SearchDeletedByDeletedDate, GetDetails,
GetServerTime. Each takes the read request and the app state and returns the response element.

Paging (TGA-FORMAT.md §1.4): ``PageNumber`` is 1-based (missing or < 1 → 1); ``PageSize`` missing or < 1 →
``default_page_size``, capped at ``max_page_size``; the reply states the page size used; ``Count`` is the
total over all pages; a page past the end is empty. Results are ordered by code (Search) or by
UpdatedDate then code (SearchByModifiedDate), so pages never overlap.

Sandbox rules where TGA's are unknown (README.md): Search matches ``Filter`` as a case-insensitive
substring of the code (``SearchCode``) and/or title (``SearchTitle``; neither flag → both); superseded
components need ``IncludeSuperseeded`` and logically deleted ones ``IncludeDeleted``. Date windows include
both ends; a missing start or end leaves that side open.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TypeVar

from lxml import etree

from skillstream_tga_sandbox.catalogue import ComponentType
from skillstream_tga_sandbox.errors import InjectedServerError, ValidationErrorItem, ValidationFault
from skillstream_tga_sandbox.settings import Settings
from skillstream_tga_sandbox.soap_in import (
    DeletedSearchRequest,
    DetailsRequest,
    ModifiedSearchRequest,
    Paging,
    SearchRequest,
)
from skillstream_tga_sandbox.state import SandboxState
from skillstream_tga_sandbox.wire import ComponentView, deleted_result, details, search_result, server_time

_T = TypeVar("_T")


def page(items: Sequence[_T], paging: Paging, settings: Settings) -> tuple[Sequence[_T], int, int]:
    """``(the page's items, page number, page size used)`` by the rules in the module docstring."""
    number = paging.page_number if paging.page_number and paging.page_number > 0 else 1
    size = paging.page_size if paging.page_size and paging.page_size > 0 else settings.default_page_size
    size = min(size, settings.max_page_size)
    start = (number - 1) * size
    return items[start : start + size], number, size


def _in_window(when: dt.datetime, start: dt.datetime | None, end: dt.datetime | None) -> bool:
    return (start is None or when >= start) and (end is None or when <= end)


def search(state: SandboxState, settings: Settings, request: SearchRequest) -> etree._Element:
    """XSD ``Search`` → ``SearchResponse``."""
    needle = request.filter.strip().lower()
    by_code = request.search_code or not request.search_title
    by_title = request.search_title or not request.search_code
    matches = []
    for component in state.catalogue.ordered:
        if request.types is not None and component.component_type.value not in request.types:
            continue
        code, title = component.search_text
        if needle and not ((by_code and needle in code) or (by_title and needle in title)):
            continue
        deletion = state.deletions.get(component.code)
        if deletion is not None and (deletion.operation == "PhysicalDelete" or not request.include_deleted):
            continue
        if component.usage == "Superseded" and not request.include_superseded:
            continue
        matches.append(component)
    rows, number, size = page(matches, request.paging, settings)
    views = [state.view(component) for component in rows]
    return search_result("Search", views, len(matches), number, size, state.faults.message_too_large_pad_bytes)


def search_by_modified_date(state: SandboxState, settings: Settings, request: ModifiedSearchRequest) -> etree._Element:
    """XSD ``SearchByModifiedDate`` → ``SearchByModifiedDateResponse`` (components, superseded and
    logically deleted ones included, whose UpdatedDate is inside the window)."""
    views: list[ComponentView] = []
    for component in state.catalogue.ordered:
        if request.types is not None and component.component_type.value not in request.types:
            continue
        if state.lookup(component.code) is None:
            continue
        view = state.view(component)
        if _in_window(view.updated, request.start, request.end):
            views.append(view)
    views.sort(key=lambda v: (v.updated, v.component.code))
    rows, number, size = page(views, request.paging, settings)
    pad = state.faults.message_too_large_pad_bytes
    return search_result("SearchByModifiedDate", rows, len(views), number, size, pad)


def search_deleted_by_deleted_date(
    state: SandboxState, settings: Settings, request: DeletedSearchRequest
) -> etree._Element:
    """XSD ``SearchDeletedByDeletedDate`` → the deletions inside the window, oldest first. The reply type
    (``ArrayOfDeletedTrainingComponent``) has no Count, so a page is cut only when a PageSize is sent."""
    deletions = sorted(
        (d for d in state.deletions.values() if _in_window(d.deleted, request.start, request.end)),
        key=lambda d: (d.deleted, d.code),
    )
    if request.paging.page_size:
        deletions = list(page(deletions, request.paging, settings)[0])
    return deleted_result((d.code, d.operation, d.deleted) for d in deletions)


def _not_found(code: str) -> ValidationFault:
    if not code:
        return ValidationFault(
            ValidationErrorItem("Required", "A training component code is required.", "Error", "Code")
        )
    return ValidationFault(
        ValidationErrorItem("NotFound", f"The training component '{code}' does not exist.", "Error", "Code")
    )


def get_details(state: SandboxState, request: DetailsRequest) -> etree._Element:
    """XSD ``GetDetails`` → ``GetDetailsResponse`` for one component.

    Raises:
        ValidationFault: unknown (or physically deleted) code, or the code is in ``soap_fault_codes``.
        InjectedServerError: the code is in ``http_500_codes``.
    """
    code = request.code
    if code in state.faults.http_500_codes:
        raise InjectedServerError("http_500_codes")
    if code in state.faults.soap_fault_codes:
        state.injected["soap_fault_codes"] += 1
        raise ValidationFault(
            ValidationErrorItem("SandboxFault", f"Fault injected for '{code}' (soap_fault_codes).", "Error", "Code")
        )
    component = state.lookup(code)
    if component is None:
        raise _not_found(code)
    catalogue = state.catalogue
    parent = catalogue.by_code.get(component.parent_code or "")
    parent_title = (
        parent.title if parent is not None and parent.component_type is ComponentType.TRAINING_PACKAGE else None
    )
    members: list[ComponentView] = []
    if request.flags.releases and request.flags.components:
        for child in catalogue.children.get(code, ()):
            served = state.lookup(child)
            if served is not None:
                members.append(state.view(served))
    grid = None
    if request.flags.releases and request.flags.unit_grid and component.component_type is ComponentType.QUALIFICATION:
        grid = catalogue.unit_grid(code)
    return details(state.view(component), request.flags, parent_title, members, grid)


def get_server_time(now: dt.datetime) -> etree._Element:
    """XSD ``GetServerTime`` → ``GetServerTimeResponse``."""
    return server_time(now)


__all__ = [
    "get_details",
    "get_server_time",
    "page",
    "search",
    "search_by_modified_date",
    "search_deleted_by_deleted_date",
]
