"""The KakaoPay backend's options, how they are checked and how they are read.

Options (``KAKAOPAY["BACKENDS"][alias]["OPTIONS"]``):

``SECRET_KEY``
    The secret key of the application in the KakaoPay developer center, sent
    as ``Authorization: SECRET_KEY <key>``. Test keys start with ``DEV``.
``CID``
    The merchant code (가맹점 코드) for one-time payments; ``TC0ONETIME``
    in the test environment.
``SUBSCRIPTION_CID``
    The merchant code for subscriptions (정기 결제); ``TCSUBSCRIP`` in the
    test environment. Without it the backend offers no agreements.
``ENVIRONMENT``
    ``"test"`` or ``"live"``. Required and never derived from ``DEBUG``.
``AUTHORIZATION_SCHEME``
    ``"SECRET_KEY"`` (default, as KakaoPay's own toolkit sends) or
    ``"DEV_SECRET_KEY"`` (seen in community code; unverified).
``EXPIRY_MINUTES``
    How long a payment may stay unapproved before reconciliation asks
    KakaoPay and, if it is still not approved, expires it (default 15;
    KakaoPay documents no such limit: unverified).
``ALLOW_ZERO_WON_REGISTRATION``
    ``True`` lets an agreement be registered with a 0-won first payment.
    KakaoPay's schema asks for a positive ``total_amount``: unverified, off
    by default.
``APP_REDIRECT``
    Where a customer in an app (terminal type ``app``) is sent:
    ``"APP_URL"`` (default, ``next_redirect_app_url``, an https page that
    opens KakaoTalk) or ``"APP_SCHEME"`` (``android_app_scheme`` or
    ``ios_app_scheme`` for the payment's OS, which opens KakaoTalk directly;
    the app URL when KakaoPay sent no scheme or the OS is not known).
``CONNECT_TIMEOUT`` / ``READ_TIMEOUT``
    Seconds (defaults 5 and 30).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from ..http import TIMEOUT_OPTIONS, timeout_problems
from ..readers import flag, positive_number, text

BASE_URL = "https://open-api.kakaopay.com"
ENVIRONMENTS = ("test", "live")
SCHEMES = ("SECRET_KEY", "DEV_SECRET_KEY")
TEST_CIDS = {"CID": "TC0ONETIME", "SUBSCRIPTION_CID": "TCSUBSCRIP"}
# KakaoPay's own test CIDs, including the sequential-payment one (secondary).
ALL_TEST_CIDS = frozenset({"TC0ONETIME", "TCSUBSCRIP", "TCSEQUENCE"})
DEFAULT_EXPIRY_MINUTES = 15
APP_REDIRECTS = ("APP_URL", "APP_SCHEME")

OPTION_NAMES = (
    "SECRET_KEY",
    "CID",
    "SUBSCRIPTION_CID",
    "ENVIRONMENT",
    "AUTHORIZATION_SCHEME",
    "EXPIRY_MINUTES",
    "ALLOW_ZERO_WON_REGISTRATION",
    "APP_REDIRECT",
    *TIMEOUT_OPTIONS,
    "DASHBOARD_URL",
)
REQUIRED_OPTIONS = ("SECRET_KEY", "CID", "ENVIRONMENT")


@dataclass(frozen=True)
class KakaoPaySettings:
    """The options, trimmed and defaulted; used once :func:`option_problems` finds none wrong."""

    environment: str
    secret_key: str
    cid: str
    subscription_cid: str
    scheme: str
    expiry: timedelta
    allow_zero_won: bool
    prefer_app_scheme: bool

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> KakaoPaySettings:
        scheme = text(options.get("AUTHORIZATION_SCHEME")).strip().upper() or "SECRET_KEY"
        minutes = options.get("EXPIRY_MINUTES", DEFAULT_EXPIRY_MINUTES)
        return cls(
            environment=text(options.get("ENVIRONMENT")).strip().lower(),
            secret_key=text(options.get("SECRET_KEY")).strip(),
            cid=text(options.get("CID")).strip(),
            subscription_cid=text(options.get("SUBSCRIPTION_CID")).strip(),
            scheme=scheme if scheme in SCHEMES else "SECRET_KEY",
            expiry=timedelta(
                minutes=float(minutes) if positive_number(minutes) else DEFAULT_EXPIRY_MINUTES
            ),
            allow_zero_won=flag(options.get("ALLOW_ZERO_WON_REGISTRATION")),
            prefer_app_scheme=text(options.get("APP_REDIRECT")).strip().upper() == "APP_SCHEME",
        )

    @property
    def authorization(self) -> str:
        return f"{self.scheme} {self.secret_key}"


def option_problems(options: Mapping[str, Any]) -> list[str]:
    """What is wrong with the options beyond a missing required one, as check sentences."""
    problems: list[str] = []
    environment = options.get("ENVIRONMENT")
    env = environment.strip().lower() if isinstance(environment, str) else ""
    if environment and env not in ENVIRONMENTS:
        problems.append(
            f"ENVIRONMENT must be 'test' or 'live', not {environment!r} "
            "(it is never derived from DEBUG)"
        )
    key = options.get("SECRET_KEY")
    if key and not isinstance(key, str):
        problems.append("SECRET_KEY must be a string")
    elif isinstance(key, str) and " " in key.strip():
        problems.append(
            "SECRET_KEY must be the key alone, without a scheme such as 'SECRET_KEY ' "
            "(set AUTHORIZATION_SCHEME for the scheme)"
        )
    for name, test_cid in TEST_CIDS.items():
        value = options.get(name)
        if value in (None, ""):
            continue
        if not isinstance(value, str) or len(value.strip()) != 10:
            problems.append(f"{name} must be KakaoPay's 10-character merchant code, not {value!r}")
            continue
        cid = value.strip()
        if env == "live" and cid in ALL_TEST_CIDS:
            problems.append(f"{name} is the test merchant code {cid!r} but ENVIRONMENT is 'live'")
        elif env == "test" and cid not in ALL_TEST_CIDS:
            problems.append(
                f"{name} is {cid!r}, not a test merchant code, but ENVIRONMENT is 'test' "
                f"(use {test_cid!r})"
            )
    scheme = options.get("AUTHORIZATION_SCHEME")
    if scheme is not None and not (isinstance(scheme, str) and scheme.strip().upper() in SCHEMES):
        problems.append(
            f"AUTHORIZATION_SCHEME must be 'SECRET_KEY' or 'DEV_SECRET_KEY', not {scheme!r}"
        )
    if "EXPIRY_MINUTES" in options and not positive_number(options["EXPIRY_MINUTES"]):
        problems.append("EXPIRY_MINUTES must be a positive number of minutes")
    zero = options.get("ALLOW_ZERO_WON_REGISTRATION")
    if zero is not None and not isinstance(zero, bool):
        problems.append("ALLOW_ZERO_WON_REGISTRATION must be True or False")
    app_redirect = options.get("APP_REDIRECT")
    if app_redirect is not None and not (
        isinstance(app_redirect, str) and app_redirect.strip().upper() in APP_REDIRECTS
    ):
        problems.append(f"APP_REDIRECT must be 'APP_URL' or 'APP_SCHEME', not {app_redirect!r}")
    return problems + timeout_problems(options)


def option_warnings(options: Mapping[str, Any]) -> list[str]:
    """Advice that is not an error, as check sentences."""
    warnings: list[str] = []
    environment = text(options.get("ENVIRONMENT")).strip().lower()
    key = text(options.get("SECRET_KEY")).strip()
    if environment == "live" and key.upper().startswith("DEV"):
        warnings.append(
            "SECRET_KEY starts with 'DEV', like KakaoPay's test keys, but ENVIRONMENT is "
            "'live'; use the production secret key"
        )
    scheme = text(options.get("AUTHORIZATION_SCHEME")).strip().upper()
    if scheme == "DEV_SECRET_KEY":
        warnings.append(
            "AUTHORIZATION_SCHEME 'DEV_SECRET_KEY' is seen in community code but not in "
            "KakaoPay's own; it is unverified"
        )
    if flag(options.get("ALLOW_ZERO_WON_REGISTRATION")):
        warnings.append(
            "ALLOW_ZERO_WON_REGISTRATION is on: a 0-won first subscription payment is "
            "unverified for KakaoPay's Online Payment API"
        )
    return warnings
