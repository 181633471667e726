"""Tax-free and VAT amounts: stored on the payment, validated, sent to the provider.

Korean prices include VAT. A shop states the VAT-exempt part of a price
(``tax_free_amount``) and, optionally, the VAT in it; KakaoPay computes the
VAT from the taxable part when none is given.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import responses
from django.contrib.auth.models import User
from django.test import override_settings
from rest_framework.test import APIClient

from django_kakaopay import services
from django_kakaopay.admin.payments import PaymentAdmin
from django_kakaopay.exceptions import InvalidPaymentRequest
from django_kakaopay.models import Payment

from .test_kakaopay_backend import READY, SETTINGS, ready_answer

pytestmark = pytest.mark.django_db

API = "/kakaopay/api"


def test_defaults_are_no_tax_free_part_and_no_stated_vat() -> None:
    payment = services.create_payment(amount=11000)
    assert (payment.tax_free_amount, payment.vat_amount) == (0, None)


def test_the_amounts_are_stored() -> None:
    payment = services.create_payment(amount=11000, tax_free_amount=1000, vat_amount=909)
    payment.refresh_from_db()
    assert (payment.tax_free_amount, payment.vat_amount) == (1000, 909)


@pytest.mark.parametrize(
    ("tax_free", "vat"),
    [(-1, None), (11001, None), (True, None), (1.5, None), ("100", None), (0, -1), (1000, 10001)],
)
def test_impossible_amounts_are_refused(tax_free: Any, vat: Any) -> None:
    with pytest.raises(InvalidPaymentRequest):
        services.create_payment(amount=11000, tax_free_amount=tax_free, vat_amount=vat)
    assert not Payment.objects.exists()


def test_all_of_it_may_be_tax_free() -> None:
    payment = services.create_payment(amount=11000, tax_free_amount=11000, vat_amount=0)
    assert payment.tax_free_amount == 11000


@responses.activate
@override_settings(KAKAOPAY=SETTINGS)
def test_the_amounts_reach_kakaopays_ready() -> None:
    responses.add(responses.POST, READY, json=ready_answer())
    payment = services.create_payment(amount=11000, tax_free_amount=2000, vat_amount=818)
    services.start_payment(payment)
    body = json.loads(responses.calls[0].request.body or b"{}")
    assert (body["tax_free_amount"], body["vat_amount"]) == (2000, 818)


def api_client() -> APIClient:
    client = APIClient()
    client.force_authenticate(User.objects.create_user("minji", password="pw"))
    return client


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"tax_free_amount": 11001}, "tax_free_amount"),
        ({"tax_free_amount": -1}, "tax_free_amount"),
        ({"tax_free_amount": 1000, "vat_amount": 10001}, "vat_amount"),
    ],
)
def test_the_api_refuses_impossible_amounts(changes: dict[str, Any], field: str) -> None:
    response = api_client().post(
        f"{API}/payments/", {"amount": 11000, "currency": "KRW", **changes}, format="json"
    )
    assert response.status_code == 400, response.data
    assert field in response.data


def test_the_api_takes_and_shows_the_amounts() -> None:
    response = api_client().post(
        f"{API}/payments/",
        {"amount": 11000, "currency": "KRW", "tax_free_amount": 1000, "vat_amount": 909},
        format="json",
    )
    assert response.status_code == 201, response.data
    assert (response.data["tax_free_amount"], response.data["vat_amount"]) == (1000, 909)
    payment = Payment.objects.get(pk=response.data["id"])
    assert (payment.tax_free_amount, payment.vat_amount) == (1000, 909)


def test_the_admin_shows_them_read_only() -> None:
    assert "tax_column" in PaymentAdmin.readonly_fields
    stated = services.create_payment(amount=11000, tax_free_amount=1000, vat_amount=909)
    computed = services.create_payment(amount=11000)
    admin = PaymentAdmin(Payment, None)  # type: ignore[arg-type]
    assert "909" in admin.tax_column(stated)
    assert "1,000" in admin.tax_column(stated)
    assert "provider" in admin.tax_column(computed)
