"""JWT minting and verification (HS256 and RS256), the development secret, TTL parsing."""

from __future__ import annotations

import stat
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from skillstream_gateway.tokens import (
    ALL_PERMISSIONS,
    ROLE_PERMISSIONS,
    Claims,
    TokenError,
    dev_secret,
    mint_token,
    parse_ttl,
    permissions_for,
    verify_token,
)

SECRET = "test-secret-" + "x" * 40
HS: dict[str, Any] = {"algorithms": ["HS256"], "issuer": "skillstream", "audience": "skillstream"}


def _raw(claims: dict[str, Any], key: Any = SECRET, algorithm: str = "HS256") -> str:
    now = int(time.time())
    base: dict[str, Any] = {
        "sub": "alice",
        "roles": ["admin"],
        "iat": now,
        "exp": now + 600,
        "iss": "skillstream",
        "aud": "skillstream",
    }
    base.update(claims)
    return jwt.encode({k: v for k, v in base.items() if v is not None}, key, algorithm=algorithm)


@pytest.fixture(scope="module")
def rsa_pair() -> tuple[str, str]:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public_pem = (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private_pem, public_pem


def test_role_permissions_match_the_gateway_table() -> None:
    assert dict(ROLE_PERMISSIONS) == {
        "admin": {
            "jobs.view",
            "jobs.view_all",
            "jobs.manage",
            "catalogue.manage",
            "media.manage",
            "training.manage",
            "training.view_all",
            "training.view",
            "training.update",
        },
        "training_officer": {"jobs.view", "training.view_all", "training.view", "training.update"},
        "member": {"training.view"},
    }
    assert ROLE_PERMISSIONS["admin"] == ALL_PERMISSIONS
    with pytest.raises(TypeError):
        ROLE_PERMISSIONS["hacker"] = frozenset({"jobs.manage"})  # type: ignore[index]


def test_permissions_for_unions_known_roles_and_ignores_unknown_ones() -> None:
    assert permissions_for(["member", "training_officer"]) == ROLE_PERMISSIONS["training_officer"]
    assert permissions_for(["member", "superuser"]) == frozenset({"training.view"})
    assert permissions_for([]) == frozenset()


def test_token_error_carries_a_reason_safe_to_show() -> None:
    error = TokenError("token expired")
    assert str(error) == error.reason == "token expired"


# --- development secret -------------------------------------------------------------------------------------


def test_dev_secret_is_created_once_with_mode_0600(tmp_path: Path) -> None:
    data_dir = tmp_path / "nested" / "data"
    first = dev_secret(data_dir)
    path = data_dir / "dev-jwt-secret"
    assert path.read_text() == first
    assert len(first) == 64  # token_urlsafe(48)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert dev_secret(data_dir) == first


def test_dev_secret_reads_an_existing_file(tmp_path: Path) -> None:
    (tmp_path / "dev-jwt-secret").write_text("  operator-chosen-secret\n")
    assert dev_secret(tmp_path) == "operator-chosen-secret"


def test_dev_secret_racing_processes_agree(tmp_path: Path) -> None:
    for attempt in range(5):
        data_dir = tmp_path / str(attempt)
        barrier = threading.Barrier(8)

        def race(data_dir: Path = data_dir, barrier: threading.Barrier = barrier) -> str:
            barrier.wait()
            return dev_secret(data_dir)

        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(lambda _: race(), range(8)))
        assert len(set(results)) == 1
        assert (data_dir / "dev-jwt-secret").read_text() == results[0]


def test_dev_secret_waits_for_a_concurrent_writer(tmp_path: Path) -> None:
    path = tmp_path / "dev-jwt-secret"
    path.touch()  # created by another process that has not written yet

    def write_later() -> None:
        time.sleep(0.1)
        path.write_text("written-by-the-winner")

    writer = threading.Thread(target=write_later)
    writer.start()
    try:
        assert dev_secret(tmp_path) == "written-by-the-winner"
    finally:
        writer.join()


