"""KakaoPay's order and subscription statuses, and its amounts, in our terms.

The 13 order statuses are the ones KakaoPay's documentation lists (copied
in public clients; secondary). Anything else is stored as the provider's
status and maps to ``None``: it never moves a payment, least of all to
failed. Amounts are whole won, as ours are.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any, TypeVar

from ...status import PaymentStatus, PreapprovalStatus
from ..readers import integer, integer_or_digits, mapping, text
from ..types import PaymentSnapshot, PreapprovalSnapshot

CURRENCY = "KRW"

ORDER_STATUS_MAP: dict[str, str] = {
    "READY": PaymentStatus.PENDING,
    "SEND_TMS": PaymentStatus.PENDING,
    "OPEN_PAYMENT": PaymentStatus.PENDING,
    "SELECT_METHOD": PaymentStatus.PENDING,
    "ARS_WAITING": PaymentStatus.PENDING,
    # The password is verified; our approve call may still follow.
    "AUTH_PASSWORD": PaymentStatus.PENDING,
    # A SID issued without a charge: no money moved for this payment.
    "ISSUED_SID": PaymentStatus.PENDING,
    "SUCCESS_PAYMENT": PaymentStatus.PAID,
    "PART_CANCEL_PAYMENT": PaymentStatus.PARTIALLY_REFUNDED,
    "CANCEL_PAYMENT": PaymentStatus.REFUNDED,
    "FAIL_AUTH_PASSWORD": PaymentStatus.FAILED,
    "QUIT_PAYMENT": PaymentStatus.CANCELED,
    "FAIL_PAYMENT": PaymentStatus.FAILED,
}

# Statuses in which the customer may still finish: only these may expire.
OPEN_STATUSES = frozenset(
    {"READY", "SEND_TMS", "OPEN_PAYMENT", "SELECT_METHOD", "ARS_WAITING", "AUTH_PASSWORD"}
)

SUBSCRIPTION_STATUS_MAP: dict[str, str] = {
    "ACTIVE": PreapprovalStatus.ACTIVE,
    "INACTIVE": PreapprovalStatus.CANCELED,
}


def map_order_status(raw: str) -> str | None:
    """Our status for a KakaoPay order status, or ``None`` when unknown."""
    return ORDER_STATUS_MAP.get(raw.strip().upper())


def total(amount: object) -> int | None:
    """The ``total`` of one of KakaoPay's amount objects (a bare number accepted too)."""
    if isinstance(amount, Mapping):
        return integer_or_digits(amount.get("total"))
    return integer_or_digits(amount)


def order_snapshot(data: Mapping[str, Any], reference: str = "") -> PaymentSnapshot:
    """A pulled order (``/online/v1/payment/order``) as a snapshot."""
    raw_status = text(data.get("status"))
    status = map_order_status(raw_status)
    refunded = total(data.get("canceled_amount"))
    if status == PaymentStatus.PARTIALLY_REFUNDED and refunded is None:
        status = PaymentStatus.PAID  # the refunded total is unknown: only "money taken"
    if status == PaymentStatus.REFUNDED and refunded is None:
        status = PaymentStatus.PAID
    return PaymentSnapshot(
        status=status,
        provider_status=raw_status,
        provider_payment_id=text(data.get("tid")),
        reference=text(data.get("partner_order_id")) or reference,
        amount=total(data.get("amount")),
        currency=CURRENCY if data.get("amount") is not None else None,
        refunded_amount=refunded if refunded is not None else _zero_if_paid(status),
        raw=dict(data),
    )


def approval_snapshot(data: Mapping[str, Any], reference: str = "") -> PaymentSnapshot:
    """An approve (or subscription charge) answer: KakaoPay's proof that the money moved.

    Its amount is compared with ours by the services, as always.
    """
    amount = total(data.get("amount"))
    approved = bool(text(data.get("aid"))) and amount is not None
    return PaymentSnapshot(
        status=PaymentStatus.PAID if approved else None,
        provider_status="SUCCESS_PAYMENT" if approved else text(data.get("status")),
        provider_payment_id=text(data.get("tid")),
        reference=text(data.get("partner_order_id")) or reference,
        amount=amount,
        currency=CURRENCY if amount is not None else None,
        raw=dict(data),
    )


def subscription_snapshot(data: Mapping[str, Any], reference: str = "") -> PreapprovalSnapshot:
    """A subscription status or inactive answer as a snapshot of the agreement."""
    raw_status = text(data.get("status")).strip().upper()
    status = SUBSCRIPTION_STATUS_MAP.get(raw_status)
    if status == PreapprovalStatus.ACTIVE and data.get("available") is False:
        status = None  # active but not usable: say nothing rather than guess
    return PreapprovalSnapshot(
        status=status,
        provider_status=raw_status,
        provider_preapproval_id=text(data.get("sid")),
        reference=reference,
        raw=dict(data),
    )


def _zero_if_paid(status: str | None) -> int | None:
    return 0 if status == PaymentStatus.PAID else None


def amount_part(amount: object, key: str) -> int | None:
    """One part (``tax_free``, ``vat``) of an amount object, when readable."""
    return integer(mapping(amount).get(key))


AnySnapshot = TypeVar("AnySnapshot", PaymentSnapshot, PreapprovalSnapshot)


def with_refusal(snapshot: AnySnapshot, customer_message: str) -> AnySnapshot:
    """``snapshot`` carrying the refused approve's reason, when the order failed.

    A refusal of a forged or replayed ``pg_token`` leaves the order open and
    its message unshown: only a failure the look-up confirms is explained.
    """
    if customer_message and snapshot.status == "failed":
        return replace(snapshot, customer_message=customer_message)
    return snapshot
