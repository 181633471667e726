"""The admin lists and shows every model, and never lets a status be edited by hand."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from django_kakaopay import services
from django_kakaopay.models import (
    Payment,
    Preapproval,
    Refund,
    SandboxTransaction,
    StatusTransition,
    WebhookEvent,
)
from django_kakaopay.sandbox import provider

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client() -> Client:
    user = get_user_model().objects.create_superuser("ops", "ops@example.com", "pw-for-tests")
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def paid_payment(client: Client) -> Payment:
    payment = services.create_payment(
        amount=11000,
        currency="KRW",
        reference="ORD-5023-4E89",
        items=[{"name": "Wireless headphones", "quantity": 1, "unit_price": 11000}],
        customer={"name": "Jia Tsang", "email": "jia@example.com"},
    )
    services.start_payment(payment)
    provider.decide_payment(
        SandboxTransaction.objects.get(pk=payment.provider_payment_id), "approve"
    )
    services.sync_payment(payment)
    services.request_refund(payment, 1000, reason="damaged box")
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PARTIALLY_REFUNDED
    return payment


MODELS = (Payment, Refund, Preapproval, WebhookEvent, StatusTransition, SandboxTransaction)


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_changelist_renders(staff_client: Client, paid_payment: Payment, model: type) -> None:
    url = reverse(f"admin:django_kakaopay_{model._meta.model_name}_changelist")
    response = staff_client.get(url)
    assert response.status_code == 200


def test_payment_list_shows_formatted_money_and_searches(
    staff_client: Client, paid_payment: Payment
) -> None:
    url = reverse("admin:django_kakaopay_payment_changelist")
    page = staff_client.get(url, {"q": "jia@example.com"}).content.decode()
    assert "₩11,000" in page
    assert "ORD-5023-4E89" in page
    assert "ORD-5023-4E89" not in staff_client.get(url, {"q": "nobody"}).content.decode()


def test_payment_change_page_is_read_only_for_money_and_status(
    staff_client: Client, paid_payment: Payment
) -> None:
    url = reverse("admin:django_kakaopay_payment_change", args=[paid_payment.pk])
    page = staff_client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="status"' not in html
    assert 'name="amount"' not in html
    assert 'name="refunded_amount"' not in html
    assert paid_payment.return_token not in html, "the return capability must not be shown"
    # A forged POST cannot change the status either.
    staff_client.post(url, {"status": "refunded", "amount": "1", "description": "x"})
    paid_payment.refresh_from_db()
    assert paid_payment.status == Payment.Status.PARTIALLY_REFUNDED
    assert paid_payment.amount == 11000


def test_nothing_is_added_or_edited_by_hand(staff_client: Client, paid_payment: Payment) -> None:
    for model in (Payment, Refund, Preapproval, WebhookEvent, StatusTransition):
        add_url = reverse(f"admin:django_kakaopay_{model._meta.model_name}_add")
        assert staff_client.get(add_url).status_code == 403
    transition = StatusTransition.objects.filter(payment=paid_payment).first()
    assert transition is not None
    delete_url = reverse("admin:django_kakaopay_statustransition_delete", args=[transition.pk])
    assert staff_client.post(delete_url, {"post": "yes"}).status_code == 403
    assert StatusTransition.objects.filter(pk=transition.pk).exists()


def test_webhook_event_shows_body_but_no_secret_headers(staff_client: Client) -> None:
    services.receive_webhook(
        "sandbox",
        b'{"id": "evt_admin", "type": "payment.updated", "data": {}}',
        {
            "Content-Type": "application/json",
            "Authorization": "Basic c2VjcmV0LWNyZWRlbnRpYWw=",
            "X-Sandbox-Signature": "sha256=forged-signature-value",
        },
        "127.0.0.1",
    )
    event = WebhookEvent.objects.get(event_key="evt_admin")
    assert event.status == WebhookEvent.Status.REJECTED
    url = reverse("admin:django_kakaopay_webhookevent_change", args=[event.pk])
    html = staff_client.get(url).content.decode()
    assert "evt_admin" in html
    assert "c2VjcmV0LWNyZWRlbnRpYWw" not in html
    assert "forged-signature-value" not in html
