"""Run the media-downloader service: ``skillstream-media-downloader`` or ``python -m skillstream_media_downloader``."""

from __future__ import annotations

from skillstream_media_downloader.bootstrap import definition
from skillstream_runtime.host import main as host_main


def main() -> None:
    host_main(definition())


if __name__ == "__main__":
    main()
