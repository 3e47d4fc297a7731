"""From catalogue names to CDN keys, CDN URLs and safe file names (pure: no file system access).

- CDN key (seed 001 ``TrueFireSegment``): video ``mp4:<folder>/<name>`` → ``<folder>/<name>_<q>.mp4``.
  Keys are used as the CDN spells them (even ``../`` or ``%2e%2e``: they are object names, not paths); only
  the local file name is sanitised.
- Local layout: ``<course_id>-<title>/<segment_id>-<title>_<q>.mp4`` under the storage root, every component
  made safe by :func:`sanitize_component` (at most 120 UTF-8 bytes, far below the 255-byte NAME_MAX); the
  disk adapter resolves the joined path and refuses one that escapes the root
  (:func:`skillstream_media_downloader.adapters.disk.resolve_inside`; DESIGN.md: file names from upstreams
  never escape the root).
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

from skillstream_contracts.media import VideoQuality
from skillstream_media_downloader.errors import UnsafePathError

MAX_COMPONENT_BYTES = 120
FALLBACK_NAME = "untitled"
VIDEO_PREFIX = "mp4:"

_FORBIDDEN = re.compile(r'[/\\:*?"<>|]')
_KEEP_FORMAT = frozenset({"\u200c", "\u200d"})  # ZWNJ/ZWJ join emoji and scripts; other Cf chars are tricks
_WINDOWS_RESERVED = frozenset(
    {"CON", "PRN", "AUX", "NUL"} | {f"{p}{d}" for p in ("COM", "LPT") for d in "0123456789\u00b9\u00b2\u00b3"}
)
_MIN_SLUG_BYTES = 16


def cdn_key(video: str, quality: VideoQuality | str) -> str:
    """The CDN object key of a segment file: ``"mp4:folder/name"``, ``"med"`` → ``"folder/name_med.mp4"``.

    Raises:
        UnsafePathError (a ValueError): ``video`` does not start with ``mp4:`` or names nothing, or
            ``quality`` is not one of ``low``/``med``/``hi``.
    """
    q = _quality(quality)
    if not video.startswith(VIDEO_PREFIX):
        raise UnsafePathError("not an mp4 video (no 'mp4:' prefix)", value=video)
    name = video[len(VIDEO_PREFIX) :]
    if not name.strip() or name.endswith("/"):
        raise UnsafePathError("the video path names no file", value=video)
    if any(unicodedata.category(c) == "Cc" for c in name):
        raise UnsafePathError("control characters in the video path", value=video)
    return f"{name}_{q}.mp4"


def cdn_url(base_url: str, key: str) -> str:
    """``{base_url}/{quote(key, safe="/")}`` (media spec §2), with ``.``/``..`` segments written ``%2E``:
    HTTP clients (httpx included) remove dot segments from a URL's path, which would ask for — and sign — a
    different object than the key names."""
    segments = [s.replace(".", "%2E") if s in {".", ".."} else s for s in quote(key, safe="/").split("/")]
    return f"{base_url.rstrip('/')}/{'/'.join(segments)}"


def sanitize_component(text: str, *, max_bytes: int = MAX_COMPONENT_BYTES) -> str:
    """One safe file or directory name made from ``text`` (a catalogue title or video name).

    NFC-normalised; whitespace controls (tab, newline…) read as spaces; other control, surrogate and invisible
    format characters removed (bidi overrides that disguise extensions included); ``/ \\ : * ? " < > |``
    replaced with ``_``; whitespace collapsed to one space; leading dots and trailing dots/spaces removed (no
    hidden files, no ``.``/``..``, Windows-safe); Windows reserved device names (``CON``, ``aux.mp4``…)
    prefixed with ``_``; cut to ``max_bytes`` UTF-8 bytes at a character boundary; ``"untitled"`` when nothing
    is left.
    """
    text = unicodedata.normalize("NFC", text)
    text = "".join(
        " " if c.isspace() else c
        for c in text
        if c.isspace() or c in _KEEP_FORMAT or unicodedata.category(c) not in {"Cc", "Cs", "Cf"}
    )
    text = " ".join(_FORBIDDEN.sub("_", text).split())
    text = text.lstrip(". ").rstrip(". ")
    if text.split(".", 1)[0].rstrip().upper() in _WINDOWS_RESERVED:
        text = f"_{text}"
    text = text.encode("utf-8")[: max(max_bytes, 1)].decode("utf-8", errors="ignore").rstrip(". ")
    return text or FALLBACK_NAME


def course_directory(course_id: int, title: str) -> str:
    """The course folder, relative to the storage root: ``"<course_id>-<sanitised title>"``."""
    prefix = f"{_positive(course_id, 'course id')}-"
    return prefix + sanitize_component(title, max_bytes=_budget(prefix))


def segment_filename(segment_id: int, title_or_video_name: str, quality: VideoQuality | str) -> str:
    """The segment's file name: ``"<segment_id>-<sanitised title>_<quality>.mp4"``.

    Raises:
        ValueError: ``segment_id`` is not a positive integer or ``quality`` is unknown.
    """
    prefix, suffix = f"{_positive(segment_id, 'segment id')}-", f"_{_quality(quality)}.mp4"
    return prefix + sanitize_component(title_or_video_name, max_bytes=_budget(prefix + suffix)) + suffix


def _quality(quality: VideoQuality | str) -> str:
    try:
        return VideoQuality(quality).value
    except ValueError:
        raise UnsafePathError("quality must be one of low, med, hi", value=str(quality)) from None


def _positive(value: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{what} must be a positive integer, got {value!r}")
    return value


def _budget(fixed: str) -> int:
    return max(MAX_COMPONENT_BYTES - len(fixed.encode()), _MIN_SLUG_BYTES)


__all__ = [
    "FALLBACK_NAME",
    "MAX_COMPONENT_BYTES",
    "VIDEO_PREFIX",
    "cdn_key",
    "cdn_url",
    "course_directory",
    "sanitize_component",
    "segment_filename",
]
