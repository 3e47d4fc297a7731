"""The embedded PostgreSQL's runtime directory: private to this user, and no platformdirs warning without
``XDG_RUNTIME_DIR``."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

_PROBE = """
import json, os
from skillstream_devstack import embedded
embedded._pg_bin()  # loads the pgserver wheel
from pgserver.postgres_server import PostgresServer
print(json.dumps({"runtime": str(PostgresServer.runtime_path), "xdg": os.environ.get("XDG_RUNTIME_DIR")}))
"""


def _probe(env: dict[str, str]) -> tuple[dict[str, str | None], str]:
    done = subprocess.run(
        [sys.executable, "-W", "default", "-c", _PROBE], env=env, capture_output=True, text=True, timeout=60, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1]), done.stderr


def test_without_xdg_runtime_dir_pgserver_gets_a_private_one_and_no_warning(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "XDG_RUNTIME_DIR"}
    env["TMPDIR"] = str(tmp_path)
    seen, stderr = _probe(env)
    assert "RuntimeDirWarning" not in stderr
    assert "XDG_RUNTIME_DIR" not in stderr
    assert seen["xdg"] is None  # set for pgserver only, not handed to the services this process starts
    runtime = Path(str(seen["runtime"]))
    private = next(p for p in (runtime, *runtime.parents) if p.parent == tmp_path)
    info = private.lstat()
    assert stat.S_ISDIR(info.st_mode)
    assert info.st_uid == os.geteuid()
    assert stat.S_IMODE(info.st_mode) == 0o700


def test_a_set_xdg_runtime_dir_is_used_as_it_is(tmp_path: Path) -> None:
    own = tmp_path / "run"
    own.mkdir(mode=0o700)
    seen, stderr = _probe({**os.environ, "XDG_RUNTIME_DIR": str(own)})
    assert "RuntimeDirWarning" not in stderr
    assert seen["xdg"] == str(own)
    assert Path(str(seen["runtime"])).is_relative_to(own)
