"""Payments, refunds and preapprovals end to end on the sandbox, through services and views."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import IntegrityError, transaction
from django.db.models import F
from django.test import Client, override_settings

from django_kakaopay import services
from django_kakaopay.backends.base import PaymentRef, PaymentRequest, PaymentSnapshot
from django_kakaopay.backends.sandbox import SandboxBackend
from django_kakaopay.conf import get_backend
from django_kakaopay.exceptions import (
    InvalidPaymentRequest,
    OutcomeUnknown,
    PreapprovalNotActive,
    ProviderRejected,
    RefundNotAllowed,
)
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
from .helpers import HEADPHONES, provider_side, started_payment

pytestmark = pytest.mark.django_db(transaction=True)


def sandbox_settings(**options: Any) -> dict[str, Any]:
    return {
        "DEFAULT_BACKEND": "sandbox",
        "BACKENDS": {
            "sandbox": {
                "BACKEND": "django_kakaopay.backends.sandbox.SandboxBackend",
                "OPTIONS": options,
            },
            "flaky": {"BACKEND": "tests.test_lifecycle.FlakyBackend", "OPTIONS": {}},
            "refusing": {"BACKEND": "tests.test_lifecycle.RefusingBackend", "OPTIONS": {}},
        },
        "SITE_URL": "http://testserver",
    }


class FlakyBackend(SandboxBackend):
    """The provider times out on every call: outcomes are unknown."""

    def create_payment(self, request: PaymentRequest) -> Any:
        raise OutcomeUnknown("POST /payments timed out; the outcome is unknown.")

    def fetch_payment(self, ref: PaymentRef) -> PaymentSnapshot:
        raise OutcomeUnknown("GET /payments timed out; the outcome is unknown.")


class RefusingBackend(SandboxBackend):
    """The provider refuses the payment outright (a validation error)."""

    def create_payment(self, request: PaymentRequest) -> Any:
        raise ProviderRejected("currency_not_supported", status_code=422, codes=("currency",))


def pay_through_pages(client: Client, payment: Payment, action: str) -> Any:
    """Checkout → the sandbox KakaoPay page → the customer's choice → the return view."""
    checkout = client.get(payment.get_checkout_url())
    assert checkout.status_code == 302
    page = client.get(checkout["Location"])
    assert page.status_code == 200
    html = page.content.decode()
    assert "₩11,000" in html
    assert "Wireless headphones" in html
    chosen = client.post(checkout["Location"], {"action": action})
    assert chosen.status_code == 302
    assert "/kakaopay/return/" in chosen["Location"]
    return client.get(chosen["Location"])


# -- creating -------------------------------------------------------------------


def test_create_payment_validates_its_input() -> None:
    with pytest.raises(InvalidPaymentRequest):
        services.create_payment(amount=11000.0)  # type: ignore[arg-type]
    with pytest.raises(InvalidPaymentRequest):
        services.create_payment(amount=11000, currency="WON")
    with pytest.raises(InvalidPaymentRequest):
        services.create_payment(
            amount=12000, items=[{"name": "x", "quantity": 1, "unit_price": 11000}]
        )
    with pytest.raises(InvalidPaymentRequest):
        services.create_payment(amount=11000, customer={"nickname": "jia"})
    with pytest.raises(InvalidPaymentRequest):
        services.create_payment(amount=11000, terminal_type="tv")
    services.create_payment(amount=11000, reference="ORD-1")
    with pytest.raises(InvalidPaymentRequest):
        services.create_payment(amount=11000, reference="ORD-1")
    assert Payment.objects.count() == 1


def test_payment_records_what_the_merchant_sent() -> None:
    payment = services.create_payment(
        amount=11000,
        reference="ORD-5023-4E89",
        items=HEADPHONES,
        customer={"name": "Jia Tsang", "email": "jia@example.com", "phone": "+82 10-0000-0000"},
        success_url="/thanks/",
        failure_url="/sorry/",
        description="KakaoPay payment",
    )
    assert payment.status == Payment.Status.CREATED
    assert payment.items == [
        {"name": "Wireless headphones", "quantity": 1, "unit_price": 11000, "reference": ""}
    ]
    assert payment.customer_name == "Jia Tsang"
    assert len(payment.return_token) >= 40
    assert payment.idempotency_key
    assert payment.amount_display == "₩11,000"


def test_start_payment_is_idempotent() -> None:
    payment = services.create_payment(amount=11000)
    services.start_payment(payment)
    first_redirect = payment.redirect_url
    services.start_payment(payment)
    Payment.objects.filter(pk=payment.pk).update(status="created", redirect_url="")
    payment.refresh_from_db()
    services.start_payment(payment)  # a retry with the same idempotency key
    assert SandboxTransaction.objects.filter(kind="payment").count() == 1
    assert payment.redirect_url == first_redirect


