"""The notification endpoint and its inbox: store, authenticate, process, answer."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from django_kakaopay import services
from django_kakaopay.exceptions import WebhookAuthenticationError
from django_kakaopay.models import Payment, StatusTransition, WebhookEvent
from django_kakaopay.sandbox import provider

from .conftest import SignalRecorder
from .helpers import deliver, event_body, started_payment

# Signals are sent after commit, so these tests commit for real.
pytestmark = pytest.mark.django_db(transaction=True)


def transitions_of(payment: Payment) -> list[tuple[str, str, str]]:
    return list(payment.transitions.values_list("from_status", "to_status", "source"))


def test_genuine_notification_marks_paid_once(client: Client, signal_log: SignalRecorder) -> None:
    payment = started_payment()
    response = deliver(client, event_body(payment))
    assert response.status_code == 200
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PAID
    assert payment.paid_at is not None
    event = WebhookEvent.objects.get()
    assert event.status == WebhookEvent.Status.PROCESSED
    assert event.attempts == 1
    assert event.processed_at is not None
    assert transitions_of(payment)[-1] == ("pending", "paid", "webhook")
    assert len(signal_log.of("payment_paid")) == 1
    paid = signal_log.of("payment_paid")[0]
    assert paid[1].pk == payment.pk
    assert paid[2:] == ("pending", "paid", "webhook")


def test_forged_signature_changes_nothing(client: Client, signal_log: SignalRecorder) -> None:
    payment = started_payment()
    before = transitions_of(payment)
    body = event_body(payment)
    response = client.post(
        "/kakaopay/webhooks/sandbox/",
        body,
        content_type="application/json",
        headers={
            "X-Sandbox-Signature": "sha256=" + "0" * 64,
            "Authorization": "Basic c2VjcmV0OnNlY3JldA==",
        },
    )
    assert response.status_code == 401
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PENDING
    assert transitions_of(payment) == before
    assert signal_log.of("payment_paid") == []
    event = WebhookEvent.objects.get()
    assert event.status == WebhookEvent.Status.REJECTED
    assert bytes(event.body) == body, "kept for diagnosis"
    stored = {name.lower() for name in event.headers}
    assert "authorization" not in stored
    assert "x-sandbox-signature" not in stored
    assert "c2VjcmV0" not in repr(event.headers)


def test_missing_signature_is_401(client: Client) -> None:
    payment = started_payment()
    response = deliver(client, event_body(payment), signature="")
    assert response.status_code == 401
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PENDING


def test_signature_over_another_body_is_401(client: Client) -> None:
    payment = started_payment()
    genuine = event_body(payment)
    from django_kakaopay.sandbox.signing import sign, signing_secret

    tampered = genuine.replace(b'"amount": 11000', b'"amount": 11001')
    response = deliver(client, tampered, signature=sign(signing_secret("sandbox", {}), genuine))
    assert response.status_code == 401


def test_malformed_body_is_400_and_kept(client: Client) -> None:
    response = deliver(client, b'{"id": "evt_broken", "type": ')
    assert response.status_code == 400
    event = WebhookEvent.objects.get()
    assert event.status == WebhookEvent.Status.FAILED
    assert event.last_error


def test_duplicate_delivery_is_acknowledged_and_applied_once(
    client: Client, signal_log: SignalRecorder
) -> None:
    payment = started_payment()
    body = event_body(payment)
    assert deliver(client, body).status_code == 200
    assert deliver(client, body).status_code == 200
    assert deliver(client, body).status_code == 200
    assert WebhookEvent.objects.count() == 1
    assert StatusTransition.objects.filter(payment=payment, to_status="paid").count() == 1
    assert len(signal_log.of("payment_paid")) == 1


def test_out_of_order_stale_event_does_not_regress(
    client: Client, signal_log: SignalRecorder
) -> None:
    payment = started_payment()
    paid = event_body(payment, event_id="evt_2", created_at="2026-11-23T10:05:00+09:00")
    pending = event_body(
        payment, provider.READY, event_id="evt_1", created_at="2026-11-23T10:00:00+09:00"
    )
    assert deliver(client, paid).status_code == 200
    assert deliver(client, pending).status_code == 200
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PAID
    assert len(signal_log.of("status_changed")) == 2  # created→pending, pending→paid


def test_an_older_event_never_undoes_a_newer_state(client: Client) -> None:
    payment = started_payment()
    failed = event_body(
        payment, provider.FAIL_PAYMENT, event_id="evt_b", created_at="2026-11-23T10:05:00+09:00"
    )
    older_success = event_body(payment, event_id="evt_a", created_at="2026-11-23T10:00:00+09:00")
    deliver(client, failed)
    deliver(client, older_success)
    payment.refresh_from_db()
    assert payment.status == Payment.Status.FAILED, "the success is older than the failure"


def test_a_later_success_overrides_an_earlier_failure(client: Client) -> None:
    payment = started_payment()
    deliver(
        client,
        event_body(
            payment, provider.FAIL_PAYMENT, event_id="e1", created_at="2026-11-23T10:00:00+09:00"
        ),
    )
    deliver(client, event_body(payment, event_id="e2", created_at="2026-11-23T10:05:00+09:00"))
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PAID


@pytest.mark.parametrize(
    ("change", "fragment"),
    [({"amount": 1000}, "Amount mismatch"), ({"currency": "USD"}, "Currency mismatch")],
)
def test_amount_or_currency_mismatch_is_recorded_and_not_paid(
    client: Client, signal_log: SignalRecorder, change: dict[str, Any], fragment: str
) -> None:
    payment = started_payment()
    response = deliver(client, event_body(payment, **change))
    assert response.status_code == 200, "a retry would not change the provider's answer"
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PENDING
    assert payment.needs_reconciliation
    assert fragment in payment.last_error
    event = WebhookEvent.objects.get()
    assert event.status == WebhookEvent.Status.IGNORED
    assert fragment in event.last_error
    assert signal_log.of("payment_paid") == []


def test_unknown_payment_is_acknowledged_and_ignored(client: Client) -> None:
    payment = started_payment()
    body = event_body(payment, id="sbx_pay_nobody", reference="NOT-OURS")
    response = deliver(client, body)
    assert response.status_code == 200
    event = WebhookEvent.objects.get()
    assert event.status == WebhookEvent.Status.IGNORED
    assert "NOT-OURS" in event.last_error
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PENDING


def test_unknown_event_type_is_ignored(client: Client) -> None:
    body = b'{"id": "evt_x", "type": "shipment.created", "data": {"object": "shipment"}}'
    assert deliver(client, body).status_code == 200
    assert WebhookEvent.objects.get().status == WebhookEvent.Status.IGNORED


def test_unknown_alias_is_404_and_get_is_405(client: Client) -> None:
    assert deliver(client, b"{}", alias="nope", signature="x").status_code == 404
    assert client.get("/kakaopay/webhooks/sandbox/").status_code == 405


def test_processing_failure_answers_500_rolls_back_and_can_be_replayed(
    client: Client, signal_log: SignalRecorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    payment = started_payment()
    original = services.webhooks.apply_update

    def explode(*args: Any, **kwargs: Any) -> Any:
        original(*args, **kwargs)  # the change is made ...
        raise RuntimeError("database went away")  # ... then processing fails

    monkeypatch.setattr(services.webhooks, "apply_update", explode)
    response = deliver(client, event_body(payment))
    assert response.status_code == 500
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PENDING, "the partial change was rolled back"
    assert signal_log.of("payment_paid") == []
    event = WebhookEvent.objects.get()
    assert event.status == WebhookEvent.Status.FAILED
    assert "database went away" in event.last_error

    monkeypatch.setattr(services.webhooks, "apply_update", original)
    replayed = services.replay_event(event)
    assert replayed.status_code == 200
    event.refresh_from_db()
    payment.refresh_from_db()
    assert event.status == WebhookEvent.Status.PROCESSED
    assert event.attempts == 2
    assert payment.status == Payment.Status.PAID
    assert len(signal_log.of("payment_paid")) == 1


def test_provider_retry_after_a_failure_processes_the_same_row(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    payment = started_payment()
    body = event_body(payment)
    monkeypatch.setattr(
        services.webhooks, "apply_update", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("x"))
    )
    assert deliver(client, body).status_code == 500
    monkeypatch.undo()
    assert deliver(client, body).status_code == 200
    assert WebhookEvent.objects.count() == 1
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PAID


def test_rejected_and_unauthenticated_rows_are_never_replayed(client: Client) -> None:
    payment = started_payment()
    deliver(client, event_body(payment), signature="sha256=bad")
    rejected = WebhookEvent.objects.get()
    with pytest.raises(WebhookAuthenticationError):
        services.replay_event(rejected)
    received = WebhookEvent.objects.create(
        backend="sandbox", event_key="evt_stuck", body=event_body(payment, event_id="evt_stuck")
    )
    with pytest.raises(WebhookAuthenticationError):
        services.replay_event(received)
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PENDING


def test_a_forgery_reusing_a_real_event_id_does_not_block_the_real_event(client: Client) -> None:
    payment = started_payment()
    genuine = event_body(payment, event_id="evt_shared")
    forged = event_body(payment, provider.FAIL_PAYMENT, event_id="evt_shared")
    assert deliver(client, forged, signature="sha256=forged").status_code == 401
    assert deliver(client, genuine).status_code == 200
    event = WebhookEvent.objects.get()
    assert event.status == WebhookEvent.Status.PROCESSED
    assert bytes(event.body) == genuine, "the authenticated delivery replaced the forged body"
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PAID


def test_a_forgery_after_processing_does_not_touch_the_row(client: Client) -> None:
    payment = started_payment()
    genuine = event_body(payment, event_id="evt_done")
    deliver(client, genuine)
    forged = event_body(payment, provider.FAIL_PAYMENT, event_id="evt_done")
    assert deliver(client, forged, signature="sha256=forged").status_code == 401
    event = WebhookEvent.objects.get()
    assert event.status == WebhookEvent.Status.PROCESSED
    assert bytes(event.body) == genuine


def test_a_failing_signal_receiver_does_not_fail_the_notification(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    from django_kakaopay.signals import payment_paid

    calls: list[str] = []

    def broken(**kwargs: Any) -> None:
        raise RuntimeError("fulfilment bug")

    def healthy(**kwargs: Any) -> None:
        calls.append("ran")

    payment_paid.connect(broken, weak=False)
    payment_paid.connect(healthy, weak=False)
    try:
        payment = started_payment()
        response = deliver(client, event_body(payment))
    finally:
        payment_paid.disconnect(broken)
        payment_paid.disconnect(healthy)
    assert response.status_code == 200
    assert calls == ["ran"], "the other receivers still ran"
    assert "fulfilment bug" in caplog.text
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PAID
