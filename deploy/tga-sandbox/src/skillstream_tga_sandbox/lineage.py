"""What the real data says about supersession and training package releases (TGA-FORMAT.md §1.3 ``Mapping``,
``Release/ReleaseNumber``), read by the sandbox itself:

- :func:`stated_mappings`: a unit's or qualification's "… Mapping Information" topic states what it supersedes,
  e.g. BSB41419: "Supersedes and is equivalent to BSB41415 Certificate IV in Work Health and Safety.",
  AUR31220: "Supersedes and is not equivalent to AUR31716 …", CHCCEL005: "Supersedes CHCCEL402A" (no
  equivalence stated). A statement whose code is in another paragraph ("Supersedes and is equivalent to:") names
  no code here and is skipped.
- :func:`stated_package_releases`: the Modification History topics name the training package release a
  component was released with, e.g. "Release 1. This version released with CPC Construction, Plumbing and
  Services Training Package Release 9.0." — the highest stated per package code is that package's latest
  release the real data knows. A statement without the package code ("released with the Business Services
  Training Package Version 8.0") is attributed by the package's title in data.txt.
- :func:`package_successors`: catalogue/data.txt lists pre-2012 versioned package codes (``CPC08``, ``SIS10``,
  ``MEM05``…) beside the current ones. A versioned code is superseded by the package released later with the
  same three-letter stem (``CPC08`` → ``CPC``) or, failing that, the same title once " Training Package" is
  dropped (``MSA07`` "Manufacturing Training Package" → ``MSM``; ``LMT07`` → ``MST``). A versioned code with
  no such successor (``LGA04``, ``UET12``) stays as data.txt states it.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from lxml import etree

from skillstream_tga_sandbox.authorit import AUTHORIT_NS

_NS = {"a": AUTHORIT_NS}
_CODE = r"[A-Z]{3}[A-Z0-9]*\d{2,}[A-Z]?"
_SUPERSEDES = re.compile(
    rf"\bSupersedes\s+(?:(?:and|but)\s+)?(?:(?:is\s+)?(?P<not>not\s+)?equivalent\s+to\s+)?(?P<code>{_CODE})\b"
    rf"(?P<title>[^.|]*)"
)
_RELEASED_WITH = re.compile(
    r"[Rr]eleased with (?:the )?(?:(?P<code>[A-Z]{3}(?:\d{2})?) )?(?P<title>[^.|]*?Training Package),? "
    r"(?:[Rr]elease|[Vv]ersion) (?P<number>\d+(?:\.\d+)?)"
)
_VERSIONED = re.compile(r"^(?P<stem>[A-Z]{3})\d{2}$")
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class MappingEntry:
    """XSD ``Mapping``: ``code`` (the component) supersedes ``maps_to_code``; ``is_equivalent`` None when the
    statement does not say; ``notes`` the statement as written."""

    code: str
    title: str | None
    maps_to_code: str
    maps_to_title: str | None
    is_equivalent: bool | None
    notes: str


def _topic_texts(root: etree._Element, matches: str) -> Iterable[str]:
    """The whole text of each Topic whose ``Object/Description`` contains ``matches``, whitespace-collapsed,
    paragraphs and table cells separated by `` | ``."""
    for topic in root.iterfind("a:Objects/a:Topic", _NS):
        if matches in (topic.findtext("a:Object/a:Description", namespaces=_NS) or ""):
            body = topic.find("a:Text", _NS)
            if body is not None:
                parts = (_SPACES.sub(" ", "".join(p.itertext())).strip() for p in body.iter(f"{{{AUTHORIT_NS}}}p"))
                yield " | ".join(part for part in parts if part)


def stated_mappings(root: etree._Element, own_code: str, own_title: str) -> tuple[MappingEntry, ...]:
    """The codes the file's Mapping Information topic says ``own_code`` supersedes, each once, in order."""
    found: dict[str, MappingEntry] = {}
    for text in _topic_texts(root, "Mapping Information"):
        for m in _SUPERSEDES.finditer(text):
            old = m["code"]
            if old == own_code or old in found:
                continue
            equivalent = None if "equivalent" not in m[0] else m["not"] is None
            title = m["title"].strip() or None
            found[old] = MappingEntry(own_code, own_title, old, title, equivalent, m[0].strip())
    return tuple(found.values())


def bare_title(title: str) -> str:
    """A package title compared without case and without a trailing "Training Package"."""
    return title.strip().lower().removesuffix(" training package").strip()


def stated_package_releases(root: etree._Element, titles: Mapping[str, str]) -> dict[str, tuple[int, ...]]:
    """Package code → the highest release number (as a tuple of ints) the file's Modification History says a
    release of this component was released with. A statement names the package by code, else by its title
    (``titles``: :func:`bare_title` → code); one naming neither a code nor a known title is not attributed."""
    out: dict[str, tuple[int, ...]] = {}
    for text in _topic_texts(root, "Modification History"):
        for m in _RELEASED_WITH.finditer(text):
            number = tuple(int(part) for part in m["number"].split("."))
            code = m["code"] or titles.get(bare_title(m["title"]))
            if code is not None:
                out[code] = max(out.get(code, number), number)
    return out


def release_text(number: tuple[int, ...]) -> str:
    """``(9, 0)`` → ``"9.0"``, as the files write it."""
    return ".".join(str(part) for part in number)


def package_successors(packages: Mapping[str, tuple[str, dt.date | None]]) -> dict[str, str]:
    """Versioned package code → the code that supersedes it (module docstring), from ``code → (title,
    release date)`` of data.txt."""

    bare = bare_title
    out: dict[str, str] = {}
    for code, (title, released) in packages.items():
        versioned = _VERSIONED.match(code)
        if versioned is None or released is None:
            continue
        later = {c: t for c, (t, r) in packages.items() if c != code and r is not None and r > released}
        by_stem = [c for c in later if c == versioned["stem"]]
        by_title = sorted(c for c, t in later.items() if bare(t) == bare(title) and not _VERSIONED.match(c))
        if by_stem or by_title:
            out[code] = (by_stem or by_title)[0]
    return out


__all__ = [
    "MappingEntry",
    "bare_title",
    "package_successors",
    "release_text",
    "stated_mappings",
    "stated_package_releases",
]
