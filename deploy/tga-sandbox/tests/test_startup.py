"""The MySQL dump reader, the catalogue's start-up time, and ``skillstream-tga-sandbox`` as a process."""

from __future__ import annotations

import datetime as dt
import gzip
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from skillstream_tga_sandbox.__main__ import settings_from_args
from skillstream_tga_sandbox.catalogue import load_catalogue
from skillstream_tga_sandbox.errors import CatalogueError
from skillstream_tga_sandbox.sqldump import generation_time, insert_rows

from .conftest import Soap


def test_insert_tuples_with_escapes_and_separators_inside_strings() -> None:
    text = (
        "INSERT INTO `t` (`a`, `b`, `c`) VALUES\n"
        "(1, 'it\\'s; (x), y', NULL),\n"
        "(2, 'two '' quotes \\\\ and \\n', -3);\n"
        "INSERT INTO `other` (`a`) VALUES (9);"
    )
    assert list(insert_rows(text, "t")) == [
        {"a": 1, "b": "it's; (x), y", "c": None},
        {"a": 2, "b": "two ' quotes \\ and \n", "c": -3},
    ]


def test_a_tuple_of_the_wrong_width_is_refused() -> None:
    with pytest.raises(CatalogueError, match="has 1 values"):
        list(insert_rows("INSERT INTO `t` (`a`, `b`) VALUES (1);", "t"))


def test_the_real_dump(tga_dir: Path) -> None:
    with gzip.open(tga_dir / "catalogue" / "vet_qualifications.sql.gz", "rt", encoding="utf-8") as f:
        text = f.read()
    rows = list(insert_rows(text, "ntis_qualifications"))
    assert len(rows) == 3688  # SOURCES.md §3
    assert rows[0]["qualCode"] == "ACM50210"
    assert rows[0]["qualTitle"] == "Diploma of Veterinary Nursing (Surgical)"
    assert rows[-1]["qualCode"] == "MSM31015"
    assert generation_time(text) == dt.datetime(2016, 7, 31, 10, 10, tzinfo=dt.UTC)


def test_catalogue_loads_in_under_two_seconds(tga_dir: Path) -> None:
    load_catalogue.cache_clear()
    started = time.perf_counter()
    catalogue = load_catalogue(tga_dir, dt.datetime(2026, 2, 1, tzinfo=dt.UTC))
    assert time.perf_counter() - started < 2.0
    assert len(catalogue.files) == 71  # 32 unit + 39 qualification files


def test_cli_flags_override_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TGA_SANDBOX_PORT", "9001")
    monkeypatch.setenv("TGA_SANDBOX_FAULTS__LATENCY_MS", "7")
    settings = settings_from_args(["--host", "0.0.0.0", "--password", "pw", "--soap-fault-codes", "a,b"])
    assert (settings.host, settings.port, settings.password.get_secret_value()) == ("0.0.0.0", 9001, "pw")
    assert (settings.faults.latency_ms, settings.faults.soap_fault_codes) == (7, ["A", "B"])


def test_http_port_is_used_below_the_sandbox_port(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TGA_SANDBOX_PORT", raising=False)
    monkeypatch.setenv("HTTP_PORT", "8300")  # what `skillstream up` sets for each child
    assert settings_from_args([]).port == 8300
    monkeypatch.setenv("TGA_SANDBOX_PORT", "8301")
    assert settings_from_args([]).port == 8301
    assert settings_from_args(["--port", "8302"]).port == 8302


def test_console_script_listens_and_answers() -> None:
    env = {**os.environ, "HTTP_PORT": "0"}
    env.pop("TGA_SANDBOX_PORT", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "skillstream_tga_sandbox", "--latency-ms", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        assert line.startswith("TGA sandbox listening on http://127.0.0.1:")
        url = line.removeprefix("TGA sandbox listening on ")
        deadline = time.monotonic() + 10
        while True:
            try:
                health = httpx.get(url + "/_sandbox/health")
                break
            except httpx.ConnectError:
                assert time.monotonic() < deadline
                time.sleep(0.05)
        assert health.json()["status"] == "ok"
        assert httpx.get(url + "/healthz").status_code == 200
        assert httpx.get(url + "/_sandbox/faults").json()["latency_ms"] == 1
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_keep_alive_replies_are_not_held_by_nagle(soap: Soap) -> None:
    # Each reply is written as headers then body; without TCP_NODELAY on the accepted socket the body waits
    # for the client's delayed ACK (~40 ms on Linux), so 20 calls would take ~0.8 s instead of ~20 ms.
    soap.call("GetServerTime")  # open the keep-alive connection
    started = time.perf_counter()
    for _ in range(20):
        assert soap.call("GetServerTime").status == 200
    assert time.perf_counter() - started < 0.4
