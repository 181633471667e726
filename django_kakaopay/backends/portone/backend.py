"""``PortOneBackend``: KakaoPay through PortOne V2, each job handed to the module that does it.

options.py reads and checks the options, client.py calls the API,
checkout_page.py writes the browser SDK's call, payments.py looks payments
up, cancels them and charges billing keys, billing_keys.py proves and
deletes billing keys, notifications.py reads webhooks, signatures.py checks
them, and maps.py says what PortOne's statuses mean.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any, ClassVar

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy

from ...exceptions import ProviderConfigurationError, ProviderError
from ..base import BaseBackend
from ..configuration import ProviderBackend
from ..ip_allowlist import IPAddress, IpAllowlist
from ..types import (
    BrowserCheckout,
    Capability,
    ChargeRequest,
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
    WebhookAuth,
)
from .billing_keys import RETURN_PARAMETER, PortOneBillingKeys, waiting
from .checkout_page import billing_key_page, payment_page
from .client import PortOneApi, http_client
from .maps import billing_key_customer, billing_key_snapshot
from .notifications import (
    SECRET_HEADERS,
    STORED_HEADERS,
    notification_identity,
    parse_notification,
)
from .options import (
    OPTION_NAMES,
    REQUIRED_OPTIONS,
    PortOneSettings,
    option_problems,
    option_warnings,
)
from .payments import PortOnePayments
from .signatures import verify

MISCONFIGURED = gettext_lazy(
    "The PortOne backend %(alias)s is misconfigured: %(problems)s. Run manage.py check for details."
)
NO_BILLING_CHANNEL = gettext_lazy(
    "The PortOne backend %(alias)s has no BILLING_CHANNEL_KEY, so it offers no agreements."
)


class PortOneBackend(ProviderBackend):
    """KakaoPay through PortOne V2: the browser SDK, server look-ups and signed webhooks."""

    known_options: ClassVar[tuple[str, ...]] = OPTION_NAMES
    misconfigured: ClassVar[Promise] = MISCONFIGURED
    required_options: ClassVar[tuple[str, ...]] = REQUIRED_OPTIONS
    display_name: ClassVar[str] = "PortOne"
    # The KakaoPay channel takes won only.
    currencies: ClassVar[frozenset[str]] = frozenset({"KRW"})
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {Capability.REFUNDS, Capability.PARTIAL_REFUNDS, Capability.PREAPPROVALS}
    )
    # A cancel has no idempotency key: one that timed out is left for a
    # person rather than sent again (it could refund twice). Charges are safe
    # to send again: their paymentId is the charge's unique reference.
    idempotency_window: ClassVar[timedelta | None] = timedelta(0)
    webhook_auth: ClassVar[WebhookAuth] = WebhookAuth.BODY_SIGNATURE
    # The billing key the browser brings back; it is looked up, never trusted.
    return_parameters: ClassVar[tuple[str, ...]] = (RETURN_PARAMETER,)
    starts_in_browser: ClassVar[bool] = True
    stored_webhook_headers: ClassVar[tuple[str, ...]] = (
        *BaseBackend.stored_webhook_headers,
        *STORED_HEADERS,
    )

    def __init__(self, alias: str, options: Mapping[str, Any]) -> None:
        super().__init__(alias, options)
        self.settings = PortOneSettings.from_options(self.options)
        self.ip_allowlist = IpAllowlist.from_options(self.options)
        api = PortOneApi(http_client(self.settings, self.options))
        self._payments = PortOnePayments(api, self.settings.store_id, self.settings.environment)
        self._billing_keys = PortOneBillingKeys(api, self.settings.store_id)

    # configuration ---------------------------------------------------------

    @classmethod
    def option_rules(cls, options: Mapping[str, Any]) -> list[str]:
        return option_problems(options)

    @classmethod
    def option_advice(cls, options: Mapping[str, Any]) -> list[str]:
        return option_warnings(options)

    def supports(self, capability: Capability) -> bool:
        """Agreements only with a ``BILLING_CHANNEL_KEY``."""
        if capability == Capability.PREAPPROVALS and not self.settings.billing_channel_key:
            return False
        return super().supports(capability)

    @property
    def is_live(self) -> bool:
        """Real money unless the site says it takes payments on test channels."""
        return self.settings.environment != "test"

    def has_webhook_credentials(self) -> bool:
        return bool(self.settings.webhook_secrets)

    def _ensure_billing(self) -> None:
        self._ensure_configured()
        if not self.settings.billing_channel_key:
            raise ProviderConfigurationError(NO_BILLING_CHANNEL % {"alias": self.alias})

    # one-time payments -------------------------------------------------------

    def create_payment(self, request: PaymentRequest) -> RedirectInstruction:
        """Nothing to call: the customer creates the payment on our checkout page."""
        self._ensure_configured()
        snapshot = PaymentSnapshot(
            status=None,
            provider_status="READY",
            provider_payment_id=request.reference,
            reference=request.reference,
        )
        return RedirectInstruction(request.checkout_url, snapshot)

    def browser_checkout(self, request: PaymentRequest | PreapprovalRequest) -> BrowserCheckout:
        self._ensure_configured()
        if isinstance(request, PaymentRequest):
            return payment_page(request, self.settings)
        self._ensure_billing()
        return billing_key_page(request, self.settings)

    def fetch_payment(self, ref: PaymentRef) -> PaymentSnapshot:
        self._ensure_configured()
        return self._payments.fetch(ref)

    def refund_payment(self, request: RefundRequest) -> RefundSnapshot:
        self._ensure_configured()
        return self._payments.refund(request)

    # agreements (billing keys) -------------------------------------------------

    def create_preapproval(self, request: PreapprovalRequest) -> PreapprovalRedirect:
        """Nothing to call: the customer issues the billing key on our checkout page."""
        self._ensure_billing()
        ref = PreapprovalRef(reference=request.reference)
        return PreapprovalRedirect(request.checkout_url, waiting(ref))

    def complete_preapproval_return(
        self, ref: PreapprovalRef, params: Mapping[str, str]
    ) -> PreapprovalSnapshot:
        self._ensure_billing()
        return self._billing_keys.complete(ref, params)

    def fetch_preapproval(self, ref: PreapprovalRef) -> PreapprovalSnapshot:
        self._ensure_billing()
        return self._billing_keys.fetch(ref)

    def charge_preapproval(self, request: ChargeRequest) -> PaymentSnapshot:
        self._ensure_billing()
        return self._payments.charge(
            request, request.preapproval.provider_preapproval_id, self.settings.billing_channel_key
        )

    def cancel_preapproval(self, ref: PreapprovalRef) -> PreapprovalSnapshot:
        self._ensure_billing()
        return self._billing_keys.cancel(ref)

    # notifications -----------------------------------------------------------

    def verify_webhook(
        self, body: bytes, headers: Mapping[str, str], remote_addr: str | None = None
    ) -> None:
        self.ip_allowlist.check(remote_addr, headers)
        verify(body, headers, self.settings.webhook_secrets, tolerance=self.settings.tolerance)

    def client_ip(self, remote_addr: str | None, headers: Mapping[str, str]) -> IPAddress | None:
        return self.ip_allowlist.client_ip(remote_addr, headers)

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> ParsedWebhook:
        return parse_notification(
            body, headers, self.settings.store_id, self._event_payment, self._event_billing_key
        )

    def notification_identity(self, body: bytes, headers: Mapping[str, str]) -> tuple[str, str]:
        return notification_identity(body, headers)

    def _event_payment(self, payment_id: str) -> PaymentSnapshot:
        self._ensure_configured()
        ref = PaymentRef(reference=payment_id, amount=0, currency="KRW")
        return self._payments.fetch(ref)

    def _event_billing_key(self, billing_key: str) -> PreapprovalSnapshot | None:
        self._ensure_configured()
        try:
            data = self._billing_keys.look_up(billing_key)
        except ProviderError as exc:
            if exc.status_code == 404:
                return None
            raise
        if data.get("storeId") != self.settings.store_id or not billing_key_customer(data):
            return None
        return billing_key_snapshot(data, billing_key_customer(data))

    def redact_headers(self, headers: Mapping[str, str]) -> dict[str, str]:
        return {
            name: value
            for name, value in super().redact_headers(headers).items()
            if name.lower() not in SECRET_HEADERS
        }
