"""PortOne V2: the server API replayed with ``responses``, webhooks signed as Standard Webhooks.

The shapes are PortOne's V2 payment, cancellation and billing-key objects as
its REST reference and server SDK show them. Nothing reaches the network.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
import requests
import responses
from django.test import Client, override_settings
from django.urls import reverse

from django_kakaopay import services
from django_kakaopay.backends.base import BaseBackend
from django_kakaopay.backends.portone import PAYMENT_STATUS_MAP, PortOneBackend
from django_kakaopay.backends.portone.signatures import sign
from django_kakaopay.backends.types import PaymentRef, PaymentRequest, RefundRequest
from django_kakaopay.checks import check_settings
from django_kakaopay.exceptions import (
    OutcomeUnknown,
    ProviderConfigurationError,
    ProviderRejected,
)
from django_kakaopay.models import Payment, Preapproval, WebhookEvent
from django_kakaopay.status import PaymentStatus, PreapprovalStatus, RefundStatus
from django_kakaopay.testing import BackendConformance, sample_payment_request

API = "https://api.portone.io"
STORE = "store-4b1f6f8e-0000-4000-8000-000000000001"
CHANNEL = "channel-key-9d3c0000-0000-4000-8000-000000000002"
BILLING_CHANNEL = "channel-key-9d3c0000-0000-4000-8000-000000000003"
FAKE_SECRET = "fake-portone-api-secret-for-tests-only"
# base64 of 24 fixed bytes, written as PortOne writes webhook secrets.
WEBHOOK_SECRET = "whsec_dGVzdC1zZWNyZXQtZm9yLXdlYmhvb2tzLTAx"
OLD_WEBHOOK_SECRET = "whsec_b2xkLXNlY3JldC1mb3Itd2ViaG9va3MtMDEy"
OPTIONS: dict[str, Any] = {
    "API_SECRET": FAKE_SECRET,
    "STORE_ID": STORE,
    "CHANNEL_KEY": CHANNEL,
    "BILLING_CHANNEL_KEY": BILLING_CHANNEL,
    "ENVIRONMENT": "test",
    "WEBHOOK_SECRETS": [WEBHOOK_SECRET],
}
SETTINGS = {
    "DEFAULT_BACKEND": "portone",
    "SITE_URL": "https://shop.example",
    "BACKENDS": {
        "portone": {
            "BACKEND": "django_kakaopay.backends.portone.PortOneBackend",
            "OPTIONS": OPTIONS,
        }
    },
}


def make_backend(**options: Any) -> PortOneBackend:
    return PortOneBackend(alias="portone", options={**OPTIONS, **options})


def payment_object(
    payment_id: str, status: str = "PAID", total: int = 11000, cancelled: int = 0, **extra: Any
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "status": status,
        "id": payment_id,
        "transactionId": "0191a2b3-0000-7000-8000-00000000abcd",
        "merchantId": "merchant-0000-4000-8000-000000000009",
        "storeId": STORE,
        "method": {"type": "PaymentMethodEasyPay", "provider": "KAKAOPAY"},
        "channel": {
            "type": "TEST",
            "key": CHANNEL,
            "name": "카카오페이",
            "pgProvider": "KAKAOPAY",
            "pgMerchantId": "TC0ONETIME",
        },
        "version": "V2",
        "requestedAt": "2026-12-02T01:00:00Z",
        "updatedAt": "2026-12-02T01:01:00Z",
        "statusChangedAt": "2026-12-02T01:01:00Z",
        "orderName": "Wireless headphones",
        "amount": {
            "total": total,
            "taxFree": 0,
            "vat": 1000,
            "supply": 10000,
            "discount": 0,
            "paid": total if status != "READY" else 0,
            "cancelled": cancelled,
            "cancelledTaxFree": 0,
        },
        "currency": "KRW",
        "customer": {"id": "", "name": "Kim Minji"},
        "isCulturalExpense": False,
    }
    if status in ("PAID", "PARTIAL_CANCELLED", "CANCELLED"):
        data.update(paidAt="2026-12-02T01:01:00Z", pgTxId="T1234567890123456789")
    if status == "FAILED":
        data["failure"] = {"reason": "사용자가 결제를 취소하였습니다", "pgCode": "USER_CANCEL"}
    data.update(extra)
    return data


def billing_key_object(reference: str, status: str = "ISSUED", **extra: Any) -> dict[str, Any]:
    return {
        "status": status,
        "billingKey": "billing-key-0191a2b3-0000-7000-8000-000000000042",
        "merchantId": "merchant-0000-4000-8000-000000000009",
        "storeId": STORE,
        "methods": [{"type": "BillingKeyPaymentMethodEasyPay", "provider": "KAKAOPAY"}],
        "channels": [{"type": "TEST", "key": BILLING_CHANNEL, "pgProvider": "KAKAOPAY"}],
        "customer": {"id": reference},
        "issueId": reference,
        "issueName": "Monthly plan",
        "requestedAt": "2026-12-02T01:00:00Z",
        "issuedAt": "2026-12-02T01:01:00Z",
        **extra,
    }


BILLING_KEY = billing_key_object("x")["billingKey"]


def signed(body: dict[str, Any], secret: str = WEBHOOK_SECRET, **overrides: Any) -> Any:
    raw = json.dumps(body).encode()
    msg_id = overrides.pop("msg_id", "msg_2pTgT7zL0000000000000001")
    timestamp = overrides.pop("timestamp", int(time.time()))
    headers = {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret, msg_id, timestamp, raw),
        **overrides,
    }
    return raw, headers


def event(kind: str, **data: Any) -> dict[str, Any]:
    return {
        "type": kind,
        "timestamp": "2026-12-02T01:01:00.000Z",
        "data": {"storeId": STORE, **data},
    }


def post_webhook(body: bytes, headers: dict[str, str]) -> Any:
    extra = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}
    return Client().post(
        "/kakaopay/webhooks/portone/", data=body, content_type="application/json", **extra
    )


# -- options and checks -----------------------------------------------------------------


def test_the_documented_options_pass() -> None:
    assert PortOneBackend.check_options(OPTIONS) == []
    assert PortOneBackend.check_warnings(OPTIONS) == []


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        ({"API_SECRET": "PortOne abc"}, "without the 'PortOne ' scheme"),
        ({"STORE_ID": "my-store"}, "STORE_ID"),
        ({"CHANNEL_KEY": "abc"}, "CHANNEL_KEY"),
        ({"CHANNEL_KEY": "channel-key-x", "API_SECRET": "channel-key-x"}, "API secret"),
        ({"WEBHOOK_SECRETS": ["whsec_!!!"]}, "WEBHOOK_SECRETS[0]"),
        ({"WEBHOOK_SECRETS": [WEBHOOK_SECRET] * 3}, "at most two"),
        ({"WEBHOOK_SECRETS": 5}, "list"),
        ({"WEBHOOK_TOLERANCE_SECONDS": 0}, "WEBHOOK_TOLERANCE_SECONDS"),
        ({"ENVIRONMENT": "production"}, "ENVIRONMENT"),
        ({"SDK_URL": "http://cdn.example/sdk.js"}, "SDK_URL"),
        ({"NOTIFICATION_IP_ALLOWLIST": ["not-an-ip"]}, "NOTIFICATION_IP_ALLOWLIST"),
        ({"READ_TIMEOUT": -1}, "READ_TIMEOUT"),
        ({"CHANEL_KEY": "x"}, "did you mean"),
    ],
)
def test_option_problems(options: dict[str, Any], fragment: str) -> None:
    problems = PortOneBackend.check_options({**OPTIONS, **options})
    assert any(fragment in problem for problem in problems), problems


def test_without_an_environment_it_warns() -> None:
    options = {k: v for k, v in OPTIONS.items() if k != "ENVIRONMENT"}
    assert any("ENVIRONMENT" in w for w in PortOneBackend.check_warnings(options))
    assert PortOneBackend("portone", options).is_live
    assert not make_backend().is_live


@responses.activate
@pytest.mark.parametrize(("environment", "channel"), [("live", "TEST"), ("test", "LIVE")])
def test_a_payment_on_the_other_kind_of_channel_is_never_applied(
    environment: str, channel: str
) -> None:
    data = payment_object("P1")
    data["channel"]["type"] = channel
    responses.add(responses.GET, f"{API}/payments/P1", json=data)
    with pytest.raises(ProviderRejected, match="channel"):
        make_backend(ENVIRONMENT=environment).fetch_payment(PaymentRef("P1", 11000, "KRW"))


@responses.activate
def test_a_payment_without_a_channel_type_is_read_as_before() -> None:
    data = payment_object("P1")
    del data["channel"]
    responses.add(responses.GET, f"{API}/payments/P1", json=data)
    snapshot = make_backend(ENVIRONMENT="live").fetch_payment(PaymentRef("P1", 11000, "KRW"))
    assert snapshot.status == PaymentStatus.PAID


def test_missing_options_are_named() -> None:
    problems = PortOneBackend.check_options({})
    for name in ("API_SECRET", "STORE_ID", "CHANNEL_KEY"):
        assert any(name in problem for problem in problems)


def test_an_sdk_from_another_host_warns() -> None:
    warnings = PortOneBackend.check_warnings({**OPTIONS, "SDK_URL": "https://cdn.example/sdk.js"})
    assert warnings
    assert "cdn.example" in warnings[0]


def test_agreements_only_with_a_billing_channel() -> None:
    from django_kakaopay.backends.types import Capability

    assert make_backend().supports(Capability.PREAPPROVALS)
    without = {k: v for k, v in OPTIONS.items() if k != "BILLING_CHANNEL_KEY"}
    assert not PortOneBackend("portone", without).supports(Capability.PREAPPROVALS)


@override_settings(
    KAKAOPAY={
        **SETTINGS,
        "BACKENDS": {
            "portone": {
                **SETTINGS["BACKENDS"]["portone"],
                "OPTIONS": {
                    **{k: v for k, v in OPTIONS.items() if k != "WEBHOOK_SECRETS"},
                    "ENVIRONMENT": "live",
                },
            }
        },
    }
)
def test_live_without_webhook_secrets_e007_fails() -> None:
    ids = [message.id for message in check_settings(None)]
    assert "kakaopay.E007" in ids


# -- the checkout page ------------------------------------------------------------------


def test_the_payment_page_calls_request_payment_with_public_values_only() -> None:
    request = sample_payment_request(
        checkout_url="https://shop.example/kakaopay/checkout/t/", tax_free_amount=1000
    )
    page = make_backend().browser_checkout(request)
    assert (page.sdk_global, page.method) == ("PortOne", "requestPayment")
    args = page.arguments
    assert args["storeId"] == STORE
    assert args["channelKey"] == CHANNEL
    assert args["paymentId"] == "ORD-5023-4E89"
    assert args["totalAmount"] == 11000
    assert args["currency"] == "CURRENCY_KRW"
    assert args["payMethod"] == "EASY_PAY"
    assert args["easyPay"] == {"easyPayProvider": "KAKAOPAY"}
    assert args["redirectUrl"] == request.return_url
    assert args["taxFreeAmount"] == 1000
    assert FAKE_SECRET not in json.dumps(args)
    assert "whsec_" not in json.dumps(args)


def test_create_payment_calls_nothing_and_sends_the_customer_to_our_page() -> None:
    with responses.RequestsMock() as mocked:
        instruction = make_backend().create_payment(
            sample_payment_request(checkout_url="https://shop.example/kakaopay/checkout/t/")
        )
        assert not mocked.calls
    assert instruction.url == "https://shop.example/kakaopay/checkout/t/"
    assert instruction.snapshot.provider_payment_id == "ORD-5023-4E89"


@pytest.mark.django_db
@override_settings(KAKAOPAY=SETTINGS)
def test_the_checkout_view_renders_the_sdk_page_without_secrets() -> None:
    payment = services.create_payment(amount=11000, description="Wireless headphones")
    url = reverse("kakaopay:checkout", args=[payment.return_token])
    response = Client().get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert "https://cdn.portone.io/v2/browser-sdk.js" in html
    assert '"requestPayment"' in html
    assert payment.reference in html
    assert FAKE_SECRET not in html
    assert "whsec_" not in html
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PENDING
    assert Client().get(url).status_code == 200, "a reload shows the page again"


# -- the server look-up is the proof -----------------------------------------------------


@responses.activate
@pytest.mark.parametrize("status", sorted(PAYMENT_STATUS_MAP))
def test_every_payment_status(status: str) -> None:
    cancelled = {"PARTIAL_CANCELLED": 4000, "CANCELLED": 11000}.get(status, 0)
    responses.add(
        responses.GET,
        f"{API}/payments/ORD-5023-4E89",
        json=payment_object("ORD-5023-4E89", status, cancelled=cancelled),
    )
    snapshot = make_backend().fetch_payment(PaymentRef("ORD-5023-4E89", 11000, "KRW"))
    assert snapshot.status == PAYMENT_STATUS_MAP[status]
    assert snapshot.provider_status == status
    assert (snapshot.amount, snapshot.currency) == (11000, "KRW")
    assert responses.calls[0].request.headers["Authorization"] == f"PortOne {FAKE_SECRET}"
    if cancelled:
        assert snapshot.refunded_amount == cancelled


@responses.activate
def test_an_unknown_status_is_stored_and_leaves_the_outcome_open() -> None:
    responses.add(responses.GET, f"{API}/payments/P1", json=payment_object("P1", "SOMETHING_NEW"))
    snapshot = make_backend().fetch_payment(PaymentRef("P1", 11000, "KRW"))
    assert snapshot.status is None
    assert snapshot.provider_status == "SOMETHING_NEW"


@responses.activate
def test_no_payment_yet_is_pending() -> None:
    responses.add(
        responses.GET,
        f"{API}/payments/P1",
        status=404,
        json={"type": "PAYMENT_NOT_FOUND", "message": "결제 건이 존재하지 않습니다."},
    )
    snapshot = make_backend().fetch_payment(PaymentRef("P1", 11000, "KRW"))
    assert snapshot.status == PaymentStatus.PENDING


@responses.activate
def test_another_stores_payment_is_refused() -> None:
    responses.add(
        responses.GET, f"{API}/payments/P1", json=payment_object("P1", storeId="store-other")
    )
    with pytest.raises(ProviderRejected):
        make_backend().fetch_payment(PaymentRef("P1", 11000, "KRW"))


@responses.activate
def test_an_id_cannot_add_a_path() -> None:
    responses.add(responses.GET, f"{API}/payments/..%2Fbilling-keys", json=payment_object("x"))
    make_backend().fetch_payment(PaymentRef("../billing-keys", 11000, "KRW"))
    assert responses.calls[0].request.url == f"{API}/payments/..%2Fbilling-keys"


@responses.activate
@pytest.mark.parametrize(
    ("status", "error"),
    [
        (401, ProviderConfigurationError),
        (403, ProviderConfigurationError),
        (400, ProviderRejected),
        (409, OutcomeUnknown),
        (429, OutcomeUnknown),
        (500, OutcomeUnknown),
        (503, OutcomeUnknown),
    ],
)
def test_errors_are_mapped(status: int, error: type[Exception]) -> None:
    responses.add(
        responses.GET,
        f"{API}/payments/P1",
        status=status,
        json={"type": "SOMETHING", "message": "no"},
    )
    with pytest.raises(error) as raised:
        make_backend().fetch_payment(PaymentRef("P1", 11000, "KRW"))
    assert getattr(raised.value, "codes", ()) == ("SOMETHING",)
    assert FAKE_SECRET not in str(raised.value)


@responses.activate
def test_a_timeout_is_unknown() -> None:
    responses.add(responses.GET, f"{API}/payments/P1", body=requests.exceptions.ReadTimeout())
    with pytest.raises(OutcomeUnknown):
        make_backend().fetch_payment(PaymentRef("P1", 11000, "KRW"))


@pytest.mark.django_db
@responses.activate
@override_settings(KAKAOPAY=SETTINGS)
def test_a_browser_return_that_claims_success_for_an_unpaid_payment_changes_nothing() -> None:
    payment = services.create_payment(amount=11000)
    Client().get(reverse("kakaopay:checkout", args=[payment.return_token]))
    responses.add(
        responses.GET,
        f"{API}/payments/{payment.reference}",
        json=payment_object(payment.reference, "READY"),
    )
    response = Client().get(
        f"/kakaopay/return/{payment.return_token}/",
        {"paymentId": payment.reference, "transactionType": "PAYMENT", "txId": "x"},
    )
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PENDING
    assert response.status_code == 202


@pytest.mark.django_db
@responses.activate
@override_settings(KAKAOPAY=SETTINGS)
def test_a_return_with_an_error_code_offers_to_try_again_and_changes_nothing() -> None:
    payment = services.create_payment(amount=11000)
    Client().get(reverse("kakaopay:checkout", args=[payment.return_token]))
    responses.add(
        responses.GET,
        f"{API}/payments/{payment.reference}",
        status=404,
        json={"type": "PAYMENT_NOT_FOUND"},
    )
    response = Client().get(
        f"/kakaopay/return/{payment.return_token}/",
        {"paymentId": payment.reference, "code": "FAILURE_TYPE_PG", "message": "취소"},
    )
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PENDING
    assert reverse("kakaopay:checkout", args=[payment.return_token]) in response.content.decode()
    assert "Refresh" not in response


@pytest.mark.django_db
@responses.activate
@override_settings(KAKAOPAY=SETTINGS)
def test_an_amount_mismatch_is_never_paid() -> None:
    payment = services.create_payment(amount=11000)
    Client().get(reverse("kakaopay:checkout", args=[payment.return_token]))
    responses.add(
        responses.GET,
        f"{API}/payments/{payment.reference}",
        json=payment_object(payment.reference, "PAID", total=100),
    )
    Client().get(f"/kakaopay/return/{payment.return_token}/", {"paymentId": payment.reference})
    payment.refresh_from_db()
    assert payment.status != PaymentStatus.PAID


# -- refunds -------------------------------------------------------------------------------


def cancellation(status: str, amount: int) -> dict[str, Any]:
    return {
        "cancellation": {
            "status": status,
            "id": f"cancel-{amount}",
            "pgCancellationId": "C1",
            "totalAmount": amount,
            "taxFreeAmount": 0,
            "vatAmount": 0,
            "reason": "Returned",
            "requestedAt": "2026-12-02T02:00:00Z",
            **({"cancelledAt": "2026-12-02T02:00:01Z"} if status == "SUCCEEDED" else {}),
        }
    }


@responses.activate
@pytest.mark.parametrize(
    ("status", "ours"),
    [
        ("SUCCEEDED", RefundStatus.SUCCEEDED),
        ("REQUESTED", RefundStatus.PENDING),
        ("FAILED", RefundStatus.FAILED),
    ],
)
def test_a_cancel_and_its_statuses(status: str, ours: str) -> None:
    responses.add(responses.POST, f"{API}/payments/P1/cancel", json=cancellation(status, 4000))
    request = RefundRequest(
        PaymentRef("P1", 11000, "KRW", provider_payment_id="P1"), "R-1", 4000, "k", "Returned"
    )
    snapshot = make_backend().refund_payment(request)
    assert snapshot.status == ours
    assert snapshot.provider_refund_id == "cancel-4000"
    assert json.loads(responses.calls[0].request.body) == {
        "storeId": STORE,
        "amount": 4000,
        "reason": "Returned",
    }


@pytest.mark.django_db
@responses.activate
@override_settings(KAKAOPAY=SETTINGS)
def test_pay_then_refund_part_and_the_rest() -> None:
    payment = paid_payment()
    responses.add(
        responses.POST,
        f"{API}/payments/{payment.reference}/cancel",
        json=cancellation("SUCCEEDED", 4000),
    )
    services.request_refund(payment, 4000, reason="One item")
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PARTIALLY_REFUNDED
    responses.replace(
        responses.POST,
        f"{API}/payments/{payment.reference}/cancel",
        json=cancellation("SUCCEEDED", 7000),
    )
    services.request_refund(payment, reason="The rest")
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.REFUNDED
    assert payment.refunded_amount == 11000


@pytest.mark.django_db
@responses.activate
@override_settings(KAKAOPAY=SETTINGS)
def test_a_requested_cancel_stays_pending_until_the_webhook_settles_it() -> None:
    payment = paid_payment()
    responses.add(
        responses.POST,
        f"{API}/payments/{payment.reference}/cancel",
        json=cancellation("REQUESTED", 11000),
    )
    refund = services.request_refund(payment, reason="All")
    assert refund.status == RefundStatus.PENDING
    responses.replace(
        responses.GET,
        f"{API}/payments/{payment.reference}",
        json=payment_object(payment.reference, "CANCELLED", cancelled=11000),
    )
    body, headers = signed(event("Transaction.Cancelled", paymentId=payment.reference))
    assert post_webhook(body, headers).status_code == 200
    refund.refresh_from_db()
    payment.refresh_from_db()
    assert refund.status == RefundStatus.SUCCEEDED
    assert payment.status == PaymentStatus.REFUNDED


# -- webhooks ------------------------------------------------------------------------------


def started_payment() -> Payment:
    payment = services.create_payment(amount=11000, description="Wireless headphones")
    services.start_payment(payment)
    payment.refresh_from_db()
    return payment


def paid_payment() -> Payment:
    payment = started_payment()
    responses.add(
        responses.GET,
        f"{API}/payments/{payment.reference}",
        json=payment_object(payment.reference, "PAID"),
    )
    Client().get(f"/kakaopay/return/{payment.return_token}/", {"paymentId": payment.reference})
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PAID
    return payment


@pytest.mark.django_db
@responses.activate
@override_settings(KAKAOPAY=SETTINGS)
def test_a_paid_event_is_a_hint_the_look_up_settles() -> None:
    payment = started_payment()
    responses.add(
        responses.GET,
        f"{API}/payments/{payment.reference}",
        json=payment_object(payment.reference, "PAID"),
    )
    body, headers = signed(event("Transaction.Paid", paymentId=payment.reference))
    assert post_webhook(body, headers).status_code == 200
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PAID
    # The same event again, and the browser's return after it: nothing more.
    assert post_webhook(body, headers).status_code == 200
    Client().get(f"/kakaopay/return/{payment.return_token}/", {"paymentId": payment.reference})
    assert payment.transitions.filter(to_status="paid").count() == 1
    assert WebhookEvent.objects.count() == 1


@pytest.mark.django_db
@responses.activate
@override_settings(KAKAOPAY=SETTINGS)
def test_an_event_that_says_paid_for_an_unpaid_payment_changes_nothing() -> None:
    payment = started_payment()
    responses.add(
        responses.GET,
        f"{API}/payments/{payment.reference}",
        json=payment_object(payment.reference, "READY"),
    )
    body, headers = signed(event("Transaction.Paid", paymentId=payment.reference))
    assert post_webhook(body, headers).status_code == 200
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PENDING


@pytest.mark.django_db
@responses.activate
@override_settings(KAKAOPAY=SETTINGS)
def test_out_of_order_events_end_in_the_state_portone_reports() -> None:
    payment = paid_payment()
    responses.replace(
        responses.GET,
        f"{API}/payments/{payment.reference}",
        json=payment_object(payment.reference, "PARTIAL_CANCELLED", cancelled=4000),
    )
    late_paid = signed(event("Transaction.Paid", paymentId=payment.reference), msg_id="msg-1")
    partial = signed(
        event("Transaction.PartialCancelled", paymentId=payment.reference), msg_id="msg-2"
    )
    assert post_webhook(*partial).status_code == 200
    assert post_webhook(*late_paid).status_code == 200
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PARTIALLY_REFUNDED
    assert payment.refunded_amount == 4000


@pytest.mark.django_db
@responses.activate
@override_settings(KAKAOPAY=SETTINGS)
@pytest.mark.parametrize(
    "forge",
    [
        lambda b, h: (b, {**h, "webhook-signature": "v1,AAAA"}),
        lambda b, h: (b + b" ", h),
        lambda b, h: (b, {k: v for k, v in h.items() if k != "webhook-signature"}),
        lambda b, h: (b, {k: v for k, v in h.items() if k != "webhook-timestamp"}),
        lambda b, h: (b, {k: v for k, v in h.items() if k != "webhook-id"}),
    ],
)
def test_a_forged_webhook_changes_nothing(forge: Any) -> None:
    payment = started_payment()
    body, headers = forge(*signed(event("Transaction.Paid", paymentId=payment.reference)))
    assert post_webhook(body, headers).status_code == 401
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PENDING
    assert not responses.calls, "a forged event asks PortOne nothing"
    assert not WebhookEvent.objects.exclude(status="rejected").exists()


@pytest.mark.django_db
@responses.activate
@override_settings(KAKAOPAY=SETTINGS)
@pytest.mark.parametrize("age", [-400, 400])
def test_an_expired_or_future_webhook_changes_nothing(age: int) -> None:
    payment = started_payment()
    body, headers = signed(
        event("Transaction.Paid", paymentId=payment.reference), timestamp=int(time.time()) - age
    )
    assert post_webhook(body, headers).status_code == 401
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PENDING


@pytest.mark.django_db
@responses.activate
@override_settings(
    KAKAOPAY={
        **SETTINGS,
        "BACKENDS": {
            "portone": {
                **SETTINGS["BACKENDS"]["portone"],
                "OPTIONS": {**OPTIONS, "WEBHOOK_SECRETS": [WEBHOOK_SECRET, OLD_WEBHOOK_SECRET]},
            }
        },
    }
)
def test_a_webhook_signed_with_the_rotated_secret_is_accepted() -> None:
    payment = started_payment()
    responses.add(
        responses.GET,
        f"{API}/payments/{payment.reference}",
        json=payment_object(payment.reference, "PAID"),
    )
    body, headers = signed(
        event("Transaction.Paid", paymentId=payment.reference), secret=OLD_WEBHOOK_SECRET
    )
    assert post_webhook(body, headers).status_code == 200
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PAID


@pytest.mark.django_db
@responses.activate
@override_settings(KAKAOPAY=SETTINGS)
def test_a_look_up_that_fails_keeps_the_event_and_asks_for_it_again() -> None:
    payment = started_payment()
    responses.add(
        responses.GET, f"{API}/payments/{payment.reference}", body=requests.ConnectionError()
    )
    body, headers = signed(event("Transaction.Paid", paymentId=payment.reference))
    response = post_webhook(body, headers)
    assert response.status_code == 503
    stored = WebhookEvent.objects.get()
    assert stored.status == "failed"
    responses.replace(
        responses.GET,
        f"{API}/payments/{payment.reference}",
        json=payment_object(payment.reference, "PAID"),
    )
    assert post_webhook(body, headers).status_code == 200  # PortOne's retry
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PAID
    assert WebhookEvent.objects.get().status == "processed"


@pytest.mark.django_db
@responses.activate
@override_settings(KAKAOPAY=SETTINGS)
@pytest.mark.parametrize(
    "body",
    [
        event("Transaction.SomethingNew", paymentId="x"),
        event("Unknown.Type"),
        {
            **event("Transaction.Paid", paymentId="x"),
            "data": {"storeId": "store-other", "paymentId": "x"},
        },
    ],
)
def test_unknown_and_foreign_events_are_acknowledged_and_ignored(body: dict[str, Any]) -> None:
    if body["type"] == "Transaction.SomethingNew":
        responses.add(responses.GET, f"{API}/payments/x", status=404, json={})
    assert post_webhook(*signed(body)).status_code == 200
    assert not Payment.objects.exists()


# -- agreements as billing keys ---------------------------------------------------------------


def planned() -> Preapproval:
    preapproval = services.create_preapproval(description="Monthly plan")
    services.set_billing_plan(
        preapproval, amount=9900, interval="month", next_charge_on=date(2026, 12, 2)
    )
    return preapproval


@pytest.mark.django_db
@override_settings(KAKAOPAY=SETTINGS)
def test_the_agreement_page_issues_a_billing_key_for_this_agreement() -> None:
    preapproval = planned()
    response = Client().get(
        reverse("kakaopay:preapproval-checkout", args=[preapproval.return_token])
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert '"requestIssueBillingKey"' in html
    assert BILLING_CHANNEL in html
    assert f'"customerId": "{preapproval.reference}"' in html
    assert FAKE_SECRET not in html


def agreed() -> Preapproval:
    preapproval = planned()
    Client().get(reverse("kakaopay:preapproval-checkout", args=[preapproval.return_token]))
    responses.add(
        responses.GET,
        f"{API}/billing-keys/{BILLING_KEY}",
        json=billing_key_object(preapproval.reference),
    )
    Client().get(f"/kakaopay/return/{preapproval.return_token}/", {"billingKey": BILLING_KEY})
    preapproval.refresh_from_db()
    return preapproval


@pytest.mark.django_db
@responses.activate
@override_settings(KAKAOPAY=SETTINGS)
def test_a_returned_billing_key_is_proven_before_the_agreement_is_active() -> None:
    preapproval = agreed()
    assert preapproval.status == PreapprovalStatus.ACTIVE
    assert preapproval.provider_preapproval_id == BILLING_KEY


@pytest.mark.django_db
@responses.activate
@override_settings(KAKAOPAY=SETTINGS)
@pytest.mark.parametrize(
    "answer",
    [
        {"status": 404, "json": {"type": "BILLING_KEY_NOT_FOUND"}},
        {"json": billing_key_object("someone-else")},
        {"json": billing_key_object("{ref}", storeId="store-other")},
    ],
)
def test_a_forged_billing_key_changes_nothing(answer: dict[str, Any]) -> None:
    preapproval = planned()
    Client().get(reverse("kakaopay:preapproval-checkout", args=[preapproval.return_token]))
    if "json" in answer and answer["json"].get("customer", {}).get("id") == "{ref}":
        answer["json"]["customer"]["id"] = preapproval.reference
    responses.add(responses.GET, f"{API}/billing-keys/{BILLING_KEY}", **answer)
    Client().get(f"/kakaopay/return/{preapproval.return_token}/", {"billingKey": BILLING_KEY})
    preapproval.refresh_from_db()
    assert preapproval.status == PreapprovalStatus.PENDING
    assert preapproval.provider_preapproval_id == ""


@pytest.mark.django_db
@responses.activate
@override_settings(KAKAOPAY=SETTINGS)
def test_two_period_charges_and_the_cancel() -> None:
    preapproval = agreed()
    for period, day in (("2026-12", date(2026, 12, 2)), ("2027-01", date(2027, 1, 2))):
        reference = f"{preapproval.reference}-{period}"
        responses.add(
            responses.POST,
            f"{API}/payments/{reference}/billing-key",
            json={"payment": {"pgTxId": "T1", "paidAt": "2026-12-02T01:01:00Z"}},
        )
        responses.add(
            responses.GET,
            f"{API}/payments/{reference}",
            json=payment_object(reference, "PAID", total=9900),
        )
        report = services.charge_due_preapprovals(today=day)
        assert report.charged == 1, report
        again = services.charge_due_preapprovals(today=day)
        assert again.charged == 0
    charges = Payment.objects.filter(preapproval=preapproval, status=PaymentStatus.PAID)
    assert charges.count() == 2
    sent = [
        json.loads(call.request.body)
        for call in responses.calls
        if call.request.url.endswith("/billing-key")
    ]
    assert len(sent) == 2
    assert sent[0]["billingKey"] == BILLING_KEY
    assert sent[0]["amount"] == {
        "total": 9900,
        "taxFree": 0,
    }
    assert sent[0]["customer"] == {"id": preapproval.reference}
    responses.add(
        responses.DELETE,
        f"{API}/billing-keys/{BILLING_KEY}",
        json={"deletedAt": "2027-01-03T00:00:00Z"},
    )
    services.cancel_preapproval(preapproval)
    preapproval.refresh_from_db()
    assert preapproval.status == PreapprovalStatus.CANCELED


@pytest.mark.django_db
@responses.activate
@override_settings(KAKAOPAY=SETTINGS)
def test_a_charge_sent_again_cannot_pay_twice() -> None:
    preapproval = agreed()
    reference = f"{preapproval.reference}-2026-12"
    responses.add(
        responses.POST,
        f"{API}/payments/{reference}/billing-key",
        status=409,
        json={"type": "ALREADY_PAID", "message": "이미 결제 완료된 결제건입니다."},
    )
    responses.add(
        responses.GET,
        f"{API}/payments/{reference}",
        json=payment_object(reference, "PAID", total=9900),
    )
    payment = services.charge_preapproval(preapproval, amount=9900, billing_period="2026-12")
    assert payment.status == PaymentStatus.PAID


@pytest.mark.django_db
@responses.activate
@override_settings(KAKAOPAY=SETTINGS)
def test_a_billing_key_event_activates_an_agreement_whose_customer_never_came_back() -> None:
    preapproval = planned()
    Client().get(reverse("kakaopay:preapproval-checkout", args=[preapproval.return_token]))
    responses.add(
        responses.GET,
        f"{API}/billing-keys/{BILLING_KEY}",
        json=billing_key_object(preapproval.reference),
    )
    body, headers = signed(event("BillingKey.Issued", billingKey=BILLING_KEY))
    assert post_webhook(body, headers).status_code == 200
    preapproval.refresh_from_db()
    assert preapproval.status == PreapprovalStatus.ACTIVE


# -- conformance -----------------------------------------------------------------------------


@pytest.mark.django_db
class TestPortOneConformance(BackendConformance):
    @pytest.fixture(autouse=True)
    def _mock_http(self) -> Iterator[None]:
        with responses.RequestsMock(assert_all_requests_are_fired=False) as mocked:
            self.mocked = mocked
            yield

    def make_backend(self) -> BaseBackend:
        return make_backend()

    def signed_notification(self, backend: BaseBackend) -> tuple[bytes, dict[str, str]]:
        self.mocked.add(
            responses.GET, f"{API}/payments/ORD-5023-4E89", json=payment_object("ORD-5023-4E89")
        )
        return signed(event("Transaction.Paid", paymentId="ORD-5023-4E89"))

    def sign_body(self, backend: BaseBackend, body: bytes) -> dict[str, str]:
        msg_id, timestamp = "msg-conformance", int(time.time())
        return {
            "webhook-id": msg_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign(WEBHOOK_SECRET, msg_id, timestamp, body),
        }

    def arrange_create_payment(self, backend: BaseBackend, request: PaymentRequest) -> None:
        pass

    def arrange_fetch_payment(self, backend: BaseBackend, ref: PaymentRef) -> None:
        self.mocked.add(
            responses.GET, f"{API}/payments/{ref.reference}", json=payment_object(ref.reference)
        )

    def arrange_forged_return(self, backend: BaseBackend, ref: PaymentRef, params: Any) -> None:
        self.mocked.add(
            responses.GET,
            f"{API}/payments/{ref.reference}",
            json=payment_object(ref.reference, "READY"),
        )


# -- what the fuzzing found ------------------------------------------------------------------


@responses.activate
@pytest.mark.parametrize("total", [None, "11000", 11000.0, True, {"value": 11000}])
@pytest.mark.parametrize("status", ["PAID", "PARTIAL_CANCELLED", "CANCELLED"])
def test_money_taken_without_a_readable_amount_proves_nothing(total: Any, status: str) -> None:
    data = payment_object("P1", status, cancelled=11000 if status == "CANCELLED" else 4000)
    data["amount"]["total"] = total
    responses.add(responses.GET, f"{API}/payments/P1", json=data)
    snapshot = make_backend().fetch_payment(PaymentRef("P1", 11000, "KRW"))
    assert snapshot.status is None
    assert snapshot.provider_status == status


@pytest.mark.django_db
@responses.activate
@override_settings(KAKAOPAY=SETTINGS)
def test_a_cancelled_amount_beside_an_unknown_status_is_no_refund() -> None:
    payment = started_payment()
    responses.add(
        responses.GET,
        f"{API}/payments/{payment.reference}",
        json=payment_object(payment.reference, "SOMETHING_NEW", cancelled=5500),
    )
    services.sync_payment(payment)
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PENDING
    assert payment.refunded_amount == 0
    assert not payment.refunds.exists()


@pytest.mark.django_db
@responses.activate
@override_settings(KAKAOPAY=SETTINGS)
@pytest.mark.parametrize(("field", "length"), [("paymentId", 101), ("billingKey", 129)])
def test_an_id_longer_than_ours_is_ignored_without_a_look_up(field: str, length: int) -> None:
    kind = "Transaction.Paid" if field == "paymentId" else "BillingKey.Issued"
    body, headers = signed(event(kind, **{field: "x" * length}))
    assert post_webhook(body, headers).status_code == 200
    assert not responses.calls
    assert WebhookEvent.objects.get().status == "ignored"
