"""A TGA job's items: one component each, keyed ``<component type>:<code>`` (``unit:BSBCMM412``), counted by
the progress view under a group.

The key and the group travel in the item events' job report (``JobReport.item_key`` / ``item_group``), which
the orchestrator's progress view counts; a retry-failed job is given the failed keys back
(``JobDispatch.only_items``) and parses them with :func:`parse_item_key`.

A package job runs in two phases: the packages, then every component their releases list
(:func:`second_phase`), each counted under the first package that lists it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from skillstream_contracts.streams import TGA
from skillstream_contracts.tga import ComponentType, PackageDownloaded


@dataclass(frozen=True)
class Item:
    """One component to download; ``group`` is what the progress view counts it under."""

    ctype: ComponentType
    code: str
    group: str

    @property
    def key(self) -> str:
        """``"unit:BSBCMM412"``."""
        return f"{self.ctype.value}:{self.code}"

    @property
    def subject(self) -> str:
        """The component's aggregate subject, ``tga.unit.BSBCMM412``."""
        return TGA.aggregate_subject(self.ctype.value, self.code)


def group_of(ctype: ComponentType, code: str, *, by_package: bool = False) -> str:
    """The progress group of a component: a training package is its own group; in a package job a
    component counts under its package (a retried one under its code's three-letter package), otherwise
    under its component type."""
    if ctype is ComponentType.TRAINING_PACKAGE:
        return code
    return code[:3] if by_package else ctype.value


def parse_item_key(key: str, *, by_package: bool = False) -> Item:
    """``"unit:BSBCMM412"`` → an :class:`Item` grouped by :func:`group_of`.

    Raises:
        ValueError: not ``<component type>:<code>`` with a known type.
    """
    type_, _, code = key.partition(":")
    if not code:
        raise ValueError(f"not an item key: {key!r}")
    ctype = ComponentType(type_)
    return Item(ctype, code, group_of(ctype, code, by_package=by_package))


def items_for(ctype: ComponentType, codes: Iterable[object]) -> list[Item]:
    """Items for ``codes`` (stripped, upper-cased as TGA writes national codes, de-duplicated, in order;
    blank ones left out)."""
    out: dict[str, Item] = {}
    for raw in codes:
        code = str(raw).strip().upper()
        if code:
            out.setdefault(code, Item(ctype, code, group_of(ctype, code)))
    return list(out.values())


def package_components(event: PackageDownloaded) -> list[tuple[ComponentType, str]]:
    """A downloaded package's components as (type, code), qualifications first, then skill sets, then units."""
    return (
        [(ComponentType.QUALIFICATION, c) for c in event.qualification_codes]
        + [(ComponentType.SKILL_SET, c) for c in event.skill_set_codes]
        + [(ComponentType.UNIT, c) for c in event.unit_codes]
    )


def package_items(event: PackageDownloaded, package: str) -> list[Item]:
    """A downloaded package's components as items counted under ``package`` (the package item's code), in
    the order of :func:`package_components`."""
    return [Item(t, c, package) for t, c in package_components(event)]


def second_phase(first: Sequence[Item], listed: Iterable[Item]) -> list[Item]:
    """The items of a package job's second phase: the components the packages ``listed``, in order, without
    the job's own items (``first``) and without repeats; a component listed by several packages counts under
    the first package to list it."""
    seen = {i.key for i in first}
    out: list[Item] = []
    for i in listed:
        if i.key not in seen:
            seen.add(i.key)
            out.append(i)
    return out


def groups_of(items: Iterable[Item]) -> dict[str, int]:
    """Items per progress group, ``{"BSB": 120, "CPC": 48}``."""
    return dict(Counter(i.group for i in items))


__all__ = [
    "Item",
    "group_of",
    "groups_of",
    "items_for",
    "package_components",
    "package_items",
    "parse_item_key",
    "second_phase",
]
