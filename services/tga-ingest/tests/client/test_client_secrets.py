"""Credentials never reach logs, reprs or error messages (DESIGN.md "Security"; SecretStr settings)."""

from __future__ import annotations

import logging

import httpx
import pytest
import structlog
from pydantic import SecretStr

from skillstream_tga_ingest.adapters.client import TgaClient, TgaError, TgaSettings

USERNAME = "svc-user-7f3a"
PASSWORD = "pw-Zq9!-do-not-leak"
CONFIG = {
    "environment": "production",
    "endpoint": "http://tga.test/svc",
    "files_base_url": "http://files.test",
    "username": USERNAME,
    "password": PASSWORD,
    "retry_attempts": 2,
    "retry_initial_delay": 0.001,
    "retry_max_delay": 0.002,
    "requests_per_second": 100,
}


def _settings() -> TgaSettings:
    return TgaSettings.model_validate(CONFIG)


def test_settings_and_client_reprs_hide_the_password() -> None:
    settings = _settings()
    assert isinstance(settings.password, SecretStr)
    for text in (repr(settings), str(settings), settings.model_dump_json(), repr(TgaClient(settings))):
        assert PASSWORD not in text
    assert settings.credentials[1].get_secret_value() == PASSWORD


def test_production_needs_credentials() -> None:
    with pytest.raises(ValueError, match="TGA_USERNAME and TGA_PASSWORD"):
        TgaSettings.model_validate({"environment": "production"})


def test_settings_read_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TGA_ENVIRONMENT", "sandbox")
    monkeypatch.setenv("TGA_PASSWORD", PASSWORD)
    monkeypatch.setenv("TGA_PAGE_SIZE", "50")
    settings = TgaSettings()
    assert settings.service_url == (
        "https://ws.sandbox.training.gov.au/Deewr.Tga.WebServices/TrainingComponentService.svc/Training"
    )
    assert settings.files_url == "https://training.gov.au"
    assert settings.credentials[0] == "WebService.Read"
    assert settings.page_size == 50
    assert PASSWORD not in repr(settings)


async def test_logs_and_errors_never_carry_credentials(caplog: pytest.LogCaptureFixture) -> None:
    sent: list[bytes] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request.content)
        if request.url.host == "files.test":
            return httpx.Response(200, content=b"short")
        return httpx.Response(503, text="Service Unavailable")

    errors: list[TgaError] = []
    caplog.set_level(logging.DEBUG)
    with structlog.testing.capture_logs() as logs:
        async with TgaClient(_settings(), transport=httpx.MockTransport(handler)) as tga:
            for call in (
                tga.get_server_time(),
                tga.get_details("BSBCMM412"),
                tga.download_file("B\\X_R1.xml", expected_size=9),
            ):
                with pytest.raises(TgaError) as caught:
                    await call
                errors.append(caught.value)
    # The password did go to the server (PasswordText), so the checks below are not vacuous.
    assert any(PASSWORD.encode() in body for body in sent)
    assert len(logs) >= 6  # retries were logged
    assert {entry.get("operation") for entry in logs if "operation" in entry} >= {"GetServerTime", "GetDetails"}
    texts = [repr(entry) for entry in logs] + [caplog.text]
    texts += [f"{e!s} {e!r} {e.args!r} {e.__cause__!r}" for e in errors]
    for text in texts:
        assert PASSWORD not in text
        assert USERNAME not in text
