"""``skillstream-gateway`` / ``python -m skillstream_gateway``: run the gateway service."""

from __future__ import annotations

from skillstream_runtime.host import main as host_main

from skillstream_gateway.bootstrap import definition


def main() -> None:
    host_main(definition())


if __name__ == "__main__":
    main()