# -- the customer's journey ----------------------------------------------------


def test_approved_payment_goes_to_the_success_url(
    client: Client, signal_log: SignalRecorder
) -> None:
    payment = services.create_payment(
        amount=11000, items=HEADPHONES, success_url="/thanks/", failure_url="/sorry/"
    )
    result = pay_through_pages(client, payment, "approve")
    assert result.status_code == 302
    assert result["Location"] == "/thanks/"
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PAID
    assert signal_log.names().count("payment_paid") == 1


@pytest.mark.parametrize(
    ("action", "status"), [("decline", Payment.Status.FAILED), ("cancel", Payment.Status.CANCELED)]
)
def test_declined_or_canceled_payment_goes_to_the_failure_url(
    client: Client, signal_log: SignalRecorder, action: str, status: str
) -> None:
    payment = services.create_payment(
        amount=11000, items=HEADPHONES, success_url="/thanks/", failure_url="/sorry/"
    )
    result = pay_through_pages(client, payment, action)
    assert result["Location"] == "/sorry/"
    payment.refresh_from_db()
    assert payment.status == status
    failed = signal_log.of("payment_failed")
    assert len(failed) == 1
    assert failed[0][3] == status
    assert signal_log.of("payment_paid") == []


def test_built_in_result_pages_without_urls(client: Client) -> None:
    paid = services.create_payment(amount=11000, items=HEADPHONES)
    page = pay_through_pages(client, paid, "approve")
    assert page.status_code == 200
    assert "Payment complete" in page.content.decode()
    declined = services.create_payment(amount=11000, items=HEADPHONES)
    page = pay_through_pages(client, declined, "decline")
    assert "Payment not completed" in page.content.decode()


def test_return_view_ignores_a_forged_query_string(
    client: Client, signal_log: SignalRecorder
) -> None:
    payment = started_payment(success_url="/thanks/")
    forged = client.get(
        f"/kakaopay/return/{payment.return_token}/",
        {"status": "paid", "StatusID": "2", "data": "SUCCESS_PAYMENT", "pg_token": "x"},
    )
    assert forged.status_code == 202
    assert forged["Refresh"] == "3"
    assert "Payment processing" in forged.content.decode()
    forged_post = client.post(f"/kakaopay/return/{payment.return_token}/", {"status": "paid"})
    assert forged_post.status_code == 202
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PENDING
    assert signal_log.of("payment_paid") == []


def test_return_link_of_an_unknown_token_is_404(client: Client) -> None:
    assert client.get("/kakaopay/return/not-a-token/").status_code == 404


def test_return_before_checkout_goes_to_checkout(client: Client) -> None:
    payment = services.create_payment(amount=11000)
    response = client.get(f"/kakaopay/return/{payment.return_token}/")
    assert response["Location"] == payment.get_checkout_url()


def test_refresh_and_back_after_approval_are_harmless(
    client: Client, signal_log: SignalRecorder
) -> None:
    payment = services.create_payment(amount=11000, items=HEADPHONES, success_url="/thanks/")
    checkout = client.get(payment.get_checkout_url())
    pay_through_pages(client, payment, "approve")
    # Back to the KakaoPay page, press pay again, reload checkout and return.
    again = client.post(checkout["Location"], {"action": "approve"})
    assert again.status_code == 302
    assert client.get(checkout["Location"]).status_code == 302
    assert client.get(payment.get_checkout_url())["Location"].endswith(
        f"/kakaopay/return/{payment.return_token}/"
    )
    assert client.get(f"/kakaopay/return/{payment.return_token}/")["Location"] == "/thanks/"
    assert StatusTransition.objects.filter(payment=payment, to_status="paid").count() == 1
    assert signal_log.names().count("payment_paid") == 1


def test_invalid_action_on_the_sandbox_page_is_400(client: Client) -> None:
    payment = started_payment()
    response = client.post(payment.redirect_url, {"action": "steal"})
    assert response.status_code == 400
    assert provider_side(payment).status == provider.READY


# -- notification delivery modes -------------------------------------------------


