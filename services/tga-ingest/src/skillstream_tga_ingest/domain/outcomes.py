"""What happened to one TGA component, as the event that records it (pure: the handler does the I/O).

A job item ends in exactly one terminal event on the component's subject (:data:`Outcome`): a download
event, or a failure. Nothing here raises for a bad upstream or a bad file: a SOAP fault, an HTTP failure or a
truncated file is a ``ComponentDownloadFailed``; a file the parser refuses is a ``UnitParseFailed`` whose
reason says why and where (``"malformed: line 3, column 1: Premature end of data …"``).

Rules and their sources:

- the release is the latest by release number, the file the ``_Complete_`` XML when there is one
  (``adapters.client.files``; TGA-FORMAT.md §1.5);
- the usage recommendation is the state of TGA's last ``UsageRecommendation`` period (TGA-FORMAT.md §3),
  else the file's Book variable;
- a component whose ``MappingInformation`` maps it to another code supersedes that code: a
  ``ComponentSuperseded`` on the older code's subject (XSD ``Mapping``: ``MapsToCode``, ``IsEquivalent``);
- a qualification or skill set with no XML file is still recorded from its details, its units from the
  release's ``UnitGrid`` (``IsEssential`` = core), as *metadata only*: its event says why
  (``metadata_only_reason``, "TGA lists no content file for release 1") and the job's summary counts it as
  ``metadata_only``, not as a downloaded component; a unit with no XML file cannot be parsed and fails with
  that reason.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

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
from skillstream_tga_ingest.adapters.client.files import latest_release
from skillstream_tga_ingest.adapters.client.models import ComponentDetails, Release
from skillstream_tga_ingest.domain.vocabulary import component_type_of, usage_of
from skillstream_tga_ingest.parser import PARSER_VERSION, ParsedQualification, ParsedUnit, ParseError

Downloaded = PackageDownloaded | QualificationDownloaded | SkillSetDownloaded | UnitDownloaded
"""The events that record a component as downloaded (and, for a unit or qualification file, parsed)."""
Failed = ComponentDownloadFailed | UnitParseFailed
"""The events that record an item as failed: TGA or the file transfer failed, or the parser refused the file."""
Outcome = Downloaded | Failed
"""An item's terminal event."""
NO_CONTENT_FILE = "TGA lists no content file for this release"
"""Why a qualification or skill set is metadata only when its event does not say (recorded before it did)."""


@dataclass(frozen=True, kw_only=True)
class Download:
    """The outcome of one component: ``event`` to record on its subject (the item's terminal event) and
    ``related`` supersessions, each for the subject of the code it names."""

    event: Outcome
    related: list[ComponentSuperseded] = field(default_factory=list)


def outcome_of(event: Outcome) -> ItemOutcome:
    """``succeeded`` for a download event, ``failed`` for a failure."""
    return ItemOutcome.FAILED if isinstance(event, Failed) else ItemOutcome.SUCCEEDED


def reason_of(event: Outcome) -> str | None:
    """Why the item failed, for the progress view: the download failure's reason, or ``<failure>: <reason>``
    for a refused file (``"malformed: line 3, column 1: …"``); None for a download."""
    match event:
        case ComponentDownloadFailed(reason=reason):
            return reason
        case UnitParseFailed(failure=failure, reason=reason):
            return f"{failure.value}: {reason}"
    return None


def size_of(event: Outcome) -> int | None:
    """The size in bytes of the release file the event was parsed from (or refused), None without one."""
    source: SourceFile | None = getattr(event, "source", None)
    return source.size if source is not None else None


def metadata_only_reason(event: Event) -> str | None:
    """Why ``event`` holds a component's details only (a qualification or skill set downloaded without a
    content file): its stated reason, else :data:`NO_CONTENT_FILE` (an event written before reasons were
    recorded); None for any other event."""
    if isinstance(event, QualificationDownloaded | SkillSetDownloaded) and event.source is None:
        return event.metadata_only_reason or NO_CONTENT_FILE
    return None


