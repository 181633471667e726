"""The secret shared by the simulated provider and the sandbox backend."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

from django.conf import settings

SIGNATURE_HEADER = "X-Sandbox-Signature"


def signing_secret(alias: str, options: Mapping[str, Any]) -> bytes:
    """``WEBHOOK_SECRET`` if set, else a per-alias key derived from ``SECRET_KEY``.

    Deriving it means the sandbox works with no configuration while a forged
    notification still fails verification.
    """
    configured = options.get("WEBHOOK_SECRET")
    if configured:
        return str(configured).encode()
    return hmac.new(
        str(settings.SECRET_KEY).encode(),
        f"django-kakaopay sandbox webhook {alias}".encode(),
        hashlib.sha256,
    ).digest()


def sign(secret: bytes, body: bytes) -> str:
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