@pytest.mark.parametrize("mode", ["late", "twice", "out_of_order", "none", "immediate"])
def test_every_delivery_mode_pays_exactly_once(
    client: Client, signal_log: SignalRecorder, mode: str
) -> None:
    with override_settings(KAKAOPAY=sandbox_settings(NOTIFICATIONS=mode)):
        payment = services.create_payment(amount=11000, items=HEADPHONES, success_url="/ok/")
        result = pay_through_pages(client, payment, "approve")
        assert result["Location"] == "/ok/", "the return view pulls when nothing was notified"
        backend = get_backend("sandbox")
        assert isinstance(backend, SandboxBackend)
        delivered = backend.deliver_late_notifications()
        assert delivered == (1 if mode == "late" else 0)
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PAID
    assert signal_log.names().count("payment_paid") == 1
    assert StatusTransition.objects.filter(payment=payment, to_status="paid").count() == 1
    expected_events = {"none": 0, "twice": 1, "out_of_order": 2}.get(mode, 1)
    assert WebhookEvent.objects.count() == expected_events


# -- unknown outcomes -------------------------------------------------------------


@override_settings(KAKAOPAY=sandbox_settings())
def test_a_timeout_on_create_is_unknown_never_failed(client: Client) -> None:
    payment = services.create_payment(amount=11000, backend="flaky")
    response = client.get(payment.get_checkout_url())
    assert response.status_code == 502, "the customer is told to try again"
    payment.refresh_from_db()
    assert payment.status == Payment.Status.CREATED
    assert payment.needs_reconciliation
    assert "timed out" in payment.last_error
    # The return view cannot settle it either, and does not fail it.
    assert client.get(f"/kakaopay/return/{payment.return_token}/").status_code == 202
    payment.refresh_from_db()
    assert payment.status == Payment.Status.CREATED


@override_settings(KAKAOPAY=sandbox_settings())
def test_a_timeout_on_pull_leaves_the_payment_as_it_was() -> None:
    payment = services.create_payment(amount=11000, backend="flaky")
    Payment.objects.filter(pk=payment.pk).update(status="pending", provider_payment_id="p1")
    payment.refresh_from_db()
    assert services.sync_payment(payment) is None
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PENDING
    assert "timed out" in payment.last_error


@override_settings(KAKAOPAY=sandbox_settings())
def test_a_refusal_on_create_fails_the_payment(signal_log: SignalRecorder) -> None:
    payment = services.create_payment(amount=11000, backend="refusing")
    services.start_payment(payment)
    assert payment.status == Payment.Status.FAILED
    assert "currency_not_supported" in payment.last_error
    evidence = payment.transitions.get().evidence
    assert evidence["codes"] == ["currency"]
    assert len(signal_log.of("payment_failed")) == 1


# -- refunds ------------------------------------------------------------------------


def paid_payment() -> Payment:
    payment = started_payment()
    provider.decide_payment(provider_side(payment), "approve")
    services.sync_payment(payment)
    assert payment.status == Payment.Status.PAID
    return payment


def test_partial_then_full_refund(signal_log: SignalRecorder) -> None:
    payment = paid_payment()
    first = services.request_refund(payment, 4000, reason="one item returned")
    assert first.status == Refund.Status.SUCCEEDED
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PARTIALLY_REFUNDED
    assert payment.refunded_amount == 4000
    rest = services.request_refund(payment)
    assert rest.amount == 7000
    payment.refresh_from_db()
    assert payment.status == Payment.Status.REFUNDED
    assert payment.refunded_amount == 11000
    assert Refund.objects.filter(payment=payment).count() == 2
    refunded = [event for event in signal_log.events if event[0] == "payment_refunded"]
    assert len(refunded) == 2
    assert provider_side(payment).refunded_amount == 11000


def test_refunds_are_refused_when_they_cannot_be_right() -> None:
    unpaid = started_payment()
    with pytest.raises(RefundNotAllowed):
        services.request_refund(unpaid, 1000)
    payment = paid_payment()
    with pytest.raises(RefundNotAllowed):
        services.request_refund(payment, 11001)
    with pytest.raises(RefundNotAllowed):
        services.request_refund(payment, 0)
    with pytest.raises(RefundNotAllowed):
        services.request_refund(payment, 10.5)  # type: ignore[arg-type]
    services.request_refund(payment, 11000)
    with pytest.raises(RefundNotAllowed):
        services.request_refund(payment, 1)
    assert Refund.objects.count() == 1


def test_the_database_refuses_refunding_more_than_was_paid() -> None:
    payment = paid_payment()
    with pytest.raises(IntegrityError), transaction.atomic():
        Payment.objects.filter(pk=payment.pk).update(refunded_amount=F("amount") + 1)


def test_a_refund_reported_by_the_provider_is_recorded_once() -> None:
    payment = paid_payment()
    tx = provider_side(payment)
    SandboxTransaction.objects.filter(pk=tx.pk).update(
        status=provider.PART_CANCEL_PAYMENT, refunded_amount=3000
    )
    services.sync_payment(payment)
    services.sync_payment(payment)
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PARTIALLY_REFUNDED
    assert payment.refunded_amount == 3000
    refund = Refund.objects.get(payment=payment)
    assert refund.origin == Refund.Origin.PROVIDER
    assert refund.amount == 3000


