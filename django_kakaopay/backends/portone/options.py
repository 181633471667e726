"""The PortOne backend's options, how they are checked and how they are read.

Options (``KAKAOPAY["BACKENDS"][alias]["OPTIONS"]``):

``API_SECRET``
    The V2 API secret from PortOne's console, sent as
    ``Authorization: PortOne <secret>``. Never rendered, logged or stored.
``STORE_ID``
    The store id (``store-...``): sent to the browser SDK and checked in
    every payment PortOne answers with.
``CHANNEL_KEY``
    The channel key of the store's KakaoPay channel (``channel-key-...``),
    for one-time payments.
``BILLING_CHANNEL_KEY``
    The channel key of a KakaoPay channel that issues billing keys; without
    it the backend offers no agreements.
``ENVIRONMENT``
    ``"test"`` or ``"live"``: which kind of channel this site takes payments
    on. PortOne reports a test channel's payments ``PAID`` like real ones; a
    payment whose ``channel.type`` is the other kind is never applied. Unset:
    not checked (warned).
``WEBHOOK_SECRETS``
    One or two webhook secrets (``whsec_...``, base64): two while a secret
    is being rotated.
``WEBHOOK_TOLERANCE_SECONDS``
    How far ``webhook-timestamp`` may be from now, either way (default 300).
``SDK_URL``
    Where the checkout page loads PortOne's browser SDK from.
``NOTIFICATION_IP_ALLOWLIST`` / ``TRUSTED_PROXIES``
    The shared notification IP allow-list (PortOne documents 52.78.5.241).
``CONNECT_TIMEOUT`` / ``READ_TIMEOUT``
    Seconds (defaults 5 and 30).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from ..http import TIMEOUT_OPTIONS, timeout_problems
from ..ip_allowlist import IP_ALLOWLIST_OPTIONS, allowlist_problems
from ..readers import positive_integer, strings, text
from .signatures import DEFAULT_TOLERANCE_SECONDS, secret_problem

BASE_URL = "https://api.portone.io"
DEFAULT_SDK_URL = "https://cdn.portone.io/v2/browser-sdk.js"
MAX_WEBHOOK_SECRETS = 2
ENVIRONMENTS = ("test", "live")

OPTION_NAMES = (
    "API_SECRET",
    "STORE_ID",
    "CHANNEL_KEY",
    "BILLING_CHANNEL_KEY",
    "ENVIRONMENT",
    "WEBHOOK_SECRETS",
    "WEBHOOK_TOLERANCE_SECONDS",
    "SDK_URL",
    *IP_ALLOWLIST_OPTIONS,
    *TIMEOUT_OPTIONS,
    "DASHBOARD_URL",
)
REQUIRED_OPTIONS = ("API_SECRET", "STORE_ID", "CHANNEL_KEY")


@dataclass(frozen=True)
class PortOneSettings:
    """The options, trimmed and defaulted; used once :func:`option_problems` finds none wrong."""

    api_secret: str
    store_id: str
    channel_key: str
    billing_channel_key: str
    environment: str
    webhook_secrets: tuple[str, ...]
    tolerance: int
    sdk_url: str

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> PortOneSettings:
        tolerance = options.get("WEBHOOK_TOLERANCE_SECONDS", DEFAULT_TOLERANCE_SECONDS)
        return cls(
            api_secret=text(options.get("API_SECRET")).strip(),
            store_id=text(options.get("STORE_ID")).strip(),
            channel_key=text(options.get("CHANNEL_KEY")).strip(),
            billing_channel_key=text(options.get("BILLING_CHANNEL_KEY")).strip(),
            environment=text(options.get("ENVIRONMENT")).strip().lower(),
            webhook_secrets=tuple(s.strip() for s in strings(options.get("WEBHOOK_SECRETS")))[
                :MAX_WEBHOOK_SECRETS
            ],
            tolerance=int(tolerance) if positive_integer(tolerance) else DEFAULT_TOLERANCE_SECONDS,
            sdk_url=text(options.get("SDK_URL")).strip() or DEFAULT_SDK_URL,
        )

    @property
    def authorization(self) -> str:
        return f"PortOne {self.api_secret}"


def option_problems(options: Mapping[str, Any]) -> list[str]:
    """What is wrong with the options beyond a missing required one, as check sentences."""
    problems: list[str] = []
    for name in ("API_SECRET", "STORE_ID", "CHANNEL_KEY", "BILLING_CHANNEL_KEY"):
        value = options.get(name)
        if value is not None and not isinstance(value, str):
            problems.append(f"{name} must be a string")
    secret = text(options.get("API_SECRET")).strip()
    if secret.lower().startswith("portone "):
        problems.append("API_SECRET must be the secret alone, without the 'PortOne ' scheme")
    store = text(options.get("STORE_ID")).strip()
    if store and not store.startswith("store-"):
        problems.append(f"STORE_ID must be PortOne's store id (store-...), not {store!r}")
    for name in ("CHANNEL_KEY", "BILLING_CHANNEL_KEY"):
        key = text(options.get(name)).strip()
        if key and not key.startswith("channel-key-"):
            problems.append(f"{name} must be a channel key (channel-key-...), not {key!r}")
        if key and key == secret:
            problems.append(f"{name} is the API secret: the channel key is sent to browsers")
    environment = options.get("ENVIRONMENT")
    if environment is not None and not (
        isinstance(environment, str) and environment.strip().lower() in ENVIRONMENTS
    ):
        problems.append(
            f"ENVIRONMENT must be 'test' or 'live', not {environment!r} "
            "(it is never derived from DEBUG)"
        )
    problems += _secret_problems(options.get("WEBHOOK_SECRETS"))
    if "WEBHOOK_TOLERANCE_SECONDS" in options and not positive_integer(
        options["WEBHOOK_TOLERANCE_SECONDS"]
    ):
        problems.append("WEBHOOK_TOLERANCE_SECONDS must be a positive whole number of seconds")
    sdk = options.get("SDK_URL")
    if sdk is not None and not (isinstance(sdk, str) and _is_script_url(sdk)):
        problems.append(f"SDK_URL must be an https URL or a path on this site, not {sdk!r}")
    return problems + allowlist_problems(options) + timeout_problems(options)


def _secret_problems(value: object) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list | tuple):
        return ["WEBHOOK_SECRETS must be a list of one or two secrets"]
    if len(value) > MAX_WEBHOOK_SECRETS:
        return ["WEBHOOK_SECRETS holds at most two secrets (the old and the new one)"]
    problems = []
    for index, secret in enumerate(value):
        problem = secret_problem(secret, name=f"WEBHOOK_SECRETS[{index}]")
        if problem:
            problems.append(problem)
    return problems


def _is_script_url(value: str) -> bool:
    """An https URL, or a path on this site (a self-hosted copy, a test double)."""
    value = value.strip()
    if value.startswith("/") and not value.startswith("//"):
        return True
    parts = urlsplit(value)
    return parts.scheme == "https" and bool(parts.netloc)


def option_warnings(options: Mapping[str, Any]) -> list[str]:
    """Advice that is not an error, as check sentences."""
    warnings = []
    sdk = text(options.get("SDK_URL")).strip()
    if sdk and sdk != DEFAULT_SDK_URL and not sdk.startswith("/"):
        warnings.append(
            f"SDK_URL loads PortOne's browser SDK from {sdk!r}, not from PortOne's own "
            f"{DEFAULT_SDK_URL!r}; make sure you trust that host"
        )
    if options.get("ENVIRONMENT") is None:
        warnings.append(
            "ENVIRONMENT is not set, so a payment on a test channel would count as paid "
            "like a real one; set it to 'test' or 'live'"
        )
    return warnings
