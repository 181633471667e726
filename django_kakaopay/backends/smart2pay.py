"""Smart2Pay (Nuvei APM, "GlobalPay"): KakaoPay payments and auto-debit agreements.

KakaoPay is Smart2Pay's payment method 1135. The backend speaks Smart2Pay's
REST API (``/v1/...``) with HTTP Basic authentication on every call:

* **preapprovals** (auto-debit agreements): ``POST /v1/preapprovals``, the
  customer confirms on KakaoPay's page (``RedirectURL``), Smart2Pay notifies
  the new status; ``GET /v1/preapprovals/{id}`` pulls it and
  ``DELETE /v1/preapprovals/{id}`` closes it;
* **recurring charges** on an open preapproval: ``POST /v1/payments/recurrent``;
* **one-time payments**: ``POST /v1/payments`` and a redirect to
  ``RedirectURL``; ``GET /v1/payments/{id}`` pulls the state;
* **refunds**: ``POST /v1/payments/{id}/refunds``, after checking
  ``GET /v1/payments/{id}/refunds/types`` before a partial refund;
* **notifications** to ``kakaopay/webhooks/<alias>/``, authenticated by the
  same ``Authorization: Basic base64(SiteID:ApiKey)`` header and answered
  with ``204 No Content``.

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

Decisions worth knowing:

* ``MerchantTransactionID`` (payments, charges, refunds) and
  ``MerchantPreapprovalID`` are **our reference** (``Payment.reference``,
  ``Refund.reference``, ``Preapproval.reference``): unique in our database,
  stored before the call and identical on every retry, so Smart2Pay's
  "duplicated" answers (reason codes 20 and 109) identify the object a
  timed-out call already created. Smart2Pay accepts only
  ``[0-9A-Za-z_-]{1,50}``; every reference this app generates fits. A
  merchant reference that does not fit is replaced by the object's
  idempotency key (32 hexadecimal characters, also unique and stable).
* Smart2Pay notifications carry no event id. The inbox key is
  ``smart2pay:<root key>:<ID>:<Status.ID>:<NotificationDateTime>``, with a
  SHA-256 of the body in place of the time when the notification has none
  (preapproval notifications), and a plain body hash when the body names
  no object.
* ``NotificationDateTime`` (``yyyyMMddHHmmss``) is read as UTC: Smart2Pay
  does not document its time zone. It only orders notifications among
  themselves.
* What the reference marks as inferred (the preapproval list filter, the
  refund statuses besides 1, 2 and 4, the shape of list answers, ``Amount``
  as a number or a string) is parsed defensively; every payload is stored.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import ipaddress
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, ClassVar, NoReturn
from urllib.parse import quote, urlencode

from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ..exceptions import (
    MalformedWebhook,
    OutcomeUnknown,
    ProviderConfigurationError,
    ProviderError,
    ProviderRejected,
    WebhookAuthenticationError,
    WebhookForbidden,
)
from ..money import CURRENCY_EXPONENTS
from ..status import PaymentStatus, PreapprovalStatus, RefundStatus
from .base import (
    BaseBackend,
    Capability,
    ChargeRequest,
    Customer,
    LineItem,
    ParsedWebhook,
    PaymentRef,
    PaymentRequest,
    PaymentSnapshot,
    PreapprovalRedirect,
    PreapprovalRef,
    PreapprovalRequest,
    PreapprovalSnapshot,
    RedirectInstruction,
    RefundRequest,
    RefundSnapshot,
    Snapshot,
    WebhookAck,
    WebhookOutcome,
    content_hash,
)
from .http import DEFAULT_CONNECT_TIMEOUT, DEFAULT_READ_TIMEOUT, HttpClient, HttpResponse
from .payloads import as_utc, read_json, scrub

logger = logging.getLogger("django_kakaopay.smart2pay")

BASE_URLS: dict[str, str] = {
    "test": "https://paytest.smart2pay.com",
    "live": "https://globalpay.smart2pay.com",
}
KAKAOPAY_METHOD_ID = 1135
# KakaoPay is a Korean wallet: the billing country when the customer has none.
DEFAULT_COUNTRY = "KR"
JSON_CONTENT_TYPE = "application/json; charset=utf-8"
AUTHORIZATION_HEADER = "Authorization"
FORWARDED_FOR_HEADER = "X-Forwarded-For"

OPTION_NAMES = (
    "SITE_ID",
    "API_KEY",
    "ENVIRONMENT",
    "METHOD_ID",
    "NOTIFICATION_IP_ALLOWLIST",
    "TRUSTED_PROXIES",
    "CONNECT_TIMEOUT",
    "READ_TIMEOUT",
    "AMOUNT_EXPONENTS",
    "PREAPPROVAL_FREQUENCY",
    "DASHBOARD_URL",
)
PREAPPROVAL_FREQUENCIES = ("onetime", "daily", "weekly", "monthly")

# Root keys of the resources we act on; others (Dispute, Payout, ...) are ignored.
PAYMENT, PREAPPROVAL, REFUND = "Payment", "Preapproval", "Refund"
ROOT_KEYS = (PAYMENT, PREAPPROVAL, REFUND)

# Smart2Pay payment status IDs. Anything not listed maps to ``None``: stored
# with the raw payload, never acted on.
PAYMENT_STATUS_MAP: dict[int, str] = {
    1: PaymentStatus.PENDING,  # Open
    2: PaymentStatus.PAID,  # Success
    3: PaymentStatus.CANCELED,  # Cancelled (by the customer on the form)
    4: PaymentStatus.FAILED,  # Failed
    5: PaymentStatus.EXPIRED,  # Expired: the customer did not finish in time
    6: PaymentStatus.PENDING,  # PendingOnCustomer
    7: PaymentStatus.PENDING,  # PendingOnProvider
    8: PaymentStatus.PENDING,  # Submitted
    18: PaymentStatus.PENDING,  # Processing
    # A refund arrives on the payment afterwards. The payment object carries
    # no refunded total, so a partial refund only says "the money was taken";
    # the Refund notifications settle the refund ledger.
    21: PaymentStatus.PARTIALLY_REFUNDED,  # PartiallyRefunded
    22: PaymentStatus.REFUNDED,  # Refunded
}

PREAPPROVAL_STATUS_MAP: dict[int, str] = {
    1: PreapprovalStatus.PENDING,  # Pending: created, not yet confirmed
    2: PreapprovalStatus.ACTIVE,  # Open: chargeable
    3: PreapprovalStatus.CANCELED,  # Closed
    4: PreapprovalStatus.CANCELED,  # ClosedByCustomer (also after a merchant's DELETE)
}

# Refunds share the payment status IDs; 1, 2 and 4 are documented for
# refunds, the others are inferred from Smart2Pay's sample handler.
REFUND_STATUS_MAP: dict[int, str] = {
    1: RefundStatus.PENDING,
    2: RefundStatus.SUCCEEDED,
    3: RefundStatus.FAILED,
    4: RefundStatus.FAILED,
    5: RefundStatus.FAILED,
    6: RefundStatus.PENDING,
    7: RefundStatus.PENDING,
    8: RefundStatus.PENDING,
    18: RefundStatus.PENDING,
}

# Reason codes meaning "this was already created": reconcile, do not fail.
DUPLICATE_TRANSACTION = "20"  # MerchantTransactionID is duplicated
DUPLICATE_PREAPPROVAL = "109"  # Merchant preapproval ID duplicated
# Reason codes that point at our configuration rather than at the request.
CONFIGURATION_CODES = frozenset({"3", "4", "7", "127"})

# Keys never stored in a provider payload: the return URL carries the
# customer's return token, a capability.
SCRUBBED_KEYS = frozenset(
    {"ReturnURL", "ReturnURLSuccess", "ReturnURLFailure", "ReturnURLCancel", "ReturnURLProcessing"}
)

MERCHANT_ID_RE = re.compile(r"^[0-9A-Za-z_-]{1,50}$")
_ARTICLE_ID_RE = re.compile(r"^\d{1,19}$")
_CURRENCY_RE = re.compile(r"^[A-Za-z]{3}$")
_DIGITS_RE = re.compile(r"^[0-9]+$")
# More digits than any amount or status id (and than int() accepts past 4,300).
_MAX_DIGITS = 18
# Scripts whose names are written family name first.
_FAMILY_FIRST_RE = re.compile(
    r"[\u1100-\u11ff\u3040-\u30ff\u3130-\u318f\u4e00-\u9fff\uac00-\ud7a3]"
)

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


# -- small helpers -------------------------------------------------------------


def _header(headers: Mapping[str, str], name: str) -> str:
    wanted = name.lower()
    for key, value in headers.items():
        if str(key).lower() == wanted:
            return str(value)
    return ""


def _get(obj: Mapping[str, Any], key: str) -> Any:
    """``obj[key]``, also when the provider changed the key's case."""
    if key in obj:
        return obj[key]
    wanted = key.lower()
    for name, value in obj.items():
        if str(name).lower() == wanted:
            return value
    return None


