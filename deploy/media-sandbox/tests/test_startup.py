"""``skillstream-media-sandbox`` as a process (refuses to start without a key), its settings, and the
stack definition with its development key pair."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from skillstream_media_sandbox import PublicKeyError, Settings, create_app
from skillstream_media_sandbox.__main__ import settings_from_args
from skillstream_media_sandbox.stack import ensure_key_pair, sandbox, service_env

from .conftest import Signer, cdn_url, files_of


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDIA_SANDBOX_")}
    return {**env, "HTTP_PORT": "0", **extra}


def _run(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "skillstream_media_sandbox", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    )


def test_refuses_to_start_without_a_public_key() -> None:
    proc = _run(_clean_env())
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 2
    assert "refusing to start" in err
    assert "MEDIA_SANDBOX_PUBLIC_KEY_FILE" in err


def test_refuses_an_unreadable_or_non_pem_key(tmp_path: Path) -> None:
    bad = tmp_path / "bad.pem"
    bad.write_text("not a key")
    for path in (bad, tmp_path / "missing.pem"):
        proc = _run(_clean_env(MEDIA_SANDBOX_PUBLIC_KEY_FILE=str(path)))
        _, err = proc.communicate(timeout=30)
        assert proc.returncode == 2
        assert str(path) in err
    with pytest.raises(PublicKeyError, match="MEDIA_SANDBOX_PUBLIC_KEY"):
        create_app(Settings(public_key="-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"))


def test_console_script_serves_with_the_stack_key_pair(tmp_path: Path) -> None:
    env = service_env(8191, data_dir=tmp_path)
    proc = _run(_clean_env(**env), "--courses", "3", "--segments", "20", "--no-hostile")
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        assert line.startswith("Media sandbox listening on http://127.0.0.1:")
        url = line.removeprefix("Media sandbox listening on ")
        deadline = time.monotonic() + 10
        while True:
            try:
                health = httpx.get(url + "/healthz")
                break
            except httpx.ConnectError:
                assert time.monotonic() < deadline
                time.sleep(0.05)
        assert health.json() == {"status": "ok"}
        shape = httpx.get(url + "/_sandbox/catalogue").json()
        assert (shape["courses"], shape["segments"], shape["hostile"]) == (3, 20, False)
        document = httpx.get(url + "/catalogue/v1/courses/1001").json()
        key = files_of(document)[0][0]
        private = serialization.load_pem_private_key(Path(env["MEDIA_PRIVATE_KEY_FILE"]).read_bytes(), None)
        assert isinstance(private, rsa.RSAPrivateKey)
        signer = Signer(private, env["MEDIA_KEY_PAIR_ID"])
        assert env["MEDIA_CDN_BASE_URL"].endswith(":8191/cdn")  # the port the stack would have given it
        assert httpx.get(signer.sign(cdn_url(url + "/cdn", key))).status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_flags_override_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [k for k in os.environ if k.startswith("MEDIA_SANDBOX_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("HTTP_PORT", "8300")  # what `skillstream up` sets for each child
    monkeypatch.setenv("MEDIA_SANDBOX_SEGMENTS", "500")
    monkeypatch.setenv("MEDIA_SANDBOX_FAULTS", '{"latency_ms": 4}')
    settings = settings_from_args(["--courses", "9", "--seed", "3", "--public-key-file", "/k.pem"])
    assert (settings.port, settings.courses, settings.segments, settings.seed) == (8300, 9, 500, 3)
    assert (settings.public_key_file, settings.faults.latency_ms, settings.hostile) == (Path("/k.pem"), 4, True)
    monkeypatch.setenv("MEDIA_SANDBOX_PORT", "8301")
    assert settings_from_args([]).port == 8301
    assert settings_from_args(["--port", "8302", "--no-hostile"]).hostile is False


def test_service_env_makes_the_key_pair_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MEDIA_SANDBOX_KEY_PAIR_ID", raising=False)
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    env = service_env(8191)
    folder = (tmp_path / "data" / "media-sandbox").resolve()
    assert env == {
        "MEDIA_CATALOGUE_URL": "http://127.0.0.1:8191/catalogue/v1",
        "MEDIA_CDN_BASE_URL": "http://127.0.0.1:8191/cdn",
        "MEDIA_KEY_PAIR_ID": "K2JCJMDEHXQW5F",
        "MEDIA_PRIVATE_KEY_FILE": str(folder / "cloudfront-private.pem"),
        "MEDIA_SANDBOX_PUBLIC_KEY_FILE": str(folder / "cloudfront-public.pem"),
    }
    private, public = Path(env["MEDIA_PRIVATE_KEY_FILE"]), Path(env["MEDIA_SANDBOX_PUBLIC_KEY_FILE"])
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    key = serialization.load_pem_private_key(private.read_bytes(), None)
    assert isinstance(key, rsa.RSAPrivateKey)
    assert key.key_size == 2048
    remembered = private.read_bytes(), public.read_bytes()
    assert service_env(9000)["MEDIA_PRIVATE_KEY_FILE"] == str(private)
    assert (private.read_bytes(), public.read_bytes()) == remembered
    public.unlink()  # a lost public key is derived again from the private one
    assert ensure_key_pair(folder).public_key_file.read_bytes() == remembered[1]
    monkeypatch.setenv("MEDIA_SANDBOX_KEY_PAIR_ID", "KOTHER")
    assert service_env(8191)["MEDIA_KEY_PAIR_ID"] == "KOTHER"


def test_sandbox_definition() -> None:
    definition = sandbox()
    assert (definition.name, definition.module, definition.default_port) == (
        "media-sandbox",
        "skillstream_media_sandbox",
        8191,
    )
    assert definition.skip_if_set == ("MEDIA_CATALOGUE_URL",)
    assert not definition.wanted({"MEDIA_CATALOGUE_URL": "https://real.example/catalogue"})
    assert definition.wanted({})
