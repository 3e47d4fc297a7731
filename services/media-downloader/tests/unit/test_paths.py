"""CDN keys, CDN URLs and safe local paths, with property tests over arbitrary (hostile) text."""

from __future__ import annotations

import os
import unicodedata
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from skillstream_media_downloader.adapters.disk import resolve_inside
from skillstream_media_downloader.domain.paths import (
    MAX_COMPONENT_BYTES,
    cdn_key,
    cdn_url,
    course_directory,
    sanitize_component,
    segment_filename,
)
from skillstream_media_downloader.errors import UnsafePathError

HOSTILE = [
    "../../etc/passwd",
    "a/b\\c",
    "..",
    ".",
    ".hidden",
    "CON",
    "aux.mp4",
    "Lpt1",
    "tab\there\x00nul\x1bescape",
    "x" * 300,
    "é" * 200,
    "Cafe\u0301 \U0001f3b8 riff",
    "evil\u202egpj.exe",
    "  spaced   out  ",
    "",
    "   ",
    'what?*:"<>|',
]


def test_cdn_key_maps_the_video_path() -> None:
    assert cdn_key("mp4:bluesgtr_survival/intro", "med") == "bluesgtr_survival/intro_med.mp4"
    assert cdn_key("mp4:f/n", "hi") == "f/n_hi.mp4"
    assert cdn_key("mp4:../odd/%2e%2e/x y", "low") == "../odd/%2e%2e/x y_low.mp4"  # a key, not a path


@pytest.mark.parametrize("video", ["", "mp4:", "mp4:   ", "flv:folder/name", "MP4folder", "mp4:folder/", "mp4:a\x00b"])
def test_cdn_key_refuses_non_videos(video: str) -> None:
    with pytest.raises(UnsafePathError) as failed:
        cdn_key(video, "med")
    assert isinstance(failed.value, ValueError)
    assert failed.value.reason.startswith("unsafe path")


def test_cdn_key_refuses_unknown_quality() -> None:
    with pytest.raises(ValueError, match="low, med, hi"):
        cdn_key("mp4:a/b", "ultra")


def test_cdn_url_quotes_and_keeps_dot_segments() -> None:
    base = "http://127.0.0.1:8191/cdn/"
    assert cdn_url(base, "a b/é_med.mp4") == "http://127.0.0.1:8191/cdn/a%20b/%C3%A9_med.mp4"
    url = cdn_url(base, "../x/./%2e%2e/y_med.mp4")
    assert url == "http://127.0.0.1:8191/cdn/%2E%2E/x/%2E/%252e%252e/y_med.mp4"
    assert httpx.URL(url).raw_path == b"/cdn/%2E%2E/x/%2E/%252e%252e/y_med.mp4"  # httpx leaves it alone


def test_layout_names() -> None:
    assert course_directory(1001, "Blues Guitar Survival Kit") == "1001-Blues Guitar Survival Kit"
    assert segment_filename(700123, "Intro", "med") == "700123-Intro_med.mp4"
    assert segment_filename(7, "../../etc/passwd", "hi") == "7-_.._etc_passwd_hi.mp4"
    with pytest.raises(ValueError, match="segment id"):
        segment_filename(0, "x", "med")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("..", "untitled"),
        (".hidden", "hidden"),
        ("CON", "_CON"),
        ("aux.mp4", "_aux.mp4"),
        ("  spaced   out  ", "spaced out"),
        ("a/b\\c", "a_b_c"),
        ("tab\there\x00nul\nline", "tab herenul line"),
        ("Cafe\u0301", "Café"),
        ("evil\u202egpj.exe", "evilgpj.exe"),
        ("", "untitled"),
        ("trailing dots...", "trailing dots"),
    ],
)
def test_sanitize_component_examples(text: str, expected: str) -> None:
    assert sanitize_component(text) == expected


def test_long_names_are_cut_at_a_character_boundary() -> None:
    name = sanitize_component("é" * 200)
    assert name == "é" * 60
    assert len(name.encode()) == MAX_COMPONENT_BYTES
    assert len(segment_filename(123456, "x" * 300, "med").encode()) == MAX_COMPONENT_BYTES


def test_resolve_inside(tmp_path: Path) -> None:
    root = tmp_path / "media"
    root.mkdir()
    assert resolve_inside(root, "1-a/2-b_med.mp4") == root.resolve() / "1-a" / "2-b_med.mp4"
    assert resolve_inside(str(root), "1-a/../2-b.mp4") == root.resolve() / "2-b.mp4"
    for bad in ["../x", "1-a/../../x", "/etc/passwd", ".", "", "a\x00b"]:
        with pytest.raises(UnsafePathError):
            resolve_inside(root, bad)
    (root / "link").symlink_to(tmp_path)  # a symlink leading out of the root
    with pytest.raises(UnsafePathError, match="outside"):
        resolve_inside(root, "link/secret")


def _check_component(name: str) -> None:
    assert name not in {"", ".", ".."}
    assert not name.startswith(".")
    assert not set(name) & set('/\\:*?"<>|\x00')
    assert name == unicodedata.normalize("NFC", name)
    assert not any(unicodedata.category(c) in {"Cc", "Cs"} for c in name)
    assert len(name.encode("utf-8")) <= MAX_COMPONENT_BYTES


@given(st.text(max_size=400) | st.sampled_from(HOSTILE))
def test_sanitize_component_is_always_one_safe_name(text: str) -> None:
    _check_component(sanitize_component(text))
    assert sanitize_component(sanitize_component(text)) == sanitize_component(text)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    course_id=st.integers(min_value=1, max_value=10**12),
    segment_id=st.integers(min_value=1, max_value=10**12),
    course_title=st.text() | st.sampled_from(HOSTILE),
    title=st.text() | st.sampled_from(HOSTILE),
    quality=st.sampled_from(["low", "med", "hi"]),
)
def test_layout_stays_inside_the_root(
    tmp_path: Path, course_id: int, segment_id: int, course_title: str, title: str, quality: str
) -> None:
    directory = course_directory(course_id, course_title)
    filename = segment_filename(segment_id, title, quality)
    for component in (directory, filename):
        _check_component(component)
    path = resolve_inside(tmp_path, f"{directory}/{filename}")
    assert path.parent.parent == tmp_path.resolve()
    assert path.name == filename


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(["a", ".", "/", "..", "\\", "é", " ", "\x00", "link"]), max_size=12).map("".join))
def test_resolve_inside_never_escapes(tmp_path: Path, relative: str) -> None:
    root = tmp_path / "root"
    root.mkdir(exist_ok=True)
    if not (root / "link").is_symlink():
        (root / "link").symlink_to(tmp_path)  # "link" components lead out of the root
    try:
        path = resolve_inside(root, relative)
    except UnsafePathError:
        return
    base = root.resolve()
    assert path != base
    assert path.is_relative_to(base)
    assert os.path.commonpath([path, base]) == str(base)
