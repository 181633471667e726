"""Small page details, checked in the HTML the test client gets.

The whole flows, their layout and screenshots are in ``tests/browser``; here
are the pieces that HTML alone settles: the date and month filters, the
sandbox's merchant name in the customer's language, and the words of the
example shop's order summary in Korean.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest
from django.template import Context, Template
from django.test import Client
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext_lazy

from django_kakaopay import services
from django_kakaopay.conf import get_backend
from django_kakaopay.dates import format_billing_period, format_datetime
from django_kakaopay.sandbox import provider
from example_project.shop.models import Order, Product

from .helpers import provider_side

# 00:49 UTC is 09:49 in Seoul, the test settings' TIME_ZONE.
MOMENT = datetime(2026, 12, 2, 0, 49, tzinfo=UTC)


@pytest.mark.parametrize(
    ("language", "shown"),
    [("en", "Dec. 2, 2026, 9:49 a.m. KST"), ("ko", "2026년 12월 2일 9:49 오전 KST")],
)
def test_a_moment_is_shown_in_the_active_zone_and_names_it(language: str, shown: str) -> None:
    with translation.override(language):
        assert format_datetime(MOMENT) == shown
        template = Template("{% load kakaopay %}{{ moment|local_datetime }}")
        assert template.render(Context({"moment": MOMENT})) == shown


def test_a_moment_without_a_zone_names_none_and_nothing_is_empty() -> None:
    with translation.override("en"):
        assert format_datetime(datetime(2026, 12, 2, 9, 49)) == "Dec. 2, 2026, 9:49 a.m."
    assert format_datetime(None) == ""


@pytest.mark.parametrize(
    ("language", "period", "shown"),
    [
        ("en", "2026-12", "December 2026"),
        ("ko", "2026-12", "2026년 12월"),
        ("en", "2026-W48", "2026-W48"),  # not a month: as it is
        ("en", "2026-13", "2026-13"),
        ("en", "", ""),
    ],
)
def test_a_billing_period_reads_as_a_month(language: str, period: str, shown: str) -> None:
    with translation.override(language):
        assert format_billing_period(period) == shown
        template = Template("{% load kakaopay %}{{ period|billing_period }}")
        assert template.render(Context({"period": period})) == shown


def with_merchant(settings: Any, name: object) -> None:
    value = copy.deepcopy(settings.KAKAOPAY)
    options = value["BACKENDS"]["sandbox"]["OPTIONS"]
    if name is None:
        options.pop("MERCHANT_NAME", None)
    else:
        options["MERCHANT_NAME"] = name
    settings.KAKAOPAY = value


@pytest.mark.parametrize(
    ("name", "english", "korean"),
    [
        # A plain name the project's catalogue translates (the example shop's).
        ("Example shop", "Example shop", "예제 상점"),
        # A lazy translation, as a project would write it in settings.
        (gettext_lazy("Example shop"), "Example shop", "예제 상점"),
        # A name nobody translates stays as written.
        ("Hangang Coffee", "Hangang Coffee", "Hangang Coffee"),
        (None, "Sandbox shop", "샌드박스 상점"),
    ],
)
@pytest.mark.django_db(transaction=True)
def test_the_sandbox_shows_the_merchant_name_in_the_customers_language(
    client: Client, settings: Any, name: object, english: str, korean: str
) -> None:
    with_merchant(settings, name)
    assert get_backend("sandbox").options.get("MERCHANT_NAME") == name
    payment = services.create_payment(amount=11000)
    page = str(client.get(payment.get_checkout_url())["Location"])
    for language, shown in (("en", english), ("ko", korean)):
        html = client.get(page, HTTP_ACCEPT_LANGUAGE=language).content.decode()
        assert f'<p class="kp-merchant">{shown}</p>' in html, language


@pytest.mark.django_db(transaction=True)
def test_the_korean_order_summary_names_the_payment_method_in_korean(client: Client) -> None:
    product = Product.objects.create(name="무선 헤드폰", price=11000)
    client.post(reverse("shop:buy", args=[product.pk]))
    order = Order.objects.get()
    assert order.payment is not None
    payment = order.payment
    client.get(payment.get_checkout_url())
    payment.refresh_from_db()
    provider.decide_payment(provider_side(payment), "approve")
    services.sync_payment(payment)
    html = client.get(order.get_absolute_url(), HTTP_ACCEPT_LANGUAGE="ko").content.decode()
    assert "<dt>결제 수단</dt><dd>카카오페이</dd>" in html
    assert "KakaoPay" not in html
