"""Run the gateway service: ``skillstream-gateway`` or ``python -m skillstream_gateway``."""

from __future__ import annotations

from skillstream_gateway.bootstrap import definition
from skillstream_runtime.host import main as host_main


def main() -> None:
    host_main(definition())


if __name__ == "__main__":
    main()
