"""``skillstream-tga-sandbox``: run the local TGA TrainingComponentService (README.md).

Flags override ``TGA_SANDBOX_*`` environment settings; fault flags set the faults switched on at start
(change them later through ``PUT /_sandbox/faults``).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

from skillstream_tga_sandbox.server import serve
from skillstream_tga_sandbox.settings import Faults, Settings


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="skillstream-tga-sandbox", description=__doc__)
    parser.add_argument("--host", help="interface to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (default $TGA_SANDBOX_PORT, $HTTP_PORT or 8190; 0 = any)")
    parser.add_argument("--username", help="accepted UsernameToken name (default WebService.Read)")
    parser.add_argument("--password", help="accepted PasswordText password (default the public sandbox one)")
    faults = parser.add_argument_group("faults switched on at start")
    faults.add_argument("--latency-ms", type=int)
    faults.add_argument("--soap-fault-codes", help="comma-separated codes whose GetDetails is a ValidationFault")
    faults.add_argument("--http-500-codes", help="comma-separated codes whose GetDetails is an IIS HTTP 500")
    faults.add_argument("--http-500-every-nth", type=int, help="every Nth SOAP request answers HTTP 500")
    faults.add_argument("--truncated-files", help="comma-separated codes whose release file is cut in half")
    faults.add_argument("--truncate-mode", choices=["close", "short"])
    faults.add_argument("--message-too-large-pad-bytes", type=int, help="whitespace after each search row")
    return parser


def settings_from_args(argv: Sequence[str] | None = None) -> Settings:
    """Settings from the environment with the command line's flags on top."""
    args = vars(_parser().parse_args(argv))
    settings = Settings()
    top: dict[str, Any] = {k: v for k in ("host", "port", "username", "password") if (v := args.pop(k)) is not None}
    given = {k: v for k, v in args.items() if v is not None}
    if given:
        top["faults"] = Faults.model_validate({**settings.faults.model_dump(), **given})
    return Settings.model_validate({**settings.model_dump(), **top}) if top else settings


def main(argv: Sequence[str] | None = None) -> None:
    """Parse flags and serve until interrupted."""
    serve(settings_from_args(argv))


if __name__ == "__main__":
    main()
