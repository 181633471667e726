"""The contract's vocabulary: the plain values backends and the services exchange.

Requests the services hand a backend, references to objects at the provider,
the snapshots a backend returns, and the enums both sides name. Nothing here
knows a provider, a model or a request, so models, the admin and the API
import these without importing any backend.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..exceptions import KakaoPayError

JSON = Mapping[str, Any]


class Capability(enum.StrEnum):
    REFUNDS = "refunds"
    PARTIAL_REFUNDS = "partial_refunds"
    PREAPPROVALS = "preapprovals"


class TerminalType(enum.StrEnum):
    """Where the customer pays: KakaoPay shows a different flow to each."""

    WEB = "web"  # PC browser: QR code or KakaoTalk message
    WAP = "wap"  # mobile browser: opens the KakaoTalk payment page
    APP = "app"  # the merchant's native app


class NotSupported(KakaoPayError):
    """The backend does not offer this operation."""


# -- what the services layer sends ------------------------------------------


@dataclass(frozen=True)
class Customer:
    name: str = ""
    email: str = ""
    phone: str = ""
    country: str = ""


@dataclass(frozen=True)
class LineItem:
    name: str
    quantity: int
    unit_price: int
    reference: str = ""

    @property
    def total(self) -> int:
        return self.quantity * self.unit_price


@dataclass(frozen=True)
class PaymentRequest:
    reference: str
    amount: int
    currency: str
    idempotency_key: str
    return_url: str
    notification_url: str
    description: str = ""
    items: tuple[LineItem, ...] = ()
    customer: Customer = field(default_factory=Customer)
    # Empty when neither the shop nor the customer's browser said: the
    # backend then uses its own default.
    terminal_type: str = ""
    os_type: str = ""
    # The part of ``amount`` exempt from VAT, and the VAT in it when the shop
    # states it (providers that compute VAT themselves take ``None``).
    tax_free_amount: int = 0
    vat_amount: int | None = None
    # Our checkout page of this payment: where a provider whose script starts
    # the payment in the browser (``BrowserCheckout``) sends the customer.
    checkout_url: str = ""


@dataclass(frozen=True)
class PaymentRef:
    """Enough to find a payment at the provider, even if its creation timed out."""

    reference: str
    amount: int
    currency: str
    provider_payment_id: str = ""
    provider_session_id: str = ""
    idempotency_key: str = ""
    # The agreement's reference when the payment is a charge on one (its
    # first payment included): some providers look charges up differently.
    preapproval_reference: str = ""


@dataclass(frozen=True)
class RefundRequest:
    payment: PaymentRef
    reference: str
    amount: int
    idempotency_key: str
    reason: str = ""


@dataclass(frozen=True)
class PreapprovalRequest:
    reference: str
    currency: str
    idempotency_key: str
    return_url: str
    notification_url: str
    description: str = ""
    customer: Customer = field(default_factory=Customer)
    max_amount: int | None = None
    terminal_type: str = TerminalType.WEB
    os_type: str = ""
    # For providers whose agreement is made by a first payment: its amount
    # (the billing plan's) and its reference (the first period's charge).
    first_amount: int | None = None
    first_reference: str = ""
    checkout_url: str = ""


@dataclass(frozen=True)
class PreapprovalRef:
    reference: str
    provider_preapproval_id: str = ""
    idempotency_key: str = ""
    # What the provider last said about the agreement (its ids before the
    # agreement's own one, for instance).
    provider_payload: JSON = field(default_factory=dict)


@dataclass(frozen=True)
class ChargeRequest:
    preapproval: PreapprovalRef
    reference: str
    amount: int
    currency: str
    idempotency_key: str
    notification_url: str
    description: str = ""
    customer: Customer = field(default_factory=Customer)
    tax_free_amount: int = 0
    vat_amount: int | None = None


# -- what a backend answers ---------------------------------------------------


@dataclass(frozen=True)
class PaymentSnapshot:
    """What the provider says about one payment, from a pull or a notification.

    ``status`` is one of ours (``PaymentStatus``) or ``None`` when the
    provider's value is unknown; ``provider_status`` is always the raw value.
    ``amount``/``currency`` are ``None`` when the provider did not say.
    """

    status: str | None
    provider_status: str = ""
    provider_payment_id: str = ""
    provider_session_id: str = ""
    reference: str = ""
    amount: int | None = None
    currency: str | None = None
    refunded_amount: int | None = None
    occurred_at: datetime | None = None
    message: str = ""
    raw: JSON = field(default_factory=dict)
    # What the provider says the customer may read about a failure (see
    # ``readers.customer_text``); shown on the result page.
    customer_message: str = ""


@dataclass(frozen=True)
class RefundSnapshot:
    status: str | None
    provider_refund_id: str = ""
    reference: str = ""
    provider_payment_id: str = ""
    payment_reference: str = ""
    amount: int | None = None
    currency: str | None = None
    occurred_at: datetime | None = None
    message: str = ""
    raw: JSON = field(default_factory=dict)


@dataclass(frozen=True)
class PreapprovalSnapshot:
    status: str | None
    provider_status: str = ""
    provider_preapproval_id: str = ""
    reference: str = ""
    occurred_at: datetime | None = None
    message: str = ""
    raw: JSON = field(default_factory=dict)
    # The payment that made the agreement, when the provider takes one: the
    # services record it as the charge of the plan's first period.
    first_charge: PaymentSnapshot | None = None
    customer_message: str = ""


Snapshot = PaymentSnapshot | RefundSnapshot | PreapprovalSnapshot


@dataclass(frozen=True)
class RedirectInstruction:
    """Send the customer to ``url``; ``snapshot`` holds the provider's ids."""

    url: str
    snapshot: PaymentSnapshot


@dataclass(frozen=True)
class BrowserCheckout:
    """A page of ours whose script starts the payment in the provider's browser SDK.

    The checkout view renders ``template`` with ``sdk_url`` (the script to
    load), ``sdk_global.method`` (the SDK function to call) and ``arguments``
    (its one argument, written into the page as JSON). Nothing secret may be in them:
    all of it reaches the customer's browser.
    """

    sdk_url: str
    # The SDK's global object and the function of it to call.
    sdk_global: str
    method: str
    arguments: JSON
    template: str = "django_kakaopay/browser_checkout.html"


@dataclass(frozen=True)
class PreapprovalRedirect:
    url: str
    snapshot: PreapprovalSnapshot


@dataclass(frozen=True)
class ParsedWebhook:
    """A verified notification turned into normalized updates.

    An empty ``updates`` means the event type is not one we act on; it is
    stored as ignored and acknowledged.
    """

    event_id: str
    event_type: str
    updates: tuple[Snapshot, ...] = ()
    occurred_at: datetime | None = None


@dataclass(frozen=True)
class WebhookAck:
    status_code: int = 200
    body: bytes = b""
    content_type: str = "text/plain; charset=utf-8"


class WebhookAuth(enum.StrEnum):
    """How a provider's notifications prove where they come from.

    The conformance kit checks each kind for what it can promise: a body
    signature makes any change to the bytes detectable; a header credential
    (HTTP Basic, a shared token) authenticates the sender only, so a changed
    body is caught by the amount checks, not by the backend.
    """

    BODY_SIGNATURE = "body_signature"
    HEADER_CREDENTIAL = "header_credential"
    # The provider sends no notifications at all (KakaoPay's own API): every
    # delivery is refused, and the outcome comes from the return and pulls.
    NONE = "none"


class WebhookOutcome(enum.StrEnum):
    PROCESSED = "processed"
    DUPLICATE = "duplicate"
    IGNORED = "ignored"
