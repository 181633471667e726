"""One-time KakaoPay payments at Smart2Pay: the payment request, starting it and pulling it.

``POST /v1/payments`` creates the payment and answers with the
``RedirectURL`` of KakaoPay's page; ``GET /v1/payments/{id}`` pulls its
state, and ``GET /v1/payments?merchantTransactionID=...`` finds one whose
creation timed out.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote, urlencode

from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ...exceptions import OutcomeUnknown, ProviderRejected
from ...status import PAID_STATUSES, PaymentStatus
from ..readers import field, integer_or_digits, text_or_number
from ..types import LineItem, PaymentRef, PaymentRequest, PaymentSnapshot, RedirectInstruction
from .client import DUPLICATE_TRANSACTION, Smart2PayApi, merchant_id
from .customer import billing_country, customer_object
from .maps import (
    PAYMENT,
    PAYMENT_STATUS_MAP,
    PREAPPROVAL,
    AmountScale,
    InexactAmount,
    payment_snapshot,
    status_id,
)

logger = logging.getLogger("django_kakaopay.smart2pay")

_ARTICLE_ID_RE = re.compile(r"^\d{1,19}$")

# Smart2Pay created (or, when reconciled, already had) the object but sent no
# page to send the customer to. Whole sentences, so each translates well.
MISSING_REDIRECT: dict[tuple[str, bool], Promise] = {
    (PAYMENT, False): gettext_lazy(
        "Smart2Pay created payment %(id)s but sent no RedirectURL; the payment will be reconciled."
    ),
    (PAYMENT, True): gettext_lazy(
        "Smart2Pay already had payment %(id)s but sent no RedirectURL for it; "
        "the payment will be reconciled."
    ),
    (PREAPPROVAL, False): gettext_lazy(
        "Smart2Pay created preapproval %(id)s but sent no RedirectURL; the "
        "preapproval will be reconciled."
    ),
    (PREAPPROVAL, True): gettext_lazy(
        "Smart2Pay already had preapproval %(id)s but sent no RedirectURL for "
        "it; the preapproval will be reconciled."
    ),
}


def redirect_or_unknown(
    data: Any, *, still_open: bool, message: Promise, provider_id: str, return_url: str
) -> str:
    """Where to send the customer after a create call.

    Without a RedirectURL, an object still open cannot be paid, so the outcome
    is unknown and reconciliation takes over. A finished one goes straight to
    our return view, which shows the outcome.
    """
    url = text_or_number(field(data, "RedirectURL"))
    if url:
        return url
    if still_open:
        raise OutcomeUnknown(str(message) % {"id": provider_id})
    return return_url


def payment_body(
    request: PaymentRequest, transaction_id: str, *, scale: AmountScale, method_id: int
) -> dict[str, Any]:
    """The ``POST /v1/payments`` body for ``request``."""
    payment: dict[str, Any] = {
        "MerchantTransactionID": transaction_id,
        "Amount": scale.to_provider(request.amount, request.currency),
        "Currency": request.currency,
        "ReturnURL": request.return_url,
        "Description": (request.description or request.reference)[:255],
        "MethodID": method_id,
    }
    customer = customer_object(request.customer)
    if customer:
        payment["Customer"] = customer
    payment["BillingAddress"] = {"Country": billing_country(request.customer)}
    articles = _articles(request.items, request.currency, scale)
    if articles:
        payment["Articles"] = articles
    return {"Payment": payment}


def _articles(items: Sequence[LineItem], currency: str, scale: AmountScale) -> list[dict[str, Any]]:
    if not items:
        return []
    if any(not 1 <= item.quantity <= 999 for item in items):
        # Smart2Pay takes at most 999 of an article; the articles are optional.
        logger.info("Smart2Pay: an order line has more than 999 units; Articles not sent.")
        return []
    articles = []
    for item in items:
        article: dict[str, Any] = {}
        if _ARTICLE_ID_RE.match(item.reference):
            article["MerchantArticleID"] = item.reference
        article["Name"] = (item.name or "-")[:250]
        article["Quantity"] = item.quantity
        article["Price"] = scale.to_provider(item.unit_price, currency)
        articles.append(article)
    return articles


def _rank(row: Mapping[str, Any]) -> tuple[int, int]:
    """Of several payments with one id, the one that took money, else the newest."""
    status = PAYMENT_STATUS_MAP.get(status_id(row) or 0)
    return (int(status in PAID_STATUSES), integer_or_digits(field(row, "ID")) or 0)


class Smart2PayPayments:
    """Payments (one-time, and charges once made) through one backend's API client."""

    def __init__(self, api: Smart2PayApi, scale: AmountScale) -> None:
        self.api = api
        self.scale = scale

    def create(
        self, request: PaymentRequest, transaction_id: str, body: Mapping[str, Any]
    ) -> RedirectInstruction:
        """Send ``body`` (see :func:`payment_body`) and find where the customer goes next."""
        operation = _("creating the payment %(reference)s") % {"reference": request.reference}
        data, reconciled = self.api.create(
            "/v1/payments",
            body,
            PAYMENT,
            operation,
            duplicate_code=DUPLICATE_TRANSACTION,
            find=lambda: self.find(transaction_id, operation, missing_is_unknown=True),
        )
        snapshot = self.snapshot_or_unknown(data, request.reference)
        url = redirect_or_unknown(
            data,
            still_open=snapshot.status in (None, PaymentStatus.PENDING),
            message=MISSING_REDIRECT[PAYMENT, reconciled],
            provider_id=snapshot.provider_payment_id,
            return_url=request.return_url,
        )
        return RedirectInstruction(url, snapshot)

    def fetch(self, ref: PaymentRef) -> PaymentSnapshot:
        if ref.provider_payment_id:
            data = self.get(ref.provider_payment_id)
        else:
            transaction_id = merchant_id(ref.reference, ref.idempotency_key)
            operation = _("looking up the payment %(reference)s") % {"reference": ref.reference}
            data = self.find(transaction_id, operation)
        return self.snapshot_or_unknown(data, ref.reference)

    def get(self, payment_id: str) -> Mapping[str, Any]:
        operation = _("getting payment %(id)s") % {"id": payment_id}
        response = self.api.call("GET", f"/v1/payments/{quote(payment_id, safe='')}", operation)
        return self.api.resource(response, PAYMENT, operation)

    def find(
        self, transaction_id: str, operation: str, *, missing_is_unknown: bool = False
    ) -> Mapping[str, Any]:
        """Find a payment by ``MerchantTransactionID`` (after a timeout or a duplicate).

        ``GET /v1/payments?merchantTransactionID=...`` is documented; the
        answer is still filtered here, so an ignored filter cannot mislead.
        """
        query = urlencode({"merchantTransactionID": transaction_id})
        response = self.api.call("GET", f"/v1/payments?{query}", operation)
        matches = [
            row
            for row in self.api.rows(response, "Payments")
            if text_or_number(field(row, "MerchantTransactionID")) == transaction_id
            and text_or_number(field(row, "ID"))
        ]
        if not matches:
            message = _("Smart2Pay has no payment with MerchantTransactionID %(id)s.") % {
                "id": transaction_id
            }
            if missing_is_unknown:
                raise OutcomeUnknown(message)
            raise ProviderRejected(message, status_code=404)
        best = max(matches, key=_rank)
        return self.get(text_or_number(field(best, "ID")))

    def snapshot_or_unknown(self, data: Mapping[str, Any], reference: str) -> PaymentSnapshot:
        """The snapshot of a payment we just called about; an unreadable amount leaves it unknown."""
        try:
            return payment_snapshot(data, self.scale, reference=reference)
        except InexactAmount as exc:
            raise OutcomeUnknown(str(exc)) from exc