def _str(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return ""


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _int(value: object) -> int | None:
    """An integer sent as a number or as a string of digits ("100")."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    text = value.strip() if isinstance(value, str) else ""
    if text and len(text) <= _MAX_DIGITS and _DIGITS_RE.match(text):
        return int(text)
    return None


def _status_id(resource: Mapping[str, Any]) -> int | None:
    return _int(_get(_mapping(_get(resource, "Status")), "ID"))


def _status_info(resource: Mapping[str, Any]) -> str:
    return _str(_get(_mapping(_get(resource, "Status")), "Info"))


def _reasons(resource: Mapping[str, Any]) -> list[tuple[str, str]]:
    """``Status.Reasons`` as (code, info) pairs; codes may be numbers or strings."""
    raw = _get(_mapping(_get(resource, "Status")), "Reasons")
    pairs = []
    for reason in raw if isinstance(raw, list) else []:
        if isinstance(reason, Mapping):
            code = _get(reason, "Code")
            code_text = _str(code).strip() if code is not None else ""
            pairs.append((code_text, _str(_get(reason, "Info")).strip()))
    return pairs


def _flag(value: object) -> bool:
    if isinstance(value, bool):
        return value
    return isinstance(value, str) and value.strip().lower() == "true"


def parse_notification_time(value: object) -> datetime | None:
    """``yyyyMMddHHmmss`` (Smart2Pay's format), read as UTC; ISO 8601 is accepted too."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    try:
        parsed = datetime.strptime(text, "%Y%m%d%H%M%S")  # made aware below
    except ValueError:
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            return None
    return as_utc(parsed)


# Smart2Pay created (or, when reconciled, already had) the object but sent no
# page to send the customer to. Whole sentences, so each translates well.
MISSING_REDIRECT: dict[tuple[str, bool], Promise] = {
    (PAYMENT, False): gettext_lazy(
        "Smart2Pay created payment %(id)s but sent no RedirectURL; the payment will be reconciled."
    ),
    (PAYMENT, True): gettext_lazy(
        "Smart2Pay already had payment %(id)s but sent no RedirectURL for it; "
        "the payment will be reconciled."
    ),
    (PREAPPROVAL, False): gettext_lazy(
        "Smart2Pay created preapproval %(id)s but sent no RedirectURL; the "
        "preapproval will be reconciled."
    ),
    (PREAPPROVAL, True): gettext_lazy(
        "Smart2Pay already had preapproval %(id)s but sent no RedirectURL for "
        "it; the preapproval will be reconciled."
    ),
}


def _redirect_or_unknown(
    data: Any, *, still_open: bool, message: Promise, provider_id: str, return_url: str
) -> str:
    """Where to send the customer after a create call.

    Without a RedirectURL, an object still open cannot be paid, so the outcome
    is unknown and reconciliation takes over. A finished one goes straight to
    our return view, which shows the outcome.
    """
    url = _str(_get(data, "RedirectURL"))
    if url:
        return url
    if still_open:
        raise OutcomeUnknown(str(message) % {"id": provider_id})
    return return_url


def _scrub(value: Any) -> Any:
    return scrub(value, SCRUBBED_KEYS)


def basic_authorization(site_id: str, api_key: str) -> str:
    """The ``Authorization`` header value for ``site_id`` and ``api_key``."""
    token = base64.b64encode(f"{site_id}:{api_key}".encode()).decode("ascii")
    return f"Basic {token}"


def merchant_id(reference: str, idempotency_key: str) -> str:
    """The ``MerchantTransactionID`` / ``MerchantPreapprovalID`` for an object.

    Our reference when Smart2Pay accepts it (``[0-9A-Za-z_-]{1,50}``), else
    the object's idempotency key. Both are unique and the same on every retry.
    """
    for candidate in (reference, idempotency_key):
        if candidate and MERCHANT_ID_RE.match(candidate):
            return candidate
    raise ProviderRejected(
        _(
            "The reference %(reference)r cannot be sent to Smart2Pay: it accepts only up to "
            "50 letters, digits, '-' and '_'."
        )
        % {"reference": reference}
    )


def split_name(name: str) -> tuple[str, str]:
    """(FirstName, LastName) for Smart2Pay from one full name.

    "John Doe" gives ("John", "Doe"); a Korean, Chinese or Japanese name
    written with a space ("김 민수") puts the first word in LastName, as
    these names start with the family name. A name without a space cannot be
    split safely ("김민수": family names have one or two syllables), so it
    is sent whole as FirstName.
    """
    words = name.split()
    if not words:
        return "", ""
    if len(words) == 1:
        return words[0], ""
    if _FAMILY_FIRST_RE.search(name):
        return " ".join(words[1:]), words[0]
    return " ".join(words[:-1]), words[-1]


def _parse_ip(text: str) -> IPAddress | None:
    value = text.strip().strip('"')
    if not value:
        return None
    if value.startswith("["):  # "[2001:db8::1]:443"
        value = value[1:].split("]", 1)[0]
    elif value.count(":") == 1:  # "203.0.113.7:5678"
        value = value.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _networks(value: object) -> tuple[IPNetwork, ...]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        return ()
    networks = []
    for entry in value:
        try:
            networks.append(ipaddress.ip_network(str(entry).strip(), strict=False))
        except ValueError:
            continue
    return tuple(networks)


def _network_problems(name: str, value: object) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str) or not isinstance(value, Sequence):
        return [f"{name} must be a list of IP addresses or networks, e.g. ['203.0.113.0/24']"]
    problems = []
    for entry in value:
        try:
            ipaddress.ip_network(str(entry).strip(), strict=False)
        except ValueError:
            problems.append(f"{name} contains {entry!r}, which is not an IP address or network")
    return problems


def _in_any(address: IPAddress, networks: Iterable[IPNetwork]) -> bool:
    return any(address in network for network in networks)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value > 0


def _site_id_text(value: object) -> str:
    if isinstance(value, bool):
        return ""
    if isinstance(value, int):
        return str(value)
    return value.strip() if isinstance(value, str) else ""


class InexactAmount(ValueError):
    """A Smart2Pay amount that is not a whole number of the currency's minor unit."""


# -- the backend ---------------------------------------------------------------


class Smart2PayBackend(BaseBackend):
    """KakaoPay (method 1135) through Smart2Pay's REST API."""

    known_options: ClassVar[tuple[str, ...]] = OPTION_NAMES
    display_name: ClassVar[str] = "Smart2Pay"

    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {Capability.REFUNDS, Capability.PARTIAL_REFUNDS, Capability.PREAPPROVALS}
    )
    required_options: ClassVar[tuple[str, ...]] = ("SITE_ID", "API_KEY", "ENVIRONMENT")
    is_sandbox_backend: ClassVar[bool] = False

    def __init__(self, alias: str, options: Mapping[str, Any]) -> None:
        super().__init__(alias, options)
        opts = self.options
        self._problems = self._option_problems(opts)
        self.site_id = _site_id_text(opts.get("SITE_ID"))
        api_key = opts.get("API_KEY")
        self.api_key = api_key.strip() if isinstance(api_key, str) else ""
        environment = opts.get("ENVIRONMENT")
        self.environment = environment.strip().lower() if isinstance(environment, str) else ""
        method = opts.get("METHOD_ID", KAKAOPAY_METHOD_ID)
        self.method_id = (
            method
            if isinstance(method, int) and not isinstance(method, bool) and method > 0
            else KAKAOPAY_METHOD_ID
        )
        self.ip_allowlist = _networks(opts.get("NOTIFICATION_IP_ALLOWLIST"))
        self.trusted_proxies = _networks(opts.get("TRUSTED_PROXIES"))
        exponents = opts.get("AMOUNT_EXPONENTS")
        self.amount_exponents: dict[str, int] = {
            str(code).strip().upper(): value
            for code, value in (exponents.items() if isinstance(exponents, Mapping) else ())
            if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 4
        }
        frequency = opts.get("PREAPPROVAL_FREQUENCY")
        self.preapproval_frequency = (
            frequency.strip().lower()
            if isinstance(frequency, str) and frequency.strip().lower() in PREAPPROVAL_FREQUENCIES
            else ""
        )
        self.base_url = BASE_URLS.get(self.environment, "")
        connect = opts.get("CONNECT_TIMEOUT", DEFAULT_CONNECT_TIMEOUT)
        read = opts.get("READ_TIMEOUT", DEFAULT_READ_TIMEOUT)
        self.client = HttpClient(
            self.base_url or "https://unconfigured.invalid",
            connect_timeout=float(connect) if _is_number(connect) else DEFAULT_CONNECT_TIMEOUT,
            read_timeout=float(read) if _is_number(read) else DEFAULT_READ_TIMEOUT,
            default_headers={AUTHORIZATION_HEADER: basic_authorization(self.site_id, self.api_key)},
        )

    # configuration -----------------------------------------------------------

    @classmethod
    def check_options(cls, options: Mapping[str, Any]) -> list[str]:
        return cls._option_problems(options) + cls.unknown_option_problems(options)

    @classmethod
    def check_warnings(cls, options: Mapping[str, Any]) -> list[str]:
        exponents = options.get("AMOUNT_EXPONENTS")
        listed = {
            str(code).strip().upper()
            for code in (exponents if isinstance(exponents, Mapping) else {})
        }
        if "KRW" in listed:
            return []
        return [
            "KRW amounts are sent to Smart2Pay as whole won (ISO 4217 has no decimals for "
            "KRW), but Smart2Pay's documentation describes amounts with two implied decimals "
            "and has no KRW example. Confirm the scale on the test environment "
            "(ENVIRONMENT 'test'): start a 1000 KRW payment and check that KakaoPay shows "
            "1,000 won, not 10 won. Then set AMOUNT_EXPONENTS to {'KRW': 0} if it does, or to "
            "{'KRW': 2} if Smart2Pay expects hundredths of a won; either setting silences "
            "this warning"
        ]

    @classmethod
    def _option_problems(cls, options: Mapping[str, Any]) -> list[str]:
        problems = super().check_options(options)

        site_id = options.get("SITE_ID")
        if site_id not in (None, "") and not _DIGITS_RE.match(_site_id_text(site_id)):
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
        if method is not None and not (
            isinstance(method, int) and not isinstance(method, bool) and method > 0
        ):
            problems.append(
                f"METHOD_ID must be a positive whole number (1135 is KakaoPay), not {method!r}"
            )

        problems += _network_problems(
            "NOTIFICATION_IP_ALLOWLIST", options.get("NOTIFICATION_IP_ALLOWLIST")
        )
        problems += _network_problems("TRUSTED_PROXIES", options.get("TRUSTED_PROXIES"))

        for name in ("CONNECT_TIMEOUT", "READ_TIMEOUT"):
            if name in options and not _is_number(options[name]):
                problems.append(f"{name} must be a positive number of seconds")

        exponents = options.get("AMOUNT_EXPONENTS")
        if exponents is not None:
            if not isinstance(exponents, Mapping):
                problems.append(
                    "AMOUNT_EXPONENTS must be a dict of currency codes to implied decimals, "
                    "e.g. {'KRW': 0}"
                )
            else:
                for code, value in exponents.items():
                    if not (isinstance(code, str) and _CURRENCY_RE.match(code.strip())):
                        problems.append(
                            f"AMOUNT_EXPONENTS has the key {code!r}, which is not a 3-letter "
                            "currency code"
                        )
                    if not (
                        isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 4
                    ):
                        problems.append(
                            f"AMOUNT_EXPONENTS[{code!r}] must be a whole number from 0 to 4, "
                            f"not {value!r}"
                        )

        frequency = options.get("PREAPPROVAL_FREQUENCY")
        if frequency not in (None, "") and not (
            isinstance(frequency, str) and frequency.strip().lower() in PREAPPROVAL_FREQUENCIES
        ):
            problems.append(
                f"PREAPPROVAL_FREQUENCY must be one of {', '.join(PREAPPROVAL_FREQUENCIES)}, "
                f"not {frequency!r}"
            )
        return problems

    @property
    def is_live(self) -> bool:
        """Only the live environment moves real money."""
        return self.environment == "live"

    def has_webhook_credentials(self) -> bool:
        return bool(self.site_id and self.api_key)

    def _ensure_configured(self) -> None:
        if self._problems:
            raise ProviderConfigurationError(
                _(
                    "The Smart2Pay backend %(alias)s is misconfigured: %(problems)s. "
                    "Run manage.py check for details."
                )
                % {"alias": self.alias, "problems": "; ".join(self._problems)}
            )

    # amounts -------------------------------------------------------------------

    def provider_exponent(self, currency: str) -> int:
        """Implied decimals of Smart2Pay's ``Amount`` in ``currency``."""
        code = currency.strip().upper()
        return self.amount_exponents.get(code, CURRENCY_EXPONENTS.get(code, 2))

    def _shift(self, currency: str) -> int:
        code = currency.strip().upper()
        return self.provider_exponent(code) - CURRENCY_EXPONENTS.get(code, 2)

    @staticmethod
    def _power(places: int) -> int:
        return int(10**places)

    def to_provider_amount(self, amount: int, currency: str) -> int:
        """Our minor units (ISO 4217) to Smart2Pay's ``Amount``."""
        shift = self._shift(currency)
        if shift >= 0:
            return amount * self._power(shift)
        factor = self._power(-shift)
        if amount % factor:
            raise ProviderRejected(
                _(
                    "%(amount)s %(currency)s cannot be sent to Smart2Pay, which takes "
                    "%(currency)s with %(places)s decimals (AMOUNT_EXPONENTS)."
                )
                % {
                    "amount": amount,
                    "currency": currency,
                    "places": self.provider_exponent(currency),
                }
            )
        return amount // factor

    def from_provider_amount(self, value: object, currency: str) -> int | None:
        """Smart2Pay's ``Amount`` in our minor units; ``None`` when absent.

        Raises :class:`InexactAmount` for a value that is not a whole number
        of minor units, which only happens when the amount scale is wrong.
        """
        raw = _int(value)
        if raw is None:
            return None
        shift = self._shift(currency)
        if shift <= 0:
            return raw * self._power(-shift)
        factor = self._power(shift)
        if raw % factor:
            raise InexactAmount(
                _(
                    "Smart2Pay reported the amount %(amount)s %(currency)s, which is not a whole "
                    "number of %(currency)s with %(places)s implied decimals. Check "
                    "AMOUNT_EXPONENTS."
                )
                % {"amount": raw, "currency": currency, "places": self.provider_exponent(currency)}
            )
        return raw // factor

    def _money(self, resource: Mapping[str, Any]) -> tuple[int | None, str | None]:
        """(amount, currency) of a resource; both ``None`` when the currency is missing."""
        raw_currency, raw_amount = _get(resource, "Currency"), _get(resource, "Amount")
        currency = raw_currency.strip().upper() if isinstance(raw_currency, str) else ""
        if not currency and raw_currency is None and raw_amount is None:
            return None, None
        amount = self.from_provider_amount(raw_amount, currency) if currency else None
        if not currency or (raw_amount is not None and amount is None):
            # Money we cannot read must never pass as money not stated.
            raise InexactAmount(
                _(
                    "Smart2Pay reported an amount or currency that cannot be read: %(amount)r %(currency)r."
                )
                % {"amount": str(raw_amount)[:40], "currency": str(raw_currency)[:10]}
            )
        return amount, currency

    # HTTP ----------------------------------------------------------------------

    def _call(self, method: str, path: str, operation: str, *, body: Any = None) -> HttpResponse:
        headers = {"Content-Type": JSON_CONTENT_TYPE} if body is not None else {}
        response = self.client.request(method, path, json_body=body, headers=headers)
        if not 200 <= response.status_code < 300:
            self._raise_for(response, operation)
        return response

    @staticmethod
    def _payload(response: HttpResponse) -> Any:
        try:
            return response.json()
        except ValueError:
            return None

    def _resource(self, response: HttpResponse, root: str, operation: str) -> Mapping[str, Any]:
        """The ``{root: {...}}`` object of a successful answer (a bare object is accepted too)."""
        payload = self._payload(response)
        resource = _get(payload, root) if isinstance(payload, Mapping) else None
        if not isinstance(resource, Mapping) and isinstance(payload, Mapping):
            resource = payload if _get(payload, "ID") is not None else None
        if not isinstance(resource, Mapping):
            raise OutcomeUnknown(
                _(
                    "Smart2Pay answered HTTP %(status)s while %(operation)s, but the answer "
                    "could not be read; the outcome is unknown."
                )
                % {"status": response.status_code, "operation": operation},
                status_code=response.status_code,
            )
        if _get(resource, "ID") is None and _reasons(resource):
            # A success code with only error reasons: treat it as the error it says.
            self._raise_for(response, operation, force_rejection=True)
        return resource

    def _raise_for(
        self, response: HttpResponse, operation: str, *, force_rejection: bool = False
    ) -> NoReturn:
        """Turn an error answer into the ProviderError subclass it means.

        Two shapes exist: the resource wrapper with ``Status.Reasons`` and a
        plain ``{"Message": "..."}``.
        """
        payload = self._payload(response)
        status = response.status_code
        codes: list[str] = []
        texts: list[str] = []
        if isinstance(payload, Mapping):
            message = _str(_get(payload, "Message")).strip()
            if message:
                texts.append(message)
            candidates = [payload, *(v for v in payload.values() if isinstance(v, Mapping))]
            for candidate in candidates:
                for code, info in _reasons(candidate):
                    if code:
                        codes.append(code)
                    texts.append(f"{code} {info}".strip() if code else info)
        details = "; ".join(text for text in texts if text) or _("no reason given")
        values = {"operation": operation, "status": status, "details": details}
        kwargs: dict[str, Any] = {"status_code": status, "codes": tuple(codes)}
        error: ProviderError
        if status in (401, 403) or CONFIGURATION_CODES.intersection(codes):
            error = ProviderConfigurationError(
                _(
                    "Smart2Pay refused our credentials while %(operation)s (HTTP %(status)s: "
                    "%(details)s). Check SITE_ID, API_KEY and ENVIRONMENT: test credentials "
                    "work only with ENVIRONMENT 'test' (paytest.smart2pay.com), live ones only "
                    "with 'live', and the site must be active in the merchant dashboard."
                )
                % values,
                **kwargs,
            )
        elif not force_rejection and (HttpClient.outcome_is_unknown(status) or status < 400):
            error = OutcomeUnknown(
                _(
                    "Smart2Pay answered HTTP %(status)s while %(operation)s (%(details)s); the "
                    "outcome is unknown and will be reconciled."
                )
                % values,
                **kwargs,
            )
        elif status == 404:
            error = ProviderRejected(
                _("Smart2Pay found nothing while %(operation)s (HTTP 404: %(details)s).") % values,
                **kwargs,
            )
        else:
            error = ProviderRejected(
                _(
                    "Smart2Pay rejected the request while %(operation)s (HTTP %(status)s): "
                    "%(details)s."
                )
                % values,
                **kwargs,
            )
        raise error

    @staticmethod
    def _unreadable_amount(exc: InexactAmount) -> OutcomeUnknown:
        return OutcomeUnknown(str(exc))

    # one-time payments ---------------------------------------------------------

    def create_payment(self, request: PaymentRequest) -> RedirectInstruction:
        self._ensure_configured()
        transaction_id = merchant_id(request.reference, request.idempotency_key)
        operation = _("creating the payment %(reference)s") % {"reference": request.reference}
        reconciled = False
        try:
            response = self._call(
                "POST", "/v1/payments", operation, body=self.payment_body(request, transaction_id)
            )
            data = self._resource(response, PAYMENT, operation)
        except ProviderRejected as exc:
            if DUPLICATE_TRANSACTION not in exc.codes:
                raise
            # A previous attempt (which timed out) created it: use that one.
            data = self._find_payment(transaction_id, operation, missing_is_unknown=True)
            reconciled = True
        snapshot = self._payment_snapshot_or_unknown(data, request.reference)
        url = _redirect_or_unknown(
            data,
            still_open=snapshot.status in (None, PaymentStatus.PENDING),
            message=MISSING_REDIRECT[PAYMENT, reconciled],
            provider_id=snapshot.provider_payment_id,
            return_url=request.return_url,
        )
        return RedirectInstruction(url, snapshot)

    def payment_body(self, request: PaymentRequest, transaction_id: str) -> dict[str, Any]:
        """The ``POST /v1/payments`` body for ``request``."""
        payment: dict[str, Any] = {
            "MerchantTransactionID": transaction_id,
            "Amount": self.to_provider_amount(request.amount, request.currency),
            "Currency": request.currency,
            "ReturnURL": request.return_url,
            "Description": (request.description or request.reference)[:255],
            "MethodID": self.method_id,
        }
        customer = self._customer(request.customer)
        if customer:
            payment["Customer"] = customer
        payment["BillingAddress"] = {"Country": self._country(request.customer)}
        articles = self._articles(request.items, request.currency)
        if articles:
            payment["Articles"] = articles
        return {"Payment": payment}

    def _articles(self, items: Sequence[LineItem], currency: str) -> list[dict[str, Any]]:
        if not items:
            return []
        if any(not 1 <= item.quantity <= 999 for item in items):
            # Smart2Pay takes at most 999 of an article; the articles are optional.
            logger.info("Smart2Pay: an order line has more than 999 units; Articles not sent.")
            return []
        articles = []
        for item in items:
            article: dict[str, Any] = {}
            if _ARTICLE_ID_RE.match(item.reference):
                article["MerchantArticleID"] = item.reference
            article["Name"] = (item.name or "-")[:250]
            article["Quantity"] = item.quantity
            article["Price"] = self.to_provider_amount(item.unit_price, currency)
            articles.append(article)
        return articles

    @staticmethod
    def _customer(customer: Customer, *, email_only: bool = False) -> dict[str, str]:
        result: dict[str, str] = {}
        if not email_only:
            first, last = split_name(customer.name)
            if first:
                result["FirstName"] = first[:100]
            if last:
                result["LastName"] = last[:100]
        if customer.email:
            result["Email"] = customer.email
        return result

    @staticmethod
    def _country(customer: Customer) -> str:
        country = customer.country.strip().upper()
        return country if re.match(r"^[A-Z]{2}$", country) else DEFAULT_COUNTRY

    def fetch_payment(self, ref: PaymentRef) -> PaymentSnapshot:
        self._ensure_configured()
        if ref.provider_payment_id:
            data = self._get_payment(ref.provider_payment_id)
        else:
            transaction_id = merchant_id(ref.reference, ref.idempotency_key)
            operation = _("looking up the payment %(reference)s") % {"reference": ref.reference}
            data = self._find_payment(transaction_id, operation)
        return self._payment_snapshot_or_unknown(data, ref.reference)

    def _get_payment(self, payment_id: str) -> Mapping[str, Any]:
        operation = _("getting payment %(id)s") % {"id": payment_id}
        response = self._call("GET", f"/v1/payments/{quote(payment_id, safe='')}", operation)
        return self._resource(response, PAYMENT, operation)

    def _find_payment(
        self, transaction_id: str, operation: str, *, missing_is_unknown: bool = False
    ) -> Mapping[str, Any]:
        """Find a payment by ``MerchantTransactionID`` (after a timeout or a duplicate).

        ``GET /v1/payments?merchantTransactionID=...`` is documented; the
        answer is still filtered here, so an ignored filter cannot mislead.
        """
        query = urlencode({"merchantTransactionID": transaction_id})
        response = self._call("GET", f"/v1/payments?{query}", operation)
        rows = self._list(response, "Payments")
        matches = [
            row
            for row in rows
            if _str(_get(row, "MerchantTransactionID")) == transaction_id and _str(_get(row, "ID"))
        ]
        if not matches:
            message = _("Smart2Pay has no payment with MerchantTransactionID %(id)s.") % {
                "id": transaction_id
            }
            if missing_is_unknown:
                raise OutcomeUnknown(message)
            raise ProviderRejected(message, status_code=404)
        best = max(matches, key=self._payment_rank)
        return self._get_payment(_str(_get(best, "ID")))

    @staticmethod
    def _payment_rank(row: Mapping[str, Any]) -> tuple[int, int]:
        """Of several payments with one id, the one that took money, else the newest."""
        status = PAYMENT_STATUS_MAP.get(_status_id(row) or 0)
        taken = status in (
            PaymentStatus.PAID,
            PaymentStatus.PARTIALLY_REFUNDED,
            PaymentStatus.REFUNDED,
        )
        return (int(taken), _int(_get(row, "ID")) or 0)

    def _list(self, response: HttpResponse, key: str) -> list[Mapping[str, Any]]:
        payload = self._payload(response)
        rows = _get(payload, key) if isinstance(payload, Mapping) else payload
        return [row for row in (rows if isinstance(rows, list) else []) if isinstance(row, Mapping)]

    def _payment_snapshot_or_unknown(
        self, data: Mapping[str, Any], reference: str
    ) -> PaymentSnapshot:
        try:
            return self.payment_snapshot(data, reference=reference)
        except InexactAmount as exc:
            raise self._unreadable_amount(exc) from exc

    def payment_snapshot(
        self,
        data: Mapping[str, Any],
        *,
        reference: str = "",
        occurred_at: datetime | None = None,
        raw: Mapping[str, Any] | None = None,
    ) -> PaymentSnapshot:
        """A Smart2Pay ``Payment`` object as a snapshot (raises :class:`InexactAmount`)."""
        status_id = _status_id(data)
        status = PAYMENT_STATUS_MAP.get(status_id) if status_id is not None else None
        if status == PaymentStatus.PARTIALLY_REFUNDED:
            # The refunded total is not on the payment: only record that the
            # money was taken; the refunds themselves settle the rest.
            status = PaymentStatus.PAID
        amount, currency = self._money(data)
        reasons = "; ".join(f"{code} {info}".strip() for code, info in _reasons(data))
        return PaymentSnapshot(
            status=status,
            provider_status=str(status_id) if status_id is not None else "",
            provider_payment_id=_str(_get(data, "ID")),
            reference=reference or _str(_get(data, "MerchantTransactionID")),
            amount=amount,
            currency=currency,
            occurred_at=occurred_at,
            message=reasons or _status_info(data),
            raw=_scrub(raw if raw is not None else {PAYMENT: data}),
        )

    # refunds ---------------------------------------------------------------------

    def refund_payment(self, request: RefundRequest) -> RefundSnapshot:
        self._ensure_configured()
        payment = request.payment
        payment_id = payment.provider_payment_id
        if not payment_id:
            operation = _("looking up the payment %(reference)s") % {"reference": payment.reference}
            try:
                found = self._find_payment(
                    merchant_id(payment.reference, payment.idempotency_key), operation
                )
            except ProviderError as exc:
                raise self._not_sent(exc) from exc
            payment_id = _str(_get(found, "ID"))
        if request.amount < payment.amount:
            self._ensure_partial_refund_allowed(payment_id)
        transaction_id = merchant_id(request.reference, request.idempotency_key)
        refund: dict[str, Any] = {
            "MerchantTransactionID": transaction_id,
            "Amount": self.to_provider_amount(request.amount, payment.currency),
        }
        if request.reason:
            refund["Description"] = request.reason[:255]
        operation = _("refunding payment %(id)s") % {"id": payment_id}
        path = f"/v1/payments/{quote(payment_id, safe='')}/refunds"
        try:
            response = self._call("POST", path, operation, body={"Refund": refund})
            data = self._resource(response, REFUND, operation)
        except ProviderRejected as exc:
            if DUPLICATE_TRANSACTION not in exc.codes:
                raise
            data = self._find_refund(payment_id, transaction_id, operation)
        try:
            return self.refund_snapshot(
                data,
                reference=request.reference,
                payment_id=payment_id,
                payment_reference=payment.reference,
                currency=payment.currency,
            )
        except InexactAmount as exc:
            raise self._unreadable_amount(exc) from exc

    @staticmethod
    def _not_sent(exc: ProviderError) -> ProviderRejected:
        """An error before the refund was sent: it definitely did not happen."""
        return ProviderRejected(
            _("The refund was not sent to Smart2Pay: %(error)s") % {"error": exc},
            status_code=exc.status_code,
            codes=exc.codes,
        )

    def _ensure_partial_refund_allowed(self, payment_id: str) -> None:
        """Refuse a partial refund unless the payment's refund type allows it.

        ``GET /v1/payments/{id}/refunds/types`` lists the refund types with
        ``AllowsPartialRefund``. The native type (ID 1) is the one used when
        the refund names none; without it, any type allowing it is enough.
        """
        operation = _("getting the refund types of payment %(id)s") % {"id": payment_id}
        try:
            response = self._call(
                "GET", f"/v1/payments/{quote(payment_id, safe='')}/refunds/types", operation
            )
        except ProviderError as exc:
            raise self._not_sent(exc) from exc
        types = self._list(response, "RefundTypes")
        native = [
            row
            for row in types
            if _int(_get(row, "ID")) == 1 or _str(_get(row, "Name")).strip().lower() == "native"
        ]
        if any(_flag(_get(row, "AllowsPartialRefund")) for row in native or types):
            return
        raise ProviderRejected(
            _(
                "Smart2Pay does not allow a partial refund of payment %(id)s (no refund type "
                "with AllowsPartialRefund); only the full amount can be refunded."
            )
            % {"id": payment_id},
            status_code=response.status_code,
        )

    def _find_refund(
        self, payment_id: str, transaction_id: str, operation: str
    ) -> Mapping[str, Any]:
        response = self._call(
            "GET", f"/v1/payments/{quote(payment_id, safe='')}/refunds", operation
        )
        for row in self._list(response, "Refunds"):
            if _str(_get(row, "MerchantTransactionID")) == transaction_id:
                return row
        raise OutcomeUnknown(
            _(
                "Smart2Pay reported refund %(id)s as a duplicate but does not list it; the "
                "refund will be reconciled."
            )
            % {"id": transaction_id}
        )

    def refund_snapshot(
        self,
        data: Mapping[str, Any],
        *,
        reference: str = "",
        payment_id: str = "",
        payment_reference: str = "",
        currency: str = "",
        occurred_at: datetime | None = None,
        raw: Mapping[str, Any] | None = None,
    ) -> RefundSnapshot:
        """A Smart2Pay ``Refund`` object as a snapshot (raises :class:`InexactAmount`)."""
        status_id = _status_id(data)
        amount, their_currency = self._money(data)
        if amount is None and currency and their_currency is None:
            amount = self.from_provider_amount(_get(data, "Amount"), currency)
        reasons = "; ".join(f"{code} {info}".strip() for code, info in _reasons(data))
        return RefundSnapshot(
            status=REFUND_STATUS_MAP.get(status_id) if status_id is not None else None,
            provider_refund_id=_str(_get(data, "ID")),
            reference=reference or _str(_get(data, "MerchantTransactionID")),
            provider_payment_id=payment_id or _str(_get(data, "InitialPaymentID")),
            payment_reference=payment_reference,
            amount=amount,
            currency=their_currency or (currency or None),
            occurred_at=occurred_at,
            message=reasons or _status_info(data),
            raw=_scrub(raw if raw is not None else {REFUND: data}),
        )

    # preapprovals ----------------------------------------------------------------

    def create_preapproval(self, request: PreapprovalRequest) -> PreapprovalRedirect:
        self._ensure_configured()
        preapproval_id = merchant_id(request.reference, request.idempotency_key)
        operation = _("creating the preapproval %(reference)s") % {"reference": request.reference}
        reconciled = False
        try:
            response = self._call(
                "POST",
                "/v1/preapprovals",
                operation,
                body=self.preapproval_body(request, preapproval_id),
            )
            data = self._resource(response, PREAPPROVAL, operation)
        except ProviderRejected as exc:
            if DUPLICATE_PREAPPROVAL not in exc.codes:
                raise
            data = self._find_preapproval(preapproval_id, operation, missing_is_unknown=True)
            reconciled = True
        snapshot = self.preapproval_snapshot(data, reference=request.reference)
        url = _redirect_or_unknown(
            data,
            still_open=snapshot.status in (None, PreapprovalStatus.PENDING),
            message=MISSING_REDIRECT[PREAPPROVAL, reconciled],
            provider_id=snapshot.provider_preapproval_id,
            return_url=request.return_url,
        )
        return PreapprovalRedirect(url, snapshot)

    def preapproval_body(self, request: PreapprovalRequest, preapproval_id: str) -> dict[str, Any]:
        """The ``POST /v1/preapprovals`` body for ``request``."""
        preapproval: dict[str, Any] = {
            "MerchantPreapprovalID": preapproval_id,
            "Currency": request.currency,
            "Description": (request.description or request.reference)[:255],
            "ReturnURL": request.return_url,
            "MethodID": self.method_id,
        }
        customer = self._customer(request.customer)
        if customer:
            preapproval["Customer"] = customer
        preapproval["BillingAddress"] = {"Country": self._country(request.customer)}
        if request.max_amount is not None:
            preapproval["PreapprovedMaximumAmount"] = self.to_provider_amount(
                request.max_amount, request.currency
            )
        if self.preapproval_frequency:
            preapproval["PreapprovedFrequency"] = self.preapproval_frequency
        return {"Preapproval": preapproval}

    def fetch_preapproval(self, ref: PreapprovalRef) -> PreapprovalSnapshot:
        self._ensure_configured()
        data = self._preapproval_for(ref)
        return self.preapproval_snapshot(data, reference=ref.reference)

    def _preapproval_for(self, ref: PreapprovalRef) -> Mapping[str, Any]:
        if ref.provider_preapproval_id:
            return self._get_preapproval(ref.provider_preapproval_id)
        operation = _("looking up the preapproval %(reference)s") % {"reference": ref.reference}
        return self._find_preapproval(merchant_id(ref.reference, ref.idempotency_key), operation)

    def _get_preapproval(self, preapproval_id: str) -> Mapping[str, Any]:
        operation = _("getting preapproval %(id)s") % {"id": preapproval_id}
        response = self._call(
            "GET", f"/v1/preapprovals/{quote(preapproval_id, safe='')}", operation
        )
        return self._resource(response, PREAPPROVAL, operation)

    def _find_preapproval(
        self, preapproval_id: str, operation: str, *, missing_is_unknown: bool = False
    ) -> Mapping[str, Any]:
        """Find a preapproval by ``MerchantPreapprovalID``.

        Inferred: ``GET /v1/preapprovals`` is documented (newest 50, little
        detail per item) but no filter is; the ``merchantPreapprovalID``
        filter mirrors the payments list and is retried without it if
        refused. The answer is filtered here, then the match is fetched whole.
        """
        query = urlencode({"merchantPreapprovalID": preapproval_id})
        try:
            response = self._call("GET", f"/v1/preapprovals?{query}", operation)
        except ProviderRejected:
            response = self._call("GET", "/v1/preapprovals", operation)
        for row in self._list(response, "Preapprovals"):
            if _str(_get(row, "MerchantPreapprovalID")) == preapproval_id and _str(_get(row, "ID")):
                return self._get_preapproval(_str(_get(row, "ID")))
        message = _("Smart2Pay has no preapproval with MerchantPreapprovalID %(id)s.") % {
            "id": preapproval_id
        }
        if missing_is_unknown:
            raise OutcomeUnknown(message)
        raise ProviderRejected(message, status_code=404)

    def charge_preapproval(self, request: ChargeRequest) -> PaymentSnapshot:
        self._ensure_configured()
        preapproval = request.preapproval
        provider_id = preapproval.provider_preapproval_id
        if not provider_id:
            provider_id = _str(_get(self._preapproval_for(preapproval), "ID"))
        transaction_id = merchant_id(request.reference, request.idempotency_key)
        payment: dict[str, Any] = {
            "PreapprovalID": _int(provider_id) if _int(provider_id) is not None else provider_id,
            "MerchantTransactionID": transaction_id,
            "Amount": self.to_provider_amount(request.amount, request.currency),
            "Currency": request.currency,
            "MethodID": self.method_id,
            "Description": (request.description or request.reference)[:255],
        }
        customer = self._customer(request.customer, email_only=True)
        if customer:
            payment["Customer"] = customer
        payment["BillingAddress"] = {"Country": self._country(request.customer)}
        operation = _("charging preapproval %(id)s") % {"id": provider_id}
        try:
            response = self._call(
                "POST", "/v1/payments/recurrent", operation, body={"Payment": payment}
            )
            data = self._resource(response, PAYMENT, operation)
        except ProviderRejected as exc:
            if DUPLICATE_TRANSACTION not in exc.codes:
                raise
            # The charge exists already (a retried call): report that one.
            data = self._find_payment(transaction_id, operation, missing_is_unknown=True)
        # Either final already (2 Success, 4 Failed) or open (1): then the
        # outcome arrives by notification or on the next pull.
        return self._payment_snapshot_or_unknown(data, request.reference)

    def cancel_preapproval(self, ref: PreapprovalRef) -> PreapprovalSnapshot:
        self._ensure_configured()
        provider_id = ref.provider_preapproval_id or _str(_get(self._preapproval_for(ref), "ID"))
        operation = _("closing preapproval %(id)s") % {"id": provider_id}
        response = self._call(
            "DELETE", f"/v1/preapprovals/{quote(provider_id, safe='')}", operation
        )
        payload = self._payload(response)
        data = _get(payload, PREAPPROVAL) if isinstance(payload, Mapping) else None
        if not isinstance(data, Mapping):
            # Closed, but the answer says nothing more: the services layer
            # records the cancellation.
            return PreapprovalSnapshot(
                status=None,
                provider_preapproval_id=provider_id,
                reference=ref.reference,
            )
        snapshot = self.preapproval_snapshot(data, reference=ref.reference)
        if snapshot.status in (PreapprovalStatus.PENDING, PreapprovalStatus.ACTIVE):
            raise OutcomeUnknown(
                _(
                    "Smart2Pay answered the closing of preapproval %(id)s with status "
                    "%(status)s; it will be reconciled."
                )
                % {"id": provider_id, "status": snapshot.provider_status},
                status_code=response.status_code,
            )
        return snapshot

    def preapproval_snapshot(
        self,
        data: Mapping[str, Any],
        *,
        reference: str = "",
        occurred_at: datetime | None = None,
        raw: Mapping[str, Any] | None = None,
    ) -> PreapprovalSnapshot:
        """A Smart2Pay ``Preapproval`` object as a snapshot."""
        status_id = _status_id(data)
        reasons = "; ".join(f"{code} {info}".strip() for code, info in _reasons(data))
        return PreapprovalSnapshot(
            status=PREAPPROVAL_STATUS_MAP.get(status_id) if status_id is not None else None,
            provider_status=str(status_id) if status_id is not None else "",
            provider_preapproval_id=_str(_get(data, "ID")),
            reference=reference or _str(_get(data, "MerchantPreapprovalID")),
            occurred_at=occurred_at,
            message=reasons or _status_info(data),
            raw=_scrub(raw if raw is not None else {PREAPPROVAL: data}),
        )

    # notifications -----------------------------------------------------------------

    @staticmethod
    def _root(event: Mapping[str, Any]) -> tuple[str, Any]:
        """The root key (``Payment``, ``Preapproval``, ``Refund`` or another) and its object."""
        for key in ROOT_KEYS:
            value = _get(event, key)
            if value is not None:
                return key, value
        for key, value in event.items():
            return str(key), value
        return "", None

    def _event_key(self, event: Mapping[str, Any], body: bytes) -> str:
        """``smart2pay:<root>:<ID>:<Status.ID>:<NotificationDateTime or body hash>``.

        Smart2Pay sends no event id. A repeated delivery of one notification
        has the same key; a new status or a new notification time makes a new
        one. Without an object id the whole key is the body's hash.
        """
        root, resource = self._root(event)
        if not isinstance(resource, Mapping):
            return content_hash(body)
        object_id = _str(_get(resource, "ID"))
        if not object_id:
            return content_hash(body)
        status_id = _status_id(resource)
        when = _str(_get(resource, "NotificationDateTime")).strip() or content_hash(body)
        return f"smart2pay:{root}:{object_id}:{'' if status_id is None else status_id}:{when}"

    def verify_webhook(
        self, body: bytes, headers: Mapping[str, str], remote_addr: str | None = None
    ) -> None:
        if self.ip_allowlist:
            client = self.client_ip(remote_addr, headers)
            if client is None or not _in_any(client, self.ip_allowlist):
                raise WebhookForbidden(
                    _(
                        "Notifications from %(address)s are not accepted "
                        "(NOTIFICATION_IP_ALLOWLIST)."
                    )
                    % {"address": client or remote_addr or _("an unknown address")}
                )
        if not self.has_webhook_credentials():
            raise WebhookAuthenticationError(
                _("SITE_ID and API_KEY are not configured, so no notification can be verified.")
            )
        received = _header(headers, AUTHORIZATION_HEADER).strip()
        if not received:
            raise WebhookAuthenticationError(_("The Authorization header is missing."))
        scheme, _sep, token = received.partition(" ")
        try:
            if scheme.lower() != "basic":
                raise ValueError(scheme)
            decoded = base64.b64decode(token.strip(), validate=True).decode("utf-8")
        except (ValueError, binascii.Error) as exc:
            raise WebhookAuthenticationError(
                _("The Authorization header is not HTTP Basic credentials.")
            ) from exc
        user, colon, password = decoded.partition(":")
        # Compare both parts in constant time, without stopping early.
        same_user = hmac.compare_digest(user.encode("utf-8"), self.site_id.encode("utf-8"))
        same_password = hmac.compare_digest(password.encode("utf-8"), self.api_key.encode("utf-8"))
        if not (colon and same_user and same_password):
            raise WebhookAuthenticationError(
                _("The Authorization header does not match SITE_ID and API_KEY.")
            )

    def client_ip(self, remote_addr: str | None, headers: Mapping[str, str]) -> IPAddress | None:
        """The notification's source address.

        ``X-Forwarded-For`` is read only when the direct peer is one of
        ``TRUSTED_PROXIES``; then the right-most address that is not a
        trusted proxy is the source (addresses to its left could be forged).
        """
        peer = _parse_ip(remote_addr or "")
        if peer is None or not self.trusted_proxies or not _in_any(peer, self.trusted_proxies):
            return peer
        forwarded = _header(headers, FORWARDED_FOR_HEADER)
        hops = [hop for hop in forwarded.split(",") if hop.strip()]
        address = peer
        for hop in reversed(hops):
            parsed = _parse_ip(hop)
            if parsed is None:
                return None  # an unreadable hop: the source cannot be known
            address = parsed
            if not _in_any(parsed, self.trusted_proxies):
                return parsed
        return address

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> ParsedWebhook:
        event = read_json(body, "Smart2Pay")
        if not isinstance(event, Mapping) or not event:
            raise MalformedWebhook(_("The Smart2Pay notification is not a JSON object."))
        root, resource = self._root(event)
        event_id = self._event_key(event, body)
        if root not in ROOT_KEYS:
            return ParsedWebhook(event_id, root[:100] or "unknown", ())
        if not isinstance(resource, Mapping):
            raise MalformedWebhook(
                _("The Smart2Pay %(type)s notification has no %(type)s object.") % {"type": root}
            )
        occurred_at = parse_notification_time(_get(resource, "NotificationDateTime"))
        raw = _scrub(event)
        update: Snapshot
        try:
            if root == PAYMENT:
                if not (
                    _str(_get(resource, "ID")) or _str(_get(resource, "MerchantTransactionID"))
                ):
                    raise MalformedWebhook(_("The Smart2Pay notification names no payment."))
                update = self.payment_snapshot(resource, occurred_at=occurred_at, raw=raw)
            elif root == PREAPPROVAL:
                if not (
                    _str(_get(resource, "ID")) or _str(_get(resource, "MerchantPreapprovalID"))
                ):
                    raise MalformedWebhook(_("The Smart2Pay notification names no preapproval."))
                update = self.preapproval_snapshot(resource, occurred_at=occurred_at, raw=raw)
            else:
                if not (
                    _str(_get(resource, "ID")) or _str(_get(resource, "MerchantTransactionID"))
                ):
                    raise MalformedWebhook(_("The Smart2Pay notification names no refund."))
                update = self.refund_snapshot(resource, occurred_at=occurred_at, raw=raw)
        except InexactAmount as exc:
            # Kept as failed for replay once AMOUNT_EXPONENTS is corrected.
            raise MalformedWebhook(str(exc)) from exc
        return ParsedWebhook(event_id, root, (update,), occurred_at)

    def acknowledge(self, outcome: WebhookOutcome) -> WebhookAck:
        # Smart2Pay requires 204 No Content; anything else is delivered again.
        return WebhookAck(204, b"")
