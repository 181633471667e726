"""KakaoPay subscriptions (SID): the documented shapes replayed with ``responses``.

The agreement is a first payment (ready/approve) on ``SUBSCRIPTION_CID``;
the approve answer's ``sid`` makes it active and its payment is recorded as
the plan's first charge. Later charges, the status pull and the
deactivation are the subscription endpoints. Nothing reaches the network.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
import requests
import responses
from django.test import Client, override_settings
from django.urls import reverse

from django_kakaopay import services
from django_kakaopay.backends.kakaopay import KakaoPayBackend
from django_kakaopay.backends.types import Capability
from django_kakaopay.conf import get_backend
from django_kakaopay.models import Payment, Preapproval
from django_kakaopay.status import PaymentStatus, PreapprovalStatus

from .test_kakaopay_backend import (
    APPROVE,
    BASE,
    OPTIONS,
    ORDER,
    READY,
    SETTINGS,
    TID,
    amount,
    make_backend,
    ready_answer,
)

CHARGE = f"{BASE}/online/v1/payment/subscription"
INACTIVE = f"{BASE}/online/v1/payment/manage/subscription/inactive"
STATUS = f"{BASE}/online/v1/payment/manage/subscription/status"
SID = "S1234567890123456789"
PLAN = 9900


def sent(call: Any) -> dict[str, Any]:
    return json.loads(call.request.body)


def approve_answer(order_id: str, user_id: str, total: int = PLAN) -> dict[str, Any]:
    return {
        "aid": "A1234567890123456789",
        "tid": TID,
        "cid": "TCSUBSCRIP",
        "sid": SID,
        "partner_order_id": order_id,
        "partner_user_id": user_id,
        "payment_method_type": "MONEY",
        "item_name": "Monthly plan",
        "quantity": 1,
        "amount": amount(total),
        "created_at": "2026-12-02T10:00:00",
        "approved_at": "2026-12-02T10:01:00",
    }


def charge_answer(order_id: str, user_id: str, tid: str, total: int = PLAN) -> dict[str, Any]:
    return {**approve_answer(order_id, user_id, total), "tid": tid, "aid": "A" + tid[1:]}


def status_answer(status: str = "ACTIVE") -> dict[str, Any]:
    return {
        "available": status == "ACTIVE",
        "cid": "TCSUBSCRIP",
        "sid": SID,
        "status": status,
        "payment_method_type": "MONEY",
        "item_name": "Monthly plan",
        "created_at": "2026-12-02T10:01:00",
        "last_approved_at": "2026-12-02T10:01:00",
    }


def planned() -> Preapproval:
    preapproval = services.create_preapproval(description="Monthly plan")
    services.set_billing_plan(
        preapproval, amount=PLAN, interval="month", next_charge_on=date(2026, 12, 2)
    )
    return preapproval


def started() -> Preapproval:
    preapproval = planned()
    responses.add(responses.POST, READY, json=ready_answer())
    checkout = reverse("kakaopay:preapproval-checkout", args=[preapproval.return_token])
    response = Client().get(checkout)
    assert response.status_code == 302
    preapproval.refresh_from_db()
    return preapproval


def agreed() -> Preapproval:
    preapproval = started()
    first = f"{preapproval.reference}-2026-12"
    responses.add(responses.POST, APPROVE, json=approve_answer(first, preapproval.reference))
    Client().get(f"/kakaopay/return/{preapproval.return_token}/", {"pg_token": "token-1"})
    preapproval.refresh_from_db()
    return preapproval


def test_preapprovals_only_with_a_subscription_cid() -> None:
    assert make_backend().supports(Capability.PREAPPROVALS)
    without = {k: v for k, v in OPTIONS.items() if k != "SUBSCRIPTION_CID"}
    assert not KakaoPayBackend(alias="kakaopay", options=without).supports(Capability.PREAPPROVALS)


@pytest.mark.django_db
@responses.activate
@override_settings(KAKAOPAY=SETTINGS)
def test_checkout_sends_the_first_payment_on_the_subscription_cid() -> None:
    preapproval = started()
    body = sent(responses.calls[0])
    assert body["cid"] == "TCSUBSCRIP"
    assert body["total_amount"] == PLAN
    assert body["partner_order_id"] == f"{preapproval.reference}-2026-12"
    assert body["partner_user_id"] == preapproval.reference
    assert preapproval.status == PreapprovalStatus.PENDING
    assert preapproval.provider_preapproval_id == "", "the tid is not the agreement's id"
    assert preapproval.provider_payload["tid"] == TID


@pytest.mark.django_db
@responses.activate
@override_settings(KAKAOPAY=SETTINGS)
def test_without_a_plan_no_money_is_asked_for() -> None:
    preapproval = services.create_preapproval(description="No plan")
    services.start_preapproval(preapproval)
    preapproval.refresh_from_db()
    assert preapproval.status == PreapprovalStatus.FAILED
    assert len(responses.calls) == 0


@pytest.mark.django_db
@responses.activate
@override_settings(
    KAKAOPAY={
        **SETTINGS,
        "BACKENDS": {
            "kakaopay": {
                **SETTINGS["BACKENDS"]["kakaopay"],
                "OPTIONS": {**OPTIONS, "ALLOW_ZERO_WON_REGISTRATION": True},
            }
        },
    }
)
def test_a_zero_won_registration_only_behind_the_option() -> None:
    preapproval = services.create_preapproval(description="No plan")
    responses.add(responses.POST, READY, json=ready_answer())
    services.start_preapproval(preapproval)
    assert sent(responses.calls[0])["total_amount"] == 0
    responses.add(
        responses.POST,
        APPROVE,
        json=approve_answer(preapproval.reference, preapproval.reference, total=0),
    )
    services.complete_preapproval_return(preapproval, {"pg_token": "t"})
    preapproval.refresh_from_db()
    assert preapproval.status == PreapprovalStatus.ACTIVE
    assert not Payment.objects.filter(preapproval=preapproval).exists()


@pytest.mark.django_db
@responses.activate
@override_settings(KAKAOPAY=SETTINGS)
def test_the_approved_agreement_is_active_with_its_sid_and_first_charge() -> None:
    preapproval = agreed()
    approve = sent(responses.calls[1])
    assert approve["cid"] == "TCSUBSCRIP"
    assert approve["tid"] == TID
    assert approve["partner_order_id"] == f"{preapproval.reference}-2026-12"
    assert approve["partner_user_id"] == preapproval.reference
    assert preapproval.status == PreapprovalStatus.ACTIVE
    assert preapproval.provider_preapproval_id == SID
    first = Payment.objects.get(preapproval=preapproval)
    assert first.billing_period == "2026-12"
    assert first.status == PaymentStatus.PAID
    assert first.amount == PLAN
    assert first.provider_payment_id == TID


@pytest.mark.django_db
@responses.activate
@override_settings(KAKAOPAY=SETTINGS)
def test_a_forged_token_changes_nothing() -> None:
    preapproval = started()
    responses.add(responses.POST, APPROVE, status=400, json={"code": -702, "msg": "bad token"})
    responses.add(responses.POST, ORDER, json={"tid": TID, "status": "READY"})
    Client().get(f"/kakaopay/return/{preapproval.return_token}/", {"pg_token": "forged"})
    preapproval.refresh_from_db()
    assert preapproval.status == PreapprovalStatus.PENDING
    assert preapproval.provider_preapproval_id == ""
    assert preapproval.provider_payload["tid"] == TID
    assert sent(responses.calls[-1])["cid"] == "TCSUBSCRIP"
    assert not Payment.objects.filter(preapproval=preapproval).exists()


@pytest.mark.django_db
@responses.activate
@override_settings(KAKAOPAY=SETTINGS)
def test_period_charges_and_the_first_period_is_not_charged_twice() -> None:
    preapproval = agreed()
    reference = preapproval.reference
    responses.add(
        responses.POST,
        CHARGE,
        json=charge_answer(f"{reference}-2027-01", reference, "T2000000000000000001"),
    )
    payment = services.charge_preapproval(preapproval, amount=PLAN, billing_period="2027-01")
    body = sent(responses.calls[-1])
    assert body == {
        "cid": "TCSUBSCRIP",
        "sid": SID,
        "partner_order_id": f"{reference}-2027-01",
        "partner_user_id": reference,
        "item_name": "Monthly plan",
        "quantity": 1,
        "total_amount": PLAN,
        "tax_free_amount": 0,
    }
    assert payment.status == PaymentStatus.PAID

    calls = len(responses.calls)
    report = services.charge_due_preapprovals(today=date(2026, 12, 3))
    assert len(responses.calls) == calls, "the first period was paid at the agreement"
    assert [line.outcome for line in report.lines] == ["skipped"]

    responses.add(
        responses.POST,
        CHARGE,
        json=charge_answer(f"{reference}-2027-02", reference, "T2000000000000000002"),
    )
    # 2027-01 was charged by hand above, so the run charges February.
    services.charge_due_preapprovals(today=date(2027, 2, 2))
    periods = sorted(
        Payment.objects.filter(preapproval=preapproval, status=PaymentStatus.PAID).values_list(
            "billing_period", flat=True
        )
    )
    assert periods == ["2026-12", "2027-01", "2027-02"]


@pytest.mark.django_db
@responses.activate
@override_settings(KAKAOPAY=SETTINGS)
def test_a_charge_is_looked_up_and_cancelled_on_the_subscription_cid() -> None:
    preapproval = agreed()
    first = Payment.objects.get(preapproval=preapproval)
    order = {
        "tid": TID,
        "status": "SUCCESS_PAYMENT",
        "partner_order_id": first.reference,
        "amount": amount(PLAN),
        "cancel_available_amount": amount(PLAN),
    }
    responses.add(responses.POST, ORDER, json=order)
    services.sync_payment(first)
    assert sent(responses.calls[-1])["cid"] == "TCSUBSCRIP"
    backend = get_backend("kakaopay")
    assert backend._cid_for(first.as_ref()) == "TCSUBSCRIP"


@pytest.mark.django_db
@responses.activate
@override_settings(KAKAOPAY=SETTINGS)
def test_cancel_through_the_services_and_the_status_pull() -> None:
    preapproval = agreed()
    responses.add(responses.POST, STATUS, json=status_answer("ACTIVE"))
    services.sync_preapproval(preapproval)
    assert sent(responses.calls[-1]) == {"cid": "TCSUBSCRIP", "sid": SID}
    responses.add(responses.POST, INACTIVE, json={"sid": SID, "status": "INACTIVE"})
    services.cancel_preapproval(preapproval)
    preapproval.refresh_from_db()
    assert sent(responses.calls[-1]) == {"cid": "TCSUBSCRIP", "sid": SID}
    assert preapproval.status == PreapprovalStatus.CANCELED
    assert preapproval.provider_preapproval_id == SID


@pytest.mark.django_db
@responses.activate
@override_settings(KAKAOPAY=SETTINGS)
def test_cancel_through_the_admin_action(admin_client: Client) -> None:
    preapproval = agreed()
    responses.add(responses.POST, INACTIVE, json={"sid": SID, "status": "INACTIVE"})
    url = reverse("admin:django_kakaopay_preapproval_changelist")
    response = admin_client.post(
        url,
        {
            "action": "cancel_preapprovals",
            "_selected_action": [str(preapproval.pk)],
            "apply": "1",
        },
    )
    assert response.status_code == 302
    preapproval.refresh_from_db()
    assert preapproval.status == PreapprovalStatus.CANCELED


@pytest.mark.django_db
@responses.activate
@override_settings(KAKAOPAY=SETTINGS)
def test_a_timed_out_ready_needs_reconciliation() -> None:
    preapproval = planned()
    responses.add(responses.POST, READY, body=requests.exceptions.ReadTimeout())
    services.start_preapproval(preapproval)
    preapproval.refresh_from_db()
    assert preapproval.needs_reconciliation


@pytest.mark.django_db
@responses.activate
@override_settings(KAKAOPAY=SETTINGS)
def test_a_timed_out_approve_needs_reconciliation() -> None:
    preapproval = started()
    responses.add(responses.POST, APPROVE, body=requests.exceptions.ReadTimeout())
    Client().get(f"/kakaopay/return/{preapproval.return_token}/", {"pg_token": "token-1"})
    preapproval.refresh_from_db()
    assert preapproval.needs_reconciliation
    assert preapproval.status == PreapprovalStatus.PENDING
    assert not Payment.objects.filter(preapproval=preapproval).exists()


@pytest.mark.django_db
@responses.activate
@override_settings(KAKAOPAY=SETTINGS)
def test_a_timed_out_charge_needs_reconciliation() -> None:
    preapproval = agreed()
    responses.add(responses.POST, CHARGE, body=requests.exceptions.ReadTimeout())
    payment = services.charge_preapproval(preapproval, amount=PLAN, billing_period="2027-01")
    assert payment.needs_reconciliation
    assert payment.status != PaymentStatus.PAID


@pytest.mark.django_db
@responses.activate
@override_settings(KAKAOPAY=SETTINGS)
def test_a_timed_out_cancel_needs_reconciliation() -> None:
    preapproval = agreed()
    responses.add(responses.POST, INACTIVE, body=requests.exceptions.ReadTimeout())
    services.cancel_preapproval(preapproval)
    preapproval.refresh_from_db()
    assert preapproval.needs_reconciliation
    assert preapproval.status == PreapprovalStatus.ACTIVE
    assert preapproval.cancel_requested_at is not None


@pytest.mark.django_db
@responses.activate
@override_settings(KAKAOPAY=SETTINGS)
def test_a_first_charge_is_refunded_on_the_subscription_cid() -> None:
    preapproval = agreed()
    first = Payment.objects.get(preapproval=preapproval)
    remaining = amount(PLAN)
    responses.add(
        responses.POST,
        ORDER,
        json={"tid": TID, "status": "SUCCESS_PAYMENT", "cancel_available_amount": remaining},
    )
    responses.add(
        responses.POST,
        f"{BASE}/online/v1/payment/cancel",
        json={
            "aid": "A9999999999999999999",
            "tid": TID,
            "status": "CANCEL_PAYMENT",
            "approved_cancel_amount": remaining,
        },
    )
    services.request_refund(first, PLAN)
    assert sent(responses.calls[-2])["cid"] == "TCSUBSCRIP"
    assert sent(responses.calls[-1])["cid"] == "TCSUBSCRIP"


@pytest.mark.django_db
@responses.activate
@override_settings(KAKAOPAY=SETTINGS)
def test_a_known_sid_is_never_replaced() -> None:
    preapproval = agreed()
    responses.add(
        responses.POST, STATUS, json={**status_answer("ACTIVE"), "sid": "S9999999999999999999"}
    )
    services.sync_preapproval(preapproval)
    preapproval.refresh_from_db()
    assert preapproval.provider_preapproval_id == SID


@pytest.mark.django_db
@responses.activate
@override_settings(KAKAOPAY=SETTINGS)
def test_a_timed_out_approve_is_settled_by_a_pull_with_the_first_charge() -> None:
    preapproval = started()
    responses.add(responses.POST, APPROVE, body=requests.exceptions.ReadTimeout())
    services.complete_preapproval_return(preapproval, {"pg_token": "token-1"})
    preapproval.refresh_from_db()
    assert preapproval.needs_reconciliation
    order = {
        "tid": TID,
        "sid": SID,
        "status": "SUCCESS_PAYMENT",
        "partner_order_id": f"{preapproval.reference}-2026-12",
        "partner_user_id": preapproval.reference,
        "amount": amount(PLAN),
    }
    responses.add(responses.POST, ORDER, json=order)
    services.sync_preapproval(preapproval)
    preapproval.refresh_from_db()
    assert preapproval.status == PreapprovalStatus.ACTIVE
    assert preapproval.provider_preapproval_id == SID
    assert not preapproval.needs_reconciliation
    first = Payment.objects.get(preapproval=preapproval)
    assert (first.billing_period, first.status) == ("2026-12", PaymentStatus.PAID)


@pytest.mark.django_db
@responses.activate
@override_settings(KAKAOPAY=SETTINGS)
def test_a_paid_first_payment_without_a_sid_is_left_for_a_person() -> None:
    preapproval = started()
    responses.add(responses.POST, APPROVE, body=requests.exceptions.ReadTimeout())
    services.complete_preapproval_return(preapproval, {"pg_token": "token-1"})
    responses.add(
        responses.POST,
        ORDER,
        json={"tid": TID, "status": "SUCCESS_PAYMENT", "amount": amount(PLAN)},
    )
    services.sync_preapproval(preapproval)
    preapproval.refresh_from_db()
    assert preapproval.status == PreapprovalStatus.PENDING
    assert preapproval.needs_reconciliation
    assert preapproval.provider_payload["tid"] == TID


@pytest.mark.django_db
@responses.activate
@override_settings(KAKAOPAY=SETTINGS)
def test_a_timed_out_approve_is_settled_by_the_reconcile_job() -> None:
    from django_kakaopay.services.reconcile import reconcile_preapproval

    preapproval = started()
    responses.add(responses.POST, APPROVE, body=requests.exceptions.ReadTimeout())
    services.complete_preapproval_return(preapproval, {"pg_token": "token-1"})
    preapproval.refresh_from_db()
    order = {
        "tid": TID,
        "sid": SID,
        "status": "SUCCESS_PAYMENT",
        "partner_order_id": f"{preapproval.reference}-2026-12",
        "amount": amount(PLAN),
    }
    responses.add(responses.POST, ORDER, json=order)
    reconcile_preapproval(preapproval)
    preapproval.refresh_from_db()
    assert preapproval.status == PreapprovalStatus.ACTIVE
    assert Payment.objects.get(preapproval=preapproval).status == PaymentStatus.PAID
