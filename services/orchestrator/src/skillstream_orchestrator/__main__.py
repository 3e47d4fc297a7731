"""Run the orchestrator service: ``skillstream-orchestrator`` or ``python -m skillstream_orchestrator``."""

from __future__ import annotations

from skillstream_orchestrator.bootstrap import definition
from skillstream_runtime.host import main as host_main


def main() -> None:
    host_main(definition())


if __name__ == "__main__":
    main()
