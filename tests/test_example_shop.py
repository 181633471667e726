"""The example shop, driven through its pages with Django's test client.

These tests use real transactions (``transaction=True``) so that the app's
signals fire after commit exactly as in production, and the shop's
receivers update orders and subscriptions.
"""

from __future__ import annotations

import re
from datetime import timedelta
from io import StringIO
from urllib.parse import urlsplit

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from django_kakaopay import services
from django_kakaopay.dates import format_billing_period
from django_kakaopay.models import Payment, SandboxTransaction
from django_kakaopay.sandbox import provider
from example_project.shop.models import Order, Product, Subscription
from example_project.shop.views import current_period

pytestmark = pytest.mark.django_db(transaction=True)

AGREEMENT = {
    "accept_terms": "on",
    "verification_code": "123456",
    "accept_auto_debit": "on",
    "action": "approve",
}


@pytest.fixture
def headphones() -> Product:
    return Product.objects.create(name="Wireless headphones", price=11000)


@pytest.fixture
def coffee() -> Product:
    return Product.objects.create(name="Coffee beans, monthly", price=9900, is_subscription=True)


def path_of(response) -> str:
    location = response["Location"]
    parts = urlsplit(location)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def buy(client: Client, product: Product) -> tuple[Order, str]:
    """Press "Buy" and follow the shop and checkout redirects to the sandbox page."""
    response = client.post(reverse("shop:buy", args=[product.pk]))
    assert response.status_code == 302
    order = Order.objects.get()
    assert order.payment is not None
    assert path_of(response) == reverse("kakaopay:checkout", args=[order.payment.return_token])
    response = client.get(path_of(response))
    assert response.status_code == 302
    sandbox_page = path_of(response)
    assert sandbox_page.startswith("/kakaopay/sandbox/")
    page = client.get(sandbox_page)
    assert page.status_code == 200
    assert "Wireless headphones" in page.content.decode()
    assert "₩11,000" in page.content.decode()
    return order, sandbox_page


def follow(client: Client, response, limit: int = 5):
    for _ in range(limit):
        if response.status_code != 302:
            return response
        response = client.get(path_of(response))
    raise AssertionError("too many redirects")


def test_product_list_shows_products_and_subscriptions(client, headphones, coffee):
    response = client.get(reverse("shop:product-list"))
    body = response.content.decode()
    assert response.status_code == 200
    assert "Wireless headphones" in body
    assert "₩11,000" in body
    assert "Coffee beans, monthly" in body
    assert reverse("shop:buy", args=[headphones.pk]) in body
    assert reverse("shop:subscribe", args=[coffee.pk]) in body


def test_buy_approve_marks_the_order_paid_exactly_once(client, headphones, signal_log):
    order, sandbox_page = buy(client, headphones)
    payment = order.payment
    assert payment is not None
    assert payment.amount == 11000
    assert payment.items == [
        {
            "name": "Wireless headphones",
            "quantity": 1,
            "unit_price": 11000,
            "reference": f"product-{headphones.pk}",
        }
    ]

    response = client.post(sandbox_page, {"action": "approve"})
    assert path_of(response) == reverse("kakaopay:return", args=[payment.return_token])
    response = client.get(path_of(response))
    assert path_of(response) == reverse("shop:order-success", args=[order.reference])
    page = client.get(path_of(response))
    assert page.status_code == 200
    assert 'data-status="paid"' in page.content.decode()

    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert order.paid_at is not None
    paid_at = order.paid_at

    # Coming back (reload, back button, a second notification) changes nothing.
    follow(client, client.get(reverse("kakaopay:return", args=[payment.return_token])))
    follow(client, client.get(reverse("kakaopay:checkout", args=[payment.return_token])))
    assert client.post(sandbox_page, {"action": "approve"}).status_code == 302

    assert len(signal_log.of("payment_paid")) == 1
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert order.paid_at == paid_at
    detail = client.get(order.get_absolute_url()).content.decode()
    assert 'data-status="paid"' in detail
    assert "Your order is paid" in detail
    assert order.reference in client.get(reverse("shop:my-orders")).content.decode()


