"""Smart2Pay's objects in our terms: their statuses, their amounts, and the snapshots of both.

A Smart2Pay ``Payment``, ``Refund`` or ``Preapproval`` carries a numeric
``Status.ID`` (mapped here; an unknown one is stored, never acted on) and an
``Amount`` with the currency's implied decimals as Smart2Pay counts them
(``AMOUNT_EXPONENTS``, else ISO 4217), which :class:`AmountScale` turns into
our minor units and back.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.utils.translation import gettext as _

from ...exceptions import ProviderRejected
from ...money import CURRENCY_EXPONENTS
from ...status import PaymentStatus, PreapprovalStatus, RefundStatus
from ..payloads import scrub
from ..readers import field as read_field
from ..readers import integer_or_digits, mapping, text_or_number
from ..types import PaymentSnapshot, PreapprovalSnapshot, RefundSnapshot

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

# Keys never stored in a provider payload: the return URL carries the
# customer's return token, a capability.
SCRUBBED_KEYS = frozenset(
    {"ReturnURL", "ReturnURLSuccess", "ReturnURLFailure", "ReturnURLCancel", "ReturnURLProcessing"}
)


def scrub_payload(value: Any) -> Any:
    return scrub(value, SCRUBBED_KEYS)


# -- the Status object ---------------------------------------------------------


def status_id(resource: Mapping[str, Any]) -> int | None:
    return integer_or_digits(read_field(mapping(read_field(resource, "Status")), "ID"))


def status_info(resource: Mapping[str, Any]) -> str:
    return text_or_number(read_field(mapping(read_field(resource, "Status")), "Info"))


def reasons(resource: Mapping[str, Any]) -> list[tuple[str, str]]:
    """``Status.Reasons`` as (code, info) pairs; codes may be numbers or strings."""
    raw = read_field(mapping(read_field(resource, "Status")), "Reasons")
    pairs = []
    for reason in raw if isinstance(raw, list) else []:
        if isinstance(reason, Mapping):
            code = read_field(reason, "Code")
            code_text = text_or_number(code).strip() if code is not None else ""
            pairs.append((code_text, text_or_number(read_field(reason, "Info")).strip()))
    return pairs


def _message(resource: Mapping[str, Any]) -> str:
    """The reasons as one line, else the status's info."""
    joined = "; ".join(f"{code} {info}".strip() for code, info in reasons(resource))
    return joined or status_info(resource)


# -- amounts ---------------------------------------------------------------------


class InexactAmount(ValueError):
    """A Smart2Pay amount that is not a whole number of the currency's minor unit."""


@dataclass(frozen=True)
class AmountScale:
    """Our minor units (ISO 4217) to Smart2Pay's ``Amount`` and back."""

    # Smart2Pay's implied decimals per upper-case currency, where not ISO 4217's.
    exponents: Mapping[str, int] = field(default_factory=dict)

    def provider_exponent(self, currency: str) -> int:
        """Implied decimals of Smart2Pay's ``Amount`` in ``currency``."""
        code = currency.strip().upper()
        return self.exponents.get(code, CURRENCY_EXPONENTS.get(code, 2))

    def _shift(self, currency: str) -> int:
        code = currency.strip().upper()
        return self.provider_exponent(code) - CURRENCY_EXPONENTS.get(code, 2)

    def to_provider(self, amount: int, currency: str) -> int:
        """Our minor units to Smart2Pay's ``Amount``; refuses what cannot be sent exactly."""
        shift = self._shift(currency)
        if shift >= 0:
            return amount * int(10**shift)
        factor = int(10**-shift)
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

    def from_provider(self, value: object, currency: str) -> int | None:
        """Smart2Pay's ``Amount`` in our minor units; ``None`` when absent.

        Raises :class:`InexactAmount` for a value that is not a whole number
        of minor units, which only happens when the amount scale is wrong.
        """
        raw = integer_or_digits(value)
        if raw is None:
            return None
        shift = self._shift(currency)
        if shift <= 0:
            return raw * int(10**-shift)
        factor = int(10**shift)
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

    def money(self, resource: Mapping[str, Any]) -> tuple[int | None, str | None]:
        """(amount, currency) of a resource; both ``None`` when the currency is missing."""
        raw_currency, raw_amount = read_field(resource, "Currency"), read_field(resource, "Amount")
        currency = raw_currency.strip().upper() if isinstance(raw_currency, str) else ""
        if not currency and raw_currency is None and raw_amount is None:
            return None, None
        amount = self.from_provider(raw_amount, currency) if currency else None
        if not currency or (raw_amount is not None and amount is None):
            # Money we cannot read must never pass as money not stated.
            raise InexactAmount(
                _(
                    "Smart2Pay reported an amount or currency that cannot be read: %(amount)r %(currency)r."
                )
                % {"amount": str(raw_amount)[:40], "currency": str(raw_currency)[:10]}
            )
        return amount, currency


