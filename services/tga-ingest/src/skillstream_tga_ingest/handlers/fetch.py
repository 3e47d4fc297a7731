"""What happens to one component of a job: the I/O around the rules of ``domain/outcomes.py``.

- :func:`download_component`: TGA ``GetDetails`` → latest release → its XML file → the raw store → the
  parser (in a worker thread: parsing a large file must not stall the event loop) → the event to record;
- :func:`reparse_component`: the release file the component's subject last kept (``domain.component.
  kept_xml``) → the raw store → the parser, without asking TGA.

Both return a :class:`~skillstream_tga_ingest.domain.outcomes.Download`; a TGA or file failure is a failure
event, never an exception. They raise only for what no rule foresees (``ValueError``: an unsafe file path
from TGA, nothing kept to re-parse, the kept bytes gone from the raw store), which the item run records as
the item's failure.
"""

from __future__ import annotations

import asyncio
import dataclasses

import structlog

from skillstream_contracts.tga import ComponentType, SourceFile, UnitParseFailed, UsageRecommendation
from skillstream_tga_ingest.adapters.client import TgaError, TgaValidationFault
from skillstream_tga_ingest.adapters.client.files import choose_release_file, file_url_path, latest_release
from skillstream_tga_ingest.adapters.client.models import ComponentDetails
from skillstream_tga_ingest.adapters.rawstore import RawFileMissing
from skillstream_tga_ingest.domain.component import ComponentState, kept_xml
from skillstream_tga_ingest.domain.items import Item
from skillstream_tga_ingest.domain.outcomes import (
    Download,
    details_only,
    download_failed,
    package_download,
    parsed_download,
    supersessions,
)
from skillstream_tga_ingest.handlers.deps import RawFiles, TgaApi
from skillstream_tga_ingest.parser import ParsedQualification, ParsedUnit, ParseError, parse_component

log = structlog.get_logger(__name__)


async def download_component(client: TgaApi, raw: RawFiles, item: Item, state: ComponentState) -> Download:
    """Download ``item`` from TGA (``state`` is not needed: a download starts from TGA's current release).

    Raises:
        ValueError: TGA names an unsafe release file path (absolute, ``..``; ``file_url_path``).
    """
    ctype, code = item.ctype, item.code
    try:
        details = await client.get_details(code, components=ctype is ComponentType.TRAINING_PACKAGE)
    except TgaError as e:
        return _failed(ctype, code, e)
    if ctype is ComponentType.TRAINING_PACKAGE:
        return package_download(details)
    release = latest_release(details)
    chosen = choose_release_file(release.files) if release is not None else None
    if release is None or chosen is None:
        return details_only(ctype, details, release)
    try:
        data = await client.download_file(chosen.relative_path, expected_size=chosen.size)
    except TgaError as e:
        return _failed(ctype, code, e)
    key = await raw.put(data)
    source = SourceFile(relative_path=file_url_path(chosen.relative_path), size=len(data), sha256=key, raw_key=key)
    parsed = await parse_release(ctype, code, data, source, details=details, release=release.release_number)
    return dataclasses.replace(parsed, related=supersessions(ctype, details))


async def reparse_component(raw: RawFiles, item: Item, state: ComponentState) -> Download:
    """Parse again the release file ``item``'s subject last kept (``state``), with what its event said
    (release, training package, usage recommendation).

    Raises:
        ValueError: nothing kept to re-parse, or the kept bytes are missing from the raw store.
    """
    kept = kept_xml(state, item.code)
    try:
        data = await raw.get(kept.source.raw_key)
    except RawFileMissing as e:
        raise ValueError(f"{item.code}: {e}") from e
    return await parse_release(
        item.ctype,
        item.code,
        data,
        kept.source,
        release=kept.release,
        training_package=kept.training_package,
        usage=kept.usage,
    )


async def parse_release(
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
    """Parse ``data`` (kept as ``source``) in a worker thread into ``code``'s event
    (``domain.outcomes.parsed_download``; a refusal is a ``UnitParseFailed``, logged)."""
    parsed: ParsedUnit | ParsedQualification | ParseError
    try:
        parsed = await asyncio.to_thread(parse_component, data)
    except ParseError as e:
        parsed = e
    download = parsed_download(
        ctype, code, parsed, source, details=details, release=release, training_package=training_package, usage=usage
    )
    if isinstance(download.event, UnitParseFailed):
        failure, reason = download.event.failure.value, download.event.reason
        log.warning("component refused by the parser", code=code, failure=failure, reason=reason)
    return download


def _failed(ctype: ComponentType, code: str, error: TgaError) -> Download:
    """A TGA failure after the client's retries, with the HTTP status or the ``ValidationFault`` code."""
    status = getattr(error, "status", None)
    log.warning("component download failed", code=code, component_type=ctype.value, reason=str(error))
    return download_failed(
        ctype,
        code,
        str(error),
        attempts=int(getattr(error, "attempts", 1) or 1),
        http_status=status if isinstance(status, int) else None,
        fault_code=error.code if isinstance(error, TgaValidationFault) else None,
    )


__all__ = ["download_component", "parse_release", "reparse_component"]
