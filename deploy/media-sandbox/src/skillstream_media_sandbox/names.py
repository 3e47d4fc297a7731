"""Titles and video names for the generated catalogue: ordinary guitar-course ones and the hostile ones.

Everything is drawn from a caller's ``random.Random``, so the same seed gives the same names. The hostile
lists are what a downloader must turn into safe local paths (media-spec §1): separators and ``..``,
control characters, a 300-character title, Windows reserved names, NFD accents, emoji, leading dots.

Hostile video paths never contain a bare ``.`` or ``..`` *segment* (``a/../b``): RFC 3986 clients such as
httpx remove dot segments before sending (``/cdn/a/../b`` goes out as ``/cdn/b``), so such a key could not
be fetched through the contract's ``quote(key, safe="/")`` URL at all. They carry ``..`` inside segments,
``%2e%2e/`` and ``..%2f`` (which a client that unquotes twice would turn into traversal), backslashes,
spaces, NFD and emoji instead.
"""

from __future__ import annotations

import random
import re
import unicodedata

_STYLES = (
    "Blues", "Jazz", "Rock", "Country", "Fingerstyle", "Slide", "Funk", "Acoustic", "Metal", "Bluegrass",
    "Gypsy Jazz", "Delta Blues", "Rockabilly", "Celtic", "Flamenco", "Latin", "Soul", "Texas Blues",
    "Chicago Blues", "Southern Rock", "Chicken Pickin'", "Neo-Soul", "Fusion", "Surf",
)  # fmt: skip
_TOPICS = (
    "Rhythm", "Soloing", "Licks", "Chord Melody", "Improvisation", "Arpeggios", "Scales", "Comping",
    "Phrasing", "Turnarounds", "Bends & Vibrato", "Hybrid Picking", "Travis Picking", "Open Tunings",
    "Double Stops", "Triads", "CAGED System", "Pentatonics", "Walking Bass Lines", "Riffs", "Intros & Endings",
    "Shuffle Grooves", "Modes", "Sweep Picking",
)  # fmt: skip
_FORMATS = (
    "Survival Kit", "Guitar Method", "Masterclass", "Essentials", "Workshop", "Playbook", "Jam Along",
    "Foundations", "30-Day Challenge", "Toolbox", "Bootcamp", "Style Guide", "Sessions", "Crash Course",
)  # fmt: skip
_CHANNELS = ("Introduction", "Technique", "Vocabulary", "Performance Studies", "Jam Tracks", "Bonus Material")
_SEGMENTS = (
    "Intro", "Overview", "Slow Demo", "Up to Tempo", "Breakdown", "Performance", "Play Along",
    "Rhythm Study", "Lick {n}", "Etude {n}", "Variation {n}", "Common Mistakes", "Practice Plan",
)  # fmt: skip
_NO_VIDEO = ("Tab sheet", "PDF notes", "Guitar Pro file", "Chord chart", "Practice log")

_LONG = ("The Complete Guide to Every Blues Turnaround Ever Played " * 6)[:300]
HOSTILE_TITLES: tuple[str, ...] = (
    "AC/DC-Style Riffs / Part 1",
    "../../../etc/passwd",
    "..\\..\\Windows\\System32\\drivers",
    "..",
    "Tab\x00sheet\x07 with\ncontrol\tchars\x1b[31m",
    _LONG,
    "CON",
    "aux.mp4",
    "NUL.txt",
    "com1",
    unicodedata.normalize("NFD", "Café Déjà Vu Licks"),
    "🎸 Shred Licks 🔥🤘",
    ".hidden lesson",
    "...leading dots",
    "Trailing dot and space. ",
    'Bad <chars> : " | ? *',
)
"""Titles of hostile courses, channels and segments (cycled)."""
_HOSTILE_FOLDERS = (
    "hostile course {id}",
    unicodedata.normalize("NFD", "Ünïcødé çoürse {id}"),
    ".hidden_{id}",
    "CON_{id}",
)
_HOSTILE_NAMES = (
    "%2e%2e/%2e%2e/escape_{n}",
    "lesson with spaces/take {n}",
    "..\\..\\windows_{n}",
    "..%2f..%2fetc%2fpasswd_{n}",
    unicodedata.normalize("NFD", "Ünïcødé") + "/🎸 riff {n}",
    ".hidden/.{n}",
    "CON/aux_{n}",
    "dots_{n}/..",
    "x../y_{n}",
)


def slug(text: str) -> str:
    """``"Chicken Pickin' Licks"`` → ``"chicken_pickin_licks"`` (ASCII letters and digits only)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "_".join(re.findall(r"[a-z0-9]+", ascii_text.lower().replace("'", "")))


def course_title(rng: random.Random) -> str:
    """A TrueFire-like course title (``"Delta Blues Slide Survival Kit"``)."""
    style, topic, form = rng.choice(_STYLES), rng.choice(_TOPICS), rng.choice(_FORMATS)
    pattern = rng.randrange(4)
    if pattern == 0:
        return f"{style} {topic} {form}"
    if pattern == 1:
        return f"{rng.choice((30, 40, 50, 60, 101))} {style} {topic} You Must Know"
    if pattern == 2:
        return f"{style} Guitar {form}: {topic}"
    return f"{style} {topic} {form} Vol. {rng.randint(1, 4)}"


def channel_title(rng: random.Random, number: int) -> str:
    """``"Lesson 3: Double Stops"`` mostly, sometimes a section name."""
    if rng.random() < 0.25:
        return rng.choice(_CHANNELS)
    return f"Lesson {number}: {rng.choice(_TOPICS)}"


def segment_title(rng: random.Random, has_video: bool) -> str:
    """A segment title; segments without video get a handout-like one (``"Tab sheet"``)."""
    if not has_video:
        return rng.choice(_NO_VIDEO)
    return rng.choice(_SEGMENTS).format(n=rng.randint(1, 12))


def hostile_title(index: int) -> str:
    return HOSTILE_TITLES[index % len(HOSTILE_TITLES)]


def hostile_folder(index: int, course_id: int) -> str:
    return _HOSTILE_FOLDERS[index % len(_HOSTILE_FOLDERS)].format(id=course_id)


def hostile_name(index: int, segment_id: int) -> str:
    """A hostile video name below the course folder; ``segment_id`` keeps it unique."""
    return _HOSTILE_NAMES[index % len(_HOSTILE_NAMES)].format(n=segment_id)


__all__ = [
    "HOSTILE_TITLES",
    "channel_title",
    "course_title",
    "hostile_folder",
    "hostile_name",
    "hostile_title",
    "segment_title",
    "slug",
]
