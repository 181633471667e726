"""Auto-debit agreements (preapprovals) at Smart2Pay, and the recurring charges on them.

``POST /v1/preapprovals`` creates one and answers with the ``RedirectURL``
where the customer confirms it; ``GET /v1/preapprovals/{id}`` pulls it and
``DELETE /v1/preapprovals/{id}`` closes it. A charge on an open one is
``POST /v1/payments/recurrent``, a payment without a redirect.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlencode

from django.utils.translation import gettext as _

from ...exceptions import OutcomeUnknown, ProviderRejected
from ...status import PreapprovalStatus
from ..readers import field, integer_or_digits, text_or_number
from ..types import (
    ChargeRequest,
    PaymentSnapshot,
    PreapprovalRedirect,
    PreapprovalRef,
    PreapprovalRequest,
    PreapprovalSnapshot,
)
from .client import DUPLICATE_PREAPPROVAL, DUPLICATE_TRANSACTION, Smart2PayApi, merchant_id, payload
from .customer import billing_country, customer_object
from .maps import PAYMENT, PREAPPROVAL, AmountScale, preapproval_snapshot
from .payments import MISSING_REDIRECT, Smart2PayPayments, redirect_or_unknown


def preapproval_body(
    request: PreapprovalRequest,
    preapproval_id: str,
    *,
    scale: AmountScale,
    method_id: int,
    frequency: str,
) -> dict[str, Any]:
    """The ``POST /v1/preapprovals`` body for ``request``."""
    preapproval: dict[str, Any] = {
        "MerchantPreapprovalID": preapproval_id,
        "Currency": request.currency,
        "Description": (request.description or request.reference)[:255],
        "ReturnURL": request.return_url,
        "MethodID": method_id,
    }
    customer = customer_object(request.customer)
    if customer:
        preapproval["Customer"] = customer
    preapproval["BillingAddress"] = {"Country": billing_country(request.customer)}
    if request.max_amount is not None:
        preapproval["PreapprovedMaximumAmount"] = scale.to_provider(
            request.max_amount, request.currency
        )
    if frequency:
        preapproval["PreapprovedFrequency"] = frequency
    return {"Preapproval": preapproval}


class Smart2PayPreapprovals:
    """Preapprovals and charges through one backend's API client."""

    def __init__(
        self, api: Smart2PayApi, scale: AmountScale, payments: Smart2PayPayments, method_id: int
    ) -> None:
        self.api = api
        self.scale = scale
        self.payments = payments
        self.method_id = method_id

    def create(
        self, request: PreapprovalRequest, preapproval_id: str, body: Mapping[str, Any]
    ) -> PreapprovalRedirect:
        """Send ``body`` (see :func:`preapproval_body`) and find where the customer goes next."""
        operation = _("creating the preapproval %(reference)s") % {"reference": request.reference}
        data, reconciled = self.api.create(
            "/v1/preapprovals",
            body,
            PREAPPROVAL,
            operation,
            duplicate_code=DUPLICATE_PREAPPROVAL,
            find=lambda: self._find(preapproval_id, operation, missing_is_unknown=True),
        )
        snapshot = preapproval_snapshot(data, reference=request.reference)
        url = redirect_or_unknown(
            data,
            still_open=snapshot.status in (None, PreapprovalStatus.PENDING),
            message=MISSING_REDIRECT[PREAPPROVAL, reconciled],
            provider_id=snapshot.provider_preapproval_id,
            return_url=request.return_url,
        )
        return PreapprovalRedirect(url, snapshot)

    def fetch(self, ref: PreapprovalRef) -> PreapprovalSnapshot:
        return preapproval_snapshot(self._for(ref), reference=ref.reference)

    def _for(self, ref: PreapprovalRef) -> Mapping[str, Any]:
        if ref.provider_preapproval_id:
            return self._get(ref.provider_preapproval_id)
        operation = _("looking up the preapproval %(reference)s") % {"reference": ref.reference}
        return self._find(merchant_id(ref.reference, ref.idempotency_key), operation)

    def _provider_id(self, ref: PreapprovalRef) -> str:
        return ref.provider_preapproval_id or text_or_number(field(self._for(ref), "ID"))

    def _get(self, preapproval_id: str) -> Mapping[str, Any]:
        operation = _("getting preapproval %(id)s") % {"id": preapproval_id}
        response = self.api.call(
            "GET", f"/v1/preapprovals/{quote(preapproval_id, safe='')}", operation
        )
        return self.api.resource(response, PREAPPROVAL, operation)

    def _find(
        self, preapproval_id: str, operation: str, *, missing_is_unknown: bool = False
    ) -> Mapping[str, Any]:
        """Find a preapproval by ``MerchantPreapprovalID``.

        Inferred: ``GET /v1/preapprovals`` is documented (newest 50, little
        detail per item) but no filter is; the ``merchantPreapprovalID``
        filter mirrors the payments list and is retried without it if
        refused. The answer is filtered here, then the match is fetched whole.
        """
        query = urlencode({"merchantPreapprovalID": preapproval_id})
        try:
            response = self.api.call("GET", f"/v1/preapprovals?{query}", operation)
        except ProviderRejected:
            response = self.api.call("GET", "/v1/preapprovals", operation)
        for row in self.api.rows(response, "Preapprovals"):
            found_id = text_or_number(field(row, "ID"))
            if text_or_number(field(row, "MerchantPreapprovalID")) == preapproval_id and found_id:
                return self._get(found_id)
        message = _("Smart2Pay has no preapproval with MerchantPreapprovalID %(id)s.") % {
            "id": preapproval_id
        }
        if missing_is_unknown:
            raise OutcomeUnknown(message)
        raise ProviderRejected(message, status_code=404)

    def charge(self, request: ChargeRequest) -> PaymentSnapshot:
        provider_id = self._provider_id(request.preapproval)
        transaction_id = merchant_id(request.reference, request.idempotency_key)
        numeric_id = integer_or_digits(provider_id)
        payment: dict[str, Any] = {
            "PreapprovalID": numeric_id if numeric_id is not None else provider_id,
            "MerchantTransactionID": transaction_id,
            "Amount": self.scale.to_provider(request.amount, request.currency),
            "Currency": request.currency,
            "MethodID": self.method_id,
            "Description": (request.description or request.reference)[:255],
        }
        customer = customer_object(request.customer, email_only=True)
        if customer:
            payment["Customer"] = customer
        payment["BillingAddress"] = {"Country": billing_country(request.customer)}
        operation = _("charging preapproval %(id)s") % {"id": provider_id}
        # When the charge exists already (a retried call), that one is reported.
        data, _found = self.api.create(
            "/v1/payments/recurrent",
            {"Payment": payment},
            PAYMENT,
            operation,
            duplicate_code=DUPLICATE_TRANSACTION,
            find=lambda: self.payments.find(transaction_id, operation, missing_is_unknown=True),
        )
        # Either final already (2 Success, 4 Failed) or open (1): then the
        # outcome arrives by notification or on the next pull.
        return self.payments.snapshot_or_unknown(data, request.reference)

    def cancel(self, ref: PreapprovalRef) -> PreapprovalSnapshot:
        provider_id = self._provider_id(ref)
        operation = _("closing preapproval %(id)s") % {"id": provider_id}
        response = self.api.call(
            "DELETE", f"/v1/preapprovals/{quote(provider_id, safe='')}", operation
        )
        answer = payload(response)
        data = field(answer, PREAPPROVAL) if isinstance(answer, Mapping) else None
        if not isinstance(data, Mapping):
            # Closed, but the answer says nothing more: the services layer
            # records the cancellation.
            return PreapprovalSnapshot(
                status=None,
                provider_preapproval_id=provider_id,
                reference=ref.reference,
            )
        snapshot = preapproval_snapshot(data, reference=ref.reference)
        if snapshot.status in (PreapprovalStatus.PENDING, PreapprovalStatus.ACTIVE):
            raise OutcomeUnknown(
                _(
                    "Smart2Pay answered the closing of preapproval %(id)s with status "
                    "%(status)s; it will be reconciled."
                )
                % {"id": provider_id, "status": snapshot.provider_status},
                status_code=response.status_code,
            )
        return snapshot