def test_dev_secret_refuses_a_file_that_stays_empty(tmp_path: Path) -> None:
    (tmp_path / "dev-jwt-secret").touch()
    with pytest.raises(ValueError, match="is empty"):
        dev_secret(tmp_path)


# --- mint and verify ----------------------------------------------------------------------------------------


def test_mint_token_claims() -> None:
    before = int(time.time())
    token = mint_token(SECRET, subject="alice", roles=["admin", "member"], ttl_seconds=3600, name="Alice A.")
    claims = jwt.decode(token, options={"verify_signature": False})
    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    assert claims["sub"] == "alice"
    assert claims["roles"] == ["admin", "member"]
    assert claims["name"] == "Alice A."
    assert claims["iss"] == "skillstream"
    assert claims["aud"] == "skillstream"
    assert before <= claims["iat"] <= int(time.time())
    assert claims["nbf"] == claims["iat"]
    assert claims["exp"] - claims["iat"] == 3600
    assert len(claims["jti"]) == 32
    other = jwt.decode(mint_token(SECRET, subject="alice", roles=["admin"], ttl_seconds=60), SECRET, **HS)
    assert "name" not in other
    assert other["jti"] != claims["jti"]


def test_round_trip_hs256() -> None:
    token = mint_token(SECRET, subject="alice", roles=["training_officer"], ttl_seconds=120, name="Alice")
    claims = verify_token(token, SECRET, **HS)
    assert isinstance(claims, Claims)
    assert claims.sub == "alice"
    assert claims.name == "Alice"
    assert claims.roles == ("training_officer",)
    assert claims.permissions == ROLE_PERMISSIONS["training_officer"]
    assert claims.expires_at.tzinfo is UTC
    assert 110 < (claims.expires_at - datetime.now(UTC)).total_seconds() <= 121


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"subject": "", "roles": ["admin"], "ttl_seconds": 60}, "subject"),
        ({"subject": "a", "roles": [], "ttl_seconds": 60}, "roles"),
        ({"subject": "a", "roles": "admin", "ttl_seconds": 60}, "roles"),
        ({"subject": "a", "roles": ["admin", "root"], "ttl_seconds": 60}, "unknown role"),
        ({"subject": "a", "roles": ["admin"], "ttl_seconds": 0}, "ttl_seconds"),
    ],
)
def test_mint_token_refuses_bad_arguments(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        mint_token(SECRET, **kwargs)


@pytest.mark.parametrize(
    ("token_claims", "reason"),
    [
        ({"exp": int(time.time()) - 120}, "token expired"),
        ({"iss": "someone-else"}, "wrong issuer"),
        ({"aud": "another-api"}, "wrong audience"),
        ({"roles": None}, "missing claim roles"),
        ({"sub": None}, "missing claim sub"),
        ({"exp": None}, "missing claim exp"),
        ({"iss": None}, "missing claim iss"),
        ({"aud": None}, "missing claim aud"),
        ({"roles": "admin"}, "invalid roles claim"),
        ({"roles": ["admin", 7]}, "invalid roles claim"),
        ({"roles": {"admin": True}}, "invalid roles claim"),
        ({"sub": ""}, "invalid subject"),
        ({"name": 42}, "invalid name claim"),
        ({"nbf": int(time.time()) + 600}, "token not valid yet"),
    ],
)
def test_verify_token_refuses(token_claims: dict[str, Any], reason: str) -> None:
    token = _raw(token_claims)
    with pytest.raises(TokenError) as caught:
        verify_token(token, SECRET, **HS)
    assert caught.value.reason == reason


def test_verify_token_refuses_a_bad_signature() -> None:
    token = _raw({}, key="another-secret-" + "y" * 40)
    with pytest.raises(TokenError) as caught:
        verify_token(token, SECRET, **HS)
    assert caught.value.reason == "bad signature"


def test_verify_token_refuses_garbage_and_alg_none() -> None:
    with pytest.raises(TokenError) as caught:
        verify_token("not.a.jwt", SECRET, **HS)
    assert caught.value.reason == "malformed token"
    unsigned = jwt.encode(jwt.decode(_raw({}), options={"verify_signature": False}), "", algorithm="none")
    with pytest.raises(TokenError) as caught:
        verify_token(unsigned, SECRET, **HS)
    assert caught.value.reason == "algorithm not allowed"


def test_verify_token_allows_clock_skew_within_leeway() -> None:
    token = _raw({"exp": int(time.time()) - 10})
    assert verify_token(token, SECRET, **HS).sub == "alice"
    with pytest.raises(TokenError, match="token expired"):
        verify_token(token, SECRET, **HS, leeway=0)


def test_verify_token_ignores_unknown_roles() -> None:
    claims = verify_token(_raw({"roles": ["superuser", "member"]}), SECRET, **HS)
    assert claims.roles == ("superuser", "member")
    assert claims.permissions == frozenset({"training.view"})
    assert verify_token(_raw({"roles": []}), SECRET, **HS).permissions == frozenset()


def test_verify_token_needs_an_algorithm() -> None:
    with pytest.raises(ValueError, match="algorithms"):
        verify_token(_raw({}), SECRET, algorithms=[], issuer="skillstream", audience="skillstream")


def test_rs256_round_trip(rsa_pair: tuple[str, str]) -> None:
    private_pem, public_pem = rsa_pair
    token = mint_token(
        private_pem,
        subject="idp-user",
        roles=["member"],
        ttl_seconds=300,
        algorithm="RS256",
        issuer="https://idp.example",
        audience="skillstream-gateway",
    )
    assert jwt.get_unverified_header(token)["alg"] == "RS256"
    claims = verify_token(
        token, public_pem, algorithms=["RS256"], issuer="https://idp.example", audience="skillstream-gateway"
    )
    assert (claims.sub, claims.roles, claims.permissions) == ("idp-user", ("member",), frozenset({"training.view"}))
    public_key = serialization.load_pem_public_key(public_pem.encode())
    assert isinstance(public_key, rsa.RSAPublicKey)
    assert verify_token(
        token, public_key, algorithms=["RS256"], issuer="https://idp.example", audience="skillstream-gateway"
    ).sub == ("idp-user")


def test_rs256_refuses_another_key_and_hs256_tokens(rsa_pair: tuple[str, str]) -> None:
    private_pem, public_pem = rsa_pair
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = mint_token(stranger, subject="mallory", roles=["admin"], ttl_seconds=60, algorithm="RS256")
    rs: dict[str, Any] = {"algorithms": ["RS256"], "issuer": "skillstream", "audience": "skillstream"}
    with pytest.raises(TokenError) as caught:
        verify_token(forged, public_pem, **rs)
    assert caught.value.reason == "bad signature"
    # Algorithm confusion: an HS256 token "signed" with the public key text must not pass.
    confused = _raw({}, key="whatever-secret-" + "z" * 40)
    with pytest.raises(TokenError) as caught:
        verify_token(confused, public_pem, **rs)
    assert caught.value.reason == "algorithm not allowed"
    assert (
        verify_token(
            mint_token(private_pem, subject="ok", roles=["admin"], ttl_seconds=60, algorithm="RS256"), public_pem, **rs
        ).sub
        == "ok"
    )


# --- TTL ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("45s", 45), ("30m", 1800), ("8h", 28800), ("2d", 172800), ("3600", 3600), (" 8H ", 28800)],
)
def test_parse_ttl(text: str, seconds: int) -> None:
    assert parse_ttl(text) == seconds


@pytest.mark.parametrize("text", ["", "h", "8x", "-5m", "1.5h", "8 h", "0", "0s", "8h30m"])
def test_parse_ttl_refuses(text: str) -> None:
    with pytest.raises(ValueError, match="invalid TTL"):
        parse_ttl(text)
