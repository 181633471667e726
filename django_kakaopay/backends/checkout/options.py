"""The Checkout.com backend's options, how they are checked and how they are read.

Options (``KAKAOPAY["BACKENDS"][alias]["OPTIONS"]``):

``SECRET_KEY``
    The secret API key, sent as ``Authorization: Bearer <key>``. Sandbox
    keys start with ``sk_sbox_``.
``PROCESSING_CHANNEL_ID``
    The processing channel KakaoPay is enabled on (``pc_...``).
``ENVIRONMENT``
    ``"sandbox"`` or ``"production"``. Required and never derived from
    ``DEBUG``: which money moves is decided explicitly.
``SUBDOMAIN_PREFIX``
    The account's ``{prefix}`` of ``https://{prefix}.api.checkout.com`` (or
    ``.api.sandbox.checkout.com``).
``WEBHOOK_SIGNATURE_KEYS``
    A list of webhook signature keys; a notification signed with any of them
    is accepted, so a key can be rotated without downtime.
``WEBHOOK_AUTHORIZATION``
    Optional: the ``Authorization`` header value Checkout.com is configured
    to send with every webhook. When set, it must match too.
``TERMINAL_TYPE``
    ``web`` (default), ``wap`` or ``app``: used for payments that carry no
    terminal type of their own.
``OS_TYPE``
    ``ios`` or ``android``: the customer's OS for ``wap``/``app`` payments
    that do not say. Required when ``TERMINAL_TYPE`` is not ``web``.
``CONNECT_TIMEOUT`` / ``READ_TIMEOUT``
    Seconds (defaults 5 and 30).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..http import TIMEOUT_OPTIONS, timeout_problems
from ..readers import strings, text
from ..types import TerminalType

BASE_URLS: dict[str, str] = {
    "sandbox": "https://{prefix}.api.sandbox.checkout.com",
    "production": "https://{prefix}.api.checkout.com",
}

TERMINAL_TYPES = (TerminalType.WEB.value, TerminalType.WAP.value, TerminalType.APP.value)
OS_TYPES = ("ios", "android")

OPTION_NAMES = (
    "SECRET_KEY",
    "PROCESSING_CHANNEL_ID",
    "ENVIRONMENT",
    "SUBDOMAIN_PREFIX",
    "WEBHOOK_SIGNATURE_KEYS",
    "WEBHOOK_AUTHORIZATION",
    "TERMINAL_TYPE",
    "OS_TYPE",
    *TIMEOUT_OPTIONS,
    "DASHBOARD_URL",
)
REQUIRED_OPTIONS = ("SECRET_KEY", "PROCESSING_CHANNEL_ID", "ENVIRONMENT", "SUBDOMAIN_PREFIX")

_PREFIX_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_CHANNEL_RE = re.compile(r"^pc_\w{26}$")


@dataclass(frozen=True)
class CheckoutSettings:
    """The options, trimmed and defaulted; used once :func:`option_problems` finds none wrong."""

    environment: str
    subdomain_prefix: str
    processing_channel_id: str
    secret_key: str
    signature_keys: tuple[str, ...]
    webhook_authorization: str
    default_terminal_type: str
    default_os_type: str

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> CheckoutSettings:
        terminal = text(options.get("TERMINAL_TYPE")).strip().lower()
        os_type = text(options.get("OS_TYPE")).strip().lower()
        return cls(
            environment=text(options.get("ENVIRONMENT")).strip().lower(),
            subdomain_prefix=text(options.get("SUBDOMAIN_PREFIX")).strip().lower(),
            processing_channel_id=text(options.get("PROCESSING_CHANNEL_ID")).strip(),
            secret_key=text(options.get("SECRET_KEY")).strip(),
            signature_keys=strings(options.get("WEBHOOK_SIGNATURE_KEYS")),
            webhook_authorization=text(options.get("WEBHOOK_AUTHORIZATION")),
            default_terminal_type=terminal if terminal in TERMINAL_TYPES else TerminalType.WEB,
            default_os_type=os_type if os_type in OS_TYPES else "",
        )

    @property
    def base_url(self) -> str:
        """The account's API address, or ``""`` until ENVIRONMENT and SUBDOMAIN_PREFIX are set."""
        template = BASE_URLS.get(self.environment)
        return (
            template.format(prefix=self.subdomain_prefix)
            if template and self.subdomain_prefix
            else ""
        )


