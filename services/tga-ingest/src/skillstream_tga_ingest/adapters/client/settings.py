"""Settings of the TGA client (pydantic-settings, environment prefix ``TGA_``).

Endpoints come from the WSDL ``soap:address`` of the SOAP 1.1 (basicHttp) port (TGA-FORMAT.md §1.1):
production ``ws.training.gov.au``, sandbox ``ws.sandbox.training.gov.au``, same path. Release files are
downloaded from ``https://training.gov.au/TrainingComponentFiles/…`` (TGA-FORMAT.md §1.5) in both. ``local``
is the sandbox upstream of ``deploy/tga-sandbox`` on ``127.0.0.1:8190``.

The only published account is the public sandbox account ``WebService.Read`` (TGA-FORMAT.md §1.2); production
credentials are issued by TGA support, so production needs ``TGA_USERNAME`` and ``TGA_PASSWORD``. The password
is a ``SecretStr``: it shows as ``**********`` in ``repr``, logs and errors.
"""

from __future__ import annotations

from typing import Literal, Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

Environment = Literal["production", "sandbox", "local"]

_SERVICE_PATH = "/Deewr.Tga.WebServices/TrainingComponentService.svc/Training"
_ENDPOINTS: dict[str, str] = {
    "production": "https://ws.training.gov.au" + _SERVICE_PATH,
    "sandbox": "https://ws.sandbox.training.gov.au" + _SERVICE_PATH,
    "local": "http://127.0.0.1:8190" + _SERVICE_PATH,
}
_FILES_BASE_URLS: dict[str, str] = {
    "production": "https://training.gov.au",
    "sandbox": "https://training.gov.au",
    "local": "http://127.0.0.1:8190",
}
# The public sandbox account, published by TGA and quoted in zaddok/tga `tga_test.go`,
# fitz-nguyen/python-training-gov-au and duyen0629/tga-data-client `Program.cs` (TGA-FORMAT.md §1.2).
_PUBLIC_SANDBOX_USERNAME = "WebService.Read"
_PUBLIC_SANDBOX_SECRET = "Asdf098"  # noqa: S105 - public sandbox account, not a secret (TGA-FORMAT.md §1.2)


class TgaSettings(BaseSettings):
    """Where and how politely to talk to TGA. Every field reads ``TGA_<FIELD>`` from the environment.

    ``endpoint``/``files_base_url``/``username``/``password`` left unset are filled from ``environment``
    (see the module docstring); production without a username and password is refused (``ValueError``).
    Sizes are bytes, times seconds, rates requests per second.
    """

    model_config = SettingsConfigDict(env_prefix="TGA_", env_file=".env", env_file_encoding="utf-8", extra="ignore")

    environment: Environment = Field(default="local", description="production | sandbox | local")
    endpoint: str | None = Field(default=None, description="TrainingComponentService SOAP 1.1 URL override")
    files_base_url: str | None = Field(default=None, description="base of /TrainingComponentFiles/ override")
    username: str | None = Field(default=None, description="WS-Security user; WebService.Read on sandbox/local")
    password: SecretStr | None = Field(default=None, description="WS-Security password (never logged)")
    max_concurrency: int = Field(default=4, ge=1, le=64, description="requests in flight at once")
    requests_per_second: float = Field(default=4.0, gt=0, le=1000, description="request rate limit")
    page_size: int = Field(default=100, ge=1, le=1000, description="Search/SearchByModifiedDate PageSize")
    min_page_size: int = Field(default=10, ge=1, description="page size halving stops here")
    max_pages: int = Field(default=5000, ge=1, description="safety cap on pages of one search")
    max_reply_bytes: int = Field(default=10_000_000, ge=1024, description="largest SOAP reply read")
    max_file_bytes: int = Field(default=20_000_000, ge=1024, description="largest release file downloaded")
    timeout_seconds: float = Field(default=60.0, gt=0, description="connect/read/write timeout per request")
    retry_attempts: int = Field(default=5, ge=1, le=20, description="tries of a transient failure, first included")
    retry_initial_delay: float = Field(default=0.5, ge=0, description="first backoff; doubles, plus jitter")
    retry_max_delay: float = Field(default=30.0, ge=0, description="longest backoff between two tries")
    retry_after_max: float = Field(default=120.0, ge=0, description="cap on a server's Retry-After")

    @model_validator(mode="after")
    def _fill_from_environment(self) -> Self:
        if self.endpoint is None:
            self.endpoint = _ENDPOINTS[self.environment]
        if self.files_base_url is None:
            self.files_base_url = _FILES_BASE_URLS[self.environment]
        self.files_base_url = self.files_base_url.rstrip("/")
        if self.environment != "production":
            if self.username is None:
                self.username = _PUBLIC_SANDBOX_USERNAME
            if self.password is None:
                self.password = SecretStr(_PUBLIC_SANDBOX_SECRET)
        elif not self.username or self.password is None:
            raise ValueError("TGA production needs TGA_USERNAME and TGA_PASSWORD (accounts come from TGA support)")
        if self.min_page_size > self.page_size:
            raise ValueError(f"min_page_size {self.min_page_size} is larger than page_size {self.page_size}")
        return self

    @property
    def service_url(self) -> str:
        """The TrainingComponentService SOAP 1.1 endpoint (always set after validation)."""
        assert self.endpoint is not None
        return self.endpoint

    @property
    def files_url(self) -> str:
        """The base URL that ``/TrainingComponentFiles/<RelativePath>`` is appended to, without a trailing ``/``."""
        assert self.files_base_url is not None
        return self.files_base_url

    @property
    def credentials(self) -> tuple[str, SecretStr]:
        """``(username, password)`` for the WS-Security UsernameToken (always set after validation)."""
        assert self.username is not None
        assert self.password is not None
        return self.username, self.password


__all__ = ["Environment", "TgaSettings"]
