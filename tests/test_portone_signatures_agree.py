"""Our Standard Webhooks verification agrees with the specification's own Python library.

``standardwebhooks`` (the Standard Webhooks project's package) is used here
as an independent oracle, not in the app: it takes one secret, fixes the
tolerance at five minutes and raises other errors than an authentication
failure on malformed headers, so the app verifies with its own code. On
every delivery both can read, the two must agree.
"""

from __future__ import annotations

import base64
import random
import time
from datetime import UTC, datetime

import pytest

from django_kakaopay.backends.portone.signatures import sign, verify
from django_kakaopay.exceptions import WebhookAuthenticationError

standardwebhooks = pytest.importorskip(
    "standardwebhooks", reason="the standardwebhooks package is not installed"
)

CASES = 300


def secret_of(rng: random.Random) -> str:
    return "whsec_" + base64.b64encode(rng.randbytes(rng.randint(24, 64))).decode()


def ours_accepts(body: bytes, headers: dict[str, str], secret: str) -> bool:
    try:
        verify(body, headers, [secret])
    except WebhookAuthenticationError:
        return False
    return True


def theirs_accepts(body: bytes, headers: dict[str, str], secret: str) -> bool:
    try:
        standardwebhooks.Webhook(secret).verify(body, headers, json_parse=False)
    except standardwebhooks.webhooks.WebhookVerificationError:
        return False
    return True


def test_what_we_sign_the_library_verifies_and_the_other_way_round() -> None:
    rng = random.Random(20261202)
    for _ in range(CASES):
        secret = secret_of(rng)
        body = f'{{"type": "Transaction.Paid", "n": {rng.randrange(10**9)}}}'.encode()
        msg_id = f"msg_{rng.randrange(10**12)}"
        timestamp = int(time.time()) - rng.randint(-200, 200)
        ours = sign(secret, msg_id, timestamp, body)
        headers = {"webhook-id": msg_id, "webhook-timestamp": str(timestamp)}
        assert theirs_accepts(body, {**headers, "webhook-signature": ours}, secret)

        theirs = standardwebhooks.Webhook(secret).sign(
            msg_id, datetime.fromtimestamp(timestamp, tz=UTC), body.decode()
        )
        assert theirs == ours
        assert ours_accepts(body, {**headers, "webhook-signature": theirs}, secret)


def test_both_refuse_the_same_tampering() -> None:
    rng = random.Random(7)
    for _ in range(CASES):
        secret = secret_of(rng)
        body = b'{"type": "Transaction.Paid"}'
        msg_id, timestamp = "msg_1", int(time.time())
        headers = {
            "webhook-id": msg_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign(secret, msg_id, timestamp, body),
        }
        tampered = [
            (body + b" ", headers),
            (body, {**headers, "webhook-id": "msg_2"}),
            (body, {**headers, "webhook-timestamp": str(timestamp + 1)}),
            (body, {**headers, "webhook-timestamp": str(timestamp - 400)}),
            (body, {**headers, "webhook-timestamp": str(timestamp + 400)}),
        ]
        other = secret_of(rng)
        for forged_body, forged_headers in tampered:
            assert not ours_accepts(forged_body, forged_headers, secret)
            assert not theirs_accepts(forged_body, forged_headers, secret)
        assert not ours_accepts(body, headers, other)
        assert not theirs_accepts(body, headers, other)