def counts_of(event: Event) -> Counter[str]:
    """Summary counters an item's terminal event contributes (also when a resumed job skips the item):
    ``components`` (downloaded with their content), ``metadata_only`` (details only: TGA lists no content
    file), ``units_parsed``, ``elements``, ``performance_criteria``, ``parse_failures``,
    ``download_failures``, ``failures``."""
    c: Counter[str] = Counter()
    match event:
        case UnitDownloaded():
            c.update(components=1, units_parsed=1, elements=len(event.elements))
            c["performance_criteria"] += sum(len(e.performance_criteria) for e in event.elements)
        case QualificationDownloaded() | SkillSetDownloaded() if metadata_only_reason(event):
            c.update(metadata_only=1)
        case QualificationDownloaded() | PackageDownloaded() | SkillSetDownloaded():
            c.update(components=1)
        case UnitParseFailed():
            c.update(parse_failures=1, failures=1)
        case ComponentDownloadFailed():
            c.update(download_failures=1, failures=1)
    return c


def download_failed(
    ctype: ComponentType,
    code: str,
    reason: str,
    *,
    attempts: int = 1,
    http_status: int | None = None,
    fault_code: str | None = None,
) -> Download:
    """TGA or the file transfer failed for ``code`` (after the client's retries: ``attempts`` tries; the
    HTTP status or the SOAP ``ValidationFault`` code when there was one)."""
    failed = ComponentDownloadFailed(
        code=code,
        component_type=ctype,
        reason=reason,
        attempts=attempts,
        http_status=http_status,
        fault_code=fault_code,
    )
    return Download(event=failed)


def unexpected_failure(ctype: ComponentType, code: str, error: Exception) -> Download:
    """An item whose handling raised something unforeseen: a ``ComponentDownloadFailed`` naming the error."""
    return download_failed(ctype, code, f"{type(error).__name__}: {error}")


def package_download(details: ComponentDetails) -> Download:
    """A training package from its ``GetDetails`` (with ``ShowComponents``): its latest release's
    qualifications, skill sets and units, each listed once, in TGA's order."""
    release = latest_release(details)
    by_type: dict[ComponentType, list[str]] = {t: [] for t in ComponentType}
    for component in release.components if release else []:
        ctype = component_type_of(component.type)
        if ctype is not None and ctype is not ComponentType.TRAINING_PACKAGE and component.code not in by_type[ctype]:
            by_type[ctype].append(component.code)
    event = PackageDownloaded(
        code=details.code,
        title=details.title,
        usage_recommendation=tga_usage(details),
        release=(release.release_number or None) if release else None,  # a nil ReleaseNumber reads ""
        release_date=release.release_date if release else None,
        qualification_codes=by_type[ComponentType.QUALIFICATION],
        skill_set_codes=by_type[ComponentType.SKILL_SET],
        unit_codes=by_type[ComponentType.UNIT],
    )
    return Download(event=event)


def details_only(ctype: ComponentType, details: ComponentDetails, release: Release | None) -> Download:
    """A component whose latest release (``release``, None: TGA lists none) has no XML file: a qualification
    or skill set is recorded from its details and unit grid as metadata only (``metadata_only_reason``); a
    unit fails, as there is nothing to parse."""
    code = details.code
    if ctype is ComponentType.UNIT:
        why = "TGA lists no release" if release is None else f"release {release.release_number} has no XML file"
        return download_failed(ctype, code, f"{code}: {why} to parse")
    package = details.parent_code or package_code(code)
    number = release.release_number if release else "1"
    grid = release.unit_grid if release else []
    if release is None:
        why = "TGA lists no release"
    else:  # TGA may state no release number (a nil ReleaseNumber)
        why = f"TGA lists no content file for release {number}" if number else NO_CONTENT_FILE
    out: Outcome
    if ctype is ComponentType.QUALIFICATION:
        out = QualificationDownloaded(
            code=code,
            title=details.title,
            release=number,
            training_package=package,
            usage_recommendation=tga_usage(details),
            core_units=[u.code for u in grid if u.is_essential],
            elective_units=[u.code for u in grid if not u.is_essential],
            metadata_only_reason=why,
        )
    else:
        out = SkillSetDownloaded(
            code=code,
            title=details.title,
            release=number,
            training_package=package,
            usage_recommendation=tga_usage(details),
            unit_codes=[u.code for u in grid],
            metadata_only_reason=why,
        )
    return Download(event=out, related=supersessions(ctype, details))


