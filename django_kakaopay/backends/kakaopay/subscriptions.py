"""Subscriptions (정기 결제): the agreement is a first payment on ``SUBSCRIPTION_CID``.

The customer approves an ordinary ``ready`` on the subscription CID, and
the ``approve`` answer carries the ``sid``: the agreement's id. Until then
KakaoPay knows it only by the ``tid`` of that first payment, which is kept
in the agreement's provider payload (with the ``partner_order_id`` and
``partner_user_id`` the approve call must repeat) and never in
``provider_preapproval_id``, which is the ``sid`` alone.

The first payment takes real money (KakaoPay's schema asks for a positive
``total_amount``): it is the plan's first charge, which the services record
(``PreapprovalSnapshot.first_charge``). A 0-won registration is sent only
with ``ALLOW_ZERO_WON_REGISTRATION`` (unverified).

Later charges are ``POST /online/v1/payment/subscription`` with the ``sid``
and the same ``partner_user_id`` (the agreement's reference); the agreement
is pulled with ``.../manage/subscription/status`` and ended with
``.../manage/subscription/inactive``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext as _

from ...exceptions import OutcomeUnknown, ProviderRejected
from ...status import PaymentStatus, PreapprovalStatus
from ..readers import text
from ..types import (
    ChargeRequest,
    PaymentRef,
    PaymentRequest,
    PaymentSnapshot,
    PreapprovalRedirect,
    PreapprovalRef,
    PreapprovalRequest,
    PreapprovalSnapshot,
)
from .client import KakaoPayApi
from .maps import (
    OPEN_STATUSES,
    approval_snapshot,
    order_snapshot,
    subscription_snapshot,
    with_refusal,
)
from .payment_request import MAX_ID, MAX_ITEM_NAME
from .payments import KakaoPayPayments

SUBSCRIPTION = "/online/v1/payment/subscription"
INACTIVE = "/online/v1/payment/manage/subscription/inactive"
STATUS = "/online/v1/payment/manage/subscription/status"

# What the agreement's provider payload always keeps from the first payment.
KEPT = ("tid", "partner_order_id", "partner_user_id")
FAILED_ORDER_STATUSES = frozenset({"FAIL_AUTH_PASSWORD", "QUIT_PAYMENT", "FAIL_PAYMENT"})


class KakaoPaySubscriptions:
    """Agreements (SIDs) and their charges, through one backend's API client."""

    def __init__(
        self, api: KakaoPayApi, payments: KakaoPayPayments, cid: str, *, allow_zero_won: bool
    ) -> None:
        self.api = api
        self.payments = payments
        self.cid = cid
        self.allow_zero_won = allow_zero_won

    # the agreement: its first payment ---------------------------------------

    def create(self, request: PreapprovalRequest) -> PreapprovalRedirect:
        amount = request.first_amount
        if not amount or amount <= 0:
            if not self.allow_zero_won:
                raise ProviderRejected(
                    _(
                        "KakaoPay makes an agreement with a first payment: give the "
                        "preapproval %(reference)s a billing plan before the customer agrees."
                    )
                    % {"reference": request.reference},
                    status_code=400,
                )
            amount = 0
        first = PaymentRequest(
            reference=request.first_reference or request.reference,
            amount=amount,
            currency=request.currency,
            idempotency_key=request.idempotency_key,
            return_url=request.return_url,
            notification_url=request.notification_url,
            description=request.description,
            terminal_type=request.terminal_type,
            os_type=request.os_type,
        )
        instruction, data = self.payments.create(
            first, cid=self.cid, partner_user_id=request.reference
        )
        kept = {
            "tid": instruction.snapshot.provider_payment_id,
            "partner_order_id": first.reference[:MAX_ID],
            "partner_user_id": request.reference[:MAX_ID],
        }
        snapshot = PreapprovalSnapshot(
            status=PreapprovalStatus.PENDING,
            provider_status="READY",
            reference=request.reference,
            raw={**data, **kept},
        )
        return PreapprovalRedirect(instruction.url, snapshot)

    def complete(self, ref: PreapprovalRef, params: Mapping[str, str]) -> PreapprovalSnapshot:
        """Approve the first payment with the ``pg_token``; its ``sid`` makes the agreement.

        A refused approve (a forged or replayed token) changes nothing: the
        agreement is pulled instead.
        """
        first = first_payment_ref(ref)
        if ref.provider_preapproval_id or not first.provider_payment_id:
            return self.fetch(ref)
        approved, refusal = self.payments.approve(
            first, params, cid=self.cid, partner_user_id=partner_user_id(ref)
        )
        if approved is None or not text(approved.get("sid")):
            return with_refusal(self.fetch(ref), refusal)
        charge = approval_snapshot(approved, first.reference)
        return PreapprovalSnapshot(
            status=PreapprovalStatus.ACTIVE,
            provider_status="ACTIVE",
            provider_preapproval_id=text(approved.get("sid")),
            reference=ref.reference,
            raw=keep(approved, ref),
            first_charge=charge if charge.status is not None and charge.amount else None,
        )

    # pulling and ending ------------------------------------------------------

    def fetch(self, ref: PreapprovalRef) -> PreapprovalSnapshot:
        sid = ref.provider_preapproval_id
        if not sid:
            return self._fetch_first_payment(ref)
        operation = _("looking up the subscription %(id)s") % {"id": sid}
        data = self.api.post(STATUS, {"cid": self.cid, "sid": sid}, operation)
        snapshot = subscription_snapshot(data, ref.reference)
        return _with(snapshot, sid, keep(data, ref))

    def _fetch_first_payment(self, ref: PreapprovalRef) -> PreapprovalSnapshot:
        """Before the ``sid`` is known: the first payment's order says how far it got."""
        first = first_payment_ref(ref)
        order = self.payments.order(first, cid=self.cid)
        raw_status = text(order.get("status")).strip().upper()
        sid = text(order.get("sid"))  # not documented on order; used when present
        status: str | None = None
        first_charge = None
        if raw_status in OPEN_STATUSES:
            status = PreapprovalStatus.PENDING
        elif raw_status in FAILED_ORDER_STATUSES:
            status = PreapprovalStatus.FAILED
        elif sid and raw_status in ("SUCCESS_PAYMENT", "ISSUED_SID"):
            status = PreapprovalStatus.ACTIVE
            charge = order_snapshot(order, first.reference)
            if charge.status == PaymentStatus.PAID and charge.amount:
                first_charge = charge
        # Paid without a sid we can read: only a person can tell; nothing is applied.
        return PreapprovalSnapshot(
            status=status,
            provider_status=raw_status,
            provider_preapproval_id=sid,
            reference=ref.reference,
            raw=keep(order, ref),
            first_charge=first_charge,
        )

    def cancel(self, ref: PreapprovalRef) -> PreapprovalSnapshot:
        sid = ref.provider_preapproval_id
        if not sid:
            raise ProviderRejected(
                _(
                    "The agreement %(reference)s has no KakaoPay SID yet (the customer has "
                    "not approved it), so there is nothing to deactivate."
                )
                % {"reference": ref.reference},
                status_code=409,
            )
        operation = _("deactivating the subscription %(id)s") % {"id": sid}
        data = self.api.post(INACTIVE, {"cid": self.cid, "sid": sid}, operation)
        snapshot = _with(subscription_snapshot(data, ref.reference), sid, keep(data, ref))
        if snapshot.status != PreapprovalStatus.CANCELED:
            raise OutcomeUnknown(
                _(
                    "KakaoPay answered the deactivation of the subscription %(id)s with "
                    "status %(status)s; it will be reconciled."
                )
                % {"id": sid, "status": snapshot.provider_status or "-"}
            )
        return snapshot

    # charges -----------------------------------------------------------------

    def charge(self, request: ChargeRequest) -> PaymentSnapshot:
        sid = request.preapproval.provider_preapproval_id
        if not sid:
            raise ProviderRejected(
                _("The agreement %(reference)s has no KakaoPay SID; it cannot be charged.")
                % {"reference": request.preapproval.reference},
                status_code=409,
            )
        body: dict[str, Any] = {
            "cid": self.cid,
            "sid": sid,
            "partner_order_id": request.reference[:MAX_ID],
            "partner_user_id": partner_user_id(request.preapproval),
            "item_name": (request.description or request.reference)[:MAX_ITEM_NAME],
            "quantity": 1,
            "total_amount": request.amount,
            "tax_free_amount": request.tax_free_amount,
        }
        operation = _("charging the subscription %(id)s") % {"id": sid}
        data = self.api.post(SUBSCRIPTION, body, operation)
        return approval_snapshot(data, request.reference)