# -- preapprovals ---------------------------------------------------------------------


def active_preapproval(client: Client, **kwargs: Any) -> Preapproval:
    preapproval = services.create_preapproval(
        description="Monthly plan", success_url="/subscribed/", **kwargs
    )
    checkout = client.get(preapproval.get_checkout_url())
    page_url = checkout["Location"]
    assert "Register automatic payment" in client.get(page_url).content.decode()
    # Each step is enforced: terms, a 6-digit code, the auto-debit agreement.
    incomplete = client.post(page_url, {"action": "approve", "verification_code": "12345"})
    assert incomplete.status_code == 400
    html = incomplete.content.decode()
    assert "This field is required." in html
    assert "Ensure this value has at least 6 characters" in html
    preapproval.refresh_from_db()
    assert preapproval.status == Preapproval.Status.PENDING
    done = client.post(
        page_url,
        {
            "action": "approve",
            "accept_terms": "on",
            "verification_code": "123456",
            "accept_auto_debit": "on",
        },
    )
    assert client.get(done["Location"])["Location"] == "/subscribed/"
    preapproval.refresh_from_db()
    assert preapproval.status == Preapproval.Status.ACTIVE
    return preapproval


def test_preapproval_charges_once_per_period(client: Client, signal_log: SignalRecorder) -> None:
    preapproval = active_preapproval(client)
    assert len(signal_log.of("preapproval_activated")) == 1
    first = services.charge_preapproval(preapproval, amount=9900, billing_period="2026-11")
    again = services.charge_preapproval(preapproval, amount=9900, billing_period="2026-11")
    assert first.pk == again.pk
    assert first.status == Payment.Status.PAID
    assert SandboxTransaction.objects.filter(kind="payment", parent__isnull=False).count() == 1
    nxt = services.charge_preapproval(preapproval, amount=9900, billing_period="2026-12")
    assert nxt.pk != first.pk
    assert signal_log.names().count("payment_paid") == 2
    with pytest.raises(IntegrityError), transaction.atomic():
        Payment.objects.create(
            reference="DUP", amount=1, currency="KRW", backend="sandbox",
            preapproval=preapproval, billing_period="2026-11",
        )  # fmt: skip


def test_charges_need_an_active_agreement_within_its_limit(client: Client) -> None:
    pending = services.create_preapproval()
    with pytest.raises(PreapprovalNotActive):
        services.charge_preapproval(pending, amount=9900, billing_period="2026-11")
    limited = active_preapproval(client, max_amount=10000)
    with pytest.raises(InvalidPaymentRequest):
        services.charge_preapproval(limited, amount=10001, billing_period="2026-11")
    assert not Payment.objects.filter(preapproval=limited).exists()


def test_cancel_preapproval(client: Client, signal_log: SignalRecorder) -> None:
    preapproval = active_preapproval(client)
    services.cancel_preapproval(preapproval)
    services.cancel_preapproval(preapproval)
    preapproval.refresh_from_db()
    assert preapproval.status == Preapproval.Status.CANCELED
    assert preapproval.canceled_at is not None
    assert len(signal_log.of("preapproval_canceled")) == 1
    with pytest.raises(PreapprovalNotActive):
        services.charge_preapproval(preapproval, amount=9900, billing_period="2027-01")


def test_customer_cancels_the_agreement_page(client: Client) -> None:
    preapproval = services.create_preapproval(failure_url="/no-thanks/")
    page_url = client.get(preapproval.get_checkout_url())["Location"]
    back = client.post(page_url, {"action": "cancel"})
    assert client.get(back["Location"])["Location"] == "/no-thanks/"
    preapproval.refresh_from_db()
    assert preapproval.status == Preapproval.Status.CANCELED


# -- the transition log ---------------------------------------------------------------


def test_transition_log_is_append_only() -> None:
    payment = paid_payment()
    rows = list(payment.transitions.order_by("id"))
    assert [(r.from_status, r.to_status) for r in rows] == [
        ("created", "pending"),
        ("pending", "paid"),
    ]
    row = rows[0]
    row.to_status = "refunded"
    with pytest.raises(ValueError, match="append-only"):
        row.save()
    with pytest.raises(ValueError, match="append-only"):
        row.delete()
    with pytest.raises(IntegrityError), transaction.atomic():
        Payment.objects.filter(pk=payment.pk).delete()
