"""Payments at PortOne: the look-up that proves them, cancels, and charges on a billing key.

The customer pays in PortOne's browser window; the server never creates
the payment. Its ``paymentId`` is our reference, so every look-up and
cancel is by our own id, and PortOne lets only one attempt per id succeed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext as _

from ...exceptions import OutcomeUnknown, ProviderRejected
from ...status import PaymentStatus
from ..readers import integer, mapping, text
from ..types import ChargeRequest, PaymentRef, PaymentSnapshot, RefundRequest, RefundSnapshot
from .client import PortOneApi, segment
from .maps import (
    CANCELLATION_STATUS_MAP,
    currency_of,
    kept,
    not_found_snapshot,
    payment_snapshot,
)

# PortOne asks for a reason with every cancel; shown in its console.
DEFAULT_CANCEL_REASON = "Refund"
MAX_REASON = 200
MAX_ORDER_NAME = 100


class PortOnePayments:
    """Look-ups, cancels and billing-key charges, through one backend's API client."""

    def __init__(self, api: PortOneApi, store_id: str, environment: str = "") -> None:
        self.api = api
        self.store_id = store_id
        self.environment = environment

    def fetch(self, ref: PaymentRef) -> PaymentSnapshot:
        """The payment as PortOne has it; pending while PortOne has none with our id."""
        payment_id = ref.provider_payment_id or ref.reference
        operation = _("looking up the payment %(id)s") % {"id": payment_id}
        try:
            data = self.api.call("GET", f"/payments/{segment(payment_id)}", operation)
        except ProviderRejected as exc:
            if exc.status_code == 404:
                return not_found_snapshot(ref.reference)
            raise
        self.check_ours(data, payment_id)
        return payment_snapshot(data, ref.reference)

    def check_ours(self, data: Mapping[str, Any], payment_id: str) -> None:
        """Refuse another store's payment, and one on the other kind of channel.

        An id alone proves nothing; and a test channel's payment is ``PAID``
        like a real one, so with ``ENVIRONMENT`` set a payment on the other
        kind of channel is never applied.
        """
        store = text(data.get("storeId"))
        if store and store != self.store_id:
            raise ProviderRejected(
                _(
                    "PortOne's payment %(id)s belongs to another store (%(store)s), not to "
                    "STORE_ID; it is ignored."
                )
                % {"id": payment_id, "store": store[:64]}
            )
        channel = text(mapping(data.get("channel")).get("type")).lower()
        if self.environment and channel in ("test", "live") and channel != self.environment:
            raise ProviderRejected(
                _(
                    "PortOne's payment %(id)s was made on a %(channel)s channel, but "
                    "ENVIRONMENT is %(environment)r; it is ignored."
                )
                % {"id": payment_id, "channel": channel, "environment": self.environment}
            )

    def refund(self, request: RefundRequest) -> RefundSnapshot:
        """Cancel ``request.amount``; a ``REQUESTED`` cancellation stays pending."""
        payment_id = request.payment.provider_payment_id or request.payment.reference
        body = {
            "storeId": self.store_id,
            "amount": request.amount,
            "reason": (request.reason or DEFAULT_CANCEL_REASON)[:MAX_REASON],
        }
        operation = _("cancelling %(amount)s won of the payment %(id)s") % {
            "amount": request.amount,
            "id": payment_id,
        }
        data = self.api.call("POST", f"/payments/{segment(payment_id)}/cancel", operation, body)
        cancellation = mapping(data.get("cancellation"))
        raw_status = text(cancellation.get("status"))
        amount = integer(cancellation.get("totalAmount"))
        return RefundSnapshot(
            status=CANCELLATION_STATUS_MAP.get(raw_status),
            provider_refund_id=text(cancellation.get("id")),
            reference=request.reference,
            provider_payment_id=payment_id,
            payment_reference=request.payment.reference,
            amount=amount,
            currency="KRW" if amount is not None else None,
            message=text(cancellation.get("reason"))[:255],
            raw=kept(data),
        )

    def charge(self, request: ChargeRequest, billing_key: str, channel_key: str) -> PaymentSnapshot:
        """Charge the billing key once for ``request``; its reference is the ``paymentId``.

        Sent again (a retry after a timeout) it cannot pay twice: PortOne
        answers ``ALREADY_PAID``, and the payment is looked up instead. The
        look-up, not the charge's short answer, is the proof of the amount.
        """
        body: dict[str, Any] = {
            "storeId": self.store_id,
            "billingKey": billing_key,
            "channelKey": channel_key,
            "orderName": (request.description or request.reference)[:MAX_ORDER_NAME],
            "customer": {"id": request.preapproval.reference},
            "amount": {"total": request.amount, "taxFree": request.tax_free_amount},
            "currency": currency_of(request.currency) or "KRW",
        }
        if request.vat_amount is not None:
            body["amount"]["vat"] = request.vat_amount
        ref = PaymentRef(
            reference=request.reference,
            amount=request.amount,
            currency=request.currency,
            provider_payment_id=request.reference,
            preapproval_reference=request.preapproval.reference,
        )
        operation = _("charging the agreement %(reference)s") % {
            "reference": request.preapproval.reference
        }
        path = f"/payments/{segment(request.reference)}/billing-key"
        try:
            answer = self.api.call("POST", path, operation, body)
        except ProviderRejected as exc:
            if "ALREADY_PAID" in exc.codes:
                return self.fetch(ref)
            raise
        try:
            return self.fetch(ref)
        except OutcomeUnknown:
            # PortOne said it paid, but the look-up did not answer: paid, with
            # the amount unconfirmed until the next pull.
            summary = mapping(answer.get("payment"))
            return PaymentSnapshot(
                status=PaymentStatus.PAID if text(summary.get("paidAt")) else None,
                provider_status="PAID" if text(summary.get("paidAt")) else "",
                provider_payment_id=request.reference,
                reference=request.reference,
                raw=kept(answer),
            )
