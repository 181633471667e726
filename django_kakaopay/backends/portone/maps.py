"""What PortOne's payment and billing-key objects mean in our vocabulary.

Payment statuses (``GET /payments/{paymentId}``): ``READY``, ``PAY_PENDING``
and ``VIRTUAL_ACCOUNT_ISSUED`` are pending, ``PAID`` paid, ``FAILED``
failed, ``PARTIAL_CANCELLED`` partially refunded and ``CANCELLED``
refunded. A status not listed here is stored and leaves the outcome open.
Amounts are ``amount.total`` (and ``amount.cancelled`` for refunds), in won.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...status import PaymentStatus, PreapprovalStatus, RefundStatus
from ..payloads import parse_iso_time, scrub
from ..readers import customer_text, integer, mapping, text
from ..types import PaymentSnapshot, PreapprovalSnapshot

PAYMENT_STATUS_MAP: dict[str, str] = {
    "READY": PaymentStatus.PENDING,
    "PAY_PENDING": PaymentStatus.PENDING,
    "VIRTUAL_ACCOUNT_ISSUED": PaymentStatus.PENDING,
    "PAID": PaymentStatus.PAID,
    "FAILED": PaymentStatus.FAILED,
    "PARTIAL_CANCELLED": PaymentStatus.PARTIALLY_REFUNDED,
    "CANCELLED": PaymentStatus.REFUNDED,
}
CANCELLATION_STATUS_MAP: dict[str, str] = {
    "SUCCEEDED": RefundStatus.SUCCEEDED,
    "REQUESTED": RefundStatus.PENDING,
    "FAILED": RefundStatus.FAILED,
}
# A billing key is ISSUED until it is DELETED; PENDING while it is being issued.
BILLING_KEY_STATUS_MAP: dict[str, str] = {
    "ISSUED": PreapprovalStatus.ACTIVE,
    "DELETED": PreapprovalStatus.CANCELED,
    "PENDING": PreapprovalStatus.PENDING,
}
# PortOne answers in ISO 4217 ("KRW"); its browser SDK names it "CURRENCY_KRW".
CURRENCY_PREFIX = "CURRENCY_"
# Values that would hand a reader the customer's way back in (and nothing else).
SCRUBBED_KEYS = frozenset({"redirectUrl", "noticeUrls", "customData"})
NOT_FOUND = "NOT_FOUND"
MONEY_TAKEN = frozenset(
    {PaymentStatus.PAID, PaymentStatus.PARTIALLY_REFUNDED, PaymentStatus.REFUNDED}
)


def currency_of(value: object) -> str | None:
    code = text(value).upper()
    if code.startswith(CURRENCY_PREFIX):
        code = code[len(CURRENCY_PREFIX) :]
    return code or None


def kept(data: Mapping[str, Any]) -> dict[str, Any]:
    return dict(scrub(dict(data), SCRUBBED_KEYS))


def payment_snapshot(data: Mapping[str, Any], reference: str = "") -> PaymentSnapshot:
    """A payment object as a snapshot; its store id is checked by the caller."""
    raw_status = text(data.get("status"))
    status = PAYMENT_STATUS_MAP.get(raw_status)
    amounts = mapping(data.get("amount"))
    total = integer(amounts.get("total"))
    cancelled = integer(amounts.get("cancelled"))
    if status in MONEY_TAKEN and total is None:
        # "Paid" without an amount we can check proves nothing: left open.
        status = None
    if status in (PaymentStatus.PARTIALLY_REFUNDED, PaymentStatus.REFUNDED) and cancelled is None:
        status = PaymentStatus.PAID  # money was taken; how much came back is not stated
    failure = mapping(data.get("failure"))
    return PaymentSnapshot(
        status=status,
        provider_status=raw_status[:64],
        provider_payment_id=text(data.get("id")) or reference,
        provider_session_id=text(data.get("transactionId")),
        reference=text(data.get("id")) or reference,
        amount=total,
        currency=currency_of(data.get("currency")) if total is not None else None,
        refunded_amount=(
            cancelled
            if status in (PaymentStatus.PARTIALLY_REFUNDED, PaymentStatus.REFUNDED)
            else _zero_if_paid(status)
        ),
        occurred_at=parse_iso_time(data.get("statusChangedAt"))
        or parse_iso_time(data.get("updatedAt")),
        message=text(failure.get("reason"))[:255],
        raw=kept(data),
        customer_message=(
            customer_text(failure.get("pgMessage") or failure.get("reason"))
            if status == PaymentStatus.FAILED
            else ""
        ),
    )


def not_found_snapshot(reference: str) -> PaymentSnapshot:
    """PortOne has no payment with our id yet: the customer has not opened its window.

    Pending, not failed: the page may still be open, and the id is ours to
    reuse until one attempt succeeds.
    """
    return PaymentSnapshot(
        status=PaymentStatus.PENDING,
        provider_status=NOT_FOUND,
        reference=reference,
        raw={"status": NOT_FOUND},
    )


def _zero_if_paid(status: str | None) -> int | None:
    return 0 if status == PaymentStatus.PAID else None


def billing_key_snapshot(data: Mapping[str, Any], reference: str) -> PreapprovalSnapshot:
    """A billing-key object (``GET /billing-keys/{billingKey}``) as an agreement's snapshot."""
    raw_status = text(data.get("status"))
    return PreapprovalSnapshot(
        status=BILLING_KEY_STATUS_MAP.get(raw_status),
        provider_status=raw_status[:64],
        provider_preapproval_id=text(data.get("billingKey")),
        reference=reference,
        occurred_at=parse_iso_time(data.get("statusChangedAt"))
        or parse_iso_time(data.get("issuedAt")),
        raw=kept(data),
    )


def billing_key_customer(data: Mapping[str, Any]) -> str:
    """The customer id the billing key was issued for (our agreement's reference)."""
    return text(mapping(data.get("customer")).get("id"))
