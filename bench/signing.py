"""The URL signing path of a download (``make bench`` name ``signing``): what one CloudFront signed URL costs.

Every download signs its URL when it starts (never at queue time: seed 001's expired-URL defect), so signing runs
once per segment on the downloader's event loop. :class:`~skillstream_media_downloader.adapters.signing
.CloudFrontSigner` loads the RSA key once and, per URL, checks the URL, writes the canned policy, signs it
(RSA PKCS#1 v1.5, SHA-1) and builds the query string. The baseline is the RSA signature alone over the same
policy bytes with the same loaded key: the part no implementation can skip. Rounds alternate; medians of 5.
Target ≥ 0.9× (the rest of the path costs at most a tenth of the signature).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from skillstream_media_downloader.adapters.signing import CloudFrontSigner, canned_policy

_URL = "https://d111111abcdef8.cloudfront.net/courses/funk_guitar_bootcamp_1001/practice_plan_{}_med.mp4"
_EXPIRES = 2_000_000_000


def _per_second(run: int, work: Callable[[int], None]) -> float:
    started = time.perf_counter()
    for i in range(run):
        work(i)
    return run / (time.perf_counter() - started)


def bench_signing(urls: int = 1000, rounds: int = 5, key_bits: int = 2048) -> list[tuple[str, float, float, str]]:
    """Rows ``(name, URLs/s, ratio vs the bare signature, target)`` for ``urls`` URLs per round."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=key_bits)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    signer = CloudFrontSigner("K2JCJMDEHXQW5F", pem)
    policies = [canned_policy(_URL.format(i), _EXPIRES) for i in range(urls)]

    def bare(i: int) -> None:
        key.sign(policies[i], padding.PKCS1v15(), hashes.SHA1())  # CloudFront signs canned policies with SHA-1

    def ours(i: int) -> None:
        signer.sign(_URL.format(i), _EXPIRES)

    base, mine = [], []
    for _ in range(rounds):
        base.append(_per_second(urls, bare))
        mine.append(_per_second(urls, ours))
    b, m = statistics.median(base), statistics.median(mine)
    return [
        (f"RSA-{key_bits} PKCS#1 v1.5 SHA-1 signature of the policy (baseline)", b, 1.0, ""),
        (f"CloudFrontSigner.sign: policy, signature, signed URL ({1000 / m:.2f} ms each)", m, m / b, "≥ 0.90×"),
    ]


__all__ = ["bench_signing"]
