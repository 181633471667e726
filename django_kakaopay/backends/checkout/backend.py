"""``CheckoutBackend``: the contract's methods, each handed to the module that does it.

options.py reads and checks the options, client.py calls the API,
payment_request.py builds the payment setup, payments.py starts, pulls and
refunds payments, notifications.py authenticates and reads webhooks, and
maps.py says what Checkout.com's statuses mean.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any, ClassVar

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy

from ..configuration import ProviderBackend
from ..types import (
    Capability,
    Customer,
    ParsedWebhook,
    PaymentRef,
    PaymentRequest,
    PaymentSnapshot,
    RedirectInstruction,
    RefundRequest,
    RefundSnapshot,
    WebhookAck,
    WebhookOutcome,
)
from .client import CheckoutApi, http_client
from .notifications import SECRET_HEADERS, parse_notification, verify_notification
from .options import OPTION_NAMES, REQUIRED_OPTIONS, CheckoutSettings, option_problems
from .payment_request import choose_terminal, customer_object, setup_body
from .payments import CheckoutPayments

MISCONFIGURED = gettext_lazy(
    "The Checkout.com backend %(alias)s is misconfigured: %(problems)s. "
    "Run manage.py check for details."
)


class CheckoutBackend(ProviderBackend):
    """KakaoPay through Checkout.com's Payment Setup API."""

    known_options: ClassVar[tuple[str, ...]] = OPTION_NAMES
    misconfigured: ClassVar[Promise] = MISCONFIGURED
    # Cko-Idempotency-Key values expire after 24 hours by default.
    idempotency_window: ClassVar[timedelta | None] = timedelta(hours=24)
    display_name: ClassVar[str] = "Checkout.com"
    # Checkout.com's KakaoPay page lists these processing currencies (KRW by
    # arrangement with the account manager).
    currencies: ClassVar[frozenset[str]] = frozenset({"KRW", "HKD", "SGD"})

    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {Capability.REFUNDS, Capability.PARTIAL_REFUNDS}
    )
    required_options: ClassVar[tuple[str, ...]] = REQUIRED_OPTIONS
    # Production moves real money, and the sandbox is Checkout.com's, not ours:
    # both need authenticated webhooks.
    is_sandbox_backend: ClassVar[bool] = False

    def __init__(self, alias: str, options: Mapping[str, Any]) -> None:
        super().__init__(alias, options)
        self.settings = CheckoutSettings.from_options(self.options)
        self.environment = self.settings.environment
        self.base_url = self.settings.base_url
        self.client = http_client(self.settings, self.options)
        self._payments = CheckoutPayments(CheckoutApi(self.client))

    # configuration ---------------------------------------------------------

    @classmethod
    def option_rules(cls, options: Mapping[str, Any]) -> list[str]:
        return option_problems(options)

    @property
    def is_live(self) -> bool:
        """Only the production environment moves real money."""
        return self.environment == "production"

    def has_webhook_credentials(self) -> bool:
        return bool(self.settings.signature_keys)

    # one-time payments -------------------------------------------------------

    def create_payment(self, request: PaymentRequest) -> RedirectInstruction:
        self._ensure_configured()
        terminal_type, os_type = choose_terminal(request, self.settings, self.alias)
        return self._payments.create(request, self.setup_body(request, terminal_type, os_type))

    def setup_body(
        self, request: PaymentRequest, terminal_type: str, os_type: str
    ) -> dict[str, Any]:
        """The ``POST /payments/setups`` body for ``request``."""
        return setup_body(
            request,
            terminal_type,
            os_type,
            processing_channel_id=self.settings.processing_channel_id,
        )

    @staticmethod
    def _customer(customer: Customer) -> dict[str, Any]:
        return customer_object(customer)

    def fetch_payment(self, ref: PaymentRef) -> PaymentSnapshot:
        self._ensure_configured()
        return self._payments.fetch(ref)

    def refund_payment(self, request: RefundRequest) -> RefundSnapshot:
        self._ensure_configured()
        return self._payments.refund(request)

    # notifications -----------------------------------------------------------

    def verify_webhook(
        self, body: bytes, headers: Mapping[str, str], remote_addr: str | None = None
    ) -> None:
        verify_notification(body, headers, self.settings)

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> ParsedWebhook:
        return parse_notification(body)

    def acknowledge(self, outcome: WebhookOutcome) -> WebhookAck:
        # Any 2xx stops Checkout.com's retries; duplicates and ignored types too.
        return WebhookAck(200, b"OK")

    def redact_headers(self, headers: Mapping[str, str]) -> dict[str, str]:
        return {
            name: value
            for name, value in super().redact_headers(headers).items()
            if name.lower() not in SECRET_HEADERS
        }
