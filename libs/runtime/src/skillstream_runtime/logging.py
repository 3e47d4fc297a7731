"""structlog configuration: JSON lines (or console) with context bound per message.

Handlers bind ``correlation_id``, ``subject`` and ``stream_sequence`` with
``structlog.contextvars.bound_contextvars`` so every line logged while handling a message carries them.
"""

from __future__ import annotations

import logging
import sys

import structlog
from structlog.tracebacks import ExceptionDictTransformer


def configure_logging(level: str = "info", fmt: str = "json", service: str | None = None) -> None:
    """Configure structlog and the standard library logging to write one line per event to stderr."""
    # Tracebacks without the frames' local variables: rendering them costs up to a second per exception in the
    # event loop's thread (ten failing downloads at once kept a service deaf to SIGTERM for seconds), and a
    # local may hold a secret (a signed URL, a key) that must never reach the logs.
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False, exception_formatter=structlog.dev.plain_traceback)
    )
    tracebacks = structlog.processors.ExceptionRenderer(ExceptionDictTransformer(show_locals=False))
    shared: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        tracebacks if fmt == "json" else structlog.dev.set_exc_info,
    ]
    structlog.configure(
        processors=[*shared, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=True,
    )
    logging.basicConfig(level=level.upper(), stream=sys.stderr, format="%(levelname)s %(name)s %(message)s")
    # httpx/httpcore log every request URL at INFO: a CloudFront signed URL is a bearer credential (DESIGN.md
    # "Secrets … never reach logs"), so their request lines are kept out of the logs.
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level.upper())))
    if service:
        structlog.contextvars.bind_contextvars(service=service)


__all__ = ["configure_logging"]
