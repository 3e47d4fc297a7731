"""How ``skillstream up`` runs the media sandbox and points the media-downloader at it
(``skillstream.sandboxes`` entry point; media-spec §5).

The first :func:`service_env` call makes a development RSA-2048 key pair under
``<DATA_DIR>/media-sandbox/`` (``cloudfront-private.pem``, mode 600, and ``cloudfront-public.pem``); later
calls reuse it. The downloader signs with the private key (``MEDIA_PRIVATE_KEY_FILE``); the sandbox verifies
with the public one (``MEDIA_SANDBOX_PUBLIC_KEY_FILE``, which the stack passes to every child, the sandbox
included).
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from skillstream_media_sandbox.settings import DEFAULT_KEY_PAIR_ID, DEFAULT_PORT
from skillstream_runtime.sandboxes import SandboxDefinition
from skillstream_runtime.settings import Settings as RuntimeSettings

KEY_DIR = "media-sandbox"
"""Folder under the stack's data directory (``DATA_DIR``, default ``.data``) holding the dev key pair."""
PRIVATE_KEY_NAME = "cloudfront-private.pem"
PUBLIC_KEY_NAME = "cloudfront-public.pem"


@dataclass(frozen=True, slots=True)
class KeyPairFiles:
    """Absolute paths of a PEM key pair (private: PKCS#8, unencrypted, mode 600; public: SubjectPublicKeyInfo)."""

    private_key_file: Path
    public_key_file: Path


def _write(path: Path, data: bytes, mode: int) -> None:
    """Write ``data`` to ``path`` atomically, the file never readable beyond ``mode`` (mkstemp makes 600)."""
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def ensure_key_pair(directory: Path) -> KeyPairFiles:
    """The RSA-2048 key pair in ``directory``, made (with the directory) if the private key is missing; a
    missing public key is derived again from the private one.

    Raises:
        OSError: the directory or files cannot be created or read.
        ValueError: an existing private key file is not an unencrypted PEM private key.
    """
    directory = directory.expanduser().resolve()
    directory.mkdir(parents=True, exist_ok=True)
    private_path, public_path = directory / PRIVATE_KEY_NAME, directory / PUBLIC_KEY_NAME
    if private_path.exists():
        key = serialization.load_pem_private_key(private_path.read_bytes(), password=None)
    else:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        _write(private_path, pem, 0o600)
        public_path.unlink(missing_ok=True)  # a stale public key would never match the new private one
    if not public_path.exists():
        public = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        _write(public_path, public, 0o644)
    return KeyPairFiles(private_key_file=private_path, public_key_file=public_path)


def service_env(port: int, data_dir: Path | None = None) -> dict[str, str]:
    """The environment pointing the downloader (and the sandbox) at a sandbox on ``127.0.0.1:port``.

    ``data_dir``: default the stack's (``DATA_DIR``, else ``.data``). The key pair id is
    ``MEDIA_SANDBOX_KEY_PAIR_ID`` when set, so both sides agree.

    Raises:
        OSError, ValueError: see :func:`ensure_key_pair`.
    """
    base = f"http://127.0.0.1:{port}"
    keys = ensure_key_pair((data_dir or RuntimeSettings().data_dir) / KEY_DIR)
    return {
        "MEDIA_CATALOGUE_URL": base + "/catalogue/v1",
        "MEDIA_CDN_BASE_URL": base + "/cdn",
        "MEDIA_KEY_PAIR_ID": os.environ.get("MEDIA_SANDBOX_KEY_PAIR_ID") or DEFAULT_KEY_PAIR_ID,
        "MEDIA_PRIVATE_KEY_FILE": str(keys.private_key_file),
        "MEDIA_SANDBOX_PUBLIC_KEY_FILE": str(keys.public_key_file),
    }


def sandbox() -> SandboxDefinition:
    """The media sandbox, skipped when ``MEDIA_CATALOGUE_URL`` is already set (a real catalogue)."""
    return SandboxDefinition(
        name="media-sandbox",
        module="skillstream_media_sandbox",
        default_port=DEFAULT_PORT,
        service_env=service_env,
        skip_if_set=("MEDIA_CATALOGUE_URL",),
    )


__all__ = [
    "DEFAULT_PORT",
    "KEY_DIR",
    "PRIVATE_KEY_NAME",
    "PUBLIC_KEY_NAME",
    "KeyPairFiles",
    "ensure_key_pair",
    "sandbox",
    "service_env",
]
