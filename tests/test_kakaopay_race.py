"""KakaoPay's approval return raced on PostgreSQL, where row locks are real.

The return with ``pg_token`` hit 8 times at once while ``kakaopay_reconcile``
runs: KakaoPay is asked to approve once, the payment moves once and the
business signal is sent once.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import responses
from django.test import Client, override_settings

from django_kakaopay import services
from django_kakaopay.models import Payment, StatusTransition

from .conftest import SignalRecorder
from .test_concurrency import run_at_once
from .test_kakaopay_backend import (
    APPROVE,
    ORDER,
    READY,
    SETTINGS,
    approve_answer,
    order_answer,
    ready_answer,
)

RETURNS = 8

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@override_settings(KAKAOPAY=SETTINGS)
def test_eight_returns_and_the_reconcile_job_approve_once(signal_log: SignalRecorder) -> None:
    approved = threading.Event()
    approvals: list[int] = []
    lock = threading.Lock()

    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add(responses.POST, READY, json=ready_answer())
        payment = services.create_payment(amount=11000, description="Wireless headphones")
        services.start_payment(payment)
        payment.refresh_from_db()

        def approve(request: Any) -> tuple[int, dict[str, str], str]:
            with lock:
                approvals.append(1)
            time.sleep(0.2)  # a slow KakaoPay: the other returns arrive meanwhile
            approved.set()
            return 200, {}, json.dumps(approve_answer(payment.reference, 11000))

        def order(request: Any) -> tuple[int, dict[str, str], str]:
            status = "SUCCESS_PAYMENT" if approved.is_set() else "AUTH_PASSWORD"
            return 200, {}, json.dumps(order_answer(status, reference=payment.reference))

        mock.add_callback(responses.POST, APPROVE, callback=approve)
        mock.add_callback(responses.POST, ORDER, callback=order)

        url = f"/kakaopay/return/{payment.return_token}/"

        def come_back() -> int:
            return int(Client().get(url, {"pg_token": "token-from-kakaopay"}).status_code)

        def reconcile() -> object:
            # Past RECONCILE_AFTER, inside KakaoPay's 15-minute expiry window.
            return services.reconcile(now=payment.created_at + timedelta(minutes=11))

        workers: list[Callable[[], Any]] = [come_back] * RETURNS + [reconcile]
        results = run_at_once(workers)

    assert [r for r in results if isinstance(r, Exception)] == []
    assert len(approvals) == 1, "KakaoPay is asked to approve once"
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PAID
    assert StatusTransition.objects.filter(payment=payment, to_status="paid").count() == 1
    assert signal_log.names().count("payment_paid") == 1
