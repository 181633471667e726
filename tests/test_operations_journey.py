"""The operations person's day, end to end through the admin, in English and in Korean.

Find a payment, read its history, refund part of it, replay a notification
that failed and see it succeed, cancel a subscription: each step as a staff
member does it, in the language their browser asks for.
"""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from django.utils import translation

from django_kakaopay.models import Payment, Preapproval, WebhookEvent
from django_kakaopay.status import PaymentStatus, PreapprovalStatus

from . import helpers
from .test_admin_actions import (
    EVENTS,
    PAYMENTS,
    PREAPPROVALS,
    failed_event,
    follow,
    run,
    submit_refund,
)

pytestmark = pytest.mark.django_db

# What each step must say, per language (from the shipped catalogue).
SAYS = {
    "en": {
        "history": "Status history",
        "refunded": "1 payment was refunded",
        "replayed": "1 notification was replayed",
        "canceled": "1 agreement was canceled",
    },
    "ko": {
        "history": "상태 변경 내역",
        "refunded": "결제 1건을 환불했습니다",
        "replayed": "알림 1건을 다시 처리했습니다",
        "canceled": "자동결제 동의 1건을 해지했습니다",
    },
}


@pytest.mark.parametrize("language", ["en", "ko"])
def test_find_read_refund_replay_and_cancel(
    language: str, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    says = SAYS[language]
    operator = Client(HTTP_ACCEPT_LANGUAGE=language)
    operator.force_login(
        get_user_model().objects.create_superuser("ops", "ops@example.com", "pw-for-tests")
    )
    payment = helpers.paid_payment(
        reference="ORD-5023-4E89", customer={"name": "Jia Tsang", "email": "jia@example.com"}
    )
    helpers.paid_payment(reference="ORD-OTHER", customer={"email": "someone@example.com"})

    # 1. Find it by the customer's e-mail.
    found = operator.get(PAYMENTS, {"q": "jia@example.com"}).content.decode()
    assert "ORD-5023-4E89" in found
    assert "ORD-OTHER" not in found
    assert "₩11,000" in found
    with translation.override(language):
        assert str(PaymentStatus.PAID.label) in found

    # 2. Read its full history.
    change = reverse("admin:django_kakaopay_payment_change", args=[payment.pk])
    history = operator.get(change).content.decode()
    assert says["history"] in history
    steps = list(payment.transitions.order_by("created_at").values_list("to_status", flat=True))
    assert steps == [PaymentStatus.PENDING, PaymentStatus.PAID]
    with translation.override(language):
        for status in steps:
            assert str(PaymentStatus(status).label) in history

    # 3. Refund part of it.
    refunded = submit_refund(operator, [payment], amount="3,000", reason="one item returned")
    assert follow(operator, refunded)[0].startswith(says["refunded"])
    payment.refresh_from_db()
    assert (payment.status, payment.refunded_amount) == (PaymentStatus.PARTIALLY_REFUNDED, 3000)

    # 4. Replay a notification whose processing failed, and see it succeed.
    waiting, event = failed_event(client, monkeypatch)
    assert event.status == WebhookEvent.Status.FAILED
    replayed = run(operator, EVENTS, "replay_events", [event])
    assert follow(operator, replayed)[0].startswith(says["replayed"])
    event.refresh_from_db()
    waiting.refresh_from_db()
    assert event.status == WebhookEvent.Status.PROCESSED
    assert waiting.status == PaymentStatus.PAID

    # 5. Cancel a subscription: a confirmation page, then the cancellation.
    subscription = helpers.active_preapproval(reference="SUB-JIA")
    confirm = run(operator, PREAPPROVALS, "cancel_preapprovals", [subscription])
    assert confirm.status_code == 200
    assert "SUB-JIA" in confirm.content.decode()
    canceled = run(operator, PREAPPROVALS, "cancel_preapprovals", [subscription], apply="1")
    assert follow(operator, canceled)[0].startswith(says["canceled"])
    subscription.refresh_from_db()
    assert subscription.status == PreapprovalStatus.CANCELED
    assert Preapproval.objects.get(pk=subscription.pk).canceled_at is not None
    assert Payment.objects.filter(preapproval=subscription).count() == 0
