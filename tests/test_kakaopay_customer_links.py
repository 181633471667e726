"""KakaoPay's links for the customer (app schemes) and its words to the customer (refusals).

An app customer can be sent to ``next_redirect_app_url`` or, with
``APP_REDIRECT = "APP_SCHEME"``, straight to the ``kakaotalk://`` or
``intent://`` link for their OS, which Django's own redirect refuses. A
refusal's ``method_result_message`` reaches the result page only when it
comes from KakaoPay's server answer and the order look-up confirms the
failure; text in the query string is never shown.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
import responses
from django.test import Client, override_settings

from django_kakaopay import services
from django_kakaopay.backends.kakaopay import KakaoPayBackend
from django_kakaopay.backends.readers import CUSTOMER_TEXT_LIMIT, customer_text
from django_kakaopay.backends.types import PreapprovalRequest
from django_kakaopay.models import Payment
from django_kakaopay.redirects import ProviderLinkRedirect
from django_kakaopay.status import PaymentStatus, PreapprovalStatus
from django_kakaopay.testing import sample_payment_request

from .test_kakaopay_backend import (
    APPROVE,
    OPTIONS,
    ORDER,
    READY,
    SETTINGS,
    TID,
    make_backend,
    order_answer,
    ready_answer,
)

ANDROID = "intent://kakaopay/pg?url=https://online-pay.kakao.com/pg/x#Intent;scheme=kakaotalk;end"
IOS = "kakaotalk://kakaopay/pg?url=https://online-pay.kakao.com/pg/x"
IPHONE_APP = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) KAKAOTALK 10.4.0"

SCHEME_SETTINGS: dict[str, Any] = {
    **SETTINGS,
    "BACKENDS": {
        "kakaopay": {
            "BACKEND": "django_kakaopay.backends.kakaopay.KakaoPayBackend",
            "OPTIONS": {**OPTIONS, "APP_REDIRECT": "APP_SCHEME"},
        }
    },
}


def answer_with_schemes() -> dict[str, Any]:
    return {**ready_answer(), "android_app_scheme": ANDROID, "ios_app_scheme": IOS}


# -- choosing the link ------------------------------------------------------------------


@responses.activate
@pytest.mark.parametrize(
    ("option", "os_type", "expected"),
    [
        ("APP_SCHEME", "android", ANDROID),
        ("APP_SCHEME", "ios", IOS),
        ("app_scheme", "IOS", IOS),
        ("APP_SCHEME", "", "next_redirect_app_url"),
        ("APP_URL", "ios", "next_redirect_app_url"),
        (None, "android", "next_redirect_app_url"),
    ],
)
def test_an_app_customer_gets_the_link_the_option_chooses(
    option: str | None, os_type: str, expected: str
) -> None:
    responses.add(responses.POST, READY, json=answer_with_schemes())
    backend = make_backend(**({"APP_REDIRECT": option} if option else {}))
    request = sample_payment_request(terminal_type="app", os_type=os_type)
    url = backend.create_payment(request).url
    assert url == answer_with_schemes().get(expected, expected)


@responses.activate
@pytest.mark.parametrize("terminal", ["web", "wap"])
def test_the_scheme_is_for_apps_only(terminal: str) -> None:
    responses.add(responses.POST, READY, json=answer_with_schemes())
    request = sample_payment_request(terminal_type=terminal, os_type="ios")
    url = make_backend(APP_REDIRECT="APP_SCHEME").create_payment(request).url
    assert url.startswith("https://online-pay.kakao.com/")


@responses.activate
@pytest.mark.parametrize("scheme", ["javascript:alert(1)", "data:text/html,x", "ftp://x/", ""])
def test_a_scheme_we_do_not_know_falls_back_to_the_app_url(scheme: str) -> None:
    responses.add(responses.POST, READY, json={**ready_answer(), "ios_app_scheme": scheme})
    request = sample_payment_request(terminal_type="app", os_type="ios")
    url = make_backend(APP_REDIRECT="APP_SCHEME").create_payment(request).url
    assert url == ready_answer()["next_redirect_app_url"]


@pytest.mark.parametrize("value", ["SCHEME", 1, True])
def test_a_wrong_app_redirect_option_is_a_check_error(value: object) -> None:
    problems = KakaoPayBackend.check_options({**OPTIONS, "APP_REDIRECT": value})
    assert any("APP_REDIRECT" in problem for problem in problems)


# -- the checkout view sends the customer there -----------------------------------------


@pytest.mark.django_db
@responses.activate
@override_settings(KAKAOPAY=SCHEME_SETTINGS)
def test_the_checkout_view_redirects_an_app_to_its_scheme() -> None:
    responses.add(responses.POST, READY, json=answer_with_schemes())
    payment = services.create_payment(amount=11000, terminal_type="app")
    response = Client(HTTP_USER_AGENT=IPHONE_APP).get(f"/kakaopay/checkout/{payment.return_token}/")
    assert response.status_code == 302
    assert response["Location"] == IOS
    payment.refresh_from_db()
    assert payment.redirect_url == IOS
    # A reload sends the customer to the same link without asking KakaoPay again.
    again = Client(HTTP_USER_AGENT=IPHONE_APP).get(f"/kakaopay/checkout/{payment.return_token}/")
    assert again["Location"] == IOS
    assert len(responses.calls) == 1


@responses.activate
def test_an_agreements_first_payment_gets_the_app_link_too() -> None:
    responses.add(responses.POST, READY, json=answer_with_schemes())
    request = PreapprovalRequest(
        reference="SUB-1",
        currency="KRW",
        idempotency_key="sub-1",
        return_url="https://shop.example/kakaopay/return/sub-token/",
        notification_url="https://shop.example/kakaopay/webhooks/kakaopay/",
        terminal_type="app",
        os_type="android",
        first_amount=9900,
        first_reference="SUB-1-2026-12",
    )
    redirect = make_backend(APP_REDIRECT="APP_SCHEME").create_preapproval(request)
    assert redirect.url == ANDROID


@pytest.mark.django_db
@responses.activate
@override_settings(KAKAOPAY=SCHEME_SETTINGS)
def test_a_phone_browser_gets_the_mobile_page_not_an_app_link() -> None:
    responses.add(responses.POST, READY, json=answer_with_schemes())
    payment = services.create_payment(amount=11000)
    response = Client(HTTP_USER_AGENT="Mozilla/5.0 (Linux; Android 14) Chrome/120 Mobile").get(
        f"/kakaopay/checkout/{payment.return_token}/"
    )
    assert response.status_code == 302
    assert response["Location"] == ready_answer()["next_redirect_mobile_url"]


@pytest.mark.django_db
def test_a_stored_link_with_a_scheme_the_backend_does_not_declare_is_not_followed(
    settings: Any,
) -> None:
    settings.KAKAOPAY = SETTINGS
    payment = services.create_payment(amount=11000)
    Payment.objects.filter(pk=payment.pk).update(
        status=PaymentStatus.PENDING, redirect_url="javascript:alert(1)", provider_payment_id=TID
    )
    response = Client().get(f"/kakaopay/checkout/{payment.return_token}/")
    assert response.status_code == 502
    assert "javascript" not in response.content.decode()


def test_the_redirect_allows_only_declared_schemes() -> None:
    from django.core.exceptions import DisallowedRedirect

    assert ProviderLinkRedirect(IOS, {"kakaotalk"})["Location"] == IOS
    assert ProviderLinkRedirect("https://online-pay.kakao.com/x")["Location"]
    for url, schemes in [(IOS, set()), ("ftp://x/", set()), (ANDROID, {"kakaotalk"})]:
        with pytest.raises(DisallowedRedirect):
            ProviderLinkRedirect(url, schemes)


# -- the provider's words to the customer -------------------------------------------------

DECLINED = {
    "error_code": -780,
    "error_message": "approval failure!",
    "extras": {"method_result_code": "USER_LOCKED", "method_result_message": "한도 초과입니다."},
}


def started_payment() -> Payment:
    responses.add(responses.POST, READY, json=ready_answer())
    payment = services.create_payment(amount=11000, description="Wireless headphones")
    services.start_payment(payment)
    payment.refresh_from_db()
    return payment


@pytest.mark.django_db
@responses.activate
@override_settings(KAKAOPAY=SETTINGS)
def test_a_declined_approve_shows_kakaopays_reason() -> None:
    payment = started_payment()
    responses.add(responses.POST, APPROVE, status=400, json=DECLINED)
    responses.add(
        responses.POST, ORDER, json=order_answer("FAIL_PAYMENT", reference=payment.reference)
    )
    response = Client().get(f"/kakaopay/return/{payment.return_token}/", {"pg_token": "t"})
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.FAILED
    assert payment.failure_message == "한도 초과입니다."
    assert "한도 초과입니다." in response.content.decode()


@pytest.mark.django_db
@responses.activate
@override_settings(KAKAOPAY=SETTINGS)
def test_a_refused_forged_token_shows_nothing_and_changes_nothing() -> None:
    payment = started_payment()
    responses.add(responses.POST, APPROVE, status=400, json=DECLINED)
    responses.add(responses.POST, ORDER, json=order_answer("READY", reference=payment.reference))
    Client().get(f"/kakaopay/return/{payment.return_token}/", {"pg_token": "forged"})
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PENDING
    assert payment.failure_message == ""


@pytest.mark.django_db
@responses.activate
@override_settings(KAKAOPAY=SETTINGS)
def test_text_in_the_query_string_is_never_shown() -> None:
    payment = started_payment()
    responses.add(
        responses.POST, ORDER, json=order_answer("FAIL_PAYMENT", reference=payment.reference)
    )
    lure = "Call 010-0000-0000 to get your money back"
    response = Client().get(
        f"/kakaopay/return/{payment.return_token}/",
        {"outcome": "fail", "method_result_message": lure, "error_message": lure},
    )
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.FAILED
    assert payment.failure_message == ""
    assert lure not in response.content.decode()


@pytest.mark.django_db
@responses.activate
@override_settings(KAKAOPAY=SETTINGS)
def test_a_refused_ready_keeps_the_reason_and_the_api_shows_it() -> None:
    responses.add(responses.POST, READY, status=400, json=DECLINED)
    payment = services.create_payment(amount=11000)
    response = Client().get(f"/kakaopay/checkout/{payment.return_token}/", follow=True)
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.FAILED
    assert payment.failure_message == "한도 초과입니다."
    assert "한도 초과입니다." in response.content.decode()
    assert "-780" in payment.last_error  # the operator keeps the codes


@pytest.mark.django_db
@responses.activate
@override_settings(KAKAOPAY=SETTINGS)
@pytest.mark.parametrize("status", [401, 500])
def test_credentials_and_server_errors_say_nothing_to_the_customer(status: int) -> None:
    responses.add(responses.POST, READY, status=status, json=DECLINED)
    payment = services.create_payment(amount=11000)
    Client().get(f"/kakaopay/checkout/{payment.return_token}/")
    payment.refresh_from_db()
    assert payment.failure_message == ""


@pytest.mark.django_db
@responses.activate
@override_settings(KAKAOPAY=SETTINGS)
def test_a_declined_agreement_shows_the_reason() -> None:
    responses.add(responses.POST, READY, json=ready_answer())
    preapproval = services.create_preapproval(description="Monthly box")
    services.set_billing_plan(
        preapproval, amount=9900, interval="month", next_charge_on=date(2026, 12, 2)
    )
    services.start_preapproval(preapproval)
    responses.add(responses.POST, APPROVE, status=400, json=DECLINED)
    responses.add(responses.POST, ORDER, json=order_answer("FAIL_PAYMENT", total=9900))
    response = Client().get(f"/kakaopay/return/{preapproval.return_token}/", {"pg_token": "t"})
    preapproval.refresh_from_db()
    assert preapproval.status == PreapprovalStatus.FAILED
    assert preapproval.failure_message == "한도 초과입니다."
    assert "한도 초과입니다." in response.content.decode()


@pytest.mark.parametrize(
    ("given", "shown"),
    [
        ("한도 초과입니다.", "한도 초과입니다."),
        ("line one\nline\x00two\t ", "line one line two"),
        (None, ""),
        (42, ""),
        ("x" * 1000, "x" * CUSTOMER_TEXT_LIMIT),
    ],
)
def test_customer_text_is_one_bounded_printable_line(given: object, shown: str) -> None:
    assert customer_text(given) == shown
