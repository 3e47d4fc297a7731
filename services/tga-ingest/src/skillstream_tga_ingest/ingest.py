"""Downloading one TGA component: ``GetDetails`` → latest release → release XML → raw store → parser → events.

:class:`ComponentDownloader` decides *what happened* to one component and returns it as a
:class:`Download` (the events to append, the item outcome and, for a training package, its components);
it appends nothing itself, so the job runner (:mod:`skillstream_tga_ingest.work`) owns every append and its
job headers. Nothing here raises for a bad upstream or a bad file: a SOAP fault, an HTTP failure after the
client's retries or a truncated file is a ``ComponentDownloadFailed``; a file the parser refuses is a
``UnitParseFailed`` with the reason — "a malformed file is a UnitParseFailed event, never a crashed job"
(issue #4).

Rules and their sources:

- the release is the latest by release number (``client.files.latest_release``), the file the ``_Complete_``
  XML when there is one (``choose_release_file``; TGA-FORMAT.md §1.5);
- the usage recommendation is the state of TGA's last ``UsageRecommendation`` period (fitz-nguyen's client,
  TGA-FORMAT.md §3), else the file's Book variable;
- a component whose ``MappingInformation`` maps it to another code supersedes that code: a
  ``ComponentSuperseded`` on the older code's subject (XSD ``Mapping``: ``MapsToCode``, ``IsEquivalent``);
- a qualification or skill set with no XML file is still recorded from its details, units from the release's
  ``UnitGrid`` (``IsEssential`` = core); a unit with no XML file cannot be parsed and fails with that reason.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field

import structlog

from skillstream_contracts.events import Event
from skillstream_contracts.jobs import ItemOutcome
from skillstream_contracts.tga import (
    ComponentDownloadFailed,
    ComponentSuperseded,
    ComponentType,
    PackageDownloaded,
    ParseFailure,
    QualificationDownloaded,
    SkillSetDownloaded,
    SourceFile,
    UnitContent,
    UnitDownloaded,
    UnitParseFailed,
    UsageRecommendation,
)
from skillstream_tga_ingest.adapters.client import TgaClient, TgaError, TgaValidationFault
from skillstream_tga_ingest.adapters.client.files import choose_release_file, file_url_path, latest_release
from skillstream_tga_ingest.adapters.client.models import ComponentDetails, Release
from skillstream_tga_ingest.adapters.rawstore import RawStore
from skillstream_tga_ingest.parser import (
    PARSER_VERSION,
    ParsedQualification,
    ParsedUnit,
    ParseError,
    parse_component,
)

log = structlog.get_logger(__name__)

_TYPE_NAMES = {
    "trainingpackage": ComponentType.TRAINING_PACKAGE,
    "qualification": ComponentType.QUALIFICATION,
    "skillset": ComponentType.SKILL_SET,
    "unit": ComponentType.UNIT,
}


def component_type_of(tga_type: str | None) -> ComponentType | None:
    """The :class:`ComponentType` of a TGA ``TrainingComponentTypes`` value (``Unit``, ``SkillSet``…), or
    None for types Skillstream does not ingest (accredited courses, modules, contextualisations)."""
    return _TYPE_NAMES.get((tga_type or "").replace(" ", "").lower())


def usage_of(state: str | None) -> UsageRecommendation:
    """XSD ``UsageRecommendationState`` (``Current`` / ``Superseded`` / ``Deleted``) as the contract enum."""
    try:
        return UsageRecommendation((state or "").strip().lower())
    except ValueError:
        return UsageRecommendation.UNKNOWN


@dataclass(kw_only=True)
class Download:
    """The outcome of one component: ``events`` to append on its subject (the first one carries the item's
    terminal outcome), ``related`` events for other subjects (supersessions), ``components`` of a training
    package as (type, code) pairs, and ``counts`` for the job summary."""

    outcome: ItemOutcome
    events: list[Event]
    reason: str | None = None
    size_bytes: int | None = None
    related: list[tuple[ComponentType, str, Event]] = field(default_factory=list)
    components: list[tuple[ComponentType, str]] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)


def counts_of(event: Event) -> Counter[str]:
    """Summary counters an item's terminal event contributes (also used when a resumed job skips it)."""
    c: Counter[str] = Counter()
    match event:
        case UnitDownloaded():
            c.update(components=1, units_parsed=1, elements=len(event.elements))
            c["performance_criteria"] += sum(len(e.performance_criteria) for e in event.elements)
        case QualificationDownloaded() | PackageDownloaded() | SkillSetDownloaded():
            c.update(components=1)
        case UnitParseFailed():
            c.update(parse_failures=1, failures=1)
        case ComponentDownloadFailed():
            c.update(download_failures=1, failures=1)
    return c


def package_components(event: PackageDownloaded) -> list[tuple[ComponentType, str]]:
    """A downloaded package's components, qualifications first (the job's second phase)."""
    return (
        [(ComponentType.QUALIFICATION, c) for c in event.qualification_codes]
        + [(ComponentType.SKILL_SET, c) for c in event.skill_set_codes]
        + [(ComponentType.UNIT, c) for c in event.unit_codes]
    )


