"""Which release file to download, where it lives, and which release is the latest.

Rules from TGA-FORMAT.md §1.5 (real ``ReleaseFile.RelativePath`` values recorded in SOURCES.md §1, e.g.
``BSB\\BSBCMM412_Complete_R2.xml``, ``WRW01\\WRWSL201A_R1.xml``, ``BSB\\BSB41419_R2.xml``):

- a release lists several renditions: the new-format ``{CODE}_Complete_R{n}.xml`` (unit + Assessment
  Requirements), ``{CODE}_R{n}.xml``, ``{CODE}_AssessmentRequirements_R{n}.xml``, ``.docx`` and ``.pdf``;
- the order of the ``ReleaseFile`` entries means nothing, so the choice ranks them instead;
- ``RelativePath`` uses backslashes; the file is at ``<files base>/TrainingComponentFiles/<path with />``.
"""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import quote

from skillstream_tga_ingest.adapters.client.models import ComponentDetails, Release, ReleaseFile

_RELEASE_SUFFIX = re.compile(r"_R(\d+)\.xml$", re.IGNORECASE)
_DRIVE = re.compile(r"^[A-Za-z]:")
_LEADING_DIGITS = re.compile(r"^\s*(\d+)")


def _basename(relative_path: str) -> str:
    return relative_path.replace("\\", "/").rsplit("/", 1)[-1]


def _rank(file: ReleaseFile) -> tuple[int, int, str]:
    """Smaller is better: (kind, -release number in the name, path) so ties never depend on list order."""
    name = _basename(file.relative_path).lower()
    match = _RELEASE_SUFFIX.search(name)
    number = int(match.group(1)) if match else -1
    if "_complete_" in name:
        kind = 0
    elif match and "_assessmentrequirements_" not in name:
        kind = 1
    else:
        kind = 2
    return kind, -number, file.relative_path


def choose_release_file(files: list[ReleaseFile]) -> ReleaseFile | None:
    """The XML rendition to parse, or None when the release has no ``.xml`` file.

    Preference (TGA-FORMAT.md §1.5, as duyen0629 ``ReleaseFileHelper.cs`` does): a ``_Complete_`` XML, then an
    ``_R<n>.xml`` that is not ``_AssessmentRequirements_``, then any other XML. ``.docx``/``.pdf`` are ignored.
    Among equals the highest ``R<n>`` wins, then the smallest path, whatever the order of ``files``.
    """
    xml_files = [f for f in files if f.relative_path.lower().endswith(".xml")]
    if not xml_files:
        return None
    return min(xml_files, key=_rank)


def file_url_path(relative_path: str) -> str:
    """``RelativePath`` as the URL path below ``/TrainingComponentFiles/``: ``\\`` → ``/``, segments
    percent-encoded. ``BSB\\BSBCMM412_Complete_R2.xml`` → ``BSB/BSBCMM412_Complete_R2.xml``.

    Raises:
        ValueError: the path is empty, absolute (``/…``, ``\\…``, ``C:…``), has a ``..`` or ``.`` or empty
            segment, or a control character: a file name from upstream must never leave the files folder.
    """
    path = relative_path.replace("\\", "/")
    if not path.strip():
        raise ValueError("empty release file path")
    if path.startswith("/") or _DRIVE.match(path):
        raise ValueError(f"absolute release file path refused: {relative_path!r}")
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in path):
        raise ValueError(f"control character in release file path: {relative_path!r}")
    segments = path.split("/")
    if any(segment in {"", ".", ".."} for segment in segments):
        raise ValueError(f"release file path with an empty, '.' or '..' segment refused: {relative_path!r}")
    return "/".join(quote(segment, safe="") for segment in segments)


def _release_key(release: Release) -> tuple[int, dt.date]:
    match = _LEADING_DIGITS.match(release.release_number)
    return (int(match.group(1)) if match else -1), (release.release_date or dt.date.min)


def latest_release(details: ComponentDetails) -> Release | None:
    """The release with the highest ``ReleaseNumber`` read as an integer (``"10"`` beats ``"9"``), ties broken
    by the later ``ReleaseDate``; None when ``details.releases`` is empty. The XSD types ``ReleaseNumber`` as
    a string, so a non-numeric number ranks below every numeric one."""
    if not details.releases:
        return None
    return max(details.releases, key=_release_key)


__all__ = ["choose_release_file", "file_url_path", "latest_release"]
