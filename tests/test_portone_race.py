"""PortOne's browser return and its webhook raced on PostgreSQL, where row locks are real.

PortOne promises no order between the customer's return and the
``Transaction.Paid`` webhook, and retries the webhook: here 8 returns, 3
deliveries of the same webhook and the reconcile job arrive at once. Each
asks PortOne, and all meet in the same transition rules: the payment moves
once and the business signal is sent once.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import responses
from django.test import Client, override_settings
from django.urls import reverse

from django_kakaopay import services
from django_kakaopay.models import Payment, StatusTransition, WebhookEvent

from .conftest import SignalRecorder
from .test_concurrency import run_at_once
from .test_portone_backend import API, SETTINGS, event, payment_object, post_webhook, signed

RETURNS = 8
DELIVERIES = 3

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@override_settings(KAKAOPAY=SETTINGS)
def test_returns_webhook_retries_and_reconcile_move_the_payment_once(
    signal_log: SignalRecorder,
) -> None:
    payment = services.create_payment(amount=11000, description="Wireless headphones")
    Client().get(reverse("kakaopay:checkout", args=[payment.return_token]))
    payment.refresh_from_db()
    body, headers = signed(event("Transaction.Paid", paymentId=payment.reference))

    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:

        def look_up(request: Any) -> tuple[int, dict[str, str], str]:
            time.sleep(0.05)  # a slow PortOne: the others arrive meanwhile
            return 200, {}, json.dumps(payment_object(payment.reference, "PAID"))

        mock.add_callback(responses.GET, f"{API}/payments/{payment.reference}", callback=look_up)
        url = f"/kakaopay/return/{payment.return_token}/"

        def come_back() -> int:
            return int(Client().get(url, {"paymentId": payment.reference}).status_code)

        def deliver() -> int:
            return int(post_webhook(body, headers).status_code)

        def reconcile() -> object:
            return services.reconcile(now=payment.created_at + timedelta(minutes=11))

        workers: list[Callable[[], Any]] = (
            [come_back] * RETURNS + [deliver] * DELIVERIES + [reconcile]
        )
        results = run_at_once(workers)

    assert [r for r in results if isinstance(r, Exception)] == []
    assert all(r == 200 for r in results[RETURNS : RETURNS + DELIVERIES]), results
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PAID
    assert StatusTransition.objects.filter(payment=payment, to_status="paid").count() == 1
    assert signal_log.names().count("payment_paid") == 1
    assert WebhookEvent.objects.filter(status="processed").count() == 1
