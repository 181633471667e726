"""The example shop, switched to KakaoPay's own API by environment variables.

The settings module is loaded with the environment a merchant would set
(``KAKAOPAY_DIRECT_*``); ``responses`` plays KakaoPay: ready, then the
approval return with ``pg_token``.
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
from .test_kakaopay_backend import APPROVE, FAKE_KEY, READY, approve_answer, ready_answer

ENVIRONMENT = {
    "KAKAOPAY_BACKEND": "kakaopay",
    "KAKAOPAY_DIRECT_SECRET_KEY": FAKE_KEY,
}


def example_kakaopay_setting(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    setting: dict[str, Any] = example_settings(monkeypatch, ENVIRONMENT)["KAKAOPAY"]
    return setting


def test_environment_builds_the_kakaopay_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    setting = example_kakaopay_setting(monkeypatch)
    assert setting["DEFAULT_BACKEND"] == "kakaopay"
    options = setting["BACKENDS"]["kakaopay"]["OPTIONS"]
    assert options == {"SECRET_KEY": FAKE_KEY, "CID": "TC0ONETIME", "ENVIRONMENT": "test"}


@pytest.mark.django_db
def test_buying_the_headphones_through_kakaopay(
    monkeypatch: pytest.MonkeyPatch, client: Client
) -> None:
    setting = {**example_kakaopay_setting(monkeypatch), "SITE_URL": "http://testserver"}
    product = Product.objects.create(name="Wireless headphones", price=11000)
    shopper = get_user_model().objects.create_user("jia", "jia@example.com", "pw-for-tests")
    client.force_login(shopper)
    with override_settings(KAKAOPAY=setting), responses.RequestsMock() as rsps:
        rsps.add(responses.POST, READY, json=ready_answer())
        bought = client.post(f"/shop/products/{product.pk}/buy/")
        checkout = client.get(bought["Location"])
        assert checkout.status_code == 302
        assert checkout["Location"] == ready_answer()["next_redirect_pc_url"]
        payment = Payment.objects.get()
        ready = json.loads(rsps.calls[0].request.body)
        assert ready["total_amount"] == 11000
        assert ready["partner_order_id"] == payment.reference
        assert ready["approval_url"].startswith("http://testserver/kakaopay/return/")
        rsps.add(responses.POST, APPROVE, json=approve_answer(payment.reference, 11000))
        client.get(ready["approval_url"], {"pg_token": "token-from-kakaopay"})
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PAID
    assert Order.objects.get().payment == payment
