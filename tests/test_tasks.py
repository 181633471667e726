"""Queued notifications and the jobs as tasks, on Django's Tasks framework.

The immediate backend runs a task as it is enqueued (after the commit, in
the request); the dummy backend keeps what was enqueued, so a test can run
the worker's side itself and see what a real queue would get.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from unittest import mock

import pytest
from django.conf import settings
from django.core import checks
from django.test import Client, override_settings
from django.utils import timezone

from django_kakaopay import services
from django_kakaopay.checks import check_settings
from django_kakaopay.models import Payment, WebhookEvent
from django_kakaopay.sandbox import provider

from .conftest import SignalRecorder
from .helpers import (
    active_preapproval,
    deliver,
    event_body,
    provider_side,
    sandbox_settings,
    started_payment,
)

MODULE = getattr(settings, "TASKS_MODULE", "")
pytestmark = pytest.mark.skipif(
    not MODULE,
    reason="Django's Tasks framework is missing: Django 6.0+, or pip install django-tasks",
)

if MODULE:
    from django_kakaopay import tasks

QUEUED = {**sandbox_settings(), "NOTIFICATION_PROCESSING": "queued"}


def task_backend(name: str) -> dict[str, Any]:
    return {"default": {"BACKEND": f"{MODULE}.backends.{name}"}}


@pytest.fixture
def dummy_queue() -> Iterator[Any]:
    """The dummy task backend: it keeps enqueued results and runs nothing."""
    with override_settings(TASKS=task_backend("dummy.DummyBackend")):
        backend = tasks.process_notification.get_backend()
        backend.clear()
        yield backend
        backend.clear()


def enqueued(backend: Any) -> list[Any]:
    return list(backend.results)


# -- the queued mode ---------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@override_settings(KAKAOPAY=QUEUED)
def test_a_queued_delivery_is_stored_acknowledged_and_left_for_a_worker(
    dummy_queue: Any, signal_log: SignalRecorder
) -> None:
    payment = started_payment()
    response = deliver(Client(), event_body(payment))
    assert response.status_code == 200
    event = WebhookEvent.objects.get()
    assert event.status == WebhookEvent.Status.QUEUED
    assert event.event_key == "evt_test_1"
    assert event.event_type == "payment.updated"
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PENDING, "nothing is applied in the request"
    [result] = enqueued(dummy_queue)
    assert result.task.func is tasks.process_notification.func
    assert result.args == [event.pk]

    # The worker's side: applied once, however many times it runs.
    assert tasks.process_notification.call(event.pk) == "processed"
    assert tasks.process_notification.call(event.pk) == "processed"
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PAID
    assert payment.transitions.filter(to_status="paid").count() == 1
    assert len(signal_log.of("payment_paid")) == 1


@pytest.mark.django_db(transaction=True)
@override_settings(KAKAOPAY=QUEUED)
def test_a_retried_delivery_of_a_finished_event_enqueues_nothing(dummy_queue: Any) -> None:
    payment = started_payment()
    body = event_body(payment)
    deliver(Client(), body)
    tasks.process_notification.call(WebhookEvent.objects.get().pk)
    dummy_queue.clear()
    assert deliver(Client(), body).status_code == 200
    assert enqueued(dummy_queue) == []
    assert WebhookEvent.objects.count() == 1


@pytest.mark.django_db(transaction=True)
@override_settings(KAKAOPAY=QUEUED)
def test_a_retried_delivery_of_a_queued_event_is_applied_once(
    dummy_queue: Any, signal_log: SignalRecorder
) -> None:
    payment = started_payment()
    body = event_body(payment)
    deliver(Client(), body)
    deliver(Client(), body)  # the provider retried before the worker ran
    assert WebhookEvent.objects.count() == 1
    for result in enqueued(dummy_queue):
        tasks.process_notification.call(*result.args)
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PAID
    assert len(signal_log.of("payment_paid")) == 1


@pytest.mark.django_db(transaction=True)
@override_settings(KAKAOPAY=QUEUED)
def test_with_the_immediate_backend_the_delivery_is_processed_after_its_commit() -> None:
    payment = started_payment()
    assert deliver(Client(), event_body(payment)).status_code == 200
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PAID
    assert WebhookEvent.objects.get().status == WebhookEvent.Status.PROCESSED


@pytest.mark.django_db(transaction=True)
@override_settings(KAKAOPAY=QUEUED)
def test_a_forged_delivery_is_refused_before_anything_is_queued(dummy_queue: Any) -> None:
    payment = started_payment()
    assert deliver(Client(), event_body(payment), signature="forged").status_code == 401
    assert enqueued(dummy_queue) == []
    assert not WebhookEvent.objects.exclude(status="rejected").exists()


@pytest.mark.django_db(transaction=True)
@override_settings(KAKAOPAY=QUEUED)
def test_a_queue_that_is_down_loses_nothing() -> None:
    payment = started_payment()
    backend_class = type(tasks.process_notification.get_backend())
    with mock.patch.object(backend_class, "enqueue", side_effect=ConnectionError("queue down")):
        response = deliver(Client(), event_body(payment))
    assert response.status_code == 200, "stored, so acknowledged"
    event = WebhookEvent.objects.get()
    assert event.status == WebhookEvent.Status.QUEUED
    # kakaopay_replay_webhooks (or its task) processes the row from its body
    # once it is older than WEBHOOK_STALE_AFTER: it was authenticated.
    WebhookEvent.objects.filter(pk=event.pk).update(
        received_at=timezone.now() - timedelta(hours=1),
        updated_at=timezone.now() - timedelta(hours=1),
    )
    tasks.replay_failed_notifications.call()
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PAID


@pytest.mark.django_db(transaction=True)
@override_settings(
    KAKAOPAY={
        **sandbox_settings(),
        "BACKENDS": {
            **sandbox_settings()["BACKENDS"],
            "sandbox": {
                **sandbox_settings()["BACKENDS"]["sandbox"],
                "NOTIFICATION_PROCESSING": "queued",
            },
        },
    }
)
def test_a_backend_entry_can_queue_on_its_own(dummy_queue: Any) -> None:
    payment = started_payment()
    deliver(Client(), event_body(payment))
    assert len(enqueued(dummy_queue)) == 1


@pytest.mark.django_db(transaction=True)
@override_settings(KAKAOPAY=sandbox_settings())
def test_inline_stays_the_default(dummy_queue: Any) -> None:
    payment = started_payment()
    deliver(Client(), event_body(payment))
    assert enqueued(dummy_queue) == []
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PAID


# -- failures are retried with backoff, and stay visible ---------------------------------


@pytest.mark.django_db(transaction=True)
@override_settings(KAKAOPAY={**QUEUED, "NOTIFICATION_TASK_BACKOFF": 10})
def test_a_failed_processing_is_retried_later_and_stays_visible(dummy_queue: Any) -> None:
    payment = started_payment()
    deliver(Client(), event_body(payment))
    event = WebhookEvent.objects.get()
    dummy_queue.clear()
    with mock.patch(
        "django_kakaopay.services.webhooks.apply_update", side_effect=RuntimeError("db hiccup")
    ):
        assert tasks.process_notification.call(event.pk) == "failed"
    event.refresh_from_db()
    assert event.status == WebhookEvent.Status.FAILED
    assert "db hiccup" in event.last_error
    [retry] = enqueued(dummy_queue)
    assert retry.args == [event.pk]
    assert retry.task.run_after is not None
    assert timedelta(seconds=5) < retry.task.run_after - timezone.now() <= timedelta(seconds=10)
    # The retry succeeds.
    assert tasks.process_notification.call(event.pk) == "processed"
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PAID


@pytest.mark.django_db(transaction=True)
@override_settings(KAKAOPAY={**QUEUED, "NOTIFICATION_TASK_ATTEMPTS": 2})
def test_retries_stop_after_the_attempts_and_the_row_waits_for_a_replay(
    dummy_queue: Any,
) -> None:
    payment = started_payment()
    deliver(Client(), event_body(payment))
    event = WebhookEvent.objects.get()
    dummy_queue.clear()
    with mock.patch(
        "django_kakaopay.services.webhooks.apply_update", side_effect=RuntimeError("down")
    ):
        tasks.process_notification.call(event.pk)
        assert len(enqueued(dummy_queue)) == 1
        dummy_queue.clear()
        tasks.process_notification.call(event.pk)
        assert enqueued(dummy_queue) == [], "two attempts in all"
    event.refresh_from_db()
    assert event.status == WebhookEvent.Status.FAILED
    tasks.replay_failed_notifications.call()
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PAID


@pytest.mark.django_db
def test_a_missing_row_is_reported_not_raised() -> None:
    assert tasks.process_notification.call(987654) == "missing"


# -- the jobs as tasks -------------------------------------------------------------------------


@pytest.mark.django_db
def test_reconcile_task_settles_what_the_command_settles() -> None:
    payment = started_payment()
    provider.decide_payment(provider_side(payment), "approve")
    Payment.objects.filter(pk=payment.pk).update(created_at=timezone.now() - timedelta(hours=1))
    result = tasks.reconcile.call()
    assert result["checked"] == 1
    assert result["settled"] == 1
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PAID


@pytest.mark.django_db
def test_charge_due_task_charges_once_per_period() -> None:
    from datetime import date

    preapproval = active_preapproval()
    services.set_billing_plan(
        preapproval, amount=9900, interval="month", next_charge_on=date(2026, 12, 2)
    )
    first = tasks.charge_due.call(today="2026-12-02")
    again = tasks.charge_due.call(today="2026-12-02")
    assert (first["charged"], again["charged"]) == (1, 0)
    assert first["today"] == "2026-12-02"


@pytest.mark.django_db
def test_task_results_are_json() -> None:
    import json

    json.dumps(tasks.reconcile.call())
    json.dumps(tasks.replay_failed_notifications.call())
    json.dumps(tasks.charge_due.call())


# -- checks ------------------------------------------------------------------------------------


@override_settings(KAKAOPAY={**sandbox_settings(), "NOTIFICATION_PROCESSING": "later"})
def test_a_mode_that_is_not_one_is_an_error() -> None:
    ids = [m.id for m in check_settings(None) if m.level >= checks.ERROR]
    assert "kakaopay.E010" in ids


@override_settings(KAKAOPAY=QUEUED)
def test_queued_without_a_framework_is_an_error() -> None:
    with mock.patch("django_kakaopay.task_framework.framework", return_value=None):
        messages = [m for m in check_settings(None) if m.id == "kakaopay.E010"]
    assert messages
    assert "django-tasks" in messages[0].msg


@override_settings(KAKAOPAY=QUEUED)
def test_queued_with_a_framework_passes() -> None:
    assert not [m for m in check_settings(None) if m.id == "kakaopay.E010"]