# -- snapshots -------------------------------------------------------------------


def payment_snapshot(
    data: Mapping[str, Any],
    scale: AmountScale,
    *,
    reference: str = "",
    occurred_at: datetime | None = None,
    raw: Mapping[str, Any] | None = None,
) -> PaymentSnapshot:
    """A Smart2Pay ``Payment`` object as a snapshot (raises :class:`InexactAmount`)."""
    found = status_id(data)
    status = PAYMENT_STATUS_MAP.get(found) if found is not None else None
    if status == PaymentStatus.PARTIALLY_REFUNDED:
        # The refunded total is not on the payment: only record that the
        # money was taken; the refunds themselves settle the rest.
        status = PaymentStatus.PAID
    amount, currency = scale.money(data)
    return PaymentSnapshot(
        status=status,
        provider_status=str(found) if found is not None else "",
        provider_payment_id=text_or_number(read_field(data, "ID")),
        reference=reference or text_or_number(read_field(data, "MerchantTransactionID")),
        amount=amount,
        currency=currency,
        occurred_at=occurred_at,
        message=_message(data),
        raw=scrub_payload(raw if raw is not None else {PAYMENT: data}),
    )


def refund_snapshot(
    data: Mapping[str, Any],
    scale: AmountScale,
    *,
    reference: str = "",
    payment_id: str = "",
    payment_reference: str = "",
    currency: str = "",
    occurred_at: datetime | None = None,
    raw: Mapping[str, Any] | None = None,
) -> RefundSnapshot:
    """A Smart2Pay ``Refund`` object as a snapshot (raises :class:`InexactAmount`).

    A refund that states no currency is read in ``currency``, the payment's.
    """
    found = status_id(data)
    amount, their_currency = scale.money(data)
    if amount is None and currency and their_currency is None:
        amount = scale.from_provider(read_field(data, "Amount"), currency)
    return RefundSnapshot(
        status=REFUND_STATUS_MAP.get(found) if found is not None else None,
        provider_refund_id=text_or_number(read_field(data, "ID")),
        reference=reference or text_or_number(read_field(data, "MerchantTransactionID")),
        provider_payment_id=payment_id or text_or_number(read_field(data, "InitialPaymentID")),
        payment_reference=payment_reference,
        amount=amount,
        currency=their_currency or (currency or None),
        occurred_at=occurred_at,
        message=_message(data),
        raw=scrub_payload(raw if raw is not None else {REFUND: data}),
    )


def preapproval_snapshot(
    data: Mapping[str, Any],
    *,
    reference: str = "",
    occurred_at: datetime | None = None,
    raw: Mapping[str, Any] | None = None,
) -> PreapprovalSnapshot:
    """A Smart2Pay ``Preapproval`` object as a snapshot."""
    found = status_id(data)
    return PreapprovalSnapshot(
        status=PREAPPROVAL_STATUS_MAP.get(found) if found is not None else None,
        provider_status=str(found) if found is not None else "",
        provider_preapproval_id=text_or_number(read_field(data, "ID")),
        reference=reference or text_or_number(read_field(data, "MerchantPreapprovalID")),
        occurred_at=occurred_at,
        message=_message(data),
        raw=scrub_payload(raw if raw is not None else {PREAPPROVAL: data}),
    )
