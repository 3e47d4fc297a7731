"""Product text speaks to users: no help text, doc, comment or error message in the tree points at planning
records (issue or ticket numbers, "the issue", "TODO") instead of saying what the product does and why.

The check reads every tracked text file of the repository (``git ls-files``) except the lock file.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEXT = {".py", ".md", ".js", ".css", ".html", ".toml", ".sh", ".sql", ".txt", ".yaml", ".yml", ""}
PLANNING = re.compile(
    r"\bissues? ?#\d+|\b(?:the|this|an|that) issue(?:'s)?\b|\bticket\b|\bsprint\b|(?-i:\bTODO\b|\bFIXME\b)"
    r"|acceptance criteri",
    re.IGNORECASE,
)
# Where "issue" is the product's own word: an upstream's issue tracker cited as a source.
ALLOWED = re.compile(r"github\.com/[^ ]+/issues/\d+")


def _tracked() -> list[Path]:
    out = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return [ROOT / p for p in out.splitlines() if Path(p).suffix in TEXT and not p.endswith(".lock")]


def test_no_text_refers_to_planning_records() -> None:
    found = []
    for path in _tracked():
        if not path.is_file() or path == Path(__file__):
            continue
        for n, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            if PLANNING.search(ALLOWED.sub("", line)):
                found.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()[:120]}")
    assert not found, "text that speaks of planning, not of the product:\n" + "\n".join(found)
