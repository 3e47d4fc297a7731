"""Settings from the environment (pydantic-settings); see ``.env.example`` at the repository root.

``NATS_URL`` / ``DATABASE_URL`` unset means "use the embedded servers" (``skillstream up`` starts them and
passes their URLs to the services it supervises). Secrets are ``SecretStr`` and never reach logs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Process settings. Every field reads the upper-case environment variable of its name."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    nats_url: str | None = Field(default=None, description="NATS server URL; unset = embedded")
    nats_credentials: Path | None = Field(default=None, description="NATS .creds file, if the server wants one")
    database_url: SecretStr | None = Field(default=None, description="PostgreSQL DSN; unset = embedded")
    data_dir: Path = Field(default=Path(".data"), description="where embedded servers keep their data")
    stream_replicas: int = Field(default=1, ge=1, le=5, description="JetStream replicas (3 in a cluster)")
    http_host: str = Field(default="127.0.0.1", description="bind address of health/metrics (and the gateway)")
    http_port: int | None = Field(default=None, description="HTTP port; unset = the service's default")
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["json", "console"] = Field(default="json", description="json for machines")
    shutdown_grace: float = Field(default=20.0, description="seconds to drain in-flight work on SIGTERM")
    db_pool_max: int = Field(default=10, ge=1, description="PostgreSQL pool size per process")

    def dsn(self) -> str:
        """The PostgreSQL DSN (secret revealed only here).

        Raises:
            RuntimeError: ``DATABASE_URL`` is not set.
        """
        if self.database_url is None:
            raise RuntimeError("DATABASE_URL is not set (run under `skillstream up` or set it)")
        return self.database_url.get_secret_value()


__all__ = ["Settings"]
