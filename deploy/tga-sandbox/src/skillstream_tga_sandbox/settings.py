"""Sandbox settings (env ``TGA_SANDBOX_*``, CLI flags) and the switchable faults.

Faults are set at start (``TGA_SANDBOX_FAULTS='{"latency_ms": 200}'`` or
``TGA_SANDBOX_FAULTS__LATENCY_MS=200``, or CLI flags) and changed at run time through
``PUT /_sandbox/faults`` (README.md). Code lists accept a JSON list or a comma-separated string.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_PORT = 8190
"""The port ``skillstream up`` gives the sandbox when free (``skillstream_tga_sandbox.stack.DEFAULT_PORT``)."""
DEFAULT_USERNAME = "WebService.Read"
"""The public TGA sandbox account name (TGA-FORMAT.md §1.2; used by the public clients listed there)."""
DEFAULT_PASSWORD = "Asdf098"  # noqa: S105 - the published sandbox password, not a secret
"""The public TGA sandbox account password (same source)."""


def _codes(value: object) -> object:
    """``'["a"]'`` or ``"A, b"`` → ``["A", "B"]``; lists are upper-cased; anything else is left to pydantic."""
    if isinstance(value, str):
        text = value.strip()
        value = json.loads(text) if text.startswith("[") else [part for part in text.split(",") if part.strip()]
    if isinstance(value, list | tuple | set):
        return [str(part).strip().upper() for part in value]
    return value


# NoDecode: pydantic-settings would otherwise JSON-decode ``TGA_SANDBOX_FAULTS__SOAP_FAULT_CODES=A,B`` and fail.
_Codes = Annotated[list[str], NoDecode]


class Faults(BaseModel):
    """The faults the sandbox injects. Every field defaults to "off".

    - ``latency_ms``: sleep before answering every SOAP, WSDL and file request (not the control API).
    - ``soap_fault_codes``: component codes whose GetDetails answers a ``ValidationFault`` (HTTP 500).
    - ``http_500_codes``: codes whose GetDetails answers HTTP 500 with IIS's HTML error page.
    - ``http_500_every_nth``: every Nth SOAP request (counted from start/reset) answers that HTML 500.
    - ``truncated_files``: codes whose release file is served cut in half. ``truncate_mode`` ``"close"``
      declares the full Content-Length and closes the connection after half the bytes (the client sees an
      incomplete body); ``"short"`` sends half the bytes with a matching Content-Length (the client sees a
      body shorter than ``ReleaseFile/Size``).
    - ``message_too_large_pad_bytes``: whitespace added after each ``TrainingComponentSummary`` of Search /
      SearchByModifiedDate, so a client with a maximum reply size has to lower its page size.
    """

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    latency_ms: int = Field(default=0, ge=0)
    soap_fault_codes: _Codes = Field(default_factory=list)
    http_500_codes: _Codes = Field(default_factory=list)
    http_500_every_nth: int = Field(default=0, ge=0)
    truncated_files: _Codes = Field(default_factory=list)
    truncate_mode: Literal["close", "short"] = "close"
    message_too_large_pad_bytes: int = Field(default=0, ge=0)

    _split_codes = field_validator("soap_fault_codes", "http_500_codes", "truncated_files", mode="before")(_codes)


class Settings(BaseSettings):
    """Sandbox settings.

    - ``host``/``port``: where ``main()`` listens (``SandboxServer`` picks a free port); the port comes from
      ``TGA_SANDBOX_PORT``, else ``HTTP_PORT`` (set by ``skillstream up``), else 8190.
    - ``username``/``password``: the one accepted UsernameToken (PasswordText).
    - ``max_page_size``: PageSize above this is capped (the reply's ``PageSize`` says so);
      ``default_page_size`` is used when a request sends none or 0.
    - ``undated_modified``: Created/UpdatedDate of a component whose source gives no date (the unit and
      qualification XML files); a sandbox choice: 2026-02-01, the month the fixture files were committed
      (real-data/tga/SOURCES.md §1).
    - ``tga_data_dir``: the ``real-data/tga`` folder; default ``skillstream_runtime.realdata.real_data("tga")``.
    - ``faults``: the faults switched on at start (:class:`Faults`).
    """

    model_config = SettingsConfigDict(
        env_prefix="TGA_SANDBOX_", env_nested_delimiter="__", extra="ignore", validate_by_name=True
    )

    host: str = "127.0.0.1"
    # HTTP_PORT: what ``skillstream up`` sets for every child it runs (skillstream_runtime.stack).
    port: int = Field(
        default=DEFAULT_PORT, ge=0, le=65535, validation_alias=AliasChoices("TGA_SANDBOX_PORT", "HTTP_PORT", "port")
    )
    username: str = DEFAULT_USERNAME
    password: SecretStr = SecretStr(DEFAULT_PASSWORD)
    max_page_size: int = Field(default=1000, ge=1)
    default_page_size: int = Field(default=100, ge=1)
    undated_modified: dt.datetime = dt.datetime(2026, 2, 1, tzinfo=dt.UTC)
    tga_data_dir: Path | None = None
    faults: Faults = Field(default_factory=Faults)


__all__ = ["DEFAULT_PASSWORD", "DEFAULT_PORT", "DEFAULT_USERNAME", "Faults", "Settings"]
