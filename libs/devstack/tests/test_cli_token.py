"""``skillstream token``: a gateway JWT from the development secret, JWT_SECRET or ``.env``; refusals."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from skillstream_devstack.cli import app
from skillstream_gateway.tokens import dev_subject, verify_token

SECRET = "test-secret-" + "x" * 40
HS: dict[str, Any] = {"algorithms": ["HS256"], "issuer": "skillstream", "audience": "skillstream"}


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory without .env and no JWT settings in the environment; DATA_DIR under tmp_path."""
    monkeypatch.chdir(tmp_path)
    for name in ("JWT_SECRET", "JWT_PUBLIC_KEY", "JWT_ISSUER", "JWT_AUDIENCE"):
        monkeypatch.delenv(name, raising=False)
    data_dir = tmp_path / "data"
    monkeypatch.setenv("DATA_DIR", str(data_dir))
    return data_dir


def test_cli_token_signs_with_the_dev_secret(cli_env: Path) -> None:
    result = CliRunner().invoke(app, ["token", "--role", "admin", "--role", "member", "--ttl", "30m"])
    assert result.exit_code == 0, result.output
    token = result.stdout.strip()
    assert result.stdout == token + "\n"  # only the token on stdout
    secret = (cli_env / "dev-jwt-secret").read_text()
    claims = verify_token(token, secret, **HS)
    assert claims.roles == ("admin", "member")
    assert 1790 < (claims.expires_at - datetime.now(UTC)).total_seconds() <= 1801
    assert claims.sub == "dev-admin"  # a named development subject, not the OS user


def test_cli_token_subject_follows_the_first_role_as_the_dev_login_does(cli_env: Path) -> None:
    result = CliRunner().invoke(app, ["token", "--role", "member"])
    assert result.exit_code == 0, result.output
    secret = (cli_env / "dev-jwt-secret").read_text()
    assert verify_token(result.stdout.strip(), secret, **HS).sub == dev_subject("member") == "dev-member"


def test_cli_token_signs_with_jwt_secret(cli_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JWT_SECRET", SECRET)
    monkeypatch.setenv("JWT_ISSUER", "ops")
    result = CliRunner().invoke(app, ["token", "--role", "member", "--subject", "svc-reporting", "--name", "Reports"])
    assert result.exit_code == 0, result.output
    claims = verify_token(result.stdout.strip(), SECRET, algorithms=["HS256"], issuer="ops", audience="skillstream")
    assert (claims.sub, claims.name, claims.roles) == ("svc-reporting", "Reports", ("member",))
    assert 8 * 3600 - 10 < (claims.expires_at - datetime.now(UTC)).total_seconds() <= 8 * 3600 + 1
    assert not (cli_env / "dev-jwt-secret").exists()


def test_cli_token_reads_jwt_secret_from_dotenv(cli_env: Path) -> None:
    Path(".env").write_text(f"JWT_SECRET={SECRET}\n")
    result = CliRunner().invoke(app, ["token", "--role", "admin"])
    assert result.exit_code == 0, result.output
    assert verify_token(result.stdout.strip(), SECRET, **HS).roles == ("admin",)


def test_cli_token_warns_when_rs256_is_configured(cli_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JWT_PUBLIC_KEY", "/etc/skillstream/jwt.pem")
    result = CliRunner().invoke(app, ["token", "--role", "admin"])
    assert result.exit_code == 0
    assert "JWT_PUBLIC_KEY" in result.stderr
    assert result.stdout.count(".") == 2  # still just the token


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["token", "--role", "root"], "Unknown role"),
        (["token", "--role", "admin", "--ttl", "forever"], "invalid TTL"),
    ],
)
def test_cli_token_refuses(cli_env: Path, args: list[str], message: str) -> None:
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert result.stdout == ""


def test_cli_token_needs_a_role(cli_env: Path) -> None:
    result = CliRunner().invoke(app, ["token"])
    assert result.exit_code == 2
    assert "--role" in result.stderr
