"""CloudFront canned-policy signing: exact policy bytes, signatures checked with the public key, and the same
URL as botocore's documented algorithm (re-implemented here from botocore.signers.CloudFrontSigner)."""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections import OrderedDict
from urllib.parse import parse_qsl, urlsplit

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from skillstream_media_downloader.adapters.signing import CloudFrontSigner, SignedUrl, canned_policy, url_safe_b64
from skillstream_media_downloader.errors import SigningError

from .conftest import KEY_PAIR_ID

URL = "http://127.0.0.1:8191/cdn/bluesgtr_survival/intro_med.mp4"
EXPIRES = 1_700_007_200


def _botocore_url(url: str, date_less_than: dt.datetime, key_id: str, rsa_signer) -> str:
    """botocore.signers.CloudFrontSigner.generate_presigned_url(url, date_less_than=...), transcribed."""
    moment = int((date_less_than - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)).total_seconds())
    condition = OrderedDict({"DateLessThan": {"AWS:EpochTime": moment}})
    policy = json.dumps(
        {"Statement": [OrderedDict([("Resource", url), ("Condition", condition)])]}, separators=(",", ":")
    )
    signature = rsa_signer(policy.encode("utf8"))
    b64 = base64.b64encode(signature).replace(b"+", b"-").replace(b"=", b"_").replace(b"/", b"~")
    params = [f"Expires={moment}", f"Signature={b64.decode('utf8')}", f"Key-Pair-Id={key_id}"]
    return url + ("&" if "?" in url else "?") + "&".join(params)


def _verify(public_key: rsa.RSAPublicKey, signed: SignedUrl, resource: str) -> None:
    params = dict(parse_qsl(urlsplit(signed.url).query))
    signature = base64.b64decode(params["Signature"].translate(str.maketrans("-_~", "+=/")))
    public_key.verify(signature, canned_policy(resource, int(params["Expires"])), padding.PKCS1v15(), hashes.SHA1())


def test_policy_bytes_are_exact() -> None:
    expected = (
        b'{"Statement":[{"Resource":"http://127.0.0.1:8191/cdn/bluesgtr_survival/intro_med.mp4",'
        b'"Condition":{"DateLessThan":{"AWS:EpochTime":1700007200}}}]}'
    )
    assert canned_policy(URL, EXPIRES) == expected


def test_signature_verifies_with_the_public_key(signer: CloudFrontSigner, rsa_key: rsa.RSAPrivateKey) -> None:
    signed = signer.sign(URL, EXPIRES)
    assert signed.expires_at == EXPIRES
    assert signed.url.startswith(URL + f"?Expires={EXPIRES}&Signature=")
    assert signed.url.endswith(f"&Key-Pair-Id={KEY_PAIR_ID}")
    _verify(rsa_key.public_key(), signed, URL)


def test_same_url_as_botocore(signer: CloudFrontSigner, rsa_key: rsa.RSAPrivateKey) -> None:
    def rsa_signer(message: bytes) -> bytes:
        return rsa_key.sign(message, padding.PKCS1v15(), hashes.SHA1())

    when = dt.datetime.fromtimestamp(EXPIRES, dt.UTC)
    for url in (URL, URL + "?lang=en", "https://d111111abcdef8.cloudfront.net/a%20b/%C3%A9_hi.mp4"):
        assert signer.sign(url, EXPIRES).url == _botocore_url(url, when, KEY_PAIR_ID, rsa_signer)


def test_url_safe_substitution() -> None:
    assert base64.b64encode(b"\xfb\xff") == b"+/8="
    assert url_safe_b64(b"\xfb\xff") == "-~8_"


def test_signature_is_url_safe(signer: CloudFrontSigner) -> None:
    seen: set[str] = set()
    for expires in range(EXPIRES, EXPIRES + 20):  # enough signatures to meet +, / and = in plain base64
        signature = dict(parse_qsl(urlsplit(signer.sign(URL, expires).url).query))["Signature"]
        assert not set(signature) & set("+/= ")
        seen |= set(signature)
    assert {"-", "_", "~"} <= seen


def test_url_with_a_query_string_keeps_it_in_the_resource(signer: CloudFrontSigner, rsa_key) -> None:
    url = URL + "?lang=en&x=1"
    signed = signer.sign(url, EXPIRES)
    assert signed.url.startswith(url + f"&Expires={EXPIRES}&")
    assert signed.resource == url
    _verify(rsa_key.public_key(), signed, url)


def test_signed_url_hides_the_signature_and_knows_its_expiry(signer: CloudFrontSigner) -> None:
    signed = signer.sign(URL, EXPIRES)
    assert "Signature" not in repr(signed)
    assert signed.resource == URL
    assert signed.remaining(EXPIRES - 90) == 90
    assert not signed.expired(EXPIRES - 90, margin=60)
    assert signed.expired(EXPIRES - 60, margin=60)
    assert signed.expired(EXPIRES)
    assert not signed.expired(EXPIRES - 1)


def test_sign_for_counts_from_now(signer: CloudFrontSigner) -> None:
    assert signer.sign_for(URL, 7200, now=1_700_000_000.7).expires_at == 1_700_007_200


@pytest.mark.parametrize(
    ("url", "expires", "match"),
    [
        ("/cdn/relative.mp4", EXPIRES, "absolute"),
        ("ftp://host/x.mp4", EXPIRES, "absolute"),
        ("http://host/é.mp4", EXPIRES, "ASCII"),
        ("http://host/a b.mp4", EXPIRES, "ASCII"),
        ("http://host/x.mp4?Expires=1", EXPIRES, "signing parameters"),
        ("http://host/x.mp4#frag", EXPIRES, "fragment"),
        (URL, 0, "Expires"),
        (URL, 2**31, "Expires"),
        (URL, True, "Expires"),
    ],
)
def test_unsignable_urls_and_expiries(signer: CloudFrontSigner, url: str, expires: int, match: str) -> None:
    with pytest.raises(SigningError, match=match):
        signer.sign(url, expires)


def test_bad_keys_are_clear_signing_errors(rsa_key: rsa.RSAPrivateKey, private_pem: bytes) -> None:
    with pytest.raises(SigningError, match="not a readable PEM"):
        CloudFrontSigner(KEY_PAIR_ID, b"-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----\n")
    encrypted = rsa_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.BestAvailableEncryption(b"pw")
    )
    with pytest.raises(SigningError, match="encrypted"):
        CloudFrontSigner(KEY_PAIR_ID, encrypted)
    ec_pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with pytest.raises(SigningError, match="RSA"):
        CloudFrontSigner(KEY_PAIR_ID, ec_pem)
    with pytest.raises(SigningError, match="key pair id"):
        CloudFrontSigner("K2 JC&x=1", private_pem)
    with pytest.raises(ValueError, match="cannot sign"):  # SigningError is a ValueError for config checks
        CloudFrontSigner("", private_pem)
    assert "PRIVATE" not in repr(CloudFrontSigner(KEY_PAIR_ID, private_pem))


@pytest.mark.parametrize(
    "url", ["https://d1.cloudfront.net/a/b_med.mp4", 'https://d1.cloudfront.net/a/"q"\\b.mp4?x=1&y=%20', "http://h:8/p"]
)
def test_the_canned_policy_is_compact_json_in_cloudfronts_key_order(url: str) -> None:
    statement = {"Resource": url, "Condition": {"DateLessThan": {"AWS:EpochTime": 1_700_000_123}}}
    expected = json.dumps({"Statement": [statement]}, separators=(",", ":")).encode("ascii")
    assert canned_policy(url, 1_700_000_123) == expected