class ComponentDownloader:
    """Downloads and parses components with one :class:`TgaClient` and keeps the XML in a :class:`RawStore`."""

    def __init__(self, client: TgaClient, raw: RawStore) -> None:
        self._client = client
        self._raw = raw

    async def download(self, ctype: ComponentType, code: str) -> Download:
        """Download ``code`` as a ``ctype``; never raises for upstream or file problems (see module doc)."""
        try:
            details = await self._client.get_details(code, components=ctype is ComponentType.TRAINING_PACKAGE)
        except TgaError as e:
            return _download_failed(ctype, code, e)
        if ctype is ComponentType.TRAINING_PACKAGE:
            return _package(details)
        release = latest_release(details)
        chosen = choose_release_file(release.files) if release is not None else None
        if release is None or chosen is None:
            return self._details_only(ctype, details, release)
        try:
            data = await self._client.download_file(chosen.relative_path, expected_size=chosen.size)
        except TgaError as e:
            return _download_failed(ctype, code, e)
        key = await self._raw.put(data)
        source = SourceFile(relative_path=file_url_path(chosen.relative_path), size=len(data), sha256=key, raw_key=key)
        result = await self.parse(ctype, code, data, source, details=details, release=release.release_number)
        result.related.extend(_supersessions(ctype, details))
        return result

    async def parse(
        self,
        ctype: ComponentType,
        code: str,
        data: bytes,
        source: SourceFile,
        *,
        details: ComponentDetails | None = None,
        release: str | None = None,
        training_package: str | None = None,
        usage: UsageRecommendation | None = None,
    ) -> Download:
        """Parse kept or downloaded bytes into the component's event (``details`` adds what only TGA's
        ``GetDetails`` knows: the training package, the usage recommendation, the unit grid)."""
        try:
            parsed = await asyncio.to_thread(parse_component, data)
        except ParseError as e:
            return _parse_failed(ctype, code, e.failure, e.reason, release, source)
        if parsed.code != code:
            reason = f"the file describes {parsed.code}, not {code}"
            return _parse_failed(ctype, code, ParseFailure.NOT_AUTHORIT, reason, release, source)
        package = training_package or (details.parent_code if details else None) or _package_code(code)
        tga_usage = _usage(details) if details else UsageRecommendation.UNKNOWN
        usage = usage or (tga_usage if tga_usage is not UsageRecommendation.UNKNOWN else parsed.usage_recommendation)
        if ctype is ComponentType.UNIT and isinstance(parsed, ParsedUnit):
            event: Event = _unit_event(parsed, package, usage, source)
        elif ctype is ComponentType.QUALIFICATION and isinstance(parsed, ParsedQualification):
            event = _qualification_event(parsed, package, usage, source, details)
        else:
            found = "unit" if isinstance(parsed, ParsedUnit) else "qualification"
            reason = f"expected a {ctype.value.replace('_', ' ')} document, found a {found}"
            return _parse_failed(ctype, code, ParseFailure.NOT_AUTHORIT, reason, release, source)
        return Download(outcome=ItemOutcome.SUCCEEDED, events=[event], size_bytes=source.size, counts=counts_of(event))

    def _details_only(self, ctype: ComponentType, details: ComponentDetails, release: Release | None) -> Download:
        code = details.code
        if ctype is ComponentType.UNIT:
            why = "TGA lists no release" if release is None else f"release {release.release_number} has no XML file"
            event = ComponentDownloadFailed(code=code, component_type=ctype, reason=f"{code}: {why} to parse")
            return Download(outcome=ItemOutcome.FAILED, events=[event], reason=event.reason, counts=counts_of(event))
        package = details.parent_code or _package_code(code)
        number = release.release_number if release else "1"
        grid = release.unit_grid if release else []
        if ctype is ComponentType.QUALIFICATION:
            out: Event = QualificationDownloaded(
                code=code,
                title=details.title,
                release=number,
                training_package=package,
                usage_recommendation=_usage(details),
                core_units=[u.code for u in grid if u.is_essential],
                elective_units=[u.code for u in grid if not u.is_essential],
            )
        else:
            out = SkillSetDownloaded(
                code=code,
                title=details.title,
                release=number,
                training_package=package,
                usage_recommendation=_usage(details),
                unit_codes=[u.code for u in grid],
            )
        return Download(
            outcome=ItemOutcome.SUCCEEDED, events=[out], counts=counts_of(out), related=_supersessions(ctype, details)
        )


