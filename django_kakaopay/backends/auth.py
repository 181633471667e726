"""Checking a notification's credentials in constant time, shared by the backends.

Two kinds exist among our providers: a signature of the body (an HMAC with a
key both sides hold, as Checkout.com's ``Cko-Signature``) and a credential
in a header (HTTP Basic, as Smart2Pay's, or a fixed ``Authorization`` value).
Every comparison here takes as long for a near miss as for a wild guess, and
with several keys every key is tried, so timing tells an attacker nothing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable


class NotBasicCredentials(ValueError):
    """An ``Authorization`` value that is not HTTP Basic credentials."""


def hmac_sha256_hex(key: str, body: bytes) -> str:
    """The hexadecimal HMAC-SHA256 of ``body`` with ``key``."""
    return hmac.new(key.encode("utf-8"), body, hashlib.sha256).hexdigest()


def same_secret(received: str, expected: str) -> bool:
    """Whether two secrets are equal, compared in constant time."""
    return hmac.compare_digest(received.encode("utf-8"), expected.encode("utf-8"))


def signature_matches_any(signature: str, body: bytes, keys: Iterable[str]) -> bool:
    """Whether the hex ``signature`` is the HMAC-SHA256 of ``body`` with one of ``keys``.

    Every key is tried, without stopping at the first match, so that the
    time taken does not tell which key (or whether an early one) matched.
    """
    received = signature.encode("utf-8")
    matches = [
        hmac.compare_digest(received, hmac_sha256_hex(key, body).encode("ascii")) for key in keys
    ]
    return any(matches)


def basic_authorization(user: str, password: str) -> str:
    """The ``Authorization`` header value of HTTP Basic ``user`` and ``password``."""
    token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
    return f"Basic {token}"


def basic_credentials_match(value: str, user: str, password: str) -> bool:
    """Whether an ``Authorization`` value carries exactly ``user`` and ``password``.

    Both parts are compared in constant time and both always are, so the time
    taken does not tell a right user from a wrong one. Raises
    :class:`NotBasicCredentials` when ``value`` is not HTTP Basic at all.
    """
    scheme, _sep, token = value.strip().partition(" ")
    if scheme.lower() != "basic":
        raise NotBasicCredentials(f"the scheme is {scheme[:20]!r}, not Basic")
    try:
        decoded = base64.b64decode(token.strip(), validate=True).decode("utf-8")
    except ValueError as exc:  # binascii.Error, UnicodeDecodeError, non-ASCII text
        raise NotBasicCredentials("the credentials are not base64 of UTF-8 text") from exc
    received_user, colon, received_password = decoded.partition(":")
    same_user = same_secret(received_user, user)
    same_password = same_secret(received_password, password)
    return bool(colon) and same_user and same_password
