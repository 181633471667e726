"""Refunds at Smart2Pay: ``POST /v1/payments/{id}/refunds``, full or partial.

A partial refund is sent only when ``GET /v1/payments/{id}/refunds/types``
says the payment's refund type allows one. Anything that fails before the
refund is sent is a rejection (nothing happened), never an unknown outcome.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from django.utils.translation import gettext as _

from ...exceptions import OutcomeUnknown, ProviderError, ProviderRejected
from ..readers import field, flag, integer_or_digits, text_or_number
from ..types import RefundRequest, RefundSnapshot
from .client import DUPLICATE_TRANSACTION, Smart2PayApi, merchant_id
from .maps import REFUND, AmountScale, InexactAmount, refund_snapshot
from .payments import Smart2PayPayments


def _not_sent(exc: ProviderError) -> ProviderRejected:
    """An error before the refund was sent: it definitely did not happen."""
    return ProviderRejected(
        _("The refund was not sent to Smart2Pay: %(error)s") % {"error": exc},
        status_code=exc.status_code,
        codes=exc.codes,
    )


class Smart2PayRefunds:
    """Refunds of payments through one backend's API client."""

    def __init__(self, api: Smart2PayApi, scale: AmountScale, payments: Smart2PayPayments) -> None:
        self.api = api
        self.scale = scale
        self.payments = payments

    def refund(self, request: RefundRequest) -> RefundSnapshot:
        payment = request.payment
        payment_id = payment.provider_payment_id
        if not payment_id:
            operation = _("looking up the payment %(reference)s") % {"reference": payment.reference}
            try:
                found = self.payments.find(
                    merchant_id(payment.reference, payment.idempotency_key), operation
                )
            except ProviderError as exc:
                raise _not_sent(exc) from exc
            payment_id = text_or_number(field(found, "ID"))
        if request.amount < payment.amount:
            self._ensure_partial_refund_allowed(payment_id)
        transaction_id = merchant_id(request.reference, request.idempotency_key)
        refund: dict[str, Any] = {
            "MerchantTransactionID": transaction_id,
            "Amount": self.scale.to_provider(request.amount, payment.currency),
        }
        if request.reason:
            refund["Description"] = request.reason[:255]
        operation = _("refunding payment %(id)s") % {"id": payment_id}
        path = f"/v1/payments/{quote(payment_id, safe='')}/refunds"
        data, _found = self.api.create(
            path,
            {"Refund": refund},
            REFUND,
            operation,
            duplicate_code=DUPLICATE_TRANSACTION,
            find=lambda: self._find_refund(payment_id, transaction_id, operation),
        )
        try:
            return refund_snapshot(
                data,
                self.scale,
                reference=request.reference,
                payment_id=payment_id,
                payment_reference=payment.reference,
                currency=payment.currency,
            )
        except InexactAmount as exc:
            raise OutcomeUnknown(str(exc)) from exc

    def _ensure_partial_refund_allowed(self, payment_id: str) -> None:
        """Refuse a partial refund unless the payment's refund type allows it.

        ``GET /v1/payments/{id}/refunds/types`` lists the refund types with
        ``AllowsPartialRefund``. The native type (ID 1) is the one used when
        the refund names none; without it, any type allowing it is enough.
        """
        operation = _("getting the refund types of payment %(id)s") % {"id": payment_id}
        try:
            response = self.api.call(
                "GET", f"/v1/payments/{quote(payment_id, safe='')}/refunds/types", operation
            )
        except ProviderError as exc:
            raise _not_sent(exc) from exc
        types = self.api.rows(response, "RefundTypes")
        native = [
            row
            for row in types
            if integer_or_digits(field(row, "ID")) == 1
            or text_or_number(field(row, "Name")).strip().lower() == "native"
        ]
        if any(flag(field(row, "AllowsPartialRefund")) for row in native or types):
            return
        raise ProviderRejected(
            _(
                "Smart2Pay does not allow a partial refund of payment %(id)s (no refund type "
                "with AllowsPartialRefund); only the full amount can be refunded."
            )
            % {"id": payment_id},
            status_code=response.status_code,
        )

    def _find_refund(
        self, payment_id: str, transaction_id: str, operation: str
    ) -> Mapping[str, Any]:
        response = self.api.call(
            "GET", f"/v1/payments/{quote(payment_id, safe='')}/refunds", operation
        )
        for row in self.api.rows(response, "Refunds"):
            if text_or_number(field(row, "MerchantTransactionID")) == transaction_id:
                return row
        raise OutcomeUnknown(
            _(
                "Smart2Pay reported refund %(id)s as a duplicate but does not list it; the "
                "refund will be reconciled."
            )
            % {"id": transaction_id}
        )