def test_declined_payment_marks_the_order_failed(client, headphones, signal_log):
    order, sandbox_page = buy(client, headphones)
    response = follow(client, client.post(sandbox_page, {"action": "decline"}))
    body = response.content.decode()
    assert response.request["PATH_INFO"] == reverse("shop:order-failure", args=[order.reference])
    assert "The payment did not go through" in body
    assert 'data-status="failed"' in body
    assert reverse("shop:buy", args=[headphones.pk]) in body  # "try again"
    order.refresh_from_db()
    assert order.status == Order.Status.FAILED
    assert len(signal_log.of("payment_failed")) == 1
    assert signal_log.of("payment_paid") == []
    # The success page never claims a failed order is paid.
    success = client.get(reverse("shop:order-success", args=[order.reference]))
    assert path_of(success) == order.get_absolute_url()


def test_canceled_payment_says_so(client, headphones, signal_log):
    order, sandbox_page = buy(client, headphones)
    response = follow(client, client.post(sandbox_page, {"action": "cancel"}))
    body = response.content.decode()
    assert "You canceled the payment" in body
    # The badge agrees with the heading: nothing failed, the customer stopped.
    assert 'data-status="canceled">Canceled</span>' in body
    assert "Payment failed" not in body
    order.refresh_from_db()
    assert order.status == Order.Status.CANCELED
    assert len(signal_log.of("payment_failed")) == 1
    detail = client.get(order.get_absolute_url()).content.decode()
    assert "You canceled the payment" in detail
    assert reverse("shop:buy", args=[headphones.pk]) in detail  # "try again"


def test_pending_order_offers_to_continue(client, headphones):
    order, _sandbox_page = buy(client, headphones)
    body = client.get(order.get_absolute_url()).content.decode()
    assert 'data-status="pending"' in body
    assert order.payment is not None
    assert reverse("kakaopay:checkout", args=[order.payment.return_token]) in body
    assert 'http-equiv="refresh"' in body


def test_refund_marks_the_order_refunded(client, headphones):
    order, sandbox_page = buy(client, headphones)
    follow(client, client.post(sandbox_page, {"action": "approve"}))
    order.refresh_from_db()
    assert order.payment is not None
    services.request_refund(order.payment, 5000)
    order.refresh_from_db()
    assert order.status == Order.Status.PAID  # partly refunded: still a paid order
    assert "₩5,000" in client.get(order.get_absolute_url()).content.decode()
    services.request_refund(order.payment)
    order.refresh_from_db()
    assert order.status == Order.Status.REFUNDED


def subscribe(client: Client, product: Product) -> Subscription:
    response = client.post(reverse("shop:subscribe", args=[product.pk]))
    subscription = Subscription.objects.get()
    preapproval = subscription.preapproval
    assert path_of(response) == reverse(
        "kakaopay:preapproval-checkout", args=[preapproval.return_token]
    )
    assert preapproval.max_amount == product.price
    response = client.get(path_of(response))
    agreement_page = path_of(response)
    assert agreement_page.startswith("/kakaopay/sandbox/")
    page = client.get(agreement_page)
    assert page.status_code == 200
    # The form refuses an incomplete agreement...
    assert client.post(agreement_page, {"action": "approve"}).status_code == 400
    # ...and accepts the three steps.
    response = follow(client, client.post(agreement_page, AGREEMENT))
    assert response.request["PATH_INFO"] == subscription.get_absolute_url()
    subscription.refresh_from_db()
    return subscription


