"""``skillstream-administrate-sync`` / ``python -m skillstream_administrate_sync``: run the administrate-sync service."""

from __future__ import annotations

from skillstream_runtime.host import main as host_main

from skillstream_administrate_sync.bootstrap import definition


def main() -> None:
    host_main(definition())


if __name__ == "__main__":
    main()
