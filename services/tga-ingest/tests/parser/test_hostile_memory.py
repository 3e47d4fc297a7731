"""Memory on hostile XML: a 20 MB flat document of five million empty elements is refused as not AuthorIT
while its peak memory stays a few times its size (measured as the peak resident set size of a child process,
``VmHWM``, because lxml allocates outside Python's allocator)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from skillstream_contracts.tga import ParseFailure
from skillstream_tga_ingest.parser import ParseError, parse_component
from skillstream_tga_ingest.parser.safexml import AUTHORIT_ROOT, DEFAULT_MAX_BYTES, MAX_ELEMENTS

PEAK_LIMIT_MB = 200
_CHILD = """
import json, resource, sys
from pathlib import Path
from skillstream_tga_ingest.parser import ParseError, parse_component

data = Path(sys.argv[1]).read_bytes()
try:
    parse_component(data)
    outcome = {"refused": False}
except ParseError as e:
    outcome = {"refused": True, "failure": e.failure.value, "reason": e.reason}
status = Path("/proc/self/status")
lines = status.read_text().splitlines() if status.exists() else []
hwm = [line.split()[1] for line in lines if line.startswith("VmHWM:")]
# VmHWM is this program's own peak; ru_maxrss may include the forking test process's from before exec
outcome["peak_kb"] = int(hwm[0]) if hwm else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps(outcome))
"""


def _flat_document(path: Path) -> int:
    head, tail, element = b"<r>", b"</r>", b"<a/>"
    count = (DEFAULT_MAX_BYTES - len(head) - len(tail)) // len(element)
    path.write_bytes(head + element * count + tail)
    return count


def test_a_flat_hostile_document_is_refused_in_bounded_memory(tmp_path: Path) -> None:
    document = tmp_path / "flat.xml"
    count = _flat_document(document)
    assert count > 4_900_000
    assert document.stat().st_size <= DEFAULT_MAX_BYTES  # under the size limit: the structure must refuse it
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(document)], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr
    outcome = json.loads(done.stdout.strip().splitlines()[-1])
    peak_mb = outcome["peak_kb"] / 1024
    print(f"peak RSS parsing the {document.stat().st_size:,}-byte flat document: {peak_mb:.0f} MB")
    assert outcome["refused"], outcome
    assert outcome["failure"] == "not_authorit", outcome
    assert outcome["reason"] == "the root element is <r>, not an AuthorIT document"
    assert peak_mb < PEAK_LIMIT_MB, f"peak {peak_mb:.0f} MB"


def test_an_authorit_root_over_the_element_limit_is_too_large() -> None:
    root = AUTHORIT_ROOT.partition("}")[0].lstrip("{")
    data = f'<AuthorIT xmlns="{root}">'.encode() + b"<a/>" * (MAX_ELEMENTS + 1) + b"</AuthorIT>"
    with pytest.raises(ParseError) as refused:
        parse_component(data)
    assert refused.value.failure is ParseFailure.TOO_LARGE
    assert refused.value.reason == (
        f"the document holds {MAX_ELEMENTS + 2:,} elements, over the parser's limit of {MAX_ELEMENTS:,}"
    )


def test_a_malformed_document_is_still_reported_by_the_tree_parser() -> None:
    with pytest.raises(ParseError) as refused:
        parse_component(b"<r>" + b"<a/>" * 1000 + b"<b></r>")
    assert refused.value.failure is ParseFailure.MALFORMED
    assert refused.value.reason.startswith("line 1, column "), refused.value.reason
