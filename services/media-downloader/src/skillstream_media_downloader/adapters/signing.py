"""CloudFront signed URLs with a canned policy, made with ``cryptography`` (REFERENCE-OPERATIONS §2.1/§2.4).

The policy is byte-exact compact JSON ``{"Statement":[{"Resource":"<url>","Condition":{"DateLessThan":
{"AWS:EpochTime":<expires>}}}]}``; the signature is RSA PKCS#1 v1.5 with SHA-1 over it, base64 with
``+``→``-``, ``=``→``_``, ``/``→``~``; the URL gets ``Expires``, ``Signature`` and ``Key-Pair-Id`` appended
(``?`` or ``&`` when it already has a query) — the same bytes as ``botocore.signers.CloudFrontSigner``.

URLs are signed when a download starts, never stored: a signed URL is a bearer credential, so
:class:`SignedUrl` keeps it out of its ``repr`` and :attr:`SignedUrl.resource` gives the loggable form.
:class:`UrlLease` holds the URL of one download and re-signs it by the rules of §2.2 (expiry is checked when
a request starts, so a resumed request needs a URL that is still valid, and clock skew gets one re-sign), as
:mod:`skillstream_media_downloader.domain.urls` decides.
"""

from __future__ import annotations

import base64
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlsplit

import structlog
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from skillstream_media_downloader.domain.urls import Renewal, after_403, needs_new_url
from skillstream_media_downloader.errors import HttpStatusError, SigningError

_log = structlog.get_logger(__name__)

SIGNING_PARAMETERS = frozenset({"Expires", "Signature", "Key-Pair-Id", "Policy", "Hash-Algorithm"})
"""Query parameters CloudFront reserves; a URL to sign must not carry them (canned-policy guide)."""

_MAX_EXPIRES = 2**31 - 1  # CloudFront: Expires is a 32-bit Unix time
_KEY_PAIR_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")
_URL_SAFE = bytes.maketrans(b"+=/", b"-_~")
_NOT_URL_CHAR = re.compile(r"[^\x21-\x7e]")  # anything but printable ASCII without space: one C-speed scan


@dataclass(frozen=True, slots=True)
class SignedUrl:
    """A signed URL (``url``, excluded from ``repr``) valid until ``expires_at`` (Unix seconds, exclusive:
    CloudFront refuses a request that starts at or after it, §2.2)."""

    url: str = field(repr=False)
    expires_at: int

    @property
    def resource(self) -> str:
        """The URL without the signing parameters, safe to log and to put in errors."""
        base, _, query = self.url.partition("?")
        kept = [p for p in query.split("&") if p and p.partition("=")[0] not in SIGNING_PARAMETERS]
        return f"{base}?{'&'.join(kept)}" if kept else base

    def remaining(self, now: float) -> float:
        """Seconds left at ``now`` (Unix seconds); zero or negative once expired."""
        return self.expires_at - now

    def expired(self, now: float, margin: float = 0.0) -> bool:
        """True when at most ``margin`` seconds are left at ``now`` (margin 0: CloudFront would refuse it)."""
        return needs_new_url(self.expires_at, now, margin)


class CloudFrontSigner:
    """Signs URLs for one CloudFront key: ``key_pair_id`` (the public key's ID in the trusted key group) and
    the matching unencrypted RSA private key as PEM.

    Raises:
        SigningError: the PEM is not a readable unencrypted private key, the key is not RSA, or the key pair
            ID is not a plain token.
    """

    def __init__(self, key_pair_id: str, private_key_pem: bytes) -> None:
        if not _KEY_PAIR_ID.fullmatch(key_pair_id):
            raise SigningError(f"key pair id {key_pair_id!r} is not a CloudFront key id (letters, digits, - and _)")
        try:
            key = serialization.load_pem_private_key(private_key_pem, password=None)
        except TypeError as exc:  # the PEM is encrypted: we take no passphrase
            raise SigningError("the private key is encrypted; give an unencrypted PEM") from exc
        except (ValueError, UnsupportedAlgorithm) as exc:
            # cryptography's message names only the parse failure, never key material
            raise SigningError(f"the private key is not a readable PEM private key ({exc})") from exc
        if not isinstance(key, rsa.RSAPrivateKey):
            raise SigningError(f"CloudFront canned policies need an RSA key, got {type(key).__name__}")
        self._key = key
        self.key_pair_id = key_pair_id

    def __repr__(self) -> str:
        return f"CloudFrontSigner(key_pair_id={self.key_pair_id!r}, rsa={self._key.key_size} bits)"

    def sign(self, url: str, expires_at: int) -> SignedUrl:
        """Sign ``url`` (absolute http(s), percent-encoded ASCII, without signing parameters) with a canned
        policy valid until ``expires_at`` (Unix seconds, 1..2**31-1).

        Raises:
            SigningError: ``url`` or ``expires_at`` cannot be used in a canned policy.
        """
        _check_url(url)
        if isinstance(expires_at, bool) or not isinstance(expires_at, int) or not 0 < expires_at <= _MAX_EXPIRES:
            raise SigningError(f"Expires must be a Unix time in seconds up to {_MAX_EXPIRES}, got {expires_at!r}")
        policy = canned_policy(url, expires_at)
        signature = self._key.sign(policy, padding.PKCS1v15(), hashes.SHA1())  # noqa: S303 - CloudFront's algorithm
        separator = "&" if "?" in url else "?"
        query = f"Expires={expires_at}&Signature={url_safe_b64(signature)}&Key-Pair-Id={self.key_pair_id}"
        return SignedUrl(url=f"{url}{separator}{query}", expires_at=expires_at)

    def sign_for(self, url: str, lifetime: float, *, now: float) -> SignedUrl:
        """:meth:`sign` with ``expires_at`` = ``now + lifetime`` (seconds, rounded down)."""
        return self.sign(url, math.floor(now + lifetime))


