"""One real sandbox (uvicorn on a free port) for the session, faults and counters cleared before each
test, and a CloudFront canned-policy signer written from the AWS rules (REFERENCE-OPERATIONS.md §2.1),
independent of the sandbox's verifier and of the downloader it tests."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from skillstream_media_sandbox import SandboxServer, Settings

KEY_PAIR_ID = "K2JCJMDEHXQW5F"
SHAPE: dict[str, Any] = {
    "courses": 12,
    "segments": 240,
    "min_bytes": 1000,
    "max_bytes": 200_000,
    "seed": 7,
    "hostile": True,
}


class Signer:
    """Signs URLs as AWS documents the canned policy: compact policy JSON, RSA-SHA1 PKCS#1 v1.5, base64 with
    ``+``→``-``, ``=``→``_``, ``/``→``~``, then ``Expires``, ``Signature``, ``Key-Pair-Id`` appended."""

    def __init__(self, key: rsa.RSAPrivateKey, key_pair_id: str = KEY_PAIR_ID) -> None:
        self.key = key
        self.key_pair_id = key_pair_id

    def sign(self, url: str, *, expires: int | None = None, lifetime: int = 7200, sha256: bool = False) -> str:
        """``url`` signed until ``expires`` (Unix seconds; default now + ``lifetime``). ``sha256``: sign with
        SHA-256 and add ``Hash-Algorithm=SHA256`` (AWS's newer variant)."""
        expires = int(time.time()) + lifetime if expires is None else expires
        condition = '"Condition":{"DateLessThan":{"AWS:EpochTime":' + str(expires) + "}}"
        policy = '{"Statement":[{"Resource":"' + url + '",' + condition + "}]}"
        algorithm = hashes.SHA256() if sha256 else hashes.SHA1()
        signature = self.key.sign(policy.encode(), padding.PKCS1v15(), algorithm)
        encoded = base64.b64encode(signature).decode().replace("+", "-").replace("=", "_").replace("/", "~")
        joiner = "&" if "?" in url else "?"
        signed = f"{url}{joiner}Expires={expires}&Signature={encoded}&Key-Pair-Id={self.key_pair_id}"
        return signed + "&Hash-Algorithm=SHA256" if sha256 else signed


def cdn_url(server: SandboxServer | str, key: str) -> str:
    """The contract's unsigned URL of an object key: ``{cdn_base_url}/{quote(key, safe="/")}`` (``server``:
    a running sandbox or a CDN base URL)."""
    base = server if isinstance(server, str) else server.cdn_base_url
    return f"{base}/{quote(key, safe='/')}"


@pytest.fixture(scope="session")
def private_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="session")
def public_key_file(private_key: rsa.RSAPrivateKey, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("keys") / "public.pem"
    path.write_bytes(
        private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return path


@pytest.fixture(scope="session")
def signer(private_key: rsa.RSAPrivateKey) -> Signer:
    return Signer(private_key)


@pytest.fixture(scope="session")
def server(public_key_file: Path) -> Iterator[SandboxServer]:
    settings = Settings(public_key_file=public_key_file, key_pair_id=KEY_PAIR_ID, **SHAPE)
    with SandboxServer(settings) as running:
        yield running


@pytest.fixture
def media(server: SandboxServer) -> SandboxServer:
    """The session's server with no faults, the standard catalogue shape and zeroed counters."""
    server.set_faults()
    server.set_catalogue(**SHAPE)
    server.reset_stats()
    return server


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=30.0) as c:
        yield c


def course_documents(server: SandboxServer, client: httpx.Client) -> list[dict[str, Any]]:
    """Every course's document, read through the catalogue API."""
    listing = client.get(server.catalogue_url + "/courses", params={"per_page": 500}).json()
    return [client.get(f"{server.catalogue_url}/courses/{c['id']}").json() for c in listing["courses"]]


def files_of(document: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """``(object key, {"size", "sha256"})`` of every file of a course document, in catalogue order."""
    found = []
    for channel in document["channels"]:
        for segment in channel["segments"]:
            for quality, info in segment["files"].items():
                found.append((f"{segment['video'].removeprefix('mp4:')}_{quality}.mp4", info))
    return found