def test_subscribe_activate_and_charge_this_month_once(client, coffee, signal_log):
    subscription = subscribe(client, coffee)
    assert subscription.status == Subscription.Status.ACTIVE
    assert len(signal_log.of("preapproval_activated")) == 1
    page = client.get(subscription.get_absolute_url()).content.decode()
    assert 'data-status="active"' in page
    period = current_period()
    assert re.fullmatch(r"\d{4}-\d{2}", period)
    # The key is "YYYY-MM"; the page and its messages name the month.
    month = format_billing_period(period)
    assert re.fullmatch(r"[A-Z][a-z]+ \d{4}", month)
    assert f"Charge this month ({month})" in page

    charge_url = reverse("shop:subscription-charge", args=[subscription.reference])
    first = follow(client, client.post(charge_url)).content.decode()
    assert f"Charged ₩9,900 for {month}." in first
    second = follow(client, client.post(charge_url)).content.decode()
    assert f"{month} was already charged" in second
    assert "No second charge was made." in second

    charges = Payment.objects.filter(preapproval=subscription.preapproval)
    assert charges.count() == 1
    charge = charges.get()
    assert (charge.billing_period, charge.amount, charge.status) == (period, 9900, "paid")
    sandbox_charges = SandboxTransaction.objects.filter(
        kind=SandboxTransaction.Kind.PAYMENT, parent__isnull=False
    )
    assert sandbox_charges.count() == 1
    assert len(signal_log.of("payment_paid")) == 1
    subscription.refresh_from_db()
    assert subscription.last_charged_period == period
    assert 'class="highlight"' in second  # the existing charge is shown


def test_canceling_the_subscription(client, coffee, signal_log):
    subscription = subscribe(client, coffee)
    response = follow(
        client,
        client.post(reverse("shop:subscription-cancel", args=[subscription.reference])),
    )
    assert 'data-status="canceled"' in response.content.decode()
    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.CANCELED
    assert len(signal_log.of("preapproval_canceled")) == 1
    # No charge button any more, and a forged POST charges nothing.
    assert 'data-testid="charge"' not in response.content.decode()
    client.post(reverse("shop:subscription-charge", args=[subscription.reference]))
    assert not Payment.objects.filter(preapproval=subscription.preapproval).exists()


def test_canceling_the_agreement_at_kakaopay(client, coffee):
    client.post(reverse("shop:subscribe", args=[coffee.pk]))
    subscription = Subscription.objects.get()
    response = client.get(
        reverse("kakaopay:preapproval-checkout", args=[subscription.preapproval.return_token])
    )
    response = follow(client, client.post(path_of(response), {"action": "cancel"}))
    assert response.request["PATH_INFO"] == subscription.get_absolute_url()
    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.CANCELED
    assert reverse("shop:subscribe", args=[coffee.pk]) in response.content.decode()


def test_korean_pages(client, headphones):
    body = client.get(reverse("shop:product-list"), HTTP_ACCEPT_LANGUAGE="ko").content.decode()
    assert '<html lang="ko">' in body
    assert "카카오페이" in body


def test_setup_shop_is_idempotent_and_prints_the_login():
    first, second = StringIO(), StringIO()
    call_command("setup_shop", stdout=first)
    call_command("setup_shop", stdout=second)

    assert Product.objects.count() == 4
    headphones = Product.objects.get(name="Wireless headphones")
    assert (headphones.price, headphones.is_subscription) == (11000, False)
    assert Product.objects.filter(is_subscription=True).count() == 1

    passwords = []
    for out in (first, second):
        text = out.getvalue()
        assert "/admin/" in text
        assert "Username: admin" in text
        match = re.search(r"Password: (\S+)", text)
        assert match
        passwords.append(match.group(1))
    assert passwords[0] != passwords[1]
    assert authenticate(username="admin", password=passwords[0]) is None
    user = authenticate(username="admin", password=passwords[1])
    assert user is not None
    assert user.is_superuser
    assert user.is_staff


def test_a_subscription_given_up_on_starts_when_the_customer_approves_after_all(client, coffee):
    client.post(reverse("shop:subscribe", args=[coffee.pk]))
    subscription = Subscription.objects.get()
    preapproval = subscription.preapproval
    services.start_preapproval(preapproval)
    # Nobody approved it within a day: reconciliation expires the agreement.
    services.reconcile(now=timezone.now() + timedelta(days=2))
    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.FAILED

    agreement = SandboxTransaction.objects.get(pk=preapproval.provider_preapproval_id)
    provider.decide_preapproval(agreement, "approve")
    services.sync_preapproval(preapproval)

    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.ACTIVE