def _package(details: ComponentDetails) -> Download:
    release = latest_release(details)
    by_type: dict[ComponentType, list[str]] = {t: [] for t in ComponentType}
    for component in release.components if release else []:
        ctype = component_type_of(component.type)
        if ctype is not None and ctype is not ComponentType.TRAINING_PACKAGE and component.code not in by_type[ctype]:
            by_type[ctype].append(component.code)
    event = PackageDownloaded(
        code=details.code,
        title=details.title,
        usage_recommendation=_usage(details),
        release=release.release_number if release else None,
        release_date=release.release_date if release else None,
        qualification_codes=by_type[ComponentType.QUALIFICATION],
        skill_set_codes=by_type[ComponentType.SKILL_SET],
        unit_codes=by_type[ComponentType.UNIT],
    )
    return Download(
        outcome=ItemOutcome.SUCCEEDED, events=[event], components=package_components(event), counts=counts_of(event)
    )


def _unit_event(parsed: ParsedUnit, package: str, usage: UsageRecommendation, source: SourceFile) -> UnitDownloaded:
    content = {f: getattr(parsed, f) for f in UnitContent.__struct_fields__}
    return UnitDownloaded(
        code=parsed.code,
        title=parsed.title,
        release=parsed.release,
        training_package=package,
        usage_recommendation=usage,
        format=parsed.format,
        source=source,
        parser_version=PARSER_VERSION,
        **content,
    )


def _qualification_event(
    parsed: ParsedQualification,
    package: str,
    usage: UsageRecommendation,
    source: SourceFile,
    details: ComponentDetails | None,
) -> QualificationDownloaded:
    core, elective = parsed.core_units, parsed.elective_units
    release = latest_release(details) if details else None
    if not core and not elective and release is not None:
        # the packaging rules name no unit (free text only): TGA's unit grid is the structured list
        core = [u.code for u in release.unit_grid if u.is_essential]
        elective = [u.code for u in release.unit_grid if not u.is_essential]
    return QualificationDownloaded(
        code=parsed.code,
        title=parsed.title,
        release=parsed.release,
        training_package=package,
        usage_recommendation=usage,
        source=source,
        aqf_level=parsed.aqf_level,
        description=parsed.description,
        entry_requirements=parsed.entry_requirements,
        packaging_rules=parsed.packaging_rules,
        total_units=parsed.total_units,
        core_units=core,
        elective_units=elective,
        elective_groups=parsed.elective_groups,
    )


def _usage(details: ComponentDetails) -> UsageRecommendation:
    periods = details.usage_recommendations
    return usage_of(periods[-1].state) if periods else UsageRecommendation.UNKNOWN


def _package_code(code: str) -> str:
    """TGA national codes begin with their training package's three-letter code (BSBCMM412 → BSB)."""
    return code[:3].upper()


def _supersessions(ctype: ComponentType, details: ComponentDetails) -> list[tuple[ComponentType, str, Event]]:
    out: list[tuple[ComponentType, str, Event]] = []
    seen: set[str] = set()
    for m in details.mappings:
        old = (m.maps_to_code or "").strip()
        if old and old != details.code and old not in seen:
            seen.add(old)
            event = ComponentSuperseded(
                code=old, component_type=ctype, superseded_by=details.code, is_equivalent=m.is_equivalent
            )
            out.append((ctype, old, event))
    if _usage(details) is UsageRecommendation.SUPERSEDED:
        out.append((ctype, details.code, ComponentSuperseded(code=details.code, component_type=ctype)))
    return out


def _download_failed(ctype: ComponentType, code: str, error: TgaError) -> Download:
    fault = error.code if isinstance(error, TgaValidationFault) else None
    status = getattr(error, "status", None)
    event = ComponentDownloadFailed(
        code=code,
        component_type=ctype,
        reason=str(error),
        attempts=int(getattr(error, "attempts", 1) or 1),
        http_status=status if isinstance(status, int) else None,
        fault_code=fault,
    )
    log.warning("component download failed", code=code, component_type=ctype.value, reason=str(error))
    return Download(outcome=ItemOutcome.FAILED, events=[event], reason=event.reason, counts=counts_of(event))


def unexpected_failure(ctype: ComponentType, code: str, error: Exception) -> Download:
    """An item whose handling raised something unforeseen: a ``ComponentDownloadFailed`` with the error."""
    event = ComponentDownloadFailed(code=code, component_type=ctype, reason=f"{type(error).__name__}: {error}")
    return Download(outcome=ItemOutcome.FAILED, events=[event], reason=event.reason, counts=counts_of(event))


def _parse_failed(
    ctype: ComponentType,
    code: str,
    failure: ParseFailure,
    reason: str,
    release: str | None,
    source: SourceFile | None,
) -> Download:
    event = UnitParseFailed(
        code=code, reason=reason, failure=failure, component_type=ctype, release=release, source=source
    )
    log.warning("component refused by the parser", code=code, failure=failure.value, reason=reason)
    return Download(
        outcome=ItemOutcome.FAILED,
        events=[event],
        reason=f"{failure.value}: {reason}",
        size_bytes=source.size if source else None,
        counts=counts_of(event),
    )


__all__ = [
    "ComponentDownloader",
    "Download",
    "component_type_of",
    "counts_of",
    "package_components",
    "unexpected_failure",
    "usage_of",
]
