"""Starting, completing, pulling and refunding a one-time KakaoPay payment.

``ready`` answers with the payment's ``tid`` and the customer's links;
KakaoPay then sends the browser to ``approval_url?pg_token=...`` and our
``approve`` call, never the query string, is the proof of payment. ``order``
pulls the payment's state and ``cancel`` refunds all or part of it.

KakaoPay documents no idempotency key, so nothing here is sent twice on its
own: a timed-out call is settled by pulling ``order``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext as _

from ...exceptions import OutcomeUnknown, ProviderRejected
from ...status import PaymentStatus, RefundStatus
from ..readers import integer_or_digits, mapping, text
from ..types import (
    PaymentRef,
    PaymentRequest,
    PaymentSnapshot,
    RedirectInstruction,
    RefundRequest,
    RefundSnapshot,
)
from .client import KakaoPayApi
from .maps import CURRENCY, approval_snapshot, order_snapshot, total, with_refusal
from .payment_request import MAX_ID, ready_body, redirect_url

READY = "/online/v1/payment/ready"
APPROVE = "/online/v1/payment/approve"
ORDER = "/online/v1/payment/order"
CANCEL = "/online/v1/payment/cancel"

# The longest pg_token we send on (the services cut every parameter to 512).
MAX_TOKEN = 255


class KakaoPayPayments:
    """One-time payments and their cancels, through one backend's API client."""

    def __init__(self, api: KakaoPayApi, cid: str, *, prefer_app_scheme: bool = False) -> None:
        self.api = api
        self.cid = cid
        self.prefer_app_scheme = prefer_app_scheme

    def create(
        self, request: PaymentRequest, *, cid: str = "", partner_user_id: str = ""
    ) -> tuple[RedirectInstruction, Mapping[str, Any]]:
        """Send ``ready`` for ``request``; the redirect and KakaoPay's answer."""
        body = ready_body(
            request,
            cid or self.cid,
            partner_user_id or request.reference,
            tax_free_amount=request.tax_free_amount,
            vat_amount=request.vat_amount,
        )
        operation = _("preparing the payment %(reference)s") % {"reference": request.reference}
        data = self.api.post(READY, body, operation)
        tid = text(data.get("tid"))
        url = redirect_url(
            data, request.terminal_type, request.os_type, app_scheme=self.prefer_app_scheme
        )
        if not tid or not url:
            raise OutcomeUnknown(
                _(
                    "KakaoPay prepared the payment %(reference)s but sent no tid or no link "
                    "for the customer; it will be reconciled."
                )
                % {"reference": request.reference}
            )
        snapshot = PaymentSnapshot(
            status=PaymentStatus.PENDING,
            provider_status="READY",
            provider_payment_id=tid,
            reference=request.reference,
            raw=dict(data),
        )
        return RedirectInstruction(url, snapshot), data

    def fetch(self, ref: PaymentRef, *, cid: str = "") -> PaymentSnapshot:
        return order_snapshot(self.order(ref, cid=cid), ref.reference)

    def order(self, ref: PaymentRef, *, cid: str = "") -> Mapping[str, Any]:
        tid = ref.provider_payment_id
        if not tid and ref.preapproval_reference:
            # A charge whose call timed out: KakaoPay may have taken the money,
            # but finds payments by tid only. Left for a person.
            raise OutcomeUnknown(
                _(
                    "KakaoPay never sent a tid for the charge %(reference)s, so it cannot "
                    "be looked up; check it in KakaoPay's merchant admin."
                )
                % {"reference": ref.reference}
            )
        if not tid:
            # ready never answered: KakaoPay finds orders by tid only, and the
            # customer, without the link, cannot have paid.
            raise ProviderRejected(
                _(
                    "KakaoPay never sent a tid for the payment %(reference)s, so it cannot "
                    "be looked up; without one the customer could not have paid."
                )
                % {"reference": ref.reference},
                status_code=404,
            )
        operation = _("looking up the payment %(id)s") % {"id": tid}
        return self.api.post(ORDER, {"cid": cid or self.cid, "tid": tid}, operation)

    def approve(
        self,
        ref: PaymentRef,
        params: Mapping[str, str],
        *,
        cid: str = "",
        partner_user_id: str = "",
    ) -> tuple[Mapping[str, Any] | None, str]:
        """Approve with the ``pg_token`` the browser brought: KakaoPay's answer,
        and the reason it gave the customer when it refused.

        No token, or a refused approve (a forged or replayed token, a payment
        approved already, a declined card), answers ``None``: the caller then
        pulls ``order``, which says what really happened.
        """
        token = str(params.get("pg_token") or "").strip()
        if not token or len(token) > MAX_TOKEN or not ref.provider_payment_id:
            return None, ""
        body = {
            "cid": cid or self.cid,
            "tid": ref.provider_payment_id,
            "partner_order_id": ref.reference[:MAX_ID],
            "partner_user_id": (partner_user_id or ref.reference)[:MAX_ID],
            "pg_token": token,
        }
        operation = _("approving the payment %(id)s") % {"id": ref.provider_payment_id}
        try:
            return self.api.post(APPROVE, body, operation), ""
        except ProviderRejected as exc:
            return None, exc.customer_message

    def complete(self, ref: PaymentRef, params: Mapping[str, str]) -> PaymentSnapshot:
        approved, refusal = self.approve(ref, params)
        if approved is None:
            return with_refusal(self.fetch(ref), refusal)
        snapshot = approval_snapshot(approved, ref.reference)
        return snapshot if snapshot.status is not None else self.fetch(ref)

    def refund(self, request: RefundRequest, *, cid: str = "") -> RefundSnapshot:
        """Cancel ``request.amount`` of the payment, splitting tax-free and VAT as KakaoPay left them."""
        ref = request.payment
        cid = cid or self.cid
        order = self.order(ref, cid=cid)
        available = order.get("cancel_available_amount")
        available_total = total(available)
        if available_total is not None and request.amount > available_total:
            raise ProviderRejected(
                _(
                    "KakaoPay can cancel at most %(available)s won of the payment %(id)s, "
                    "not %(amount)s."
                )
                % {
                    "available": available_total,
                    "id": ref.provider_payment_id,
                    "amount": request.amount,
                },
                status_code=400,
            )
        body: dict[str, Any] = {
            "cid": cid,
            "tid": ref.provider_payment_id,
            "cancel_amount": request.amount,
            "cancel_tax_free_amount": cancel_tax_free(request.amount, available),
        }
        if available_total is not None and request.amount == available_total:
            vat = integer_or_digits(mapping(available).get("vat"))
            if vat is not None:
                body["cancel_vat_amount"] = vat
        operation = _("cancelling %(amount)s won of the payment %(id)s") % {
            "amount": request.amount,
            "id": ref.provider_payment_id,
        }
        data = self.api.post(CANCEL, body, operation)
        cancelled = total(data.get("approved_cancel_amount"))
        status = text(data.get("status")).upper()
        done = cancelled is not None or status in ("PART_CANCEL_PAYMENT", "CANCEL_PAYMENT")
        return RefundSnapshot(
            status=RefundStatus.SUCCEEDED if done else RefundStatus.PENDING,
            provider_refund_id=text(data.get("aid")),
            reference=request.reference,
            provider_payment_id=ref.provider_payment_id,
            payment_reference=ref.reference,
            amount=cancelled,
            currency=CURRENCY if cancelled is not None else None,
            raw=dict(data),
        )


def cancel_tax_free(amount: int, available: object) -> int:
    """The tax-free part of cancelling ``amount``, in proportion to what remains."""
    remaining = mapping(available)
    available_total = integer_or_digits(remaining.get("total"))
    tax_free = integer_or_digits(remaining.get("tax_free"))
    if not available_total or not tax_free or tax_free < 0:
        return 0
    if amount >= available_total:
        return tax_free
    return min(amount, tax_free * amount // available_total)
