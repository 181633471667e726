"""The Smart2Pay backend's options, how they are checked and how they are read.

Options (``KAKAOPAY["BACKENDS"][alias]["OPTIONS"]``):

``SITE_ID``
    The site's id from the Smart2Pay merchant dashboard (a number).
``API_KEY``
    The site's API key. ``SITE_ID:API_KEY`` is the HTTP Basic user and
    password of every call, and notifications must carry the same header.
``ENVIRONMENT``
    ``"test"`` (https://paytest.smart2pay.com) or ``"live"``
    (https://globalpay.smart2pay.com). Required, never derived from ``DEBUG``.
``METHOD_ID``
    Smart2Pay's payment method id; default 1135 (KakaoPay).
``NOTIFICATION_IP_ALLOWLIST``
    Optional list of IP addresses or networks (CIDR) notifications may come
    from; any other source is refused with 403.
``TRUSTED_PROXIES``
    Optional list of IP addresses or networks of your own reverse proxies.
    Only when the direct peer is one of them is ``X-Forwarded-For`` read, and
    then the right-most address that is not a trusted proxy is the client.
    (Both come from :mod:`django_kakaopay.backends.ip_allowlist`.)
``CONNECT_TIMEOUT`` / ``READ_TIMEOUT``
    Seconds (defaults 5 and 30).
``AMOUNT_EXPONENTS``
    Per-currency number of implied decimals of Smart2Pay's ``Amount``, e.g.
    ``{"KRW": 0}``. A currency not listed uses its ISO 4217 exponent, so KRW
    is sent as whole won. Smart2Pay's documentation describes amounts with
    two implied decimals in general and has no KRW example, so a system
    check warning (``kakaopay.W001``) asks to confirm the KRW scale on the
    test environment until ``"KRW"`` is listed here.
``PREAPPROVAL_FREQUENCY``
    Optional ``PreapprovedFrequency`` sent with new preapprovals
    (``onetime``, ``daily``, ``weekly`` or ``monthly``). Unverified for
    KakaoPay; leave it unset unless Smart2Pay asks for it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..http import TIMEOUT_OPTIONS, timeout_problems
from ..ip_allowlist import IP_ALLOWLIST_OPTIONS, allowlist_problems
from ..readers import is_digits, positive_integer

BASE_URLS: dict[str, str] = {
    "test": "https://paytest.smart2pay.com",
    "live": "https://globalpay.smart2pay.com",
}
KAKAOPAY_METHOD_ID = 1135

OPTION_NAMES = (
    "SITE_ID",
    "API_KEY",
    "ENVIRONMENT",
    "METHOD_ID",
    *IP_ALLOWLIST_OPTIONS,
    *TIMEOUT_OPTIONS,
    "AMOUNT_EXPONENTS",
    "PREAPPROVAL_FREQUENCY",
    "DASHBOARD_URL",
)
REQUIRED_OPTIONS = ("SITE_ID", "API_KEY", "ENVIRONMENT")
PREAPPROVAL_FREQUENCIES = ("onetime", "daily", "weekly", "monthly")

_CURRENCY_RE = re.compile(r"^[A-Za-z]{3}$")

KRW_SCALE_WARNING = (
    "KRW amounts are sent to Smart2Pay as whole won (ISO 4217 has no decimals for "
    "KRW), but Smart2Pay's documentation describes amounts with two implied decimals "
    "and has no KRW example. Confirm the scale on the test environment "
    "(ENVIRONMENT 'test'): start a 1000 KRW payment and check that KakaoPay shows "
    "1,000 won, not 10 won. Then set AMOUNT_EXPONENTS to {'KRW': 0} if it does, or to "
    "{'KRW': 2} if Smart2Pay expects hundredths of a won; either setting silences "
    "this warning"
)


def _site_id_text(value: object) -> str:
    if isinstance(value, bool):
        return ""
    if isinstance(value, int):
        return str(value)
    return value.strip() if isinstance(value, str) else ""


def _exponent(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 4


def _frequency(value: object) -> str:
    text = value.strip().lower() if isinstance(value, str) else ""
    return text if text in PREAPPROVAL_FREQUENCIES else ""


@dataclass(frozen=True)
class Smart2PaySettings:
    """What the backend reads from its options; :func:`option_problems` says what is wrong."""

    site_id: str
    api_key: str
    environment: str
    method_id: int
    preapproval_frequency: str
    amount_exponents: Mapping[str, int] = field(default_factory=dict)

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> Smart2PaySettings:
        api_key = options.get("API_KEY")
        environment = options.get("ENVIRONMENT")
        method = options.get("METHOD_ID", KAKAOPAY_METHOD_ID)
        exponents = options.get("AMOUNT_EXPONENTS")
        return cls(
            site_id=_site_id_text(options.get("SITE_ID")),
            api_key=api_key.strip() if isinstance(api_key, str) else "",
            environment=environment.strip().lower() if isinstance(environment, str) else "",
            method_id=method if positive_integer(method) else KAKAOPAY_METHOD_ID,
            preapproval_frequency=_frequency(options.get("PREAPPROVAL_FREQUENCY")),
            amount_exponents={
                str(code).strip().upper(): value
                for code, value in (exponents.items() if isinstance(exponents, Mapping) else ())
                if _exponent(value)
            },
        )

    @property
    def base_url(self) -> str:
        return BASE_URLS.get(self.environment, "")


def amount_warnings(options: Mapping[str, Any]) -> list[str]:
    """Advice for the system checks: the KRW scale is unconfirmed until AMOUNT_EXPONENTS says."""
    exponents = options.get("AMOUNT_EXPONENTS")
    listed = {
        str(code).strip().upper() for code in (exponents if isinstance(exponents, Mapping) else {})
    }
    return [] if "KRW" in listed else [KRW_SCALE_WARNING]


def option_problems(options: Mapping[str, Any]) -> list[str]:
    """What is wrong with the options beyond a missing required one, as check sentences."""
    problems = []
    site_id = options.get("SITE_ID")
    if site_id not in (None, "") and not is_digits(_site_id_text(site_id)):
        problems.append(
            f"SITE_ID must be the numeric site id from the Smart2Pay merchant dashboard, "
            f"not {site_id!r}"
        )

    api_key = options.get("API_KEY")
    if api_key and not isinstance(api_key, str):
        problems.append("API_KEY must be a string")
    elif isinstance(api_key, str) and api_key.strip().lower().startswith("basic "):
        problems.append(
            "API_KEY must be the site's API key alone, not an 'Authorization: Basic' value"
        )

    environment = options.get("ENVIRONMENT")
    env = environment.strip().lower() if isinstance(environment, str) else ""
    if environment and env not in BASE_URLS:
        problems.append(
            f"ENVIRONMENT must be 'test' (paytest.smart2pay.com) or 'live' "
            f"(globalpay.smart2pay.com), not {environment!r} (it is never derived from DEBUG)"
        )

    method = options.get("METHOD_ID")
    if method is not None and not positive_integer(method):
        problems.append(
            f"METHOD_ID must be a positive whole number (1135 is KakaoPay), not {method!r}"
        )

    problems += allowlist_problems(options)
    problems += timeout_problems(options)
    problems += _exponent_problems(options.get("AMOUNT_EXPONENTS"))

    frequency = options.get("PREAPPROVAL_FREQUENCY")
    if frequency not in (None, "") and not _frequency(frequency):
        problems.append(
            f"PREAPPROVAL_FREQUENCY must be one of {', '.join(PREAPPROVAL_FREQUENCIES)}, "
            f"not {frequency!r}"
        )
    return problems


def _exponent_problems(exponents: object) -> list[str]:
    if exponents is None:
        return []
    if not isinstance(exponents, Mapping):
        return [
            "AMOUNT_EXPONENTS must be a dict of currency codes to implied decimals, e.g. {'KRW': 0}"
        ]
    problems = []
    for code, value in exponents.items():
        if not (isinstance(code, str) and _CURRENCY_RE.match(code.strip())):
            problems.append(
                f"AMOUNT_EXPONENTS has the key {code!r}, which is not a 3-letter currency code"
            )
        if not _exponent(value):
            problems.append(
                f"AMOUNT_EXPONENTS[{code!r}] must be a whole number from 0 to 4, not {value!r}"
            )
    return problems
