"""Races on PostgreSQL, where row locks are real.

Many threads deliver the same notification and hit the return view for the
same payment at the same instant; the payment must move exactly once and the
business signal must be sent exactly once. Several runs of the cron jobs
(charge_due, reconcile) at once share the rows instead of repeating them, and
a refund form posted many times at once refunds once. SQLite serialises writers and
ignores ``select_for_update``, so there these tests say why they are skipped.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client, override_settings
from django.utils import timezone

from django_kakaopay import services
from django_kakaopay.exceptions import RefundNotAllowed
from django_kakaopay.models import (
    Payment,
    Refund,
    SandboxTransaction,
    StatusTransition,
    WebhookEvent,
)
from django_kakaopay.sandbox import provider

from .conftest import SignalRecorder
from .helpers import (
    HEADPHONES,
    LossyBackend,
    active_preapproval,
    deliver,
    event_body,
    lossy_settings,
    paid_payment,
    provider_side,
    started_payment,
)

THREADS = 16

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def run_at_once(workers: list[Callable[[], Any]]) -> list[Any]:
    """Start every worker on one barrier; return results or raised exceptions."""
    barrier = threading.Barrier(len(workers))
    results: list[Any] = [None] * len(workers)

    def run(index: int, work: Callable[[], Any]) -> None:
        try:
            barrier.wait(timeout=30)
            results[index] = work()
        except Exception as exc:  # collected and asserted on by the caller
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, w)) for i, w in enumerate(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a worker hung"
    return results


def test_duplicate_notifications_and_returns_race_to_one_transition(
    signal_log: SignalRecorder,
) -> None:
    payment = started_payment(success_url="/thanks/")
    provider.decide_payment(provider_side(payment), "approve")
    body = event_body(payment)

    def notify() -> int:
        return int(deliver(Client(), body).status_code)

    def come_back() -> str:
        return str(Client().get(f"/kakaopay/return/{payment.return_token}/")["Location"])

    workers: list[Callable[[], Any]] = [notify, come_back] * (THREADS // 2)
    results = run_at_once(workers)

    errors = [r for r in results if isinstance(r, Exception)]
    assert errors == []
    assert results[0::2] == [200] * (THREADS // 2)
    assert results[1::2] == ["/thanks/"] * (THREADS // 2)
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PAID
    assert StatusTransition.objects.filter(payment=payment, to_status="paid").count() == 1
    assert signal_log.names().count("payment_paid") == 1
    event = WebhookEvent.objects.get()
    assert event.status == WebhookEvent.Status.PROCESSED
    assert event.attempts == 1, "every other delivery was answered as a duplicate"


def test_concurrent_checkouts_start_the_payment_once(signal_log: SignalRecorder) -> None:
    payment = services.create_payment(amount=11000, items=HEADPHONES)

    def checkout() -> str:
        return str(Client().get(payment.get_checkout_url())["Location"])

    results = run_at_once([checkout] * THREADS)
    assert [r for r in results if isinstance(r, Exception)] == []
    assert len(set(results)) == 1, "everyone is sent to the same KakaoPay page"
    assert SandboxTransaction.objects.filter(kind="payment").count() == 1
    assert list(payment.transitions.values_list("from_status", "to_status")) == [
        ("created", "pending")
    ]
    assert signal_log.names().count("status_changed") == 1


def test_concurrent_charges_for_one_period_charge_once(signal_log: SignalRecorder) -> None:
    preapproval = active_preapproval()

    def charge() -> str:
        return str(
            services.charge_preapproval(preapproval, amount=9900, billing_period="2026-11").pk
        )

    results = run_at_once([charge] * THREADS)
    assert [r for r in results if isinstance(r, Exception)] == []
    assert len(set(results)) == 1, "every caller got the same payment"
    assert Payment.objects.filter(preapproval=preapproval).count() == 1
    assert SandboxTransaction.objects.filter(kind="payment", parent__isnull=False).count() == 1
    made = Payment.objects.get(preapproval=preapproval)
    assert made.status == Payment.Status.PAID
    assert StatusTransition.objects.filter(payment=made, to_status="paid").count() == 1
    assert signal_log.names().count("payment_paid") == 1


def test_concurrent_full_refunds_refund_once(signal_log: SignalRecorder) -> None:
    payment = paid_payment()

    def refund() -> str:
        return str(services.request_refund(Payment.objects.get(pk=payment.pk), 11000).status)

    results = run_at_once([refund] * THREADS)
    succeeded = [r for r in results if r == Refund.Status.SUCCEEDED]
    refused = [r for r in results if isinstance(r, RefundNotAllowed)]
    assert len(succeeded) == 1
    assert len(refused) == THREADS - 1
    payment.refresh_from_db()
    assert payment.refunded_amount == 11000
    assert payment.status == Payment.Status.REFUNDED
    assert Refund.objects.filter(payment=payment).count() == 1
    assert provider_side(payment).refunded_amount == 11000
    assert SandboxTransaction.objects.filter(kind="refund").count() == 1
    assert signal_log.names().count("payment_refunded") == 1


def test_concurrent_charge_due_runs_charge_each_plan_once(signal_log: SignalRecorder) -> None:
    due = date(2026, 11, 23)
    plans = [active_preapproval() for _ in range(3)]
    for preapproval in plans:
        services.set_billing_plan(preapproval, amount=9900, interval="month", next_charge_on=due)

    def charge_due() -> int:
        return services.charge_due_preapprovals(today=due).charged

    results = run_at_once([charge_due] * THREADS)
    assert [r for r in results if isinstance(r, Exception)] == []
    assert sum(results) == len(plans), "each plan charged by exactly one runner"
    for preapproval in plans:
        assert list(
            Payment.objects.filter(preapproval=preapproval).values_list("billing_period", flat=True)
        ) == ["2026-11"]
        preapproval.refresh_from_db()
        assert preapproval.next_charge_on == date(2026, 12, 23)
    assert SandboxTransaction.objects.filter(kind="payment", parent__isnull=False).count() == 3
    assert signal_log.names().count("payment_paid") == 3


def test_concurrent_reconcile_runs_pull_each_row_once() -> None:
    LossyBackend.faults.clear()
    LossyBackend.calls.clear()
    with override_settings(KAKAOPAY=lossy_settings()):
        LossyBackend.faults["create_payment"] = "late"
        payments = []
        for _ in range(4):
            payment = services.create_payment(amount=11000, backend="lossy")
            services.start_payment(payment)
            payments.append(payment)
        LossyBackend.faults.clear()
        later = timezone.now() + timedelta(hours=1)

        def reconcile() -> int:
            return services.reconcile(now=later).settled

        results = run_at_once([reconcile] * THREADS)
    assert [r for r in results if isinstance(r, Exception)] == []
    assert sum(results) == len(payments)
    assert LossyBackend.calls.count("fetch_payment") == len(payments)
    for payment in payments:
        payment.refresh_from_db()
        assert payment.status == Payment.Status.PENDING
        assert payment.transitions.count() == 1
    LossyBackend.calls.clear()


def test_a_double_submitted_refund_form_refunds_once() -> None:
    """Two POSTs of the same admin refund page race; both carry the total it showed."""
    payment = paid_payment()
    shown = payment.refunded_amount  # nothing refunded or pending when the page was drawn

    def submit() -> Refund:
        return services.request_refund(payment, 3000, expected_refund_total=shown)

    results = run_at_once([submit] * THREADS)
    refunds = [r for r in results if isinstance(r, Refund)]
    refused = [r for r in results if isinstance(r, RefundNotAllowed)]
    assert len(refunds) == 1, results
    assert len(refused) == THREADS - 1, results
    payment.refresh_from_db()
    assert payment.refunded_amount == 3000
    assert payment.refunds.count() == 1
