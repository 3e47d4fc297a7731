"""Run the tga-ingest service: ``skillstream-tga-ingest`` or ``python -m skillstream_tga_ingest``."""

from __future__ import annotations

from skillstream_runtime.host import main as host_main
from skillstream_tga_ingest.bootstrap import definition


def main() -> None:
    host_main(definition())


if __name__ == "__main__":
    main()
