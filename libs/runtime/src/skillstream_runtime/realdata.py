"""Where the real input lives: ``../shared/real-data`` beside the checkout (README, DESIGN.md).

The sandboxes, the demo and the tests read the real TGA XML, catalogues and workbooks from there and never
from a hand-written stand-in. ``SKILLSTREAM_SHARED_DIR`` points elsewhere (the folder holding
``real-data/``); otherwise the first ``shared/real-data`` found beside the working directory, the checkout
or any of their parents is used.
"""

from __future__ import annotations

import os
from pathlib import Path


class RealDataNotFound(FileNotFoundError):
    """No ``shared/real-data`` folder was found; the message says where it was looked for."""


def shared_dir() -> Path:
    """The ``shared`` folder (holding ``real-data/``, ``seeds/``…).

    Raises:
        RealDataNotFound: neither ``SKILLSTREAM_SHARED_DIR`` nor a ``shared/real-data`` beside the working
            directory or the checkout exists.
    """
    env = os.environ.get("SKILLSTREAM_SHARED_DIR")
    if env:
        path = Path(env).expanduser().resolve()
        if (path / "real-data").is_dir():
            return path
        raise RealDataNotFound(f"SKILLSTREAM_SHARED_DIR={env} has no real-data/ folder")
    looked: list[str] = []
    for start in (Path.cwd().resolve(), Path(__file__).resolve()):
        for parent in (start, *start.parents):
            candidate = parent / "shared"
            if (candidate / "real-data").is_dir():
                return candidate
            looked.append(str(candidate))
    raise RealDataNotFound("no shared/real-data folder; looked in " + ", ".join(dict.fromkeys(looked)))


def real_data(*parts: str) -> Path:
    """A path under ``shared/real-data``, e.g. ``real_data("tga", "units")``.

    Raises:
        RealDataNotFound: as :func:`shared_dir`, or the path does not exist.
    """
    path = shared_dir().joinpath("real-data", *parts)
    if not path.exists():
        raise RealDataNotFound(f"{path} does not exist")
    return path


__all__ = ["RealDataNotFound", "real_data", "shared_dir"]
