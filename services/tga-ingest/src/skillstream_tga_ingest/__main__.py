"""``skillstream-tga-ingest`` / ``python -m skillstream_tga_ingest``: run the tga-ingest service."""

from __future__ import annotations

from skillstream_runtime.host import main as host_main

from skillstream_tga_ingest.bootstrap import definition


def main() -> None:
    host_main(definition())


if __name__ == "__main__":
    main()
