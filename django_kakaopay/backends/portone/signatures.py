"""PortOne's webhook signatures, checked as Standard Webhooks 1.0.0 (symmetric, ``v1``).

A delivery signs ``<webhook-id>.<webhook-timestamp>.<raw body>`` with
HMAC-SHA256 keyed by the base64-decoded secret; ``webhook-signature`` lists
one or more ``v1,<base64>`` entries. Two secrets may be configured so that a
rotation in PortOne's console loses no delivery.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Mapping, Sequence

from django.utils.translation import gettext as _

from ...exceptions import WebhookAuthenticationError
from ..readers import header, is_digits

ID_HEADER = "webhook-id"
TIMESTAMP_HEADER = "webhook-timestamp"
SIGNATURE_HEADER = "webhook-signature"
DEFAULT_TOLERANCE_SECONDS = 300

WHSEC_PREFIX = "whsec_"
SIGNATURE_VERSION = "v1"
# Limits on what a stranger can make us hash and compare: PortOne sends one
# signature (two during a rotation), ids far shorter than 255 characters and
# ten-digit timestamps.
MAX_SIGNATURES = 10
MAX_HEADER = 4096
MAX_ID = 255
MAX_TIMESTAMP = 20


def decode_secret(secret: str) -> bytes:
    """The HMAC key of ``whsec_<base64>`` (or of the bare base64); ``ValueError`` if none."""
    encoded = secret.removeprefix(WHSEC_PREFIX)
    try:
        key = base64.b64decode(encoded, validate=True)
    except ValueError as exc:  # binascii.Error, or a character outside ASCII
        raise ValueError("the secret is not base64") from exc
    if not key:
        raise ValueError("the secret is empty")
    return key


def secret_problem(secret: object, *, name: str = "WEBHOOK_SECRETS[0]") -> str:
    """``""`` for a usable secret, else a sentence for a system check (never the secret)."""
    if not isinstance(secret, str):
        return f"{name} must be a string"
    if not secret.strip().removeprefix(WHSEC_PREFIX):
        return f"{name} is empty"
    try:
        decode_secret(secret.strip())
    except ValueError:
        return (
            f"{name} is not base64 (copy the whole whsec_... secret from PortOne's console, "
            "in the Webhook settings)"
        )
    return ""


def _digest(key: bytes, msg_id: str, timestamp: str, body: bytes) -> bytes:
    # The raw body as received: parsing and re-serialising it would change
    # the bytes PortOne signed.
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return hmac.new(key, signed, hashlib.sha256).digest()


def sign(secret: str, msg_id: str, timestamp: int | str, body: bytes) -> str:
    """The ``v1,<base64>`` entry a sender holding ``secret`` puts in ``webhook-signature``."""
    digest = _digest(decode_secret(secret), msg_id, str(timestamp), body)
    return f"{SIGNATURE_VERSION},{base64.b64encode(digest).decode('ascii')}"


def _keys(secrets: Sequence[str]) -> list[bytes]:
    if isinstance(secrets, str):  # one secret where a list was meant
        secrets = (secrets,)
    keys = []
    for secret in secrets:
        # An unusable secret is the system check's to name; the other may still verify.
        # (Not str(secret): str(None) is "None", which is valid base64.)
        if isinstance(secret, str):
            try:
                keys.append(decode_secret(secret.strip()))
            except ValueError:
                continue
    return keys


def _received(signatures: str) -> list[bytes]:
    """The decoded ``v1`` entries; other versions (``v1a`` ...) are for other schemes."""
    found = []
    for entry in signatures.split()[:MAX_SIGNATURES]:
        version, _comma, encoded = entry.partition(",")
        if version != SIGNATURE_VERSION:
            continue
        try:
            found.append(base64.b64decode(encoded, validate=True))
        except ValueError:
            continue  # cannot match; a real entry beside it still may
    return found


def verify(
    body: bytes,
    headers: Mapping[str, str],
    secrets: Sequence[str],
    *,
    tolerance: int = DEFAULT_TOLERANCE_SECONDS,
    now: float | None = None,
) -> str:
    """The ``webhook-id`` of a genuine, timely delivery; else ``WebhookAuthenticationError``."""
    keys = _keys(secrets)
    if not keys:
        raise WebhookAuthenticationError(
            _("No WEBHOOK_SECRETS are configured, so no notification can be verified.")
        )
    msg_id = header(headers, ID_HEADER)
    timestamp = header(headers, TIMESTAMP_HEADER).strip()
    signatures = header(headers, SIGNATURE_HEADER)
    if not (msg_id and timestamp and signatures.strip()):
        raise WebhookAuthenticationError(
            _("The webhook-id, webhook-timestamp or webhook-signature header is missing.")
        )
    if max(len(msg_id), len(timestamp), len(signatures)) > MAX_HEADER:
        raise WebhookAuthenticationError(
            _("The webhook-id, webhook-timestamp or webhook-signature header is too long.")
        )
    # ASCII only: WSGI hands headers over as latin-1, so any other character
    # would be re-encoded into bytes the sender never signed.
    if len(msg_id) > MAX_ID or not (msg_id.isascii() and msg_id.isprintable()):
        raise WebhookAuthenticationError(
            _("The webhook-id header is too long or holds characters that cannot be printed.")
        )
    # is_digits, not int(): int() also takes "+1", "1_0" and other scripts'
    # digits, none of which a sender writes for a Unix time.
    if len(timestamp) > MAX_TIMESTAMP or not is_digits(timestamp):
        raise WebhookAuthenticationError(
            _("The webhook-timestamp header is not a whole number of seconds.")
        )
    # Both ways: a timestamp far ahead would let a captured delivery be
    # replayed until then.
    current = time.time() if now is None else now
    if abs(current - int(timestamp)) > tolerance:
        raise WebhookAuthenticationError(
            _(
                "The webhook-timestamp is more than %(seconds)s seconds away from now; "
                "the notification may be replayed."
            )
            % {"seconds": tolerance}
        )
    received = _received(signatures)
    if not received:
        raise WebhookAuthenticationError(_("The webhook-signature header holds no v1 signature."))
    # Every key against every entry, no early exit: how long this takes must
    # not tell which secret (or whether the old one) matched.
    matched = False
    for key in keys:
        expected = _digest(key, msg_id, timestamp, body)
        for candidate in received:
            matched |= hmac.compare_digest(expected, candidate)
    if not matched:
        raise WebhookAuthenticationError(_("No webhook-signature matches any of WEBHOOK_SECRETS."))
    return msg_id
