"""Release file choice, file URL paths and the latest release (TGA-FORMAT.md §1.5).

The RelativePaths are the real ones recorded in real-data/tga/SOURCES.md (read from the file, not copied).
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from skillstream_runtime.realdata import real_data
from skillstream_tga_ingest.adapters.client.files import choose_release_file, file_url_path, latest_release
from skillstream_tga_ingest.adapters.client.models import ComponentDetails, Release, ReleaseFile


def _real_relative_paths() -> list[str]:
    text = real_data("tga", "SOURCES.md").read_text(encoding="utf-8")
    return re.findall(r"`([A-Z0-9]+\\[A-Za-z0-9_]+\.xml)`", text)


REAL_PATHS = _real_relative_paths()


def test_sources_list_the_real_paths() -> None:
    assert len(REAL_PATHS) == 22  # 15 unit + 7 qualification RelativePaths recorded (AHC30921 has none)
    assert "BSB\\BSBCMM412_Complete_R2.xml" in REAL_PATHS
    assert "WRW01\\WRWSL201A_R1.xml" in REAL_PATHS


@pytest.mark.parametrize("path", REAL_PATHS)
def test_real_paths_become_url_paths_with_slashes(path: str) -> None:
    assert file_url_path(path) == path.replace("\\", "/")


def test_url_path_is_percent_encoded() -> None:
    assert file_url_path("BSB\\a b#c?.xml") == "BSB/a%20b%23c%3F.xml"


@pytest.mark.parametrize(
    "path",
    [
        "",
        "  ",
        "..\\BSB\\x.xml",
        "BSB\\..\\..\\etc\\passwd",
        "/etc/passwd",
        "\\\\server\\share\\x.xml",
        "C:\\x.xml",
        "c:x.xml",
        "BSB\\\\x.xml",
        "BSB\\.\\x.xml",
        "BSB\\x\n.xml",
        "BSB\\",
    ],
)
def test_unsafe_paths_are_refused(path: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - the message names the path
        file_url_path(path)


def _siblings(path: str) -> list[ReleaseFile]:
    """The renditions TGA lists beside a file (TGA-FORMAT.md §1.5 naming), the real path among them."""
    folder, name = path.split("\\")
    code = name.split("_")[0]
    release = re.search(r"_R(\d+)\.xml$", name)
    assert release is not None
    n = release.group(1)
    return [
        ReleaseFile(relative_path=f"{folder}\\{code}_R{n}.docx", size=1),
        ReleaseFile(relative_path=f"{folder}\\{code}_R{n}.pdf", size=2),
        ReleaseFile(relative_path=f"{folder}\\{code}_AssessmentRequirements_R{n}.xml", size=3),
        ReleaseFile(relative_path=path, size=4),
    ]


@pytest.mark.parametrize("path", REAL_PATHS)
def test_the_real_file_is_chosen_among_its_renditions(path: str) -> None:
    chosen = choose_release_file(_siblings(path))
    assert chosen is not None
    assert chosen.relative_path == path


def test_complete_beats_plain_release_file_and_assessment_requirements() -> None:
    files = [
        ReleaseFile(relative_path="BSB\\BSBCMM412_R2.xml"),
        ReleaseFile(relative_path="BSB\\BSBCMM412_AssessmentRequirements_R2.xml"),
        ReleaseFile(relative_path="BSB\\BSBCMM412_Complete_R2.xml"),
    ]
    assert choose_release_file(files) == files[2]
    assert choose_release_file(files[:2]) == files[0]
    assert choose_release_file(files[1:2]) == files[1]  # last resort: any XML


def test_no_xml_no_choice() -> None:
    assert choose_release_file([ReleaseFile(relative_path="BSB\\X_R1.pdf")]) is None
    assert choose_release_file([]) is None


@given(
    st.permutations([*_siblings("BSB\\BSBCMM412_Complete_R2.xml"), ReleaseFile(relative_path="BSB\\BSBCMM412_R2.xml")])
)
def test_choice_does_not_depend_on_order(files: list[ReleaseFile]) -> None:
    chosen = choose_release_file(files)
    assert chosen is not None
    assert chosen.relative_path == "BSB\\BSBCMM412_Complete_R2.xml"


def _details(*releases: Release) -> ComponentDetails:
    return ComponentDetails(
        code="BSBCMM412", title="Lead difficult conversations", component_types=["Unit"], releases=list(releases)
    )


def test_latest_release_compares_numbers_as_integers() -> None:
    r9 = Release(release_number="9", release_date=dt.date(2020, 1, 1))
    r10 = Release(release_number="10", release_date=dt.date(2019, 1, 1))
    assert latest_release(_details(r9, r10)) == r10
    assert latest_release(_details(r10, r9)) == r10


def test_latest_release_ties_go_to_the_later_date() -> None:
    early = Release(release_number="2", release_date=dt.date(2021, 1, 1))
    late = Release(release_number="2", release_date=dt.date(2022, 6, 1))
    assert latest_release(_details(late, early)) == late
    assert latest_release(_details(early, late)) == late


def test_latest_release_of_nothing_is_none() -> None:
    assert latest_release(_details()) is None
