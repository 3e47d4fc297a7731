"""CloudFront signed-URL verification, canned policy (media-spec §2; REFERENCE-OPERATIONS.md §2.1-2.3).

The resource a URL was signed for is rebuilt from the request as sent: ``scheme://Host`` + the raw
(still percent-encoded) path + the query parameters that are not signing parameters, in their order. The
canned policy over it is
``{"Statement":[{"Resource":"<url>","Condition":{"DateLessThan":{"AWS:EpochTime":<Expires>}}}]}`` (no
spaces), and ``Signature`` must be its RSA PKCS#1 v1.5 signature (SHA-1, or SHA-256 with
``Hash-Algorithm=SHA256``) in base64 with ``+``→``-``, ``=``→``_``, ``/``→``~``.

Checks, in CloudFront's order, each an :class:`~skillstream_media_sandbox.errors.AccessDenied`:
no ``Key-Pair-Id`` → ``MissingKey``; an id not configured → ``InvalidKey``; no ``Expires``/``Signature``
(custom ``Policy`` URLs are not supported and land here) → ``missing``; malformed or non-matching
signature → ``bad_signature``; ``now >= Expires`` → ``expired`` (checked once, when the request starts).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from urllib.parse import unquote

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from skillstream_media_sandbox.errors import AccessDenied, PublicKeyError

SIGNING_PARAMS = frozenset({"Expires", "Signature", "Key-Pair-Id", "Policy", "Hash-Algorithm"})
"""Query parameters that belong to the signature, not to the signed resource."""
MAX_EXPIRES = 2_147_483_647
"""``Expires`` is a 32-bit Unix time (AWS canned-policy page)."""
_URL_SAFE = str.maketrans("-_~", "+=/")
_HASHES: dict[str, type[hashes.HashAlgorithm]] = {"SHA1": hashes.SHA1, "SHA256": hashes.SHA256}


def error_body(code: str, message: str) -> bytes:
    """CloudFront's XML error document."""
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code><Message>{message}</Message></Error>'
    ).encode()


def load_public_key(pem: bytes, source: str) -> rsa.RSAPublicKey:
    """The RSA public key in ``pem`` (``source`` names where it came from, for the error).

    Raises:
        PublicKeyError: not a PEM public key, or not RSA (CloudFront key groups hold RSA keys).
    """
    try:
        key = serialization.load_pem_public_key(pem)
    except (ValueError, TypeError, UnsupportedAlgorithm) as e:
        raise PublicKeyError(f"{source} is not a PEM public key: {e}") from e
    if not isinstance(key, rsa.RSAPublicKey):
        raise PublicKeyError(f"{source} holds a {type(key).__name__}, not an RSA public key")
    return key


def canned_policy(resource: str, expires: int) -> bytes:
    """The canned policy JSON, byte for byte as CloudFront and botocore's ``build_policy`` write it."""
    statement = {"Resource": resource, "Condition": {"DateLessThan": {"AWS:EpochTime": expires}}}
    return json.dumps({"Statement": [statement]}, separators=(",", ":")).encode()


def split_query(scheme: str, host: str, raw_path: bytes, raw_query: bytes) -> tuple[str, dict[str, str]]:
    """``(resource, signing parameters)`` of a request: the URL it was signed for and the first value of
    each signing parameter (percent-decoded)."""
    kept: list[str] = []
    params: dict[str, str] = {}
    for part in raw_query.decode("latin-1").split("&"):
        if not part:
            continue
        name, _, value = part.partition("=")
        if unquote(name) in SIGNING_PARAMS:
            params.setdefault(unquote(name), unquote(value))
        else:
            kept.append(part)
    resource = f"{scheme}://{host}{raw_path.decode('latin-1')}"
    return (resource + "?" + "&".join(kept) if kept else resource), params


class Verifier:
    """Checks signed URLs against the configured public keys (``{key pair id: key}``)."""

    def __init__(self, keys: Mapping[str, rsa.RSAPublicKey]) -> None:
        self._keys = dict(keys)

    def verify(self, resource: str, params: Mapping[str, str], now: float) -> int:
        """Return ``Expires`` when the URL is valid at ``now`` (Unix seconds).

        Raises:
            AccessDenied: see the module docstring for the codes and causes.
        """
        key_id = params.get("Key-Pair-Id", "")
        if not key_id:
            raise AccessDenied("missing", "MissingKey", "Missing Key-Pair-Id query parameter or cookie value")
        key = self._keys.get(key_id)
        if key is None:
            raise AccessDenied("unknown_key", "InvalidKey", "Unknown Key")
        expires_text, signature_text = params.get("Expires", ""), params.get("Signature", "")
        if not expires_text or not signature_text:
            raise AccessDenied("missing")
        algorithm = _HASHES.get(params.get("Hash-Algorithm", "SHA1"))
        if not expires_text.isdigit() or int(expires_text) > MAX_EXPIRES or algorithm is None:
            raise AccessDenied("bad_signature")
        expires = int(expires_text)
        try:
            signature = base64.b64decode(signature_text.translate(_URL_SAFE), validate=True)
            key.verify(signature, canned_policy(resource, expires), padding.PKCS1v15(), algorithm())
        except (binascii.Error, InvalidSignature) as e:
            raise AccessDenied("bad_signature") from e
        if now >= expires:
            raise AccessDenied("expired")
        return expires


__all__ = ["MAX_EXPIRES", "SIGNING_PARAMS", "Verifier", "canned_policy", "error_body", "load_public_key", "split_query"]