def first_payment_ref(ref: PreapprovalRef) -> PaymentRef:
    """The agreement's first payment, as the payments module finds it."""
    payload = ref.provider_payload or {}
    return PaymentRef(
        reference=text(payload.get("partner_order_id")) or ref.reference,
        amount=0,
        currency="KRW",
        provider_payment_id=text(payload.get("tid")),
        preapproval_reference=ref.reference,
    )


def partner_user_id(ref: PreapprovalRef) -> str:
    """The ``partner_user_id`` of the first payment, which every charge must repeat."""
    return (text((ref.provider_payload or {}).get("partner_user_id")) or ref.reference)[:MAX_ID]


def keep(data: Mapping[str, Any], ref: PreapprovalRef) -> dict[str, Any]:
    """``data`` with the first payment's ids kept from the agreement's payload."""
    payload = ref.provider_payload or {}
    kept = {name: payload[name] for name in KEPT if payload.get(name)}
    return {**data, **kept}


def _with(snapshot: PreapprovalSnapshot, sid: str, raw: Mapping[str, Any]) -> PreapprovalSnapshot:
    return PreapprovalSnapshot(
        status=snapshot.status,
        provider_status=snapshot.provider_status,
        provider_preapproval_id=snapshot.provider_preapproval_id or sid,
        reference=snapshot.reference,
        raw=dict(raw),
    )
