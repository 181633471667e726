"""Checkout.com's statuses and event types, and ours for each.

Amounts need no map: Checkout.com counts them in the currency's minor unit,
as we do (``11000`` KRW is ₩11,000), so they pass through unchanged.
"""

from __future__ import annotations

from ...status import PaymentStatus, RefundStatus

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

# Webhook event types about a payment, and the payment status each means.
PAYMENT_EVENTS: dict[str, str] = {
    "payment_approved": PaymentStatus.PENDING,
    "payment_pending": PaymentStatus.PENDING,
    "payment_captured": PaymentStatus.PAID,
    "payment_paid": PaymentStatus.PAID,
    "payment_declined": PaymentStatus.FAILED,
    "payment_expired": PaymentStatus.EXPIRED,
    "payment_canceled": PaymentStatus.CANCELED,
}

# Webhook event types about a refund, and the refund status each means.
REFUND_EVENTS: dict[str, str] = {
    "payment_refunded": RefundStatus.SUCCEEDED,
    "payment_refund_declined": RefundStatus.FAILED,
    "payment_refund_pending": RefundStatus.PENDING,
}


def map_payment_status(raw: str) -> str | None:
    """Our status for a Checkout.com payment status, or ``None`` when unknown."""
    return PAYMENT_STATUS_MAP.get(" ".join(raw.replace("_", " ").lower().split()))
