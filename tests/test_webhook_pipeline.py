"""The notification pipeline's order of work and its answer for every kind of input.

Each defect found in 0.1 has a test here: parsing before authentication,
unstorable ids, unbounded rows, 500s for permanently invalid notifications,
stranded ``received`` rows, and the admin page of an odd body.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.db import OperationalError
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone

from django_kakaopay import services
from django_kakaopay.models import Payment, StatusTransition, WebhookEvent
from django_kakaopay.sandbox import provider
from django_kakaopay.services import inbox

from .helpers import deliver, event_body, provider_side, sandbox_settings, started_payment
from .test_checkout_backend import CHECKOUT_SETTINGS, cko_event, signed
from .test_smart2pay_backend import S2P_SETTINGS, SEED_AUTHORIZATION, payment_notification

pytestmark = pytest.mark.django_db

Status = WebhookEvent.Status
DEEP = b"[" * 50000 + b"]" * 50000


def rows(status: str | None = None) -> int:
    query = WebhookEvent.objects.all()
    return (query.filter(status=status) if status else query).count()


def post(client: Client, alias: str, body: bytes, **headers: str) -> Any:
    return client.post(
        f"/kakaopay/webhooks/{alias}/", body, content_type="application/json", headers=headers
    )


# -- before authentication ---------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        DEEP,
        b'{"id": "evt_\\u0000", "type": "payment.updated"}',
        b'{"id": "\\ud800", "type": "payment.updated"}',
        b'{"id": "' + b"x" * 10000 + b'"}',
        b"\xff\xfe not utf-8",
        b"",
    ],
    ids=["deep", "nul-id", "surrogate-id", "long-id", "not-utf8", "empty"],
)
def test_a_forgery_is_answered_401_before_its_body_is_read(client: Client, body: bytes) -> None:
    payment = started_payment()
    response = deliver(client, body, signature="sha256=forged")
    assert response.status_code == 401
    assert rows() == rows(Status.REJECTED) == 1, "only the bounded diagnostic row"
    event = WebhookEvent.objects.get()
    assert event.event_key.startswith("rejected:"), "never a key taken from the body"
    assert len(bytes(event.body)) <= inbox.REJECTED_BODY_BYTES
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PENDING


def test_rejected_rows_stay_bounded_whatever_a_sender_does(client: Client) -> None:
    config = {**sandbox_settings(), "WEBHOOK_REJECTED_KEEP": 3}
    with override_settings(KAKAOPAY=config):
        for index in range(10):
            body = json.dumps({"id": f"evt_{index}", "pad": "x" * 100_000}).encode()
            assert deliver(client, body, signature="sha256=forged").status_code == 401
    kept = WebhookEvent.objects.order_by("pk")
    assert kept.count() == 3
    assert all(len(bytes(event.body)) == inbox.REJECTED_BODY_BYTES for event in kept)
    assert all("cut to 4096" in event.last_error for event in kept)
    assert b"evt_9" in bytes(kept.last().body), "the newest are the ones kept"


def test_keeping_no_rejected_rows(client: Client) -> None:
    with override_settings(KAKAOPAY={**sandbox_settings(), "WEBHOOK_REJECTED_KEEP": 0}):
        assert deliver(client, b"{}", signature="sha256=forged").status_code == 401
    assert rows() == 0


@pytest.mark.parametrize("signed_body", [True, False])
def test_an_oversized_body_is_413_and_stores_nothing(client: Client, signed_body: bool) -> None:
    payment = started_payment()
    body = event_body(payment, padding="x" * (2 * 1024 * 1024))
    response = deliver(client, body, signature=None if signed_body else "sha256=forged")
    assert response.status_code == 413
    assert rows() == 0
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PENDING


def test_the_size_limit_is_a_setting_and_the_limit_itself_is_accepted(client: Client) -> None:
    payment = started_payment()
    provider.decide_payment(provider_side(payment), "approve")
    body = event_body(payment)
    with override_settings(KAKAOPAY={**sandbox_settings(), "WEBHOOK_MAX_BODY_BYTES": len(body)}):
        assert deliver(client, body).status_code == 200
        assert deliver(client, body + b" ").status_code == 413
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PAID


def test_a_body_longer_than_its_declared_length_is_read_no_further() -> None:
    response = services.receive_webhook("sandbox", b"x" * (256 * 1024 + 1), {})
    assert response.status_code == 413
    assert rows() == 0


# -- authenticated but permanently invalid: 400, kept as malformed ------------------


@pytest.mark.parametrize(
    "body",
    [
        DEEP,
        b'{"id": "evt_nul", "type": "payment.\\u0000updated", "data": {"object": "payment"}}',
        b'{"id": "evt_\\u0000", "type": "payment.updated", "data": {"object": "payment"}}',
        b'{"id": "\\udfff", "type": "payment.updated", "data": {"object": "payment"}}',
        b'{"id": "evt_x", "type": "t", "data": {"object": "payment", "note": "\\u0000"}}',
        b'{"id": "evt_big", "type": "t", "data": {"object": "payment", "amount": '
        + b"9" * 5000
        + b"}}",
        b'{"id": "evt_nan", "type": "t", "data": {"object": "payment", "amount": NaN}}',
        b"\xff\xfe not utf-8",
        b"",
        b"[]",
    ],
    ids=[
        "deep",
        "nul-type",
        "nul-id",
        "surrogate-id",
        "nul-data",
        "huge-int",
        "nan",
        "not-utf8",
        "empty",
        "array",
    ],
)
def test_a_signed_but_unusable_notification_is_400_and_kept(client: Client, body: bytes) -> None:
    response = deliver(client, body)
    assert response.status_code == 400
    event = WebhookEvent.objects.get()
    assert event.status == Status.MALFORMED
    assert event.attempts == 1
    assert event.last_error
    assert bytes(event.body) == body
    assert StatusTransition.objects.count() == 0
    # A redelivery is answered the same way and counted, not stored again.
    assert deliver(client, body).status_code == 400
    assert WebhookEvent.objects.get().attempts == 2


@pytest.mark.parametrize(
    "change",
    [
        {"amount": -11000},
        {"refunded_amount": -1},
        {"amount": 10**40},
        {"id": "p" * 500},
        {"reference": "r" * 500},
    ],
    ids=["negative-amount", "negative-refund", "huge-amount", "long-id", "long-reference"],
)
def test_values_no_column_can_hold_are_malformed_not_retried(
    client: Client, change: dict[str, Any]
) -> None:
    payment = started_payment()
    response = deliver(client, event_body(payment, **change))
    assert response.status_code == 400
    assert WebhookEvent.objects.get().status == Status.MALFORMED
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PENDING


def test_a_signed_negative_refund_is_400_not_500(client: Client) -> None:
    with override_settings(KAKAOPAY=CHECKOUT_SETTINGS):
        body = cko_event("payment_refunded", amount=-5, action_id="act_1")
        response = post(client, "checkout", body, **signed(body))
    assert response.status_code == 400
    event = WebhookEvent.objects.get()
    assert event.status == Status.MALFORMED
    assert event.event_key == "evt_test_payment_refunded", "the readable id is kept as the key"


def test_a_smart2pay_status_id_of_thousands_of_digits(client: Client) -> None:
    body = json.dumps({"Payment": {"ID": 5001, "Status": {"ID": "7" * 5000}}}).encode()
    with override_settings(KAKAOPAY=S2P_SETTINGS):
        response = post(client, "smart2pay", body, Authorization=SEED_AUTHORIZATION)
    assert response.status_code in (204, 400)
    assert WebhookEvent.objects.get().status in (Status.IGNORED, Status.MALFORMED)


def test_a_smart2pay_forgery_is_not_parsed(client: Client) -> None:
    body = json.dumps({"Payment": {"ID": 5001, "Status": {"ID": "7" * 5000}}}).encode()
    with override_settings(KAKAOPAY=S2P_SETTINGS):
        assert post(client, "smart2pay", body).status_code == 401
        assert post(client, "smart2pay", DEEP, Authorization="Basic \udfff").status_code == 401
        assert post(client, "smart2pay", payment_notification(status=2)).status_code == 401
    assert rows() == rows(Status.REJECTED) == 3


# -- transient failures and crashes -------------------------------------------------


def approved_notification() -> tuple[Payment, bytes]:
    """A payment the customer approved, and the provider's notification of it."""
    payment = started_payment()
    provider.decide_payment(provider_side(payment), "approve")
    return payment, event_body(payment)


