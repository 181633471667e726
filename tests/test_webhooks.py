"""The notification endpoint and its inbox: store, authenticate, process, answer."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pytest
from django.db import connection
from django.test import Client, override_settings

from django_kakaopay import services
from django_kakaopay.backends.sandbox import SandboxBackend
from django_kakaopay.exceptions import WebhookNotReplayable
from django_kakaopay.models import (
    Payment,
    Preapproval,
    Refund,
    StatusTransition,
    WebhookEvent,
)
from django_kakaopay.sandbox import provider
from django_kakaopay.sandbox.signing import SIGNATURE_HEADER, sign, signing_secret

from .conftest import SignalRecorder
from .helpers import deliver, event_body, paid_payment, sandbox_settings, started_payment

# Signals are sent after commit, and the endpoint manages its own transactions,
# so these tests commit for real.
pytestmark = pytest.mark.django_db(transaction=True)

BAD_SIGNATURE = "sha256=" + "0" * 64
BASIC_SECRET = "Basic c2VjcmV0OnNlY3JldA=="  # "secret:secret"


def transitions_of(payment: Payment) -> list[tuple[str, str, str]]:
    return list(
        payment.transitions.order_by("id").values_list("from_status", "to_status", "source")
    )


def stored_text(event: WebhookEvent) -> str:
    """Everything stored about an event except its body."""
    return " ".join([json.dumps(event.headers), event.last_error, event.event_key])


def test_the_suite_runs_with_atomic_requests() -> None:
    assert connection.settings_dict["ATOMIC_REQUESTS"] is True


def test_genuine_notification_marks_paid_once(client: Client, signal_log: SignalRecorder) -> None:
    payment = started_payment()
    response = deliver(client, event_body(payment))
    assert response.status_code == 200
    assert response.content == b"OK"
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PAID
    assert payment.paid_at is not None
    event = WebhookEvent.objects.get()
    assert event.status == WebhookEvent.Status.PROCESSED
    assert event.event_key == "evt_test_1"
    assert event.event_type == "payment.updated"
    assert event.attempts == 1
    assert event.processed_at is not None
    assert transitions_of(payment) == [
        ("created", "pending", "checkout"),
        ("pending", "paid", "webhook"),
    ]
    paid = signal_log.of("payment_paid")
    assert len(paid) == 1
    assert paid[0][1].pk == payment.pk
    assert paid[0][2:] == ("pending", "paid", "webhook")


def test_a_bad_signature_changes_nothing(client: Client, signal_log: SignalRecorder) -> None:
    payment = started_payment()
    before = transitions_of(payment)
    signals_before = list(signal_log.events)
    body = event_body(payment)
    response = client.post(
        "/kakaopay/webhooks/sandbox/",
        body,
        content_type="application/json",
        headers={SIGNATURE_HEADER: BAD_SIGNATURE, "Authorization": BASIC_SECRET},
    )
    assert response.status_code == 401
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PENDING
    assert payment.provider_updated_at is None
    assert payment.provider_status == provider.READY
    assert transitions_of(payment) == before
    assert StatusTransition.objects.filter(to_status="paid").count() == 0
    assert signal_log.events == signals_before
    event = WebhookEvent.objects.get()
    assert event.status == WebhookEvent.Status.REJECTED
    assert event.attempts == 0
    assert event.processed_at is None
    assert bytes(event.body) == body, "kept for diagnosis"
    stored = {name.lower() for name in event.headers}
    assert "content-type" in stored
    assert "authorization" not in stored
    assert SIGNATURE_HEADER.lower() not in stored
    assert "c2VjcmV0" not in stored_text(event)
    assert BAD_SIGNATURE not in stored_text(event)


def test_a_genuine_signature_is_not_stored_either(client: Client) -> None:
    payment = started_payment()
    body = event_body(payment)
    signature = sign(signing_secret("sandbox", {}), body)
    response = client.post(
        "/kakaopay/webhooks/sandbox/",
        body,
        content_type="application/json",
        headers={SIGNATURE_HEADER: signature, "Authorization": BASIC_SECRET, "Cookie": "a=b"},
    )
    assert response.status_code == 200
    event = WebhookEvent.objects.get()
    assert {name.lower() for name in event.headers} <= {
        "content-type",
        "user-agent",
        "x-forwarded-for",
    }
    assert signature not in stored_text(event)
    assert "c2VjcmV0" not in stored_text(event)


def test_a_missing_signature_is_401(client: Client, signal_log: SignalRecorder) -> None:
    payment = started_payment()
    signals_before = list(signal_log.events)
    response = deliver(client, event_body(payment), signature="")
    assert response.status_code == 401
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PENDING
    assert WebhookEvent.objects.get().status == WebhookEvent.Status.REJECTED
    assert signal_log.events == signals_before


def test_a_signature_over_another_body_is_401(client: Client) -> None:
    payment = started_payment()
    genuine = event_body(payment)
    tampered = genuine.replace(b'"amount": 11000', b'"amount": 11001')
    assert tampered != genuine
    response = deliver(client, tampered, signature=sign(signing_secret("sandbox", {}), genuine))
    assert response.status_code == 401
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PENDING
    assert not payment.needs_reconciliation, "an unauthenticated body is never looked at"


def test_a_signature_with_another_alias_secret_is_401(client: Client) -> None:
    payment = started_payment()
    body = event_body(payment)
    response = deliver(client, body, signature=sign(signing_secret("other", {}), body))
    assert response.status_code == 401


def test_a_configured_secret_is_used_and_never_stored(client: Client) -> None:
    secret = "whsec-test-do-not-store"
    with override_settings(KAKAOPAY=sandbox_settings(WEBHOOK_SECRET=secret)):
        payment = started_payment()
        body = event_body(payment)
        derived = sign(signing_secret("sandbox", {}), body)
        assert deliver(client, body, signature=derived).status_code == 401
        assert deliver(client, body, signature=sign(secret.encode(), body)).status_code == 200
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PAID
    for event in WebhookEvent.objects.all():
        assert secret not in stored_text(event)
        assert secret.encode() not in bytes(event.body)
    assert secret not in payment.last_error


def test_malformed_json_with_a_valid_signature_is_400_and_kept(client: Client) -> None:
    body = b'{"id": "evt_broken", "type": '
    response = deliver(client, body)
    assert response.status_code == 400
    event = WebhookEvent.objects.get()
    assert event.status == WebhookEvent.Status.MALFORMED, "kept for a person, not retried"
    assert event.last_error
    assert bytes(event.body) == body
    assert event.attempts == 1


def test_json_without_the_expected_fields_is_400(client: Client) -> None:
    response = deliver(client, b'{"id": "evt_odd", "type": "payment.updated"}')
    assert response.status_code == 400
    assert WebhookEvent.objects.get().status == WebhookEvent.Status.MALFORMED


def test_duplicate_delivery_is_acknowledged_and_applied_once(
    client: Client, signal_log: SignalRecorder
) -> None:
    payment = started_payment()
    body = event_body(payment)
    assert [deliver(client, body).status_code for _ in range(3)] == [200, 200, 200]
    assert WebhookEvent.objects.count() == 1
    event = WebhookEvent.objects.get()
    assert event.status == WebhookEvent.Status.PROCESSED
    assert event.attempts == 1, "duplicates are answered without processing again"
    assert StatusTransition.objects.filter(payment=payment, to_status="paid").count() == 1
    assert len(signal_log.of("payment_paid")) == 1


def test_the_same_state_under_new_event_ids_is_applied_once(
    client: Client, signal_log: SignalRecorder
) -> None:
    payment = started_payment()
    for number in range(3):
        assert deliver(client, event_body(payment, event_id=f"evt_{number}")).status_code == 200
    assert WebhookEvent.objects.count() == 3
    assert StatusTransition.objects.filter(payment=payment, to_status="paid").count() == 1
    assert len(signal_log.of("payment_paid")) == 1


def test_an_out_of_order_stale_event_does_not_regress(
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
    assert payment.provider_status == provider.SUCCESS_PAYMENT, "the stale state is not recorded"
    assert [row[1] for row in transitions_of(payment)] == ["pending", "paid"]
    assert len(signal_log.of("status_changed")) == 2  # created→pending, pending→paid


def test_a_newer_event_that_would_regress_is_refused(client: Client) -> None:
    payment = started_payment()
    deliver(client, event_body(payment, event_id="e1", created_at="2026-11-23T10:00:00+09:00"))
    deliver(
        client,
        event_body(payment, provider.READY, event_id="e2", created_at="2026-11-23T10:05:00+09:00"),
    )
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PAID
    assert StatusTransition.objects.filter(payment=payment, from_status="paid").count() == 0


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
    [
        ({"amount": 1000}, "Amount mismatch"),
        ({"amount": 110}, "Amount mismatch"),
        ({"currency": "USD"}, "Currency mismatch"),
        ({"currency": "JPY", "amount": 11000}, "Currency mismatch"),
    ],
)
def test_amount_or_currency_mismatch_is_recorded_and_not_paid(
    client: Client, signal_log: SignalRecorder, change: dict[str, Any], fragment: str
) -> None:
    payment = started_payment()
    response = deliver(client, event_body(payment, **change))
    assert response.status_code == 200, "a retry would not change the provider's answer"
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PENDING
    assert payment.paid_at is None
    assert payment.needs_reconciliation
    assert fragment in payment.last_error
    event = WebhookEvent.objects.get()
    assert event.status == WebhookEvent.Status.IGNORED
    assert fragment in event.last_error
    assert StatusTransition.objects.filter(payment=payment, to_status="paid").count() == 0
    assert signal_log.of("payment_paid") == []


def test_a_mismatch_on_a_paid_payment_changes_nothing(client: Client) -> None:
    payment = paid_payment()
    deliver(
        client, event_body(payment, provider.CANCEL_PAYMENT, refunded_amount=99000, amount=99000)
    )
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PAID
    assert payment.refunded_amount == 0
    assert not Refund.objects.exists()
    assert payment.needs_reconciliation


def test_an_unknown_payment_is_acknowledged_and_ignored(client: Client) -> None:
    payment = started_payment()
    body = event_body(payment, id="sbx_pay_nobody", reference="NOT-OURS")
    response = deliver(client, body)
    assert response.status_code == 200
    event = WebhookEvent.objects.get()
    assert event.status == WebhookEvent.Status.IGNORED
    assert "NOT-OURS" in event.last_error
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PENDING
    assert not payment.needs_reconciliation


def test_an_unknown_event_type_is_ignored(client: Client) -> None:
    body = b'{"id": "evt_x", "type": "shipment.created", "data": {"object": "shipment"}}'
    assert deliver(client, body).status_code == 200
    event = WebhookEvent.objects.get()
    assert event.status == WebhookEvent.Status.IGNORED
    assert event.event_type == "shipment.created"


def test_an_unknown_alias_is_404_and_stores_nothing(client: Client) -> None:
    assert deliver(client, b"{}", alias="nope", signature="x").status_code == 404
    assert not WebhookEvent.objects.exists()


@pytest.mark.parametrize("method", ["get", "put", "patch", "delete"])
def test_only_post_is_allowed(client: Client, method: str) -> None:
    response = getattr(client, method)("/kakaopay/webhooks/sandbox/")
    assert response.status_code == 405
    assert not WebhookEvent.objects.exists()


def test_no_csrf_token_is_needed() -> None:
    strict = Client(enforce_csrf_checks=True)
    payment = started_payment()
    assert deliver(strict, event_body(payment)).status_code == 200


def test_a_processing_failure_answers_500_and_commits_nothing(
    client: Client, signal_log: SignalRecorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    payment = started_payment()
    original = services.apply_update

    def explode(*args: Any, **kwargs: Any) -> Any:
        original(*args, **kwargs)  # the change is made ...
        raise RuntimeError("database went away")  # ... then processing fails

    monkeypatch.setattr(services.webhooks, "apply_update", explode)
    response = deliver(client, event_body(payment))
    assert response.status_code == 500
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PENDING, "the partial change was rolled back"
    assert payment.provider_updated_at is None
    assert StatusTransition.objects.filter(payment=payment, to_status="paid").count() == 0
    assert signal_log.of("payment_paid") == []
    event = WebhookEvent.objects.get()
    assert event.status == WebhookEvent.Status.FAILED
    assert event.processed_at is None
    assert "database went away" in event.last_error
    assert event.attempts == 1

    monkeypatch.setattr(services.webhooks, "apply_update", original)
    replayed = services.replay_event(event)
    assert replayed.status_code == 200
    event.refresh_from_db()
    payment.refresh_from_db()
    assert event.status == WebhookEvent.Status.PROCESSED
    assert event.last_error == ""
    assert event.attempts == 2
    assert payment.status == Payment.Status.PAID
    assert len(signal_log.of("payment_paid")) == 1
    assert payment.transitions.get(to_status="paid").source == "webhook"
    # A processed row is not replayed again.
    with pytest.raises(WebhookNotReplayable, match="this one is Processed"):
        services.replay_event(event)


def test_the_provider_retry_after_a_failure_processes_the_same_row(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    payment = started_payment()
    body = event_body(payment)

    def explode(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("x")

    monkeypatch.setattr(services.webhooks, "apply_update", explode)
    assert deliver(client, body).status_code == 500
    monkeypatch.undo()
    assert deliver(client, body).status_code == 200
    assert WebhookEvent.objects.count() == 1
    assert WebhookEvent.objects.get().attempts == 2
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PAID


def test_rejected_and_unauthenticated_rows_are_never_replayed(client: Client) -> None:
    payment = started_payment()
    deliver(client, event_body(payment), signature="sha256=bad")
    rejected = WebhookEvent.objects.get()
    with pytest.raises(WebhookNotReplayable):
        services.replay_event(rejected)
    received = WebhookEvent.objects.create(
        backend="sandbox", event_key="evt_stuck", body=event_body(payment, event_id="evt_stuck")
    )
    with pytest.raises(WebhookNotReplayable):
        services.replay_event(received)
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PENDING


def test_a_forgery_reusing_a_real_event_id_does_not_block_the_real_event(
    client: Client, signal_log: SignalRecorder
) -> None:
    payment = started_payment()
    genuine = event_body(payment, event_id="evt_shared")
    forged = event_body(payment, provider.FAIL_PAYMENT, event_id="evt_shared")
    assert deliver(client, forged, signature="sha256=forged").status_code == 401
    rejected = WebhookEvent.objects.get()
    assert rejected.status == WebhookEvent.Status.REJECTED
    assert rejected.event_key != "evt_shared", "a forgery never holds a genuine event's key"
    assert deliver(client, genuine).status_code == 200
    event = WebhookEvent.objects.get(event_key="evt_shared")
    assert event.status == WebhookEvent.Status.PROCESSED
    assert bytes(event.body) == genuine
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PAID
    assert signal_log.of("payment_failed") == []
    assert len(signal_log.of("payment_paid")) == 1


def test_a_forgery_after_processing_does_not_touch_the_row(client: Client) -> None:
    payment = started_payment()
    genuine = event_body(payment, event_id="evt_done")
    deliver(client, genuine)
    forged = event_body(payment, provider.FAIL_PAYMENT, event_id="evt_done")
    assert deliver(client, forged, signature="sha256=forged").status_code == 401
    event = WebhookEvent.objects.get(event_key="evt_done")
    assert event.status == WebhookEvent.Status.PROCESSED
    assert bytes(event.body) == genuine
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PAID


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


# -- refunds and preapprovals by notification -------------------------------------------------


def test_a_refund_notification_is_recorded_once(client: Client, signal_log: SignalRecorder) -> None:
    payment = paid_payment()
    body = event_body(
        payment,
        provider.PART_CANCEL_PAYMENT,
        event_id="evt_refund",
        refunded_amount=3000,
    )
    assert deliver(client, body).status_code == 200
    assert deliver(client, body).status_code == 200
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PARTIALLY_REFUNDED
    assert payment.refunded_amount == 3000
    refund = Refund.objects.get(payment=payment)
    assert refund.origin == Refund.Origin.PROVIDER
    assert len(signal_log.of("payment_refunded")) == 1


def test_a_preapproval_notification_activates_it(
    client: Client, signal_log: SignalRecorder
) -> None:
    preapproval = services.create_preapproval()
    services.start_preapproval(preapproval)
    body = json.dumps(
        {
            "id": "evt_sid",
            "type": "preapproval.updated",
            "created_at": "2026-11-23T10:00:00+09:00",
            "data": {
                "id": preapproval.provider_preapproval_id,
                "object": "preapproval",
                "status": provider.ISSUED_SID,
                "reference": preapproval.reference,
            },
        }
    ).encode()
    assert deliver(client, body).status_code == 200
    assert deliver(client, body).status_code == 200
    preapproval.refresh_from_db()
    assert preapproval.status == Preapproval.Status.ACTIVE
    assert len(signal_log.of("preapproval_activated")) == 1


# -- header storage ------------------------------------------------------------------------


def test_redacted_headers_keep_only_the_allow_list() -> None:
    backend = SandboxBackend("sandbox", {})
    headers: Mapping[str, str] = {
        "Content-Type": "application/json",
        "Authorization": "Basic xyz",
        "Proxy-Authorization": "Basic xyz",
        "Cookie": "sessionid=1",
        "X-Sandbox-Signature": "sha256=abc",
        "Cko-Signature": "abc",
        "User-Agent": "provider/1.0",
    }
    assert backend.redact_headers(headers) == {
        "Content-Type": "application/json",
        "User-Agent": "provider/1.0",
    }


@pytest.mark.parametrize(
    "change",
    [{"refunded_amount": "5000"}, {"refunded_amount": 5000.0}, {"amount": True}, {"currency": 410}],
)
def test_amounts_that_are_not_whole_minor_units_are_malformed(
    client: Client, change: dict[str, Any]
) -> None:
    payment = started_payment()
    response = deliver(client, event_body(payment, **change))
    assert response.status_code == 400, "a malformed body, not a crash and endless retries"
    event = WebhookEvent.objects.get()
    assert event.status == WebhookEvent.Status.MALFORMED
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PENDING


def test_an_event_time_without_a_zone_is_read_as_utc(client: Client) -> None:
    payment = started_payment()
    newer = event_body(payment, event_id="evt_new", created_at="2026-11-23T02:00:00")
    older = event_body(
        payment, provider.READY, event_id="evt_old", created_at="2026-11-23T10:00:00+09:00"
    )
    assert deliver(client, newer).status_code == 200
    assert deliver(client, older).status_code == 200, "naive and aware times still compare"
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PAID
    assert payment.provider_updated_at is not None
    assert payment.provider_updated_at.utcoffset() is not None


@pytest.mark.parametrize("amount", ["11000", 11000.0, None])
def test_core_refuses_an_amount_that_is_not_a_whole_number(amount: Any) -> None:
    """A third-party backend that passes a provider's value through unparsed
    still cannot mark the payment paid with it."""
    from django_kakaopay.backends.base import PaymentSnapshot

    payment = started_payment()
    snapshot = PaymentSnapshot(
        status=Payment.Status.PAID,
        provider_payment_id=payment.provider_payment_id,
        amount=amount,
        currency="KRW",
    )
    result = services.apply_update("sandbox", snapshot, source="webhook")
    payment.refresh_from_db()
    if amount is None:  # the provider did not say: nothing to compare
        assert payment.status == Payment.Status.PAID
        return
    assert result.outcome == services.Outcome.MISMATCH
    assert payment.status == Payment.Status.PENDING
    assert payment.needs_reconciliation
