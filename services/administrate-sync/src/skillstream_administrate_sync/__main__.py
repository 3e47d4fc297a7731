"""Run the administrate-sync service: ``skillstream-administrate-sync``."""

from __future__ import annotations

from skillstream_administrate_sync.bootstrap import definition
from skillstream_runtime.host import main as host_main


def main() -> None:
    host_main(definition())


if __name__ == "__main__":
    main()