def option_problems(options: Mapping[str, Any]) -> list[str]:
    """What is wrong with the options beyond a missing required one, as check sentences."""
    environment = options.get("ENVIRONMENT")
    env = environment.strip().lower() if isinstance(environment, str) else ""
    problems = []
    if environment and env not in BASE_URLS:
        problems.append(
            f"ENVIRONMENT must be 'sandbox' or 'production', not {environment!r} "
            "(it is never derived from DEBUG)"
        )
    problems += _secret_key_problems(options.get("SECRET_KEY"), env)

    channel = options.get("PROCESSING_CHANNEL_ID")
    if channel and not (isinstance(channel, str) and _CHANNEL_RE.match(channel.strip())):
        problems.append(
            f"PROCESSING_CHANNEL_ID must look like 'pc_' followed by 26 letters or digits, "
            f"not {channel!r}"
        )
    problems += _prefix_problems(options.get("SUBDOMAIN_PREFIX"))
    problems += _webhook_problems(options)
    problems += _terminal_problems(options)
    return problems + timeout_problems(options)


def _secret_key_problems(key: object, env: str) -> list[str]:
    if key and not isinstance(key, str):
        return ["SECRET_KEY must be a string"]
    stripped = key.strip() if isinstance(key, str) else ""
    if stripped.lower().startswith("bearer "):
        return ["SECRET_KEY must be the key alone, without the 'Bearer ' prefix"]
    if stripped.startswith("pk_"):
        return ["SECRET_KEY looks like a public key (pk_...); use the secret key (sk_...)"]
    if env == "production" and stripped.startswith("sk_sbox_"):
        return ["SECRET_KEY is a sandbox key (sk_sbox_...) but ENVIRONMENT is 'production'"]
    return []


def _prefix_problems(prefix: object) -> list[str]:
    if not prefix:
        return []
    text_value = prefix.strip().lower() if isinstance(prefix, str) else ""
    if not text_value or "." in text_value or "/" in text_value or ":" in text_value:
        return [
            "SUBDOMAIN_PREFIX must be only the account's prefix (e.g. 'a1b2c3d4' from "
            "https://a1b2c3d4.api.checkout.com), not a host name or URL"
        ]
    if text_value.startswith("cli_"):
        return ["SUBDOMAIN_PREFIX is the first 8 characters of the client id without 'cli_'"]
    if not _PREFIX_RE.match(text_value):
        return [f"SUBDOMAIN_PREFIX may contain only letters, digits and hyphens, not {prefix!r}"]
    return []


def _webhook_problems(options: Mapping[str, Any]) -> list[str]:
    problems = []
    keys = options.get("WEBHOOK_SIGNATURE_KEYS")
    if keys is not None:
        if isinstance(keys, str) or not isinstance(keys, Sequence):
            problems.append(
                "WEBHOOK_SIGNATURE_KEYS must be a list of signature keys, e.g. ['key-1']"
            )
        elif not all(isinstance(k, str) and k for k in keys):
            problems.append("every WEBHOOK_SIGNATURE_KEYS entry must be a non-empty string")
    authorization = options.get("WEBHOOK_AUTHORIZATION")
    if authorization is not None and not isinstance(authorization, str):
        problems.append("WEBHOOK_AUTHORIZATION must be a string (the exact header value)")
    return problems


def _terminal_problems(options: Mapping[str, Any]) -> list[str]:
    problems = []
    terminal = options.get("TERMINAL_TYPE") or TerminalType.WEB
    terminal_text = terminal.strip().lower() if isinstance(terminal, str) else ""
    if terminal_text not in TERMINAL_TYPES:
        problems.append(
            f"TERMINAL_TYPE must be 'web' (PC browser), 'wap' (mobile browser) or 'app', "
            f"not {terminal!r}"
        )
    os_type = options.get("OS_TYPE")
    if os_type:
        if not (isinstance(os_type, str) and os_type.strip().lower() in OS_TYPES):
            problems.append(f"OS_TYPE must be 'ios' or 'android', not {os_type!r}")
    elif terminal_text in (TerminalType.WAP, TerminalType.APP):
        problems.append(
            f"OS_TYPE ('ios' or 'android') is required when TERMINAL_TYPE is {terminal_text!r}"
        )
    return problems