class UrlLease:
    """The signed URL of one download and when to replace it (§2.2: CloudFront checks expiry when a request
    starts). ``sign()`` makes a fresh URL, ``clock()`` is Unix time; ``resigns`` counts URLs made after the
    first. A URL with at most ``min_remaining`` seconds left is re-signed before a request; after a 403 an
    expired or near-expiry URL is re-signed at once, a fresh one once only (clock skew), and never more than
    ``max_resigns`` times in all.
    """

    def __init__(
        self, sign: Callable[[], SignedUrl], clock: Callable[[], float], min_remaining: float, max_resigns: int
    ) -> None:
        self._sign, self.clock, self._min, self._max = sign, clock, min_remaining, max_resigns
        self._skew_resign_used = False
        self.resigns = 0
        self.current = sign()

    def for_request(self) -> SignedUrl:
        """The URL to send now, re-signed first when it is about to expire.

        Raises:
            SigningError: ``sign()`` failed or made a URL with at most ``min_remaining`` seconds left.
        """
        if self.current.expired(self.clock(), self._min):
            self._resign("expires soon")
        return self.current

    def after_403(self, code: str | None) -> None:
        """Re-sign after a 403 (``code``: the error body's ``<Code>``).

        Raises:
            HttpStatusError: 403 again on a freshly signed URL, or ``max_resigns`` reached.
            SigningError: as in :meth:`for_request`.
        """
        stale = self.current.expired(self.clock(), self._min)
        renewal = after_403(
            stale=stale, skew_resign_used=self._skew_resign_used, resigns=self.resigns, max_resigns=self._max
        )
        if renewal is Renewal.REFUSED:
            raise HttpStatusError(403, resource=self.current.resource, code=code, why=renewal.value)
        if renewal is Renewal.EXHAUSTED:
            why = f"refused after {self.resigns} re-signs"
            raise HttpStatusError(403, resource=self.current.resource, code=code, why=why)
        self._skew_resign_used |= not stale
        self._resign(renewal.value)

    def _resign(self, why: str) -> None:
        self.resigns += 1
        signed = self._sign()
        left = signed.remaining(self.clock())
        if left <= self._min:
            raise SigningError(f"a new URL is valid for {left:.0f} s, not more than url_min_remaining {self._min} s")
        _log.info("cdn url re-signed", resource=signed.resource, why=why, resigns=self.resigns)
        self.current = signed


def canned_policy(url: str, expires_at: int) -> bytes:
    """The canned policy JSON for ``url`` and ``expires_at``, compact and in CloudFront's key order."""
    # The document around the URL is fixed: only the URL needs JSON escaping (json.dumps of the whole is slower).
    condition = f'"Condition":{{"DateLessThan":{{"AWS:EpochTime":{expires_at}}}}}'
    return f'{{"Statement":[{{"Resource":{json.dumps(url)},{condition}}}]}}'.encode("ascii")


def url_safe_b64(data: bytes) -> str:
    """Base64 with CloudFront's substitution ``+``→``-``, ``=``→``_``, ``/``→``~``."""
    return base64.b64encode(data).translate(_URL_SAFE).decode("ascii")


def _check_url(url: str) -> None:
    if _NOT_URL_CHAR.search(url):
        raise SigningError("the URL must be percent-encoded ASCII without spaces or control characters")
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise SigningError(f"not an absolute http(s) URL: {url.split('?', 1)[0]!r}")
    if parts.fragment:
        raise SigningError("the URL must not have a fragment")
    reserved = parts.query and {k for k, _ in parse_qsl(parts.query, keep_blank_values=True)} & SIGNING_PARAMETERS
    if reserved:
        raise SigningError(f"the URL already has CloudFront signing parameters {sorted(reserved)}")


__all__ = ["SIGNING_PARAMETERS", "CloudFrontSigner", "SignedUrl", "UrlLease", "canned_policy", "url_safe_b64"]
