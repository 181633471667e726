"""The example shop, switched to PortOne by environment variables.

The settings module is loaded with the environment a merchant would set
(``PORTONE_*``); ``responses`` plays PortOne's API. The checkout is our own
page that starts the payment in PortOne's browser SDK, so nothing is sent to
PortOne until the customer comes back and the payment is looked up.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import responses
from django.contrib.auth import get_user_model
from django.core import checks
from django.test import Client, override_settings
from django.urls import reverse

from django_kakaopay.models import Payment, Preapproval
from example_project.shop.models import Order, Product

from .example_env import example_settings
from .test_portone_backend import (
    API,
    BILLING_CHANNEL,
    CHANNEL,
    FAKE_SECRET,
    STORE,
    WEBHOOK_SECRET,
    payment_object,
)

ENVIRONMENT = {
    "KAKAOPAY_BACKEND": "portone",
    "PORTONE_API_SECRET": FAKE_SECRET,
    "PORTONE_STORE_ID": STORE,
    "PORTONE_CHANNEL_KEY": CHANNEL,
    "PORTONE_BILLING_CHANNEL_KEY": BILLING_CHANNEL,
    "PORTONE_WEBHOOK_SECRET": WEBHOOK_SECRET,
}
REQUIRED = ("KAKAOPAY_BACKEND", "PORTONE_API_SECRET", "PORTONE_STORE_ID", "PORTONE_CHANNEL_KEY")
SDK_CALL = re.compile(r'<script id="kp-sdk-call" type="application/json">(.*?)</script>', re.S)


def example_portone_setting(
    monkeypatch: pytest.MonkeyPatch,
    names: tuple[str, ...] = tuple(ENVIRONMENT),
    **extra: str,
) -> dict[str, Any]:
    environment = {**{name: ENVIRONMENT[name] for name in names}, **extra}
    values = example_settings(
        monkeypatch, environment, cleared=[*ENVIRONMENT, "PORTONE_ENVIRONMENT"]
    )
    setting: dict[str, Any] = values["KAKAOPAY"]
    return setting


def sdk_call(html: str) -> dict[str, Any]:
    found = SDK_CALL.search(html)
    assert found, "the page holds no SDK call"
    call: dict[str, Any] = json.loads(found[1])
    return call


def test_environment_builds_the_portone_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    setting = example_portone_setting(monkeypatch)
    assert setting["DEFAULT_BACKEND"] == "portone"
    backend = setting["BACKENDS"]["portone"]
    assert backend["BACKEND"] == "django_kakaopay.backends.portone.PortOneBackend"
    assert backend["OPTIONS"] == {
        "API_SECRET": FAKE_SECRET,
        "STORE_ID": STORE,
        "CHANNEL_KEY": CHANNEL,
        "ENVIRONMENT": "test",
        "BILLING_CHANNEL_KEY": BILLING_CHANNEL,
        "WEBHOOK_SECRETS": [WEBHOOK_SECRET],
    }
    with override_settings(KAKAOPAY=setting, DEBUG=True):
        messages = checks.run_checks(tags=["kakaopay"])
    assert not [m for m in messages if m.level >= checks.ERROR], messages


def test_the_optional_values_stay_out_until_set(monkeypatch: pytest.MonkeyPatch) -> None:
    setting = example_portone_setting(monkeypatch, REQUIRED)
    assert setting["BACKENDS"]["portone"]["OPTIONS"] == {
        "API_SECRET": FAKE_SECRET,
        "STORE_ID": STORE,
        "CHANNEL_KEY": CHANNEL,
        "ENVIRONMENT": "test",
    }
    with override_settings(KAKAOPAY=setting, DEBUG=True):
        ids = {m.id for m in checks.run_checks(tags=["kakaopay"])}
    assert "kakaopay.E007" not in ids, "test channels move no money"
    live = example_portone_setting(monkeypatch, REQUIRED, PORTONE_ENVIRONMENT="live")
    with override_settings(KAKAOPAY=live, DEBUG=True):
        ids = {m.id for m in checks.run_checks(tags=["kakaopay"])}
    assert "kakaopay.E007" in ids, "a live backend without webhook secrets is reported"


def test_without_the_api_secret_there_is_no_portone_backend(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    setting = example_portone_setting(monkeypatch, ("PORTONE_STORE_ID", "PORTONE_CHANNEL_KEY"))
    assert "portone" not in setting["BACKENDS"]
    assert setting["DEFAULT_BACKEND"] == "sandbox"


# Real transactions: the shop marks the order paid once the payment's change commits.
@pytest.mark.django_db(transaction=True)
def test_buying_the_headphones_through_portone(
    monkeypatch: pytest.MonkeyPatch, client: Client
) -> None:
    setting = {**example_portone_setting(monkeypatch), "SITE_URL": "http://testserver"}
    product = Product.objects.create(name="Wireless headphones", price=11000)
    shopper = get_user_model().objects.create_user("jia", "jia@example.com", "pw-for-tests")
    client.force_login(shopper)
    with override_settings(KAKAOPAY=setting), responses.RequestsMock() as rsps:
        bought = client.post(f"/shop/products/{product.pk}/buy/")
        checkout = client.get(bought["Location"])
        assert not rsps.calls, "the browser SDK creates the payment, not the server"
        assert checkout.status_code == 200
        html = checkout.content.decode()
        assert '<script src="https://cdn.portone.io/v2/browser-sdk.js"' in html
        assert FAKE_SECRET not in html
        assert "whsec_" not in html
        payment = Payment.objects.get()
        call = sdk_call(html)
        assert (call["global"], call["method"]) == ("PortOne", "requestPayment")
        arguments = call["arguments"]
        assert arguments["storeId"] == STORE
        assert arguments["channelKey"] == CHANNEL
        assert arguments["paymentId"] == payment.reference
        assert arguments["totalAmount"] == 11000
        assert arguments["orderName"] == "Wireless headphones"
        assert arguments["redirectUrl"].startswith("http://testserver/kakaopay/return/")
        # The customer pays in KakaoPay; PortOne sends them back to redirectUrl.
        rsps.add(
            responses.GET,
            f"{API}/payments/{payment.reference}",
            json=payment_object(payment.reference, "PAID"),
        )
        back = client.get(arguments["redirectUrl"], {"paymentId": payment.reference})
        assert back.status_code == 302
        assert back["Location"] == reverse(
            "shop:order-success", args=[Order.objects.get().reference]
        )
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PAID
    order = Order.objects.get()
    assert order.payment == payment
    assert order.status == Order.Status.PAID


@pytest.mark.django_db
def test_subscribing_opens_the_billing_key_window(
    monkeypatch: pytest.MonkeyPatch, client: Client
) -> None:
    setting = {**example_portone_setting(monkeypatch), "SITE_URL": "http://testserver"}
    product = Product.objects.create(name="Coffee beans", price=19900, is_subscription=True)
    client.force_login(get_user_model().objects.create_user("min", "min@example.com", "pw"))
    with override_settings(KAKAOPAY=setting), responses.RequestsMock() as rsps:
        subscribed = client.post(f"/shop/products/{product.pk}/subscribe/")
        checkout = client.get(subscribed["Location"])
        assert not rsps.calls
    assert checkout.status_code == 200
    call = sdk_call(checkout.content.decode())
    assert call["method"] == "requestIssueBillingKey"
    arguments = call["arguments"]
    assert arguments["channelKey"] == BILLING_CHANNEL
    assert arguments["customer"]["customerId"] == Preapproval.objects.get().reference
    assert FAKE_SECRET not in checkout.content.decode()
