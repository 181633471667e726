"""Checkout.com: KakaoPay one-time payments through the Payment Setup API.

The flow is the one Checkout.com documents for KakaoPay: create a payment
setup (``POST /payments/setups``), confirm it with the ``kakaopay`` method
(``POST /payments/setups/{id}/confirm/kakaopay``) and send the customer to
the returned redirect link. The outcome is learnt from a pull
(``GET /payments/{id}``) when the customer comes back and from signed
webhooks. Refunds, full and partial, go to ``POST /payments/{id}/refunds``.

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

What is only inferred from Checkout.com's SDKs rather than documented for
KakaoPay (the confirm response's shape, finding a payment by setup id or by
reference, the shape of refund webhooks) is parsed defensively: every known
shape is accepted and the raw payload is kept.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any, ClassVar, NoReturn
from urllib.parse import quote, urlencode

from django.utils.translation import gettext as _

from ..exceptions import (
    MalformedWebhook,
    OutcomeUnknown,
    ProviderConfigurationError,
    ProviderError,
    ProviderRejected,
    WebhookAuthenticationError,
)
from ..status import UNSUCCESSFUL_STATUSES, PaymentStatus, RefundStatus
from .base import (
    BaseBackend,
    Capability,
    Customer,
    ParsedWebhook,
    PaymentRef,
    PaymentRequest,
    PaymentSnapshot,
    RedirectInstruction,
    RefundRequest,
    RefundSnapshot,
    Snapshot,
    TerminalType,
    WebhookAck,
    WebhookOutcome,
)
from .http import DEFAULT_CONNECT_TIMEOUT, DEFAULT_READ_TIMEOUT, HttpClient, HttpResponse
from .payloads import parse_iso_time, read_json, scrub

logger = logging.getLogger("django_kakaopay.checkout")

SIGNATURE_HEADER = "Cko-Signature"
IDEMPOTENCY_HEADER = "Cko-Idempotency-Key"
REQUEST_ID_HEADER = "Cko-Request-Id"
AUTHORIZATION_HEADER = "Authorization"

PAYMENT_METHOD = "kakaopay"

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
    "CONNECT_TIMEOUT",
    "READ_TIMEOUT",
    "DASHBOARD_URL",
)

# Checkout.com's payment statuses (title case with spaces), normalized to
# lower case. Anything else maps to ``None``: stored, never acted on.
PAYMENT_STATUS_MAP: dict[str, str] = {
    "pending": PaymentStatus.PENDING,
    # KakaoPay is captured in one step; an authorization alone has not taken
    # the money yet, so we wait for Captured/Paid.
    "authorized": PaymentStatus.PENDING,
    "captured": PaymentStatus.PAID,
    "paid": PaymentStatus.PAID,
    "declined": PaymentStatus.FAILED,
    "canceled": PaymentStatus.CANCELED,
    "cancelled": PaymentStatus.CANCELED,
    # An authorization released before capture: no money was taken.
    "voided": PaymentStatus.CANCELED,
    "expired": PaymentStatus.EXPIRED,
    "partially refunded": PaymentStatus.PARTIALLY_REFUNDED,
    "refunded": PaymentStatus.REFUNDED,
}

PAYMENT_EVENTS: dict[str, str] = {
    "payment_approved": PaymentStatus.PENDING,
    "payment_pending": PaymentStatus.PENDING,
    "payment_captured": PaymentStatus.PAID,
    "payment_paid": PaymentStatus.PAID,
    "payment_declined": PaymentStatus.FAILED,
    "payment_expired": PaymentStatus.EXPIRED,
    "payment_canceled": PaymentStatus.CANCELED,
}

REFUND_EVENTS: dict[str, str] = {
    "payment_refunded": RefundStatus.SUCCEEDED,
    "payment_refund_declined": RefundStatus.FAILED,
    "payment_refund_pending": RefundStatus.PENDING,
}

# Keys never stored in a provider payload: the return URL is a capability.
SCRUBBED_KEYS = frozenset({"success_url", "failure_url"})

_PREFIX_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_CHANNEL_RE = re.compile(r"^pc_\w{26}$")


# -- small helpers -------------------------------------------------------------


def _header(headers: Mapping[str, str], name: str) -> str:
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return str(value)
    return ""


def _str(value: object) -> str:
    return value if isinstance(value, str) else ""


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _href(obj: Mapping[str, Any], rel: str) -> str:
    return _str(_mapping(_mapping(obj.get("_links")).get(rel)).get("href"))


def _scrub(value: Any) -> Any:
    return scrub(value, SCRUBBED_KEYS)


def map_payment_status(raw: str) -> str | None:
    """Our status for a Checkout.com payment status, or ``None`` when unknown."""
    return PAYMENT_STATUS_MAP.get(" ".join(raw.replace("_", " ").lower().split()))


def sign_webhook(key: str, body: bytes) -> str:
    """The ``Cko-Signature`` value for ``body``: hex HMAC-SHA256 with ``key``."""
    return hmac.new(key.encode("utf-8"), body, hashlib.sha256).hexdigest()


def _as_keys(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,) if value else ()
    if isinstance(value, Sequence):
        return tuple(key for key in value if isinstance(key, str) and key)
    return ()


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value > 0


def _phone(phone: str) -> dict[str, str] | None:
    """Checkout.com's phone object, when the number can be split safely (inferred shape)."""
    text = phone.strip()
    digits = re.sub(r"\D", "", text)
    if text.startswith("+"):
        if not digits.startswith("82"):
            return None  # the country code's length is unknown: leave it out
        number = digits[2:]
        result = {"country_code": "+82", "number": number}
    else:
        number = digits
        result = {"number": number}
    return result if 6 <= len(number) <= 25 else None


