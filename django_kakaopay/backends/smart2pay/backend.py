"""``Smart2PayBackend``: the contract's methods, each handed to the module that does it.

options.py reads and checks the options, client.py calls the API,
payments.py builds and starts payments, refunds.py refunds them,
preapprovals.py handles agreements and their charges, customer.py sends the
customer, notifications.py authenticates and reads notifications, and
maps.py turns Smart2Pay's statuses and amounts into ours.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy

from ..configuration import ProviderBackend
from ..ip_allowlist import IPAddress, IpAllowlist
from ..types import (
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
    WebhookAck,
    WebhookAuth,
    WebhookOutcome,
)
from .client import Smart2PayApi, http_client, merchant_id
from .maps import AmountScale, payment_snapshot, preapproval_snapshot, refund_snapshot
from .notifications import parse_notification, verify_credentials
from .options import (
    OPTION_NAMES,
    REQUIRED_OPTIONS,
    Smart2PaySettings,
    amount_warnings,
    option_problems,
)
from .payments import Smart2PayPayments, payment_body
from .preapprovals import Smart2PayPreapprovals, preapproval_body
from .refunds import Smart2PayRefunds

MISCONFIGURED = gettext_lazy(
    "The Smart2Pay backend %(alias)s is misconfigured: %(problems)s. "
    "Run manage.py check for details."
)


class Smart2PayBackend(ProviderBackend):
    """KakaoPay (method 1135) through Smart2Pay's REST API."""

    known_options: ClassVar[tuple[str, ...]] = OPTION_NAMES
    misconfigured: ClassVar[Promise] = MISCONFIGURED
    display_name: ClassVar[str] = "Smart2Pay"

    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {Capability.REFUNDS, Capability.PARTIAL_REFUNDS, Capability.PREAPPROVALS}
    )
    required_options: ClassVar[tuple[str, ...]] = REQUIRED_OPTIONS
    is_sandbox_backend: ClassVar[bool] = False
    # HTTP Basic credentials (and optionally the sender's address), no body signature.
    webhook_auth: ClassVar[WebhookAuth] = WebhookAuth.HEADER_CREDENTIAL

    def __init__(self, alias: str, options: Mapping[str, Any]) -> None:
        super().__init__(alias, options)
        self.settings = Smart2PaySettings.from_options(self.options)
        self.environment = self.settings.environment
        self.base_url = self.settings.base_url
        self.ip_allowlist = IpAllowlist.from_options(self.options)
        self.amounts = AmountScale(self.settings.amount_exponents)
        self.client = http_client(self.settings, self.options)
        api = Smart2PayApi(self.client)
        self._payments = Smart2PayPayments(api, self.amounts)
        self._refunds = Smart2PayRefunds(api, self.amounts, self._payments)
        self._preapprovals = Smart2PayPreapprovals(
            api, self.amounts, self._payments, self.settings.method_id
        )

    # configuration -----------------------------------------------------------

    @classmethod
    def option_advice(cls, options: Mapping[str, Any]) -> list[str]:
        return amount_warnings(options)

    @classmethod
    def option_rules(cls, options: Mapping[str, Any]) -> list[str]:
        return option_problems(options)

    @property
    def is_live(self) -> bool:
        """Only the live environment moves real money."""
        return self.environment == "live"

    def has_webhook_credentials(self) -> bool:
        return bool(self.settings.site_id and self.settings.api_key)

    # amounts -------------------------------------------------------------------

    def provider_exponent(self, currency: str) -> int:
        """Implied decimals of Smart2Pay's ``Amount`` in ``currency``."""
        return self.amounts.provider_exponent(currency)

    def to_provider_amount(self, amount: int, currency: str) -> int:
        """Our minor units (ISO 4217) to Smart2Pay's ``Amount``."""
        return self.amounts.to_provider(amount, currency)

    def from_provider_amount(self, value: object, currency: str) -> int | None:
        """Smart2Pay's ``Amount`` in our minor units; ``None`` when absent."""
        return self.amounts.from_provider(value, currency)

    # one-time payments and refunds -----------------------------------------------

    def create_payment(self, request: PaymentRequest) -> RedirectInstruction:
        self._ensure_configured()
        transaction_id = merchant_id(request.reference, request.idempotency_key)
        body = self.payment_body(request, transaction_id)
        return self._payments.create(request, transaction_id, body)

    def payment_body(self, request: PaymentRequest, transaction_id: str) -> dict[str, Any]:
        """The ``POST /v1/payments`` body for ``request``."""
        return payment_body(
            request, transaction_id, scale=self.amounts, method_id=self.settings.method_id
        )

    def fetch_payment(self, ref: PaymentRef) -> PaymentSnapshot:
        self._ensure_configured()
        return self._payments.fetch(ref)

    def payment_snapshot(self, data: Mapping[str, Any], **details: Any) -> PaymentSnapshot:
        """A Smart2Pay ``Payment`` object as a snapshot; ``details`` as in ``maps.payment_snapshot``."""
        return payment_snapshot(data, self.amounts, **details)

    def refund_payment(self, request: RefundRequest) -> RefundSnapshot:
        self._ensure_configured()
        return self._refunds.refund(request)

    def refund_snapshot(self, data: Mapping[str, Any], **details: Any) -> RefundSnapshot:
        """A Smart2Pay ``Refund`` object as a snapshot; ``details`` as in ``maps.refund_snapshot``."""
        return refund_snapshot(data, self.amounts, **details)

    # preapprovals and charges ----------------------------------------------------

    def create_preapproval(self, request: PreapprovalRequest) -> PreapprovalRedirect:
        self._ensure_configured()
        preapproval_id = merchant_id(request.reference, request.idempotency_key)
        body = self.preapproval_body(request, preapproval_id)
        return self._preapprovals.create(request, preapproval_id, body)

    def preapproval_body(self, request: PreapprovalRequest, preapproval_id: str) -> dict[str, Any]:
        """The ``POST /v1/preapprovals`` body for ``request``."""
        return preapproval_body(
            request,
            preapproval_id,
            scale=self.amounts,
            method_id=self.settings.method_id,
            frequency=self.settings.preapproval_frequency,
        )

    def fetch_preapproval(self, ref: PreapprovalRef) -> PreapprovalSnapshot:
        self._ensure_configured()
        return self._preapprovals.fetch(ref)

    def charge_preapproval(self, request: ChargeRequest) -> PaymentSnapshot:
        self._ensure_configured()
        return self._preapprovals.charge(request)

    def cancel_preapproval(self, ref: PreapprovalRef) -> PreapprovalSnapshot:
        self._ensure_configured()
        return self._preapprovals.cancel(ref)

    def preapproval_snapshot(self, data: Mapping[str, Any], **details: Any) -> PreapprovalSnapshot:
        """A Smart2Pay ``Preapproval`` object as a snapshot; ``details`` as in ``maps``."""
        return preapproval_snapshot(data, **details)

    # notifications -----------------------------------------------------------------

    def verify_webhook(
        self, body: bytes, headers: Mapping[str, str], remote_addr: str | None = None
    ) -> None:
        self.ip_allowlist.check(remote_addr, headers)
        verify_credentials(headers, self.settings)

    def client_ip(self, remote_addr: str | None, headers: Mapping[str, str]) -> IPAddress | None:
        """The notification's source address (see ``IpAllowlist.client_ip``)."""
        return self.ip_allowlist.client_ip(remote_addr, headers)

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> ParsedWebhook:
        return parse_notification(body, self.amounts)

    def acknowledge(self, outcome: WebhookOutcome) -> WebhookAck:
        # Smart2Pay requires 204 No Content; anything else is delivered again.
        return WebhookAck(204, b"")
