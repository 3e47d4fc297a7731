"""Run the training service: ``skillstream-training`` or ``python -m skillstream_training``."""

from __future__ import annotations

from skillstream_runtime.host import main as host_main
from skillstream_training.bootstrap import definition


def main() -> None:
    host_main(definition())


if __name__ == "__main__":
    main()
