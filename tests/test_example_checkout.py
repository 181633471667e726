"""The example shop, switched to Checkout.com by environment variables, sends the seed's request.

The settings module is loaded with the environment a merchant would set;
``responses`` plays Checkout.com with the seed's two answers.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import responses
from django.contrib.auth import get_user_model
from django.test import Client, override_settings

from django_kakaopay.models import Payment
from example_project.shop.models import Order, Product

from .example_env import example_settings
from .test_checkout_backend import (
    CHANNEL,
    PAY_ID,
    PREFIX,
    REDIRECT,
    SANDBOX_BASE,
    SECRET_KEY,
    SEED_SETUP_REQUEST,
    SETUP_ID,
    add_seed_create,
)

ENVIRONMENT = {
    "KAKAOPAY_BACKEND": "checkout",
    "CHECKOUT_SECRET_KEY": SECRET_KEY,
    "CHECKOUT_PROCESSING_CHANNEL_ID": CHANNEL,
    "CHECKOUT_ENVIRONMENT": "sandbox",
    "CHECKOUT_SUBDOMAIN_PREFIX": PREFIX,
    "CHECKOUT_WEBHOOK_SIGNATURE_KEYS": "key-one,key-two",
    "CHECKOUT_TERMINAL_TYPE": "app",
    "CHECKOUT_OS_TYPE": "ios",
}


def example_kakaopay_setting(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    setting: dict[str, Any] = example_settings(monkeypatch, ENVIRONMENT)["KAKAOPAY"]
    return setting


def test_environment_builds_the_checkout_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    setting = example_kakaopay_setting(monkeypatch)
    assert setting["DEFAULT_BACKEND"] == "checkout"
    options = setting["BACKENDS"]["checkout"]["OPTIONS"]
    assert options["WEBHOOK_SIGNATURE_KEYS"] == ["key-one", "key-two"]
    assert (options["TERMINAL_TYPE"], options["OS_TYPE"]) == ("app", "ios")
    assert options["ENVIRONMENT"] == "sandbox"


@pytest.mark.django_db
def test_buying_the_headphones_sends_the_seed_request(
    monkeypatch: pytest.MonkeyPatch, client: Client
) -> None:
    setting = {**example_kakaopay_setting(monkeypatch), "SITE_URL": "http://testserver"}
    product = Product.objects.create(name="Wireless headphones", price=11000)
    shopper = get_user_model().objects.create_user(
        "jia", "jia@example.com", "pw-for-tests", first_name="Jia", last_name="Tsang"
    )
    client.force_login(shopper)
    with override_settings(KAKAOPAY=setting), responses.RequestsMock() as rsps:
        add_seed_create(rsps)
        bought = client.post(f"/shop/products/{product.pk}/buy/")
        checkout = client.get(bought["Location"])
        setup_call, confirm_call = rsps.calls[0], rsps.calls[1]

    assert checkout.status_code == 302
    assert checkout["Location"] == REDIRECT, "the customer goes to the seed's KakaoPay page"
    order = Order.objects.get()
    payment = Payment.objects.get()
    assert order.payment == payment
    assert payment.provider_session_id == SETUP_ID
    assert payment.provider_payment_id == PAY_ID
    assert payment.status == Payment.Status.PENDING

    assert setup_call.request.url == f"{SANDBOX_BASE}/payments/setups"
    sent = json.loads(setup_call.request.body)
    seed = json.loads(SEED_SETUP_REQUEST)
    # Identical to the seed except what is the shop's own: its order number and
    # product reference, the description, the channel and our return URL.
    assert sent["amount"] == seed["amount"] == 11000
    assert sent["currency"] == seed["currency"] == "KRW"
    assert sent["customer"]["name"] == seed["customer"]["name"] == "Jia Tsang"
    assert [
        {key: item[key] for key in ("name", "quantity", "unit_price")}
        for item in sent["order"]["items"]
    ] == seed["order"]["items"]
    assert (
        sent["payment_methods"]
        == seed["payment_methods"]
        == {"kakaopay": {"terminal_type": "app", "os_type": "ios"}}
    )
    assert sent["reference"] == order.reference
    assert sent["processing_channel_id"] == CHANNEL
    assert sent["settings"]["success_url"].startswith("http://testserver/kakaopay/return/")
    assert setup_call.request.headers["Authorization"] == f"Bearer {SECRET_KEY}"
    assert setup_call.request.headers["Cko-Idempotency-Key"]
    assert confirm_call.request.url.endswith(f"/payments/setups/{SETUP_ID}/confirm/kakaopay")
