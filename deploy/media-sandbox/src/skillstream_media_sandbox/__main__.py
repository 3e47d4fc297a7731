"""``skillstream-media-sandbox``: run the TrueFire-like catalogue and the CloudFront-like CDN (README.md).

Flags override ``MEDIA_SANDBOX_*`` environment settings. Without a public key
(``MEDIA_SANDBOX_PUBLIC_KEY_FILE`` or ``--public-key-file``) it refuses to start: exit status 2 and the
reason on stderr.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from pydantic import ValidationError

from skillstream_media_sandbox.errors import PublicKeyError
from skillstream_media_sandbox.server import serve
from skillstream_media_sandbox.settings import Settings


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="skillstream-media-sandbox", description=__doc__)
    parser.add_argument("--host", help="interface to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (default $MEDIA_SANDBOX_PORT, $HTTP_PORT or 8191; 0 = any)")
    parser.add_argument("--public-key-file", help="PEM file of the CloudFront public key (required)")
    parser.add_argument("--key-pair-id", help="the Key-Pair-Id that key is known by (default K2JCJMDEHXQW5F)")
    shape = parser.add_argument_group("catalogue shape")
    shape.add_argument("--courses", type=int, help="number of courses (default 150)")
    shape.add_argument("--segments", type=int, help="segments over all courses (default 3000)")
    shape.add_argument("--min-bytes", type=int, help="smallest file size in bytes (default 16384)")
    shape.add_argument("--max-bytes", type=int, help="largest file size in bytes (default 262144)")
    shape.add_argument("--seed", type=int, help="catalogue seed (default 7)")
    shape.add_argument("--hostile", action=argparse.BooleanOptionalAction, help="hostile names in a few courses")
    return parser


def settings_from_args(argv: Sequence[str] | None = None) -> Settings:
    """Settings from the environment with the command line's flags on top.

    Raises:
        pydantic.ValidationError: a flag or variable has an invalid value.
    """
    given = {name: value for name, value in vars(_parser().parse_args(argv)).items() if value is not None}
    settings = Settings()
    return Settings.model_validate({**settings.model_dump(), **given}) if given else settings


def main(argv: Sequence[str] | None = None) -> None:
    """Parse flags and serve until interrupted; exit 2 with the reason when the settings are unusable."""
    try:
        serve(settings_from_args(argv))
    except (PublicKeyError, ValidationError) as e:
        print(f"skillstream-media-sandbox: refusing to start: {e}", file=sys.stderr)
        raise SystemExit(2) from e


if __name__ == "__main__":
    main()