def parsed_download(
    ctype: ComponentType,
    code: str,
    parsed: ParsedUnit | ParsedQualification | ParseError,
    source: SourceFile,
    *,
    details: ComponentDetails | None = None,
    release: str | None = None,
    training_package: str | None = None,
    usage: UsageRecommendation | None = None,
) -> Download:
    """A release file of ``code`` as parsed (or refused: ``parsed`` is the :class:`ParseError`).

    ``details`` adds what only TGA's ``GetDetails`` knows (the training package, the usage recommendation, the
    unit grid); a re-parse passes what the kept event said instead (``training_package``, ``usage``).
    ``release`` is the release number the file came from, recorded on a refusal. A file about another code,
    or a unit where a qualification was expected (or the reverse), is refused as ``not_authorit``.
    """
    if isinstance(parsed, ParseError):
        return parse_failed(ctype, code, parsed.failure, parsed.reason, release, source)
    if parsed.code != code:
        reason = f"the file describes {parsed.code}, not {code}"
        return parse_failed(ctype, code, ParseFailure.NOT_AUTHORIT, reason, release, source)
    package = training_package or (details.parent_code if details else None) or package_code(code)
    from_tga = tga_usage(details) if details else UsageRecommendation.UNKNOWN
    usage = usage or (from_tga if from_tga is not UsageRecommendation.UNKNOWN else parsed.usage_recommendation)
    if ctype is ComponentType.UNIT and isinstance(parsed, ParsedUnit):
        return Download(event=_unit_event(parsed, package, usage, source))
    if ctype is ComponentType.QUALIFICATION and isinstance(parsed, ParsedQualification):
        return Download(event=_qualification_event(parsed, package, usage, source, details))
    found = "unit" if isinstance(parsed, ParsedUnit) else "qualification"
    reason = f"expected a {ctype.value.replace('_', ' ')} document, found a {found}"
    return parse_failed(ctype, code, ParseFailure.NOT_AUTHORIT, reason, release, source)


def parse_failed(
    ctype: ComponentType,
    code: str,
    failure: ParseFailure,
    reason: str,
    release: str | None,
    source: SourceFile | None,
) -> Download:
    """The parser refused the file of ``code``: ``failure`` says which way, ``reason`` why and where."""
    event = UnitParseFailed(
        code=code, reason=reason, failure=failure, component_type=ctype, release=release, source=source
    )
    return Download(event=event)


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


def tga_usage(details: ComponentDetails) -> UsageRecommendation:
    """The state of TGA's last ``UsageRecommendation`` period, ``unknown`` when TGA lists none."""
    periods = details.usage_recommendations
    return usage_of(periods[-1].state) if periods else UsageRecommendation.UNKNOWN


def package_code(code: str) -> str:
    """TGA national codes begin with their training package's three-letter code (BSBCMM412 → BSB)."""
    return code[:3].upper()


def supersessions(ctype: ComponentType, details: ComponentDetails) -> list[ComponentSuperseded]:
    """The codes ``details`` supersedes (its mappings, each once, never itself), and itself when TGA's usage
    recommendation says superseded (no successor named)."""
    out: list[ComponentSuperseded] = []
    seen: set[str] = set()
    for m in details.mappings:
        old = (m.maps_to_code or "").strip()
        if old and old != details.code and old not in seen:
            seen.add(old)
            out.append(
                ComponentSuperseded(
                    code=old, component_type=ctype, superseded_by=details.code, is_equivalent=m.is_equivalent
                )
            )
    if tga_usage(details) is UsageRecommendation.SUPERSEDED:
        out.append(ComponentSuperseded(code=details.code, component_type=ctype))
    return out


__all__ = [
    "NO_CONTENT_FILE",
    "Download",
    "Downloaded",
    "Failed",
    "Outcome",
    "counts_of",
    "details_only",
    "download_failed",
    "metadata_only_reason",
    "outcome_of",
    "package_code",
    "package_download",
    "parse_failed",
    "parsed_download",
    "reason_of",
    "size_of",
    "supersessions",
    "tga_usage",
    "unexpected_failure",
]
