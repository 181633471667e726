"""A KakaoPay payment from checkout to its last cancel, as the shop and its staff see it.

The customer goes through the checkout and return views, staff refund part
of it in the admin, the shop refunds the rest through the services, and the
admin's refresh pulls the order: every step against the mocked API, with
the counts of transitions and refunds checked at the end.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import responses
from django.test import Client, override_settings
from django.urls import reverse

from django_kakaopay import services
from django_kakaopay.models import Payment, Refund
from django_kakaopay.status import PaymentStatus, RefundStatus

from .test_kakaopay_backend import (
    APPROVE,
    CANCEL,
    ORDER,
    READY,
    SETTINGS,
    TID,
    amount,
    approve_answer,
    order_answer,
    ready_answer,
)

PAYMENTS = reverse("admin:django_kakaopay_payment_changelist")


def cancel_answer(
    reference: str, cancelled: int, total_canceled: int, status: str
) -> dict[str, Any]:
    return {
        "aid": f"A{total_canceled:019d}",
        "tid": TID,
        "cid": "TC0ONETIME",
        "status": status,
        "partner_order_id": reference,
        "partner_user_id": reference,
        "payment_method_type": "CARD",
        "amount": amount(11000),
        "approved_cancel_amount": amount(cancelled),
        "canceled_amount": amount(total_canceled),
        "cancel_available_amount": amount(11000 - total_canceled),
        "canceled_at": "2026-12-02T11:00:00",
    }


def admin_refund(client: Client, payment: Payment, amount_in_won: str) -> Any:
    """Open the admin's refund page for ``payment`` and submit it, as staff do."""
    selected = {"action": "refund_payments", "_selected_action": [str(payment.pk)]}
    page = client.post(PAYMENTS, selected)
    token = re.search(r'name="refund_totals" value="([^"]+)"', page.content.decode())
    assert token, page.content.decode()[:2000]
    return client.post(
        PAYMENTS,
        {
            **selected,
            "apply": "1",
            "refund_totals": token.group(1),
            "amount": amount_in_won,
            "reason": "One item returned",
        },
    )


@pytest.mark.django_db
@responses.activate
@override_settings(KAKAOPAY=SETTINGS)
def test_pay_then_cancel_part_in_the_admin_and_the_rest_in_code(admin_client: Client) -> None:
    payment = services.create_payment(amount=11000, description="Wireless headphones")
    reference = payment.reference

    responses.add(responses.POST, READY, json=ready_answer())
    checkout = Client().get(reverse("kakaopay:checkout", args=[payment.return_token]))
    assert checkout.status_code == 302
    assert checkout["Location"] == ready_answer()["next_redirect_pc_url"]

    responses.add(responses.POST, APPROVE, json=approve_answer(reference, 11000))
    back = Client().get(f"/kakaopay/return/{payment.return_token}/", {"pg_token": "token-1"})
    assert back.status_code == 200
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PAID
    assert payment.provider_payment_id == TID

    # Staff cancel 4,000 won in the admin: the order is read, then cancelled.
    responses.add(responses.POST, ORDER, json=order_answer("SUCCESS_PAYMENT", reference=reference))
    responses.add(
        responses.POST,
        CANCEL,
        json=cancel_answer(reference, 4000, 4000, "PART_CANCEL_PAYMENT"),
    )
    done = admin_refund(admin_client, payment, "4000")
    assert done.status_code == 302, done.content.decode()[:2000]
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PARTIALLY_REFUNDED
    assert payment.refunded_amount == 4000

    # The shop cancels the remaining 7,000 won in code.
    responses.replace(
        responses.POST,
        ORDER,
        json=order_answer("PART_CANCEL_PAYMENT", canceled=4000, reference=reference),
    )
    responses.replace(
        responses.POST,
        CANCEL,
        json=cancel_answer(reference, 7000, 11000, "CANCEL_PAYMENT"),
    )
    refund = services.request_refund(payment, reason="Order cancelled", source="api")
    assert refund.status == RefundStatus.SUCCEEDED
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.REFUNDED
    assert payment.refunded_amount == 11000

    # The admin's refresh pulls the order and changes nothing more.
    responses.replace(
        responses.POST,
        ORDER,
        json=order_answer("CANCEL_PAYMENT", canceled=11000, reference=reference),
    )
    refreshed = admin_client.post(
        PAYMENTS, {"action": "refresh_payments", "_selected_action": [str(payment.pk)]}
    )
    assert refreshed.status_code == 302
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.REFUNDED
    assert Refund.objects.filter(payment=payment, status=RefundStatus.SUCCEEDED).count() == 2
    moves = list(payment.transitions.order_by("pk").values_list("to_status", flat=True))
    assert moves == ["pending", "paid", "partially_refunded", "refunded"]
    cancel_amounts = [call.request.body for call in responses.calls if call.request.url == CANCEL]
    assert len(cancel_amounts) == 2, "each cancel is sent once"
