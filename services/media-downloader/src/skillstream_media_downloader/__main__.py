"""``skillstream-media-downloader`` / ``python -m skillstream_media_downloader``: run the media-downloader service."""

from __future__ import annotations

from skillstream_runtime.host import main as host_main

from skillstream_media_downloader.bootstrap import definition


def main() -> None:
    host_main(definition())


if __name__ == "__main__":
    main()