# -- the backend -----------------------------------------------------------------


class CheckoutBackend(BaseBackend):
    """KakaoPay through Checkout.com's Payment Setup API."""

    known_options: ClassVar[tuple[str, ...]] = OPTION_NAMES
    # Cko-Idempotency-Key values expire after 24 hours by default.
    idempotency_window: ClassVar[timedelta | None] = timedelta(hours=24)
    display_name: ClassVar[str] = "Checkout.com"
    # Checkout.com's KakaoPay page lists these processing currencies (KRW by
    # arrangement with the account manager).
    currencies: ClassVar[frozenset[str]] = frozenset({"KRW", "HKD", "SGD"})

    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {Capability.REFUNDS, Capability.PARTIAL_REFUNDS}
    )
    required_options: ClassVar[tuple[str, ...]] = (
        "SECRET_KEY",
        "PROCESSING_CHANNEL_ID",
        "ENVIRONMENT",
        "SUBDOMAIN_PREFIX",
    )
    # Production moves real money, and the sandbox is Checkout.com's, not ours:
    # both need authenticated webhooks.
    is_sandbox_backend: ClassVar[bool] = False

    def __init__(self, alias: str, options: Mapping[str, Any]) -> None:
        super().__init__(alias, options)
        opts = self.options
        self._problems = self._option_problems(opts)
        self.environment = _str(opts.get("ENVIRONMENT")).strip().lower()
        self.subdomain_prefix = _str(opts.get("SUBDOMAIN_PREFIX")).strip().lower()
        self.processing_channel_id = _str(opts.get("PROCESSING_CHANNEL_ID")).strip()
        self.signature_keys = _as_keys(opts.get("WEBHOOK_SIGNATURE_KEYS"))
        self.webhook_authorization = _str(opts.get("WEBHOOK_AUTHORIZATION"))
        terminal = _str(opts.get("TERMINAL_TYPE")).strip().lower()
        self.default_terminal_type = terminal if terminal in TERMINAL_TYPES else TerminalType.WEB
        os_type = _str(opts.get("OS_TYPE")).strip().lower()
        self.default_os_type = os_type if os_type in OS_TYPES else ""
        template = BASE_URLS.get(self.environment)
        self.base_url = (
            template.format(prefix=self.subdomain_prefix)
            if template and self.subdomain_prefix
            else ""
        )
        connect = opts.get("CONNECT_TIMEOUT", DEFAULT_CONNECT_TIMEOUT)
        read = opts.get("READ_TIMEOUT", DEFAULT_READ_TIMEOUT)
        self.client = HttpClient(
            self.base_url or "https://unconfigured.invalid",
            connect_timeout=float(connect) if _is_number(connect) else DEFAULT_CONNECT_TIMEOUT,
            read_timeout=float(read) if _is_number(read) else DEFAULT_READ_TIMEOUT,
            default_headers={
                "Authorization": f"Bearer {_str(opts.get('SECRET_KEY')).strip()}",
            },
        )

    # configuration ---------------------------------------------------------

    @classmethod
    def check_options(cls, options: Mapping[str, Any]) -> list[str]:
        return cls._option_problems(options) + cls.unknown_option_problems(options)

    @classmethod
    def _option_problems(cls, options: Mapping[str, Any]) -> list[str]:
        problems = super().check_options(options)
        environment = options.get("ENVIRONMENT")
        env = environment.strip().lower() if isinstance(environment, str) else ""
        if environment and env not in BASE_URLS:
            problems.append(
                f"ENVIRONMENT must be 'sandbox' or 'production', not {environment!r} "
                "(it is never derived from DEBUG)"
            )

        key = options.get("SECRET_KEY")
        if key and not isinstance(key, str):
            problems.append("SECRET_KEY must be a string")
        elif isinstance(key, str) and key:
            stripped = key.strip()
            if stripped.lower().startswith("bearer "):
                problems.append("SECRET_KEY must be the key alone, without the 'Bearer ' prefix")
            elif stripped.startswith("pk_"):
                problems.append(
                    "SECRET_KEY looks like a public key (pk_...); use the secret key (sk_...)"
                )
            elif env == "production" and stripped.startswith("sk_sbox_"):
                problems.append(
                    "SECRET_KEY is a sandbox key (sk_sbox_...) but ENVIRONMENT is 'production'"
                )

        channel = options.get("PROCESSING_CHANNEL_ID")
        if channel and not (isinstance(channel, str) and _CHANNEL_RE.match(channel.strip())):
            problems.append(
                f"PROCESSING_CHANNEL_ID must look like 'pc_' followed by 26 letters or digits, "
                f"not {channel!r}"
            )

        prefix = options.get("SUBDOMAIN_PREFIX")
        if prefix:
            text = prefix.strip().lower() if isinstance(prefix, str) else ""
            if not text or "." in text or "/" in text or ":" in text:
                problems.append(
                    "SUBDOMAIN_PREFIX must be only the account's prefix (e.g. 'a1b2c3d4' from "
                    "https://a1b2c3d4.api.checkout.com), not a host name or URL"
                )
            elif text.startswith("cli_"):
                problems.append(
                    "SUBDOMAIN_PREFIX is the first 8 characters of the client id without 'cli_'"
                )
            elif not _PREFIX_RE.match(text):
                problems.append(
                    f"SUBDOMAIN_PREFIX may contain only letters, digits and hyphens, not {prefix!r}"
                )

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

        for name in ("CONNECT_TIMEOUT", "READ_TIMEOUT"):
            if name in options and not _is_number(options[name]):
                problems.append(f"{name} must be a positive number of seconds")
        return problems

    @property
    def is_live(self) -> bool:
        """Only the production environment moves real money."""
        return self.environment == "production"

    def has_webhook_credentials(self) -> bool:
        return bool(self.signature_keys)

    def _ensure_configured(self) -> None:
        if self._problems:
            raise ProviderConfigurationError(
                _(
                    "The Checkout.com backend %(alias)s is misconfigured: %(problems)s. "
                    "Run manage.py check for details."
                )
                % {"alias": self.alias, "problems": "; ".join(self._problems)}
            )

    # HTTP -----------------------------------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        operation: str,
        *,
        body: Any = None,
        idempotency_key: str = "",
    ) -> HttpResponse:
        headers = {IDEMPOTENCY_HEADER: idempotency_key} if idempotency_key else {}
        response = self.client.request(method, path, json_body=body, headers=headers)
        if not 200 <= response.status_code < 300:
            self._raise_for(response, operation)
        return response

    def _json_object(self, response: HttpResponse, operation: str) -> Mapping[str, Any]:
        try:
            data = response.json()
        except ValueError:
            data = None
        if not isinstance(data, Mapping):
            raise OutcomeUnknown(
                _(
                    "Checkout.com answered HTTP %(status)s while %(operation)s, but the answer "
                    "could not be read; the outcome is unknown."
                )
                % {"status": response.status_code, "operation": operation},
                status_code=response.status_code,
                request_id=_header(response.headers, REQUEST_ID_HEADER),
            )
        return data

    def _raise_for(self, response: HttpResponse, operation: str) -> NoReturn:
        """Turn an error answer into the ProviderError subclass it means."""
        try:
            payload = _mapping(response.json())
        except ValueError:
            payload = {}
        status = response.status_code
        request_id = _str(payload.get("request_id")) or _header(response.headers, REQUEST_ID_HEADER)
        error_type = _str(payload.get("error_type"))
        raw_codes = payload.get("error_codes")
        codes = tuple(
            code for code in (raw_codes if isinstance(raw_codes, list) else []) if _str(code)
        )
        details = ", ".join(codes) or error_type or _("no error code given")
        suffix = (
            " " + _("Checkout.com request id: %(request_id)s.") % {"request_id": request_id}
            if request_id
            else ""
        )
        values = {"operation": operation, "status": status, "details": details}
        kwargs: dict[str, Any] = {
            "status_code": status,
            "request_id": request_id,
            "codes": codes or ((error_type,) if error_type else ()),
        }
        error: ProviderError
        if status == 401:
            error = ProviderConfigurationError(
                _(
                    "Checkout.com did not accept the API key while %(operation)s (HTTP 401). "
                    "Check SECRET_KEY (a sandbox key, sk_sbox_..., works only with ENVIRONMENT "
                    "'sandbox'), ENVIRONMENT and SUBDOMAIN_PREFIX."
                )
                % values
                + suffix,
                **kwargs,
            )
        elif status == 403:
            error = ProviderConfigurationError(
                _(
                    "Checkout.com refused permission while %(operation)s (HTTP 403). Check that "
                    "SECRET_KEY is allowed to use this API, that PROCESSING_CHANNEL_ID belongs to "
                    "the same account and has KakaoPay enabled, and that SUBDOMAIN_PREFIX and "
                    "ENVIRONMENT match the key. A refund the payment cannot take is refused "
                    "with 403 too."
                )
                % values
                + suffix,
                **kwargs,
            )
        elif HttpClient.outcome_is_unknown(status) or status < 400:
            error = OutcomeUnknown(
                _(
                    "Checkout.com answered HTTP %(status)s while %(operation)s (%(details)s); "
                    "the outcome is unknown and will be reconciled."
                )
                % values
                + suffix,
                **kwargs,
            )
        elif status == 404:
            error = ProviderRejected(
                _("Checkout.com found nothing while %(operation)s (HTTP 404).") % values + suffix,
                **kwargs,
            )
        else:
            error = ProviderRejected(
                _(
                    "Checkout.com rejected the request while %(operation)s (HTTP %(status)s): %(details)s."
                )
                % values
                + suffix,
                **kwargs,
            )
        raise error

    # one-time payments -------------------------------------------------------

    def create_payment(self, request: PaymentRequest) -> RedirectInstruction:
        self._ensure_configured()
        terminal_type, os_type = self._terminal(request)
        operation = _("creating the payment setup")
        setup_response = self._call(
            "POST",
            "/payments/setups",
            operation,
            body=self.setup_body(request, terminal_type, os_type),
            idempotency_key=request.idempotency_key,
        )
        setup = self._json_object(setup_response, operation)
        setup_id = _str(setup.get("id"))
        if not setup_id:
            raise OutcomeUnknown(
                _("Checkout.com created a payment setup but sent no id; the outcome is unknown."),
                status_code=setup_response.status_code,
                request_id=_header(setup_response.headers, REQUEST_ID_HEADER),
            )
        self._ensure_ready(setup, setup_response)

        operation = _("confirming the payment setup")
        confirm_response = self._call(
            "POST",
            f"/payments/setups/{quote(setup_id, safe='')}/confirm/{PAYMENT_METHOD}",
            operation,
            idempotency_key=f"{request.idempotency_key}:confirm",
        )
        confirmed = self._json_object(confirm_response, operation)
        raw: dict[str, Any] = {"setup": setup, "confirm": confirmed}

        # Newer API versions answer with the setup and its ``latest_payment``;
        # older ones (and the KakaoPay guide) with the payment itself.
        latest = confirmed.get("latest_payment")
        payment = latest if isinstance(latest, Mapping) else confirmed
        payment_id = _str(payment.get("id"))
        if payment is confirmed and payment_id == setup_id:
            payment_id = ""
        provider_status = _str(payment.get("status"))
        self._reject_if_unsuccessful(payment, confirm_response)

        url = _href(payment, "redirect") or _href(confirmed, "redirect")
        if not url and payment_id:
            fetched = self._get_payment(payment_id)
            raw["payment"] = fetched
            provider_status = _str(fetched.get("status")) or provider_status
            self._reject_if_unsuccessful(fetched, confirm_response)
            url = _href(fetched, "redirect")
        if not url:
            raise OutcomeUnknown(
                _(
                    "Checkout.com confirmed payment setup %(setup)s but sent no link to "
                    "KakaoPay; the payment will be reconciled."
                )
                % {"setup": setup_id},
                status_code=confirm_response.status_code,
                request_id=_header(confirm_response.headers, REQUEST_ID_HEADER),
            )
        currency = _str(setup.get("currency"))
        return RedirectInstruction(
            url,
            PaymentSnapshot(
                status=PaymentStatus.PENDING,
                provider_status=provider_status,
                provider_payment_id=payment_id,
                provider_session_id=setup_id,
                reference=request.reference,
                amount=_int(setup.get("amount")),
                currency=currency or None,
                raw=_scrub(raw),
            ),
        )

    def setup_body(
        self, request: PaymentRequest, terminal_type: str, os_type: str
    ) -> dict[str, Any]:
        """The ``POST /payments/setups`` body for ``request``."""
        body: dict[str, Any] = {
            "amount": request.amount,  # minor units: KRW has none, 11000 is ₩11,000
            "currency": request.currency,
            "reference": request.reference,
        }
        if request.description:
            body["description"] = request.description[:100]
        body["processing_channel_id"] = self.processing_channel_id
        customer = self._customer(request.customer)
        if customer:
            body["customer"] = customer
        if request.customer.country:
            body["billing"] = {"address": {"country": request.customer.country.upper()}}
        items = [
            {
                "name": item.name,
                "quantity": item.quantity,
                "unit_price": item.unit_price,
                **({"reference": item.reference} if item.reference else {}),
            }
            for item in request.items
        ]
        if not items:
            # KakaoPay shows the order to the customer; describe it as one line.
            items = [
                {
                    "name": request.description or request.reference,
                    "quantity": 1,
                    "unit_price": request.amount,
                }
            ]
        body["order"] = {"items": items}
        method: dict[str, str] = {"terminal_type": terminal_type}
        if os_type:
            method["os_type"] = os_type
        body["payment_methods"] = {PAYMENT_METHOD: method}
        # Both lead to the return view, which pulls the true state.
        body["settings"] = {"success_url": request.return_url, "failure_url": request.return_url}
        return body

    @staticmethod
    def _customer(customer: Customer) -> dict[str, Any]:
        result: dict[str, Any] = {}
        if customer.name:
            result["name"] = customer.name[:100]
        if customer.email:
            result["email"] = {"address": customer.email}
        phone = _phone(customer.phone) if customer.phone else None
        if phone:
            result["phone"] = phone
        return result

    def _terminal(self, request: PaymentRequest) -> tuple[str, str]:
        """The terminal type and OS type to send for ``request``.

        The payment's own terminal type wins (the services layer sets ``wap``
        for phone browsers); ``TERMINAL_TYPE`` is the default. ``wap`` and
        ``app`` need an OS: the request's, else ``OS_TYPE``. A mobile-browser
        payment whose OS is unknown falls back to ``web`` (KakaoPay's QR code
        or KakaoTalk message page), which works on any device.
        """
        requested = (request.terminal_type or "").strip().lower()
        terminal = requested if requested in TERMINAL_TYPES else self.default_terminal_type
        if terminal == TerminalType.WEB:
            return terminal, ""
        requested_os = (request.os_type or "").strip().lower()
        os_type = requested_os if requested_os in OS_TYPES else self.default_os_type
        if os_type:
            return terminal, os_type
        if terminal == TerminalType.WAP:
            logger.info(
                "Payment %s: no OS type for a mobile-browser payment and no OS_TYPE option; "
                "using terminal type 'web'.",
                request.reference,
            )
            return TerminalType.WEB, ""
        raise ProviderConfigurationError(
            _(
                "A KakaoPay payment in an app (terminal type 'app') needs the customer's "
                "operating system: set OS_TYPE ('ios' or 'android') in the options of the "
                "Checkout.com backend %(alias)s."
            )
            % {"alias": self.alias}
        )

    def _ensure_ready(self, setup: Mapping[str, Any], response: HttpResponse) -> None:
        request_id = _header(response.headers, REQUEST_ID_HEADER)
        method = _mapping(setup.get("payment_methods")).get(PAYMENT_METHOD)
        if not isinstance(method, Mapping):
            available = setup.get("available_payment_methods")
            names = ", ".join(str(n) for n in available) if isinstance(available, list) else ""
            raise ProviderRejected(
                _(
                    "KakaoPay is not available on this Checkout.com processing channel "
                    "(available methods: %(methods)s). Ask your Checkout.com account manager "
                    "to enable KakaoPay."
                )
                % {"methods": names or _("none")},
                status_code=response.status_code,
                request_id=request_id,
            )
        status = _str(method.get("status"))
        if status.lower() == "ready":
            return
        raw_flags = method.get("flags")
        flags = tuple(
            flag if isinstance(flag, str) else json.dumps(flag, sort_keys=True)
            for flag in (raw_flags if isinstance(raw_flags, list) else [])
        )
        raise ProviderRejected(
            _(
                "Checkout.com cannot take this KakaoPay payment: the kakaopay payment method "
                "is %(status)s, not ready (flags: %(flags)s)."
            )
            % {"status": status or _("missing"), "flags": ", ".join(flags) or _("none")},
            status_code=response.status_code,
            request_id=request_id,
            codes=flags,
        )

    def _reject_if_unsuccessful(self, payment: Mapping[str, Any], response: HttpResponse) -> None:
        raw_status = _str(payment.get("status"))
        if map_payment_status(raw_status) not in UNSUCCESSFUL_STATUSES:
            return
        code = _str(payment.get("response_code"))
        summary = _str(payment.get("response_summary"))
        raise ProviderRejected(
            _("Checkout.com did not start the KakaoPay payment: it is %(status)s%(summary)s.")
            % {"status": raw_status, "summary": f" ({summary})" if summary else ""},
            status_code=response.status_code,
            request_id=_header(response.headers, REQUEST_ID_HEADER),
            codes=(code,) if code else (),
        )

    def fetch_payment(self, ref: PaymentRef) -> PaymentSnapshot:
        self._ensure_configured()
        payment_id = ref.provider_payment_id
        session_id = ref.provider_session_id
        if payment_id.startswith("set_") and not session_id:
            payment_id, session_id = "", payment_id
        data = self._get_payment(payment_id) if payment_id else self._find_payment(ref)
        return self._payment_snapshot(data, session_id)

    def _get_payment(self, payment_id: str) -> Mapping[str, Any]:
        operation = _("getting payment %(id)s") % {"id": payment_id}
        response = self._call("GET", f"/payments/{quote(payment_id, safe='')}", operation)
        return self._json_object(response, operation)

    def _find_payment(self, ref: PaymentRef) -> Mapping[str, Any]:
        """Find a payment whose creation timed out (no ``pay_`` id stored).

        Both look-ups are inferred from Checkout.com's SDKs and API reference,
        not documented for KakaoPay: the setup's ``latest_payment``, then the
        payment list filtered by reference.
        """
        if ref.provider_session_id:
            operation = _("getting payment setup %(id)s") % {"id": ref.provider_session_id}
            try:
                response = self._call(
                    "GET", f"/payments/setups/{quote(ref.provider_session_id, safe='')}", operation
                )
            except ProviderRejected as exc:
                if exc.status_code != 404:
                    raise
            else:
                setup = self._json_object(response, operation)
                latest = _mapping(setup.get("latest_payment"))
                latest_id = _str(latest.get("id"))
                if latest_id:
                    return self._get_payment(latest_id)
        if ref.reference:
            operation = _("searching payments by reference %(reference)s") % {
                "reference": ref.reference
            }
            query = urlencode({"reference": ref.reference})
            response = self._call("GET", f"/payments?{query}", operation)
            try:
                listing = response.json()
            except ValueError:
                listing = None
            rows = listing.get("data") if isinstance(listing, Mapping) else listing
            candidates = [
                row
                for row in (rows if isinstance(rows, list) else [])
                if isinstance(row, Mapping)
                and _str(row.get("reference")) == ref.reference
                and _str(row.get("id"))
            ]
            if candidates:
                return self._get_payment(_str(self._best_match(candidates, ref).get("id")))
        raise ProviderRejected(
            _("Checkout.com has no payment for reference %(reference)s.")
            % {"reference": ref.reference},
            status_code=404,
        )

    @staticmethod
    def _best_match(candidates: list[Mapping[str, Any]], ref: PaymentRef) -> Mapping[str, Any]:
        """Of several payments with one reference, the one that took money, else the newest."""

        def rank(row: Mapping[str, Any]) -> tuple[int, int, str]:
            status = map_payment_status(_str(row.get("status")))
            same_money = _int(row.get("amount")) in (None, ref.amount) and _str(
                row.get("currency")
            ).upper() in ("", ref.currency.upper())
            taken = status in (
                PaymentStatus.PAID,
                PaymentStatus.PARTIALLY_REFUNDED,
                PaymentStatus.REFUNDED,
            )
            return (
                int(same_money),
                2 if taken else int(status is not None),
                _str(row.get("requested_on")),
            )

        return max(candidates, key=rank)

    def _payment_snapshot(self, data: Mapping[str, Any], session_id: str = "") -> PaymentSnapshot:
        # A pull is the provider's present state: it carries no event time.
        raw_status = _str(data.get("status"))
        status = map_payment_status(raw_status)
        refunded = _int(_mapping(data.get("balances")).get("total_refunded"))
        if status == PaymentStatus.PARTIALLY_REFUNDED and refunded is None:
            # The refunded total is unknown: only record that the money was taken.
            status = PaymentStatus.PAID
        currency = _str(data.get("currency"))
        return PaymentSnapshot(
            status=status,
            provider_status=raw_status,
            provider_payment_id=_str(data.get("id")),
            provider_session_id=session_id,
            reference=_str(data.get("reference")),
            amount=_int(data.get("amount")),
            currency=currency or None,
            refunded_amount=refunded,
            message=_str(data.get("response_summary")),
            raw=_scrub(data),
        )

    def refund_payment(self, request: RefundRequest) -> RefundSnapshot:
        self._ensure_configured()
        payment_id = request.payment.provider_payment_id
        if not payment_id or payment_id.startswith("set_"):
            payment_id = _str(self._find_payment(request.payment).get("id"))
        operation = _("refunding payment %(id)s") % {"id": payment_id}
        response = self._call(
            "POST",
            f"/payments/{quote(payment_id, safe='')}/refunds",
            operation,
            body={"amount": request.amount, "reference": request.reference},
            idempotency_key=request.idempotency_key,
        )
        try:
            data = _mapping(response.json())
        except ValueError:
            data = {}  # 202 Accepted is enough: the refund is pending either way
        return RefundSnapshot(
            status=RefundStatus.PENDING,
            provider_refund_id=_str(data.get("action_id")),
            reference=request.reference,
            provider_payment_id=payment_id,
            payment_reference=request.payment.reference,
            raw=_scrub(data),
        )

    # notifications -----------------------------------------------------------

    def verify_webhook(
        self, body: bytes, headers: Mapping[str, str], remote_addr: str | None = None
    ) -> None:
        if self.webhook_authorization:
            received = _header(headers, AUTHORIZATION_HEADER)
            if not received:
                raise WebhookAuthenticationError(_("The Authorization header is missing."))
            if not hmac.compare_digest(
                received.encode("utf-8"), self.webhook_authorization.encode("utf-8")
            ):
                raise WebhookAuthenticationError(
                    _("The Authorization header does not match WEBHOOK_AUTHORIZATION.")
                )
        if not self.signature_keys:
            raise WebhookAuthenticationError(
                _("No WEBHOOK_SIGNATURE_KEYS are configured, so no notification can be verified.")
            )
        signature = _header(headers, SIGNATURE_HEADER).strip().lower().encode("utf-8")
        if not signature:
            raise WebhookAuthenticationError(_("The Cko-Signature header is missing."))
        # Compare with every key, without stopping early.
        matches = [
            hmac.compare_digest(signature, sign_webhook(key, body).encode("ascii"))
            for key in self.signature_keys
        ]
        if not any(matches):
            raise WebhookAuthenticationError(
                _("The Cko-Signature header does not match any WEBHOOK_SIGNATURE_KEYS.")
            )

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> ParsedWebhook:
        event = read_json(body, "Checkout.com")
        if not isinstance(event, dict):
            raise MalformedWebhook(_("The Checkout.com notification is not a JSON object."))
        event_id = _str(event.get("id"))
        event_type = _str(event.get("type"))
        if not event_id or not event_type:
            raise MalformedWebhook(_("The Checkout.com notification has no id or type."))
        occurred_at = parse_iso_time(event.get("created_on")) or parse_iso_time(
            event.get("timestamp")
        )
        if event_type not in PAYMENT_EVENTS and event_type not in REFUND_EVENTS:
            return ParsedWebhook(event_id, event_type, (), occurred_at)

        data = event.get("data")
        if not isinstance(data, dict):
            raise MalformedWebhook(
                _("The Checkout.com notification %(id)s has no data object.") % {"id": event_id},
                event_id=event_id,
            )
        payment_id = _str(data.get("id"))
        reference = _str(data.get("reference"))
        if not payment_id and not reference:
            raise MalformedWebhook(
                _("The Checkout.com notification %(id)s names no payment.") % {"id": event_id},
                event_id=event_id,
            )
        amount = _int(data.get("amount"))
        currency = _str(data.get("currency")) or None
        if (data.get("amount") is not None and amount is None) or (
            data.get("currency") is not None and not isinstance(data.get("currency"), str)
        ):
            # An amount we cannot read must never pass as "not stated".
            raise MalformedWebhook(
                _("The Checkout.com notification %(id)s has an unreadable amount or currency.")
                % {"id": event_id},
                event_id=event_id,
            )
        summary = _str(data.get("response_summary"))
        raw = _scrub(event)
        update: Snapshot
        if event_type in PAYMENT_EVENTS:
            # data.amount is the payment's amount here.
            update = PaymentSnapshot(
                status=PAYMENT_EVENTS[event_type],
                provider_status=event_type,
                provider_payment_id=payment_id,
                reference=reference,
                amount=amount,
                currency=currency,
                occurred_at=occurred_at,
                message=summary,
                raw=raw,
            )
        else:
            # data.amount is the refund's amount. data.reference may be the
            # refund's own reference or the payment's (not documented): it is
            # offered as both, and the action id matches the refund anyway.
            update = RefundSnapshot(
                status=REFUND_EVENTS[event_type],
                provider_refund_id=_str(data.get("action_id")),
                reference=reference,
                provider_payment_id=payment_id,
                payment_reference=reference,
                amount=amount,
                currency=currency,
                occurred_at=occurred_at,
                message=summary,
                raw=raw,
            )
        return ParsedWebhook(event_id, event_type, (update,), occurred_at)

    def acknowledge(self, outcome: WebhookOutcome) -> WebhookAck:
        # Any 2xx stops Checkout.com's retries; duplicates and ignored types too.
        return WebhookAck(200, b"OK")

    def redact_headers(self, headers: Mapping[str, str]) -> dict[str, str]:
        secret = {AUTHORIZATION_HEADER.lower(), SIGNATURE_HEADER.lower()}
        return {
            name: value
            for name, value in super().redact_headers(headers).items()
            if name.lower() not in secret
        }
