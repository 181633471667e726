"""Whole sandbox flows through the Django test client, exactly as a customer clicks them."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client, override_settings

from django_kakaopay import services
from django_kakaopay.backends.sandbox import SandboxBackend
from django_kakaopay.conf import get_backend
from django_kakaopay.models import (
    Payment,
    Preapproval,
    Refund,
    SandboxTransaction,
    StatusTransition,
    WebhookEvent,
)
from django_kakaopay.sandbox import provider

from .conftest import SignalRecorder
from .helpers import HEADPHONES, provider_side, sandbox_settings, started_payment

# Signals are sent after commit, so these tests commit for real.
pytestmark = pytest.mark.django_db(transaction=True)

AGREEMENT = {
    "action": "approve",
    "accept_terms": "on",
    "verification_code": "123456",
    "accept_auto_debit": "on",
}


def return_path(obj: Payment | Preapproval) -> str:
    return f"/kakaopay/return/{obj.return_token}/"


def paid_transitions(payment: Payment) -> int:
    return StatusTransition.objects.filter(payment=payment, to_status="paid").count()


def new_payment(**kwargs: Any) -> Payment:
    values: dict[str, Any] = {"amount": 11000, "items": HEADPHONES}
    values.update(kwargs)
    return services.create_payment(**values)


def open_sandbox_page(client: Client, payment: Payment) -> str:
    """Checkout → 302 to the sandbox KakaoPay page, which shows the order. Returns its URL."""
    checkout = client.get(payment.get_checkout_url())
    assert checkout.status_code == 302
    page_url = str(checkout["Location"])
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PENDING
    assert f"/kakaopay/sandbox/sandbox/pay/{provider_side(payment).pk}/" in page_url
    page = client.get(page_url)
    assert page.status_code == 200
    html = page.content.decode()
    assert "₩11,000" in html
    assert "Wireless headphones" in html
    assert "Test shop" in html, "the merchant name option"
    assert "110.00" not in html
    return page_url


def choose(client: Client, page_url: str, action: str, payment: Payment) -> Any:
    """The customer's choice → 302 to our return URL → the return view's answer."""
    chosen = client.post(page_url, {"action": action})
    assert chosen.status_code == 302
    assert chosen["Location"].endswith(return_path(payment))
    return client.get(chosen["Location"])


def pay_through_pages(client: Client, payment: Payment, action: str) -> Any:
    return choose(client, open_sandbox_page(client, payment), action, payment)


# -- one-time payments --------------------------------------------------------------------


def test_approve_goes_to_the_success_url(client: Client, signal_log: SignalRecorder) -> None:
    payment = new_payment(success_url="/thanks/", failure_url="/sorry/")
    result = pay_through_pages(client, payment, "approve")
    assert result.status_code == 302
    assert result["Location"] == "/thanks/"
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PAID
    assert payment.paid_at is not None
    assert paid_transitions(payment) == 1
    paid = signal_log.of("payment_paid")
    assert len(paid) == 1
    assert paid[0][2:4] == ("pending", "paid")


@pytest.mark.parametrize(
    ("action", "status"), [("decline", Payment.Status.FAILED), ("cancel", Payment.Status.CANCELED)]
)
def test_decline_or_cancel_goes_to_the_failure_url(
    client: Client, signal_log: SignalRecorder, action: str, status: str
) -> None:
    payment = new_payment(success_url="/thanks/", failure_url="/sorry/")
    result = pay_through_pages(client, payment, action)
    assert result.status_code == 302
    assert result["Location"] == "/sorry/"
    payment.refresh_from_db()
    assert payment.status == status
    failed = signal_log.of("payment_failed")
    assert len(failed) == 1
    assert failed[0][3] == status
    assert signal_log.of("payment_paid") == []


def test_built_in_result_pages_without_urls(client: Client) -> None:
    paid = new_payment()
    page = pay_through_pages(client, paid, "approve")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Payment complete" in html
    assert "₩11,000" in html
    declined = new_payment()
    page = pay_through_pages(client, declined, "decline")
    assert page.status_code == 200
    assert "Payment not completed" in page.content.decode()


def test_the_return_view_ignores_a_forged_query_string(
    client: Client, signal_log: SignalRecorder
) -> None:
    payment = started_payment(success_url="/thanks/")
    forged = client.get(
        return_path(payment),
        {
            "status": "paid",
            "StatusID": "2",
            "data": "SUCCESS_PAYMENT",
            "pg_token": "x",
            "amount": "11000",
        },
    )
    assert forged.status_code == 202
    assert forged["Refresh"] == "3"
    assert "Payment processing" in forged.content.decode()
    assert "no-cache" in forged["Cache-Control"] or "max-age=0" in forged["Cache-Control"]
    forged_post = client.post(return_path(payment), {"status": "paid", "StatusID": "2"})
    assert forged_post.status_code == 202
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PENDING
    assert paid_transitions(payment) == 0
    assert signal_log.of("payment_paid") == []


def test_the_processing_refresh_is_a_setting(client: Client) -> None:
    payment = started_payment()
    with override_settings(KAKAOPAY={**sandbox_settings(), "PROCESSING_REFRESH_SECONDS": 7}):
        response = client.get(return_path(payment))
    assert response.status_code == 202
    assert response["Refresh"] == "7"


def test_the_return_view_pulls_when_the_provider_has_decided(
    client: Client, signal_log: SignalRecorder
) -> None:
    """Approved at the provider but not yet notified: the pull settles it, once."""
    payment = started_payment(success_url="/thanks/")
    provider.decide_payment(provider_side(payment), "approve")
    assert client.get(return_path(payment))["Location"] == "/thanks/"
    assert client.get(return_path(payment))["Location"] == "/thanks/"
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PAID
    assert payment.transitions.get(to_status="paid").source == "return"
    assert len(signal_log.of("payment_paid")) == 1


def test_an_unknown_return_token_is_404(client: Client) -> None:
    assert client.get("/kakaopay/return/not-a-token/").status_code == 404
    assert client.get("/kakaopay/checkout/not-a-token/").status_code == 404


def test_return_before_checkout_goes_to_checkout(client: Client) -> None:
    payment = new_payment()
    response = client.get(return_path(payment))
    assert response.status_code == 302
    assert response["Location"] == payment.get_checkout_url()
    payment.refresh_from_db()
    assert payment.status == Payment.Status.CREATED


def test_refresh_and_back_after_approval_are_harmless(
    client: Client, signal_log: SignalRecorder
) -> None:
    payment = new_payment(success_url="/thanks/")
    page_url = open_sandbox_page(client, payment)
    assert choose(client, page_url, "approve", payment)["Location"] == "/thanks/"
    # Back to the KakaoPay page: it sends the customer on instead of showing the form.
    back = client.get(page_url)
    assert back.status_code == 302
    assert back["Location"].endswith(return_path(payment))
    # Pressing a button again, or a different one, changes nothing.
    assert client.post(page_url, {"action": "approve"}).status_code == 302
    assert client.post(page_url, {"action": "cancel"}).status_code == 302
    assert provider_side(payment).status == provider.SUCCESS_PAYMENT
    # Reloading checkout goes to the result, never to a second payment.
    again = client.get(payment.get_checkout_url())
    assert again.status_code == 302
    assert again["Location"].endswith(return_path(payment))
    assert client.get(return_path(payment))["Location"] == "/thanks/"
    assert SandboxTransaction.objects.filter(kind="payment").count() == 1
    assert paid_transitions(payment) == 1
    assert signal_log.names().count("payment_paid") == 1


def test_reloading_checkout_before_paying_reuses_the_page(client: Client) -> None:
    payment = new_payment()
    first = client.get(payment.get_checkout_url())["Location"]
    second = client.get(payment.get_checkout_url())["Location"]
    assert first == second
    assert SandboxTransaction.objects.filter(kind="payment").count() == 1
    assert StatusTransition.objects.filter(payment=payment).count() == 1


def test_an_invalid_action_on_the_sandbox_page_is_400(client: Client) -> None:
    payment = started_payment()
    response = client.post(payment.redirect_url, {"action": "steal"})
    assert response.status_code == 400
    assert provider_side(payment).status == provider.READY
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PENDING


def test_a_sandbox_page_of_another_alias_or_id_is_404(client: Client) -> None:
    payment = started_payment()
    tx = provider_side(payment)
    assert client.get("/kakaopay/sandbox/sandbox/pay/sbx_pay_nope/").status_code == 404
    assert client.get(f"/kakaopay/sandbox/other/pay/{tx.pk}/").status_code == 404
    assert client.get(f"/kakaopay/sandbox/sandbox/agreements/{tx.pk}/").status_code == 404


@override_settings(KAKAOPAY=sandbox_settings())
def test_a_timeout_at_checkout_is_unknown_never_failed(
    client: Client, signal_log: SignalRecorder
) -> None:
    payment = new_payment(backend="flaky", failure_url="/sorry/")
    response = client.get(payment.get_checkout_url())
    assert response.status_code == 502, "the customer is told to try again"
    payment.refresh_from_db()
    assert payment.status == Payment.Status.CREATED
    assert payment.needs_reconciliation
    # The return view cannot settle it either, and does not fail it.
    assert client.get(return_path(payment)).status_code == 202
    payment.refresh_from_db()
    assert payment.status == Payment.Status.CREATED
    assert signal_log.of("payment_failed") == []


@override_settings(KAKAOPAY=sandbox_settings())
def test_a_refusal_at_checkout_goes_to_the_failure_url(client: Client) -> None:
    payment = new_payment(backend="refusing", failure_url="/sorry/")
    response = client.get(payment.get_checkout_url())
    assert response.status_code == 302
    assert response["Location"].endswith(return_path(payment))
    assert client.get(response["Location"])["Location"] == "/sorry/"


# -- notification delivery modes ------------------------------------------------------------


def run_mode(client: Client, mode: str) -> tuple[Payment, int]:
    """Pay with the sandbox in ``mode``, then deliver anything it held back."""
    with override_settings(
        KAKAOPAY=sandbox_settings(NOTIFICATIONS=mode, MERCHANT_NAME="Test shop")
    ):
        payment = new_payment(success_url="/ok/")
        result = pay_through_pages(client, payment, "approve")
        assert result["Location"] == "/ok/"
        backend = get_backend("sandbox")
        assert isinstance(backend, SandboxBackend)
        delivered = backend.deliver_late_notifications()
    payment.refresh_from_db()
    return payment, delivered


def test_late_notification_after_the_return_view_settled_it(
    client: Client, signal_log: SignalRecorder
) -> None:
    payment, delivered = run_mode(client, "late")
    assert delivered == 1
    assert payment.status == Payment.Status.PAID
    assert payment.transitions.get(to_status="paid").source == "return", "the pull came first"
    assert paid_transitions(payment) == 1
    assert signal_log.names().count("payment_paid") == 1
    event = WebhookEvent.objects.get()
    assert event.status == WebhookEvent.Status.PROCESSED
    assert event.attempts == 1
    assert provider_side(payment).outbox == []


def test_notification_delivered_twice(client: Client, signal_log: SignalRecorder) -> None:
    payment, delivered = run_mode(client, "twice")
    assert delivered == 0
    assert payment.status == Payment.Status.PAID
    assert payment.transitions.get(to_status="paid").source == "webhook"
    assert paid_transitions(payment) == 1
    assert signal_log.names().count("payment_paid") == 1
    event = WebhookEvent.objects.get()
    assert event.status == WebhookEvent.Status.PROCESSED
    assert event.attempts == 1, "the second delivery was recognised as a duplicate"


def test_notifications_out_of_order(client: Client, signal_log: SignalRecorder) -> None:
    payment, _ = run_mode(client, "out_of_order")
    assert payment.status == Payment.Status.PAID
    assert paid_transitions(payment) == 1
    assert signal_log.names().count("payment_paid") == 1
    assert StatusTransition.objects.filter(payment=payment, from_status="paid").count() == 0
    events = list(WebhookEvent.objects.order_by("received_at", "id"))
    assert len(events) == 2
    assert [e.status for e in events] == [WebhookEvent.Status.PROCESSED] * 2
    assert b"READY" in bytes(events[1].body), "the stale event came second"
    assert payment.provider_status == provider.SUCCESS_PAYMENT


def test_no_notification_at_all(client: Client, signal_log: SignalRecorder) -> None:
    payment, delivered = run_mode(client, "none")
    assert delivered == 0
    assert payment.status == Payment.Status.PAID
    assert payment.transitions.get(to_status="paid").source == "return"
    assert WebhookEvent.objects.count() == 0
    assert signal_log.names().count("payment_paid") == 1


def test_immediate_notification(client: Client, signal_log: SignalRecorder) -> None:
    payment, delivered = run_mode(client, "immediate")
    assert delivered == 0
    assert payment.status == Payment.Status.PAID
    assert payment.transitions.get(to_status="paid").source == "webhook"
    assert WebhookEvent.objects.get().status == WebhookEvent.Status.PROCESSED
    assert signal_log.names().count("payment_paid") == 1


# -- preapprovals ------------------------------------------------------------------------------


def open_agreement_page(client: Client, preapproval: Preapproval) -> str:
    checkout = client.get(preapproval.get_checkout_url())
    assert checkout.status_code == 302
    page_url = str(checkout["Location"])
    page = client.get(page_url)
    assert page.status_code == 200
    assert "Register automatic payment" in page.content.decode()
    return page_url


def post_agreement(client: Client, page_url: str, data: dict[str, str]) -> Any:
    return client.post(page_url, data)


@pytest.mark.parametrize(
    ("missing", "message"),
    [
        ({"accept_terms": ""}, "This field is required."),
        ({"accept_auto_debit": ""}, "This field is required."),
        ({"verification_code": "12345"}, "Enter the six digits you received."),
        ({"verification_code": "12345a"}, "Enter the six digits you received."),
        ({"verification_code": ""}, "This field is required."),
    ],
)
def test_the_agreement_form_is_validated(
    client: Client, missing: dict[str, str], message: str
) -> None:
    preapproval = services.create_preapproval(success_url="/subscribed/")
    page_url = open_agreement_page(client, preapproval)
    data = {key: value for key, value in {**AGREEMENT, **missing}.items() if value}
    response = post_agreement(client, page_url, data)
    assert response.status_code == 400
    assert message in response.content.decode()
    preapproval.refresh_from_db()
    assert preapproval.status == Preapproval.Status.PENDING
    agreement = SandboxTransaction.objects.get(pk=preapproval.provider_preapproval_id)
    assert agreement.status == provider.READY


@pytest.mark.parametrize("code", ["12345", "1234567", "12345a", "abcdef", "12 456", "١٢٣٤٥٦"])
def test_a_wrong_verification_code_gets_one_message(client: Client, code: str) -> None:
    """Too short, too long or not digits: one message, not one per broken rule."""
    preapproval = services.create_preapproval(success_url="/subscribed/")
    page_url = open_agreement_page(client, preapproval)
    response = post_agreement(client, page_url, {**AGREEMENT, "verification_code": code})
    assert response.status_code == 400
    html = response.content.decode()
    assert html.count("<li>") == 1, html
    assert '<ul class="kp-errors"><li>Enter the six digits you received.</li></ul>' in html


def test_preapproval_flow_then_charge_and_refund(
    client: Client, signal_log: SignalRecorder
) -> None:
    preapproval = services.create_preapproval(
        description="Monthly plan", success_url="/subscribed/"
    )
    page_url = open_agreement_page(client, preapproval)
    # First without the terms box and with a 5-digit code: one error for each.
    incomplete = post_agreement(
        client,
        page_url,
        {"action": "approve", "verification_code": "12345", "accept_auto_debit": "on"},
    )
    assert incomplete.status_code == 400
    html = incomplete.content.decode()
    assert "This field is required." in html
    assert "Enter the six digits you received." in html
    assert html.count("<li>") == 2
    done = post_agreement(client, page_url, AGREEMENT)
    assert done.status_code == 302
    assert done["Location"].endswith(return_path(preapproval))
    assert client.get(done["Location"])["Location"] == "/subscribed/"
    preapproval.refresh_from_db()
    assert preapproval.status == Preapproval.Status.ACTIVE
    assert len(signal_log.of("preapproval_activated")) == 1
    # Back to the agreement page: nothing to sign any more.
    assert client.get(page_url).status_code == 302

    charge = services.charge_preapproval(preapproval, amount=9900, billing_period="2026-11")
    assert charge.status == Payment.Status.PAID
    assert charge.items == []
    assert signal_log.names().count("payment_paid") == 1
    refund = services.request_refund(charge, 4900)
    assert refund.status == Refund.Status.SUCCEEDED
    charge.refresh_from_db()
    assert charge.status == Payment.Status.PARTIALLY_REFUNDED
    assert charge.refunded_amount == 4900
    assert len(signal_log.of("payment_refunded")) == 1


def test_customer_cancels_on_the_agreement_page(client: Client, signal_log: SignalRecorder) -> None:
    preapproval = services.create_preapproval(failure_url="/no-thanks/")
    page_url = open_agreement_page(client, preapproval)
    back = client.post(page_url, {"action": "cancel"})
    assert back.status_code == 302
    assert client.get(back["Location"])["Location"] == "/no-thanks/"
    preapproval.refresh_from_db()
    assert preapproval.status == Preapproval.Status.CANCELED
    assert signal_log.of("preapproval_activated") == []


def test_customer_declines_on_the_agreement_page(
    client: Client, signal_log: SignalRecorder
) -> None:
    preapproval = services.create_preapproval(failure_url="/declined/")
    page_url = open_agreement_page(client, preapproval)
    assert 'value="decline"' in client.get(page_url).content.decode()
    # Like canceling, declining needs none of the agreement's steps.
    back = client.post(page_url, {"action": "decline"})
    assert back.status_code == 302
    assert back["Location"].endswith(return_path(preapproval))
    # The sandbox's signed notification ended it, before the customer came back.
    preapproval.refresh_from_db()
    assert preapproval.status == Preapproval.Status.FAILED
    agreement = SandboxTransaction.objects.get(pk=preapproval.provider_preapproval_id)
    assert agreement.status == provider.FAIL_SID
    event = WebhookEvent.objects.get()
    assert event.status == WebhookEvent.Status.PROCESSED
    assert preapproval.transitions.get(to_status="failed").source == "webhook"
    assert client.get(back["Location"])["Location"] == "/declined/"
    assert [event[3] for event in signal_log.of("status_changed")] == ["pending", "failed"]
    assert signal_log.of("preapproval_activated") == []
    assert signal_log.of("preapproval_canceled") == []
    # The decision is final: the page sends the customer back, and nothing is sent again.
    assert client.get(page_url).status_code == 302
    assert client.post(page_url, {"action": "approve", **AGREEMENT}).status_code == 302
    preapproval.refresh_from_db()
    assert preapproval.status == Preapproval.Status.FAILED
    assert WebhookEvent.objects.count() == 1


def test_preapproval_result_page_without_urls(client: Client) -> None:
    preapproval = services.create_preapproval()
    page_url = open_agreement_page(client, preapproval)
    done = post_agreement(client, page_url, AGREEMENT)
    result = client.get(done["Location"])
    assert result.status_code == 200
    preapproval.refresh_from_db()
    assert preapproval.status == Preapproval.Status.ACTIVE


def test_a_forged_return_does_not_activate_a_preapproval(
    client: Client, signal_log: SignalRecorder
) -> None:
    preapproval = services.create_preapproval(success_url="/subscribed/")
    open_agreement_page(client, preapproval)
    forged = client.get(return_path(preapproval), {"status": "ISSUED_SID", "sid": "S123"})
    assert forged.status_code == 202
    preapproval.refresh_from_db()
    assert preapproval.status == Preapproval.Status.PENDING
    assert signal_log.of("preapproval_activated") == []


def test_preapproval_return_before_checkout_goes_to_checkout(client: Client) -> None:
    preapproval = services.create_preapproval()
    response = client.get(return_path(preapproval))
    assert response["Location"] == preapproval.get_checkout_url()