def break_apply(monkeypatch: pytest.MonkeyPatch, error: BaseException) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise error

    monkeypatch.setattr("django_kakaopay.services.webhooks.apply_update", broken)


def test_a_transient_failure_rolls_back_keeps_the_row_failed_and_answers_500(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    payment, body = approved_notification()
    break_apply(monkeypatch, OperationalError("server closed the connection unexpectedly"))
    assert deliver(client, body).status_code == 500
    event = WebhookEvent.objects.get()
    assert event.status == Status.FAILED
    assert "OperationalError" in event.last_error
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PENDING
    monkeypatch.undo()

    # The provider's retry takes the failed row over and settles it.
    assert deliver(client, body).status_code == 200
    event.refresh_from_db()
    assert event.status == Status.PROCESSED
    assert event.attempts == 2
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PAID


def test_a_worker_killed_mid_way_leaves_no_row_and_the_retry_settles_it(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    _payment, body = approved_notification()
    break_apply(monkeypatch, KeyboardInterrupt())  # stands in for SIGKILL: nothing after it runs
    with pytest.raises(KeyboardInterrupt):
        services.receive_webhook("sandbox", body, signed_sandbox(body))
    assert rows() == 0, "not committed, so not acknowledged: nothing stranded"
    monkeypatch.undo()
    assert deliver(client, body).status_code == 200
    assert WebhookEvent.objects.get().status == Status.PROCESSED


def signed_sandbox(body: bytes) -> dict[str, str]:
    from django_kakaopay.sandbox.signing import SIGNATURE_HEADER, sign, signing_secret

    return {SIGNATURE_HEADER: sign(signing_secret("sandbox", {}), body)}


def stranded(body: bytes, key: str, minutes_ago: int = 30) -> WebhookEvent:
    """A ``received`` row as 0.1 left it when a worker died mid-way."""
    event = WebhookEvent.objects.create(backend="sandbox", event_key=key, body=body)
    WebhookEvent.objects.filter(pk=event.pk).update(
        updated_at=timezone.now() - timedelta(minutes=minutes_ago)
    )
    return event


def test_replay_settles_a_stranded_row_by_pulling_from_the_provider() -> None:
    payment = started_payment()
    provider.decide_payment(provider_side(payment), "approve")
    event = stranded(event_body(payment), "evt_stranded")
    report = services.replay_failed_events()
    assert report.replayed == 1
    event.refresh_from_db()
    assert event.status == Status.PROCESSED
    assert "pulled from the provider" in event.last_error
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PAID
    assert StatusTransition.objects.filter(payment=payment, to_status="paid").get().source == (
        "command"
    )


def test_a_stranded_forgery_cannot_mark_anything_paid() -> None:
    payment = started_payment()  # the customer never approved
    event = stranded(event_body(payment), "evt_forged")
    services.replay_failed_events()
    event.refresh_from_db()
    assert event.status == Status.PROCESSED
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PENDING, "the provider's answer, not the body"


def test_a_recent_received_row_is_left_to_its_request() -> None:
    payment = started_payment()
    event = stranded(event_body(payment), "evt_fresh", minutes_ago=0)
    assert services.replay_failed_events().lines == []
    line = services.replay_failed_events([event.pk]).lines[0]
    assert line.outcome == services.ReplayOutcome.SKIPPED


def test_a_malformed_row_is_replayed_only_by_id(client: Client) -> None:
    deliver(client, b"not json")
    event = WebhookEvent.objects.get()
    assert services.replay_failed_events().lines == []
    line = services.replay_failed_events([event.pk]).lines[0]
    assert line.outcome == services.ReplayOutcome.FAILED
    event.refresh_from_db()
    assert event.status == Status.MALFORMED
    assert event.attempts == 2


# -- the admin page of any stored body -----------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b'{"id": "\\ud800", "x": "\\u0000"}',
        DEEP,
        b"\xff\xfe\x00binary",
        b'{"big": "' + b"y" * 200_000 + b'"}',
    ],
    ids=["surrogate", "deep", "binary", "large"],
)
def test_the_admin_shows_any_stored_body(admin_client: Client, body: bytes) -> None:
    event = WebhookEvent.objects.create(
        backend="sandbox",
        event_key="evt_odd",
        body=body,
        headers={"User-Agent": "odd"},
        status=Status.FAILED,
    )
    url = reverse("admin:django_kakaopay_webhookevent_change", args=[event.pk])
    response = admin_client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert "kakaopay-body" in html
    if body is DEEP:
        assert "nests deeper than" in html
    if len(body) > 100_000:
        assert "Cut to the first" in html
