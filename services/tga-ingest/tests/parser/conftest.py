"""Fixtures for the AuthorIT parser tests: the real TGA release files of ``real-data/tga`` (see its SOURCES.md)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from skillstream_runtime.realdata import real_data


@pytest.fixture(scope="session")
def unit_xml() -> Callable[[str], bytes]:
    """``unit_xml("BSBCMM412")`` → the bytes of ``real-data/tga/units/BSBCMM412_XML.xml``."""

    def load(code: str) -> bytes:
        return real_data("tga", "units", f"{code}_XML.xml").read_bytes()

    return load


@pytest.fixture(scope="session")
def qualification_xml() -> Callable[[str], bytes]:
    """``qualification_xml("BSB41419")`` → the bytes of ``real-data/tga/qualifications/BSB41419_XML.xml``."""

    def load(code: str) -> bytes:
        return real_data("tga", "qualifications", f"{code}_XML.xml").read_bytes()

    return load
