"""The Smart2Pay backend: the KakaoPay seed replayed, statuses, notifications, errors.

Every HTTP exchange is mocked with ``responses`` (activated for every test by
an autouse fixture, so nothing reaches the network). The seed bodies below
are Smart2Pay's "KakaoPay Preapproval Request" and "KakaoPay Preapproval
Notification" documentation pages, line for line; the page shows the JSON
without its closing braces, which are restored here and nothing else.

SITE_ID and API_KEY are the documentation's published test values, decoded
from the seed's ``Authorization`` header; they are used in tests only.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import responses
from django.core import checks
from django.test import Client, override_settings
from django.urls import reverse
from responses import matchers

from django_kakaopay import services
from django_kakaopay.backends.base import (
    BaseBackend,
    Capability,
    ChargeRequest,
    Customer,
    LineItem,
    PaymentRef,
    PaymentRequest,
    PaymentSnapshot,
    PreapprovalRef,
    PreapprovalRequest,
    PreapprovalSnapshot,
    RefundRequest,
    RefundSnapshot,
    WebhookOutcome,
)
from django_kakaopay.backends.smart2pay import (
    Smart2PayBackend,
    basic_authorization,
    merchant_id,
    parse_notification_time,
    split_name,
)
from django_kakaopay.checks import check_settings
from django_kakaopay.exceptions import (
    MalformedWebhook,
    OutcomeUnknown,
    PreapprovalNotActive,
    ProviderConfigurationError,
    ProviderRejected,
    WebhookAuthenticationError,
    WebhookForbidden,
)
from django_kakaopay.models import Payment, Preapproval, Refund, StatusTransition, WebhookEvent
from django_kakaopay.status import PaymentStatus, PreapprovalStatus, RefundStatus
from django_kakaopay.testing import BackendConformance, sample_payment_request

# -- the documentation's public test credentials (tests only) --------------------

SEED_AUTHORIZATION = (
    "Basic MzAyMDE6aEo1Um9iWXg5cjdGZk53Q3ZIWTlMWEhxcXIrRkV6cmM3YUp2UVFrNEdhejFtZzdSeXk="
)
SITE_ID, API_KEY = (
    base64.b64decode(SEED_AUTHORIZATION.split(" ", 1)[1]).decode("ascii").split(":", 1)
)

TEST_BASE = "https://paytest.smart2pay.com"
LIVE_BASE = "https://globalpay.smart2pay.com"
JSON_TYPE = "application/json; charset=utf-8"

OPTIONS: dict[str, Any] = {"SITE_ID": SITE_ID, "API_KEY": API_KEY, "ENVIRONMENT": "test"}

# -- the seed, line for line (closing braces restored) ------------------------------

SEED_PREAPPROVAL_REQUEST = b"""{
 "Preapproval": {
   "MerchantPreapprovalID": "s2ptest_kAKAOPAY_PreapprovalS1",
   "Currency": "KRW",
   "Description": "1 year subscription",
   "ReturnURL": "http://demo.smart2pay.com/redirect.php",
   "MethodID": 1135,
   "Customer": {
      "FirstName": "John",
      "LastName": "Doe",
      "Email": "jdoe@gmail.com"
   },
   "BillingAddress": {
      "Country": "KR"
   }
 }
}"""

SEED_PREAPPROVAL_RESPONSE = b"""{
    "Preapproval": {
        "ID": 22276,
        "Created": "20200331063928",
        "MethodID": 1135,
        "SiteID": 30597,
        "MerchantPreapprovalID": "s2ptest_kAKAOPAY_PreapprovalS1",
        "RecurringPeriod": 0,
        "PreapprovedMaximumAmount": null,
        "Currency": "KRW",
        "ReturnURL": "http://demo.smart2pay.com/redirect.php",
        "Description": "1 year subscription",
        "Customer": {
            "ID": 2622497,
            "MerchantCustomerID": null,
            "Email": "jdoe@gmail.com",
            "FirstName": "John",
            "LastName": "Doe",
            "Gender": null,
            "SocialSecurityNumber": null,
            "Phone": null,
            "Company": null,
            "DateOfBirth": null
        },
        "BillingAddress": {
            "ID": 657,
            "City": null,
            "ZipCode": null,
            "State": null,
            "Street": null,
            "StreetNumber": null,
            "HouseNumber": null,
            "HouseExtension": null,
            "Country": "KR"
        },
        "Status": {
            "ID": 1,
            "Info": "Pending",
            "Reasons": null
        },
        "RedirectURL": "https://europaytest.smart2pay.com/AlipayOSP/Preapproval/PreapprovalLanding.aspx?ID=17598&Hash=64B81EAA7FE00CB58E187BE0615CC7BD",
        "MethodOptionID": 0,
        "PreapprovedFrequency": null,
        "MandateReference": null,
        "Details": null
    }
}"""

SEED_PREAPPROVAL_NOTIFICATION = b"""{
  "Preapproval": {
    "ID": 22276,
    "Created": "20200331063928",
    "MethodID": 1135,
    "SiteID": 30597,
    "MerchantPreapprovalID": "s2ptest_kAKAOPAY_PreapprovalS1",
    "RecurringPeriod": 0,
    "PreapprovedMaximumAmount": null,
    "Currency": null,
    "ReturnURL": "http://demo.smart2pay.com/redirect.php",
    "Description": "1 year subscription",
    "Customer": {
      "ID": 2622497,
      "MerchantCustomerID": null,
      "Email": "jdoe@gmail.com",
      "FirstName": "John",
      "LastName": "Doe",
      "Gender": null,
      "SocialSecurityNumber": null,
      "Phone": null,
      "Company": null,
      "DateOfBirth": null
    },
    "BillingAddress": {
      "ID": 657,
      "City": null,
      "ZipCode": null,
      "State": null,
      "Street": null,
      "StreetNumber": null,
      "HouseNumber": null,
      "HouseExtension": null,
      "Country": "ID"
    },
    "Status": {
      "ID": 2,
      "Info": null,
      "Reasons": null
    },
    "RedirectURL": null,
    "MethodOptionID": 0,
    "PreapprovedFrequency": null,
    "MandateReference": null,
    "Details": null
  }
}"""

SEED_REFERENCE = "s2ptest_kAKAOPAY_PreapprovalS1"
SEED_RETURN_URL = "http://demo.smart2pay.com/redirect.php"
SEED_REDIRECT = (
    "https://europaytest.smart2pay.com/AlipayOSP/Preapproval/PreapprovalLanding.aspx"
    "?ID=17598&Hash=64B81EAA7FE00CB58E187BE0615CC7BD"
)

S2P_SETTINGS: dict[str, Any] = {
    "DEFAULT_BACKEND": "smart2pay",
    "BACKENDS": {
        "sandbox": {
            "BACKEND": "django_kakaopay.backends.sandbox.SandboxBackend",
            "OPTIONS": {"MERCHANT_NAME": "Test shop", "ALLOW_WITHOUT_DEBUG": True},
        },
        "smart2pay": {
            "BACKEND": "django_kakaopay.backends.smart2pay.Smart2PayBackend",
            "OPTIONS": dict(OPTIONS),
        },
    },
    "SITE_URL": "http://testserver",
}

WEBHOOK_URL = "/kakaopay/webhooks/smart2pay/"


# -- helpers ----------------------------------------------------------------------


def make_backend(**overrides: Any) -> Smart2PayBackend:
    options = {**OPTIONS, **overrides}
    options = {key: value for key, value in options.items() if value is not None}
    return Smart2PayBackend(alias="smart2pay", options=options)


def settings_with(**option_overrides: Any) -> dict[str, Any]:
    backends = dict(S2P_SETTINGS["BACKENDS"])
    backends["smart2pay"] = {
        **backends["smart2pay"],
        "OPTIONS": {**OPTIONS, **option_overrides},
    }
    return {**S2P_SETTINGS, "BACKENDS": backends}


def sent_json(call: Any) -> Any:
    return json.loads(call.request.body)


def status_obj(status_id: int | None, info: str | None = None, reasons: Any = None) -> Any:
    return {"ID": status_id, "Info": info, "Reasons": reasons}


def payment_resource(
    payment_id: int = 5001,
    reference: str = "ORD-1001",
    status: int = 1,
    *,
    amount: Any = 11000,
    currency: str | None = "KRW",
    redirect: str | None = "https://europaytest.smart2pay.com/pay?token=abc",
    notification_time: str | None = None,
    preapproval_id: int | None = None,
) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "ID": payment_id,
        "Created": "20261123095900",
        "MerchantTransactionID": reference,
        "Amount": amount,
        "Currency": currency,
        "ReturnURL": "http://testserver/kakaopay/return/secret-token/",
        "MethodID": 1135,
        "Status": status_obj(status),
        "RedirectURL": redirect,
    }
    if notification_time is not None:
        resource["NotificationDateTime"] = notification_time
    if preapproval_id is not None:
        resource["PreapprovalID"] = preapproval_id
    return resource


def payment_notification(**kwargs: Any) -> bytes:
    kwargs.setdefault("redirect", None)
    return json.dumps({"Payment": payment_resource(**kwargs)}).encode()


def refund_resource(
    refund_id: int = 7001,
    reference: str = "rf_1",
    status: int = 1,
    *,
    payment_id: int = 5001,
    amount: Any = 11000,
    currency: str | None = "KRW",
) -> dict[str, Any]:
    return {
        "ID": refund_id,
        "MerchantTransactionID": reference,
        "InitialPaymentID": payment_id,
        "Amount": amount,
        "Currency": currency,
        "Status": status_obj(status),
    }


def preapproval_notification(status: int, preapproval_id: int = 22276, **extra: Any) -> bytes:
    resource = json.loads(SEED_PREAPPROVAL_NOTIFICATION)["Preapproval"]
    resource["ID"] = preapproval_id
    resource["Status"] = status_obj(status)
    resource.update(extra)
    return json.dumps({"Preapproval": resource}).encode()


def post_webhook(body: bytes, authorization: str | None = SEED_AUTHORIZATION, **extra: Any) -> Any:
    headers: dict[str, Any] = dict(extra)
    if authorization is not None:
        headers["HTTP_AUTHORIZATION"] = authorization
    return Client().post(WEBHOOK_URL, data=body, content_type="application/json", **headers)


def error_body(root: str, *reasons: tuple[Any, str], status_id: Any = None) -> bytes:
    return json.dumps(
        {
            root: {
                "ID": None,
                "Status": {
                    "ID": status_id,
                    "Info": None,
                    "Reasons": [{"Code": code, "Info": info} for code, info in reasons],
                },
            }
        }
    ).encode()


def seed_preapproval_request(**overrides: Any) -> PreapprovalRequest:
    values: dict[str, Any] = {
        "reference": SEED_REFERENCE,
        "currency": "KRW",
        "idempotency_key": "0123456789abcdef0123456789abcdef",
        "return_url": SEED_RETURN_URL,
        "notification_url": "https://shop.example/kakaopay/webhooks/smart2pay/",
        "description": "1 year subscription",
        "customer": Customer(name="John Doe", email="jdoe@gmail.com"),
    }
    values.update(overrides)
    return PreapprovalRequest(**values)


def payment_request(**overrides: Any) -> PaymentRequest:
    values: dict[str, Any] = {
        "reference": "ORD-1001",
        "amount": 11000,
        "currency": "KRW",
        "idempotency_key": "fedcba9876543210fedcba9876543210",
        "return_url": "http://testserver/kakaopay/return/secret-token/",
        "notification_url": "http://testserver/kakaopay/webhooks/smart2pay/",
        "description": "Wireless headphones",
        "items": (LineItem(name="Wireless headphones", quantity=1, unit_price=11000),),
        "customer": Customer(name="Jia Tsang", email="jia@example.com"),
    }
    values.update(overrides)
    return PaymentRequest(**values)


def add_payment_create(
    rsps: responses.RequestsMock, resource: dict[str, Any] | None = None
) -> responses.BaseResponse:
    return rsps.add(
        responses.POST,
        f"{TEST_BASE}/v1/payments",
        body=json.dumps({"Payment": resource or payment_resource()}),
        status=201,
        content_type=JSON_TYPE,
    )


def add_payment_get(
    rsps: responses.RequestsMock, resource: dict[str, Any]
) -> responses.BaseResponse:
    return rsps.add(
        responses.GET,
        f"{TEST_BASE}/v1/payments/{resource['ID']}",
        json={"Payment": resource},
        status=200,
    )


# -- fixtures ----------------------------------------------------------------------


@pytest.fixture(autouse=True)
def rsps() -> Iterator[responses.RequestsMock]:
    """Every test runs with HTTP mocked; an unmocked call is a connection error.

    It is ``responses``' default mock, so the conformance hooks, which get no
    fixture, register their answers with ``responses.add``.
    """
    with responses.mock as mock:
        yield mock


@pytest.fixture
def s2p_settings() -> Iterator[dict[str, Any]]:
    with override_settings(KAKAOPAY=S2P_SETTINGS):
        yield S2P_SETTINGS


@pytest.fixture
def active_preapproval(s2p_settings: dict[str, Any]) -> Preapproval:
    preapproval = services.create_preapproval(
        reference="KPA-SUB-0001",
        description="Coffee beans, monthly",
        customer={"name": "Jia Tsang", "email": "jia@example.com"},
        backend="smart2pay",
    )
    services.apply_update(
        "smart2pay",
        PreapprovalSnapshot(
            status=PreapprovalStatus.ACTIVE,
            provider_status="2",
            provider_preapproval_id="22276",
            reference=preapproval.reference,
        ),
        source="test",
    )
    preapproval.refresh_from_db()
    assert preapproval.status == PreapprovalStatus.ACTIVE
    return preapproval


@pytest.fixture
def started_payment(s2p_settings: dict[str, Any], rsps: responses.RequestsMock) -> Payment:
    payment = services.create_payment(
        amount=11000,
        reference="ORD-1001",
        description="Wireless headphones",
        items=[{"name": "Wireless headphones", "quantity": 1, "unit_price": 11000}],
        customer={"name": "Jia Tsang", "email": "jia@example.com"},
        backend="smart2pay",
    )
    add_payment_create(rsps)
    services.start_payment(payment)
    assert payment.status == PaymentStatus.PENDING
    assert payment.provider_payment_id == "5001"
    return payment


@pytest.fixture
def paid_payment(started_payment: Payment) -> Payment:
    response = post_webhook(payment_notification(status=2, notification_time="20261123100000"))
    assert response.status_code == 204
    started_payment.refresh_from_db()
    assert started_payment.status == PaymentStatus.PAID
    return started_payment


# -- the seed -------------------------------------------------------------------------


def test_seed_preapproval_request_is_replayed_exactly(rsps: responses.RequestsMock) -> None:
    call = rsps.add(
        responses.POST,
        f"{TEST_BASE}/v1/preapprovals",
        body=SEED_PREAPPROVAL_RESPONSE,
        status=201,
        content_type=JSON_TYPE,
    )
    instruction = make_backend().create_preapproval(seed_preapproval_request())

    assert call.call_count == 1
    sent = rsps.calls[0].request
    assert sent.url == f"{TEST_BASE}/v1/preapprovals"
    assert sent.headers["Authorization"] == SEED_AUTHORIZATION
    assert sent.headers["Content-Type"].startswith("application/json")
    assert sent_json(rsps.calls[0]) == json.loads(SEED_PREAPPROVAL_REQUEST)

    assert instruction.url == SEED_REDIRECT
    snapshot = instruction.snapshot
    assert snapshot.provider_preapproval_id == "22276"
    assert snapshot.reference == SEED_REFERENCE
    assert snapshot.status == PreapprovalStatus.PENDING
    assert snapshot.provider_status == "1"
    assert snapshot.raw["Preapproval"]["ID"] == 22276
    # The return URL carries the customer's token: never stored.
    assert "ReturnURL" not in snapshot.raw["Preapproval"]


def test_seed_credentials_build_the_seed_header() -> None:
    assert basic_authorization(SITE_ID, API_KEY) == SEED_AUTHORIZATION
    assert make_backend().client.session.headers["Authorization"] == SEED_AUTHORIZATION


@pytest.mark.django_db
def test_seed_flow_through_services_and_the_webhook_view(
    s2p_settings: dict[str, Any],
    rsps: responses.RequestsMock,
    signal_log: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    preapproval = services.create_preapproval(
        reference=SEED_REFERENCE,
        description="1 year subscription",
        customer={"name": "John Doe", "email": "jdoe@gmail.com"},
        backend="smart2pay",
    )
    rsps.add(
        responses.POST,
        f"{TEST_BASE}/v1/preapprovals",
        body=SEED_PREAPPROVAL_RESPONSE,
        status=201,
        content_type=JSON_TYPE,
    )
    client = Client()
    response = client.get(reverse("kakaopay:preapproval-checkout", args=[preapproval.return_token]))
    assert response.status_code == 302
    assert response["Location"] == SEED_REDIRECT

    sent = sent_json(rsps.calls[0])
    expected = json.loads(SEED_PREAPPROVAL_REQUEST)
    expected["Preapproval"]["ReturnURL"] = (
        f"http://testserver/kakaopay/return/{preapproval.return_token}/"
    )
    assert sent == expected

    preapproval.refresh_from_db()
    assert preapproval.status == PreapprovalStatus.PENDING
    assert preapproval.provider_preapproval_id == "22276"

    with django_capture_on_commit_callbacks(execute=True):
        response = post_webhook(SEED_PREAPPROVAL_NOTIFICATION)
    assert response.status_code == 204
    assert response.content == b""

    preapproval.refresh_from_db()
    assert preapproval.status == PreapprovalStatus.ACTIVE
    assert preapproval.provider_status == "2"
    assert preapproval.activated_at is not None
    assert [event[0] for event in signal_log.of("preapproval_activated")] == [
        "preapproval_activated"
    ]
    event = WebhookEvent.objects.get(backend="smart2pay")
    assert event.status == "processed"
    assert event.event_type == "Preapproval"
    assert bytes(event.body) == SEED_PREAPPROVAL_NOTIFICATION
    assert "Authorization" not in event.headers
    assert "authorization" not in {name.lower() for name in event.headers}


def test_seed_notification_parses_with_null_currency() -> None:
    backend = make_backend()
    backend.verify_webhook(
        SEED_PREAPPROVAL_NOTIFICATION, {"Authorization": SEED_AUTHORIZATION}, "127.0.0.1"
    )
    parsed = backend.parse_webhook(SEED_PREAPPROVAL_NOTIFICATION, {})
    assert parsed.event_type == "Preapproval"
    [update] = parsed.updates
    assert isinstance(update, PreapprovalSnapshot)
    assert update.status == PreapprovalStatus.ACTIVE
    assert update.provider_preapproval_id == "22276"
    assert update.reference == SEED_REFERENCE
    assert update.occurred_at is None


# -- status IDs ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status_id", "expected"),
    [
        (1, PaymentStatus.PENDING),
        (2, PaymentStatus.PAID),
        (3, PaymentStatus.CANCELED),
        (4, PaymentStatus.FAILED),
        (5, PaymentStatus.EXPIRED),
        (6, PaymentStatus.PENDING),
        (7, PaymentStatus.PENDING),
        (8, PaymentStatus.PENDING),
        (18, PaymentStatus.PENDING),
        # The payment carries no refunded total: a partial refund only says paid.
        (21, PaymentStatus.PAID),
        (22, PaymentStatus.REFUNDED),
        (9, None),
        (11, None),
        (14, None),
        (26, None),
        (99, None),
    ],
)
def test_every_payment_status_id(status_id: int, expected: str | None) -> None:
    body = payment_notification(status=status_id)
    [update] = make_backend().parse_webhook(body, {}).updates
    assert isinstance(update, PaymentSnapshot)
    assert update.status == expected
    assert update.provider_status == str(status_id)
    assert update.raw["Payment"]["Status"]["ID"] == status_id


def test_payment_status_id_as_string_and_missing_status() -> None:
    backend = make_backend()
    resource = payment_resource(status=2)
    resource["Status"]["ID"] = "2"
    [update] = backend.parse_webhook(json.dumps({"Payment": resource}).encode(), {}).updates
    assert update.status == PaymentStatus.PAID
    resource["Status"] = None
    [update] = backend.parse_webhook(json.dumps({"Payment": resource}).encode(), {}).updates
    assert isinstance(update, PaymentSnapshot)
    assert update.status is None
    assert update.provider_status == ""


@pytest.mark.parametrize(
    ("status_id", "expected"),
    [
        (1, PreapprovalStatus.PENDING),
        (2, PreapprovalStatus.ACTIVE),
        (3, PreapprovalStatus.CANCELED),
        (4, PreapprovalStatus.CANCELED),
        (5, None),
    ],
)
def test_every_preapproval_status_id(status_id: int, expected: str | None) -> None:
    [update] = make_backend().parse_webhook(preapproval_notification(status_id), {}).updates
    assert isinstance(update, PreapprovalSnapshot)
    assert update.status == expected
    assert update.provider_status == str(status_id)


@pytest.mark.parametrize(
    ("status_id", "expected"),
    [
        (1, RefundStatus.PENDING),
        (2, RefundStatus.SUCCEEDED),
        (3, RefundStatus.FAILED),
        (4, RefundStatus.FAILED),
        (5, RefundStatus.FAILED),
        (6, RefundStatus.PENDING),
        (7, RefundStatus.PENDING),
        (18, RefundStatus.PENDING),
        (22, None),
    ],
)
def test_every_refund_status_id(status_id: int, expected: str | None) -> None:
    body = json.dumps({"Refund": refund_resource(status=status_id, amount="5000")}).encode()
    [update] = make_backend().parse_webhook(body, {}).updates
    assert isinstance(update, RefundSnapshot)
    assert update.status == expected
    assert update.provider_refund_id == "7001"
    assert update.provider_payment_id == "5001"
    assert update.reference == "rf_1"
    assert update.amount == 5000


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("status_id", "expected"),
    [
        (2, PaymentStatus.PAID),
        (3, PaymentStatus.CANCELED),
        (4, PaymentStatus.FAILED),
        (5, PaymentStatus.EXPIRED),
        (7, PaymentStatus.PENDING),
        (18, PaymentStatus.PENDING),
        (99, PaymentStatus.PENDING),
    ],
)
def test_payment_notifications_through_the_view(
    started_payment: Payment, status_id: int, expected: str
) -> None:
    response = post_webhook(payment_notification(status=status_id))
    assert response.status_code == 204
    assert response.content == b""
    started_payment.refresh_from_db()
    assert started_payment.status == expected
    assert started_payment.provider_status == str(status_id)


# -- duplicates and ordering ----------------------------------------------------------


@pytest.mark.django_db
def test_duplicate_notification_is_acknowledged_and_applied_once(
    s2p_settings: dict[str, Any],
) -> None:
    preapproval = services.create_preapproval(reference=SEED_REFERENCE, backend="smart2pay")
    first = post_webhook(SEED_PREAPPROVAL_NOTIFICATION)
    second = post_webhook(SEED_PREAPPROVAL_NOTIFICATION)
    assert (first.status_code, second.status_code) == (204, 204)
    assert second.content == b""
    assert WebhookEvent.objects.filter(backend="smart2pay").count() == 1
    event = WebhookEvent.objects.get(backend="smart2pay")
    assert event.status == "processed"
    assert event.attempts == 1
    assert StatusTransition.objects.filter(preapproval=preapproval).count() == 1


@pytest.mark.django_db
def test_out_of_order_preapproval_notifications_never_go_back(
    s2p_settings: dict[str, Any],
) -> None:
    preapproval = services.create_preapproval(reference=SEED_REFERENCE, backend="smart2pay")
    assert post_webhook(preapproval_notification(2)).status_code == 204
    assert post_webhook(preapproval_notification(1)).status_code == 204
    preapproval.refresh_from_db()
    assert preapproval.status == PreapprovalStatus.ACTIVE
    assert post_webhook(preapproval_notification(4)).status_code == 204
    preapproval.refresh_from_db()
    assert preapproval.status == PreapprovalStatus.CANCELED
    assert post_webhook(preapproval_notification(2)).status_code == 204
    preapproval.refresh_from_db()
    assert preapproval.status == PreapprovalStatus.CANCELED


@pytest.mark.django_db
def test_later_success_overrides_an_earlier_failure(started_payment: Payment) -> None:
    post_webhook(payment_notification(status=4, notification_time="20261123100000"))
    started_payment.refresh_from_db()
    assert started_payment.status == PaymentStatus.FAILED
    post_webhook(payment_notification(status=2, notification_time="20261123100500"))
    started_payment.refresh_from_db()
    assert started_payment.status == PaymentStatus.PAID


@pytest.mark.django_db
def test_failure_after_success_and_older_notifications_change_nothing(
    started_payment: Payment,
) -> None:
    post_webhook(payment_notification(status=2, notification_time="20261123100500"))
    # An older Open notification delivered late: stale.
    assert (
        post_webhook(payment_notification(status=1, notification_time="20261123100000")).status_code
        == 204
    )
    # A newer failure: a final paid state is never left for a failure.
    assert (
        post_webhook(payment_notification(status=4, notification_time="20261123101000")).status_code
        == 204
    )
    started_payment.refresh_from_db()
    assert started_payment.status == PaymentStatus.PAID
    assert (
        StatusTransition.objects.filter(payment=started_payment).count() == 2
    )  # created->pending->paid


def event_key(backend: Smart2PayBackend, body: bytes) -> str:
    return backend.parse_webhook(body, {}).event_id


def test_event_key_uses_root_id_status_and_notification_time() -> None:
    backend = make_backend()
    body = payment_notification(status=2, notification_time="20261123100000")
    assert event_key(backend, body) == "smart2pay:Payment:5001:2:20261123100000"
    # The same notification re-serialized is the same event.
    again = json.dumps(json.loads(body), indent=2).encode()
    assert event_key(backend, again) == event_key(backend, body)
    assert event_key(
        backend, payment_notification(status=4, notification_time="20261123100000")
    ) != event_key(backend, body)


def test_event_key_without_notification_time_uses_the_body_hash() -> None:
    backend = make_backend()
    key = event_key(backend, SEED_PREAPPROVAL_NOTIFICATION)
    assert key.startswith("smart2pay:Preapproval:22276:2:sha256:")
    assert key == event_key(backend, SEED_PREAPPROVAL_NOTIFICATION)
    assert len(key) <= 255
    assert event_key(backend, b'{"Other": {"Amount": 1}}').startswith("sha256:")


def test_notification_time_is_read_as_utc() -> None:
    parsed = parse_notification_time("20261123100000")
    assert parsed is not None
    assert parsed.isoformat() == "2026-11-23T10:00:00+00:00"
    assert parse_notification_time("yesterday") is None
    assert parse_notification_time(None) is None


# -- authentication -------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "authorization",
    [
        None,
        basic_authorization(SITE_ID, "wrong-api-key"),
        basic_authorization("30202", API_KEY),
        "Bearer " + SEED_AUTHORIZATION.split(" ", 1)[1],
        "Basic not-base64!!",
        "Basic " + base64.b64encode(b"no-colon").decode(),
    ],
)
def test_wrong_credentials_are_refused_with_401(
    s2p_settings: dict[str, Any], authorization: str | None
) -> None:
    preapproval = services.create_preapproval(reference=SEED_REFERENCE, backend="smart2pay")
    response = post_webhook(SEED_PREAPPROVAL_NOTIFICATION, authorization=authorization)
    assert response.status_code == 401
    preapproval.refresh_from_db()
    assert preapproval.status == PreapprovalStatus.CREATED
    assert WebhookEvent.objects.get(backend="smart2pay").status == "rejected"


def test_basic_scheme_is_case_insensitive() -> None:
    token = SEED_AUTHORIZATION.split(" ", 1)[1]
    make_backend().verify_webhook(b"{}", {"authorization": f"basic {token}"}, None)


def test_webhook_without_configured_credentials_is_refused() -> None:
    backend = make_backend(API_KEY="")
    assert not backend.has_webhook_credentials()
    with pytest.raises(WebhookAuthenticationError):
        backend.verify_webhook(b"{}", {"Authorization": basic_authorization(SITE_ID, "")}, None)


@pytest.mark.django_db
def test_ip_allow_list_refuses_other_sources_with_403() -> None:
    with override_settings(KAKAOPAY=settings_with(NOTIFICATION_IP_ALLOWLIST=["203.0.113.0/24"])):
        preapproval = services.create_preapproval(reference=SEED_REFERENCE, backend="smart2pay")
        refused = post_webhook(SEED_PREAPPROVAL_NOTIFICATION, REMOTE_ADDR="198.51.100.9")
        assert refused.status_code == 403
        preapproval.refresh_from_db()
        assert preapproval.status == PreapprovalStatus.CREATED
        # A forged X-Forwarded-For is ignored: the peer is not a trusted proxy.
        forged = post_webhook(
            SEED_PREAPPROVAL_NOTIFICATION,
            REMOTE_ADDR="198.51.100.9",
            HTTP_X_FORWARDED_FOR="203.0.113.5",
        )
        assert forged.status_code == 403
        accepted = post_webhook(SEED_PREAPPROVAL_NOTIFICATION, REMOTE_ADDR="203.0.113.5")
        assert accepted.status_code == 204
        preapproval.refresh_from_db()
        assert preapproval.status == PreapprovalStatus.ACTIVE


@pytest.mark.django_db
def test_ip_allow_list_with_trusted_proxy_reads_the_right_most_untrusted_hop() -> None:
    options = {
        "NOTIFICATION_IP_ALLOWLIST": ["203.0.113.0/24"],
        "TRUSTED_PROXIES": ["10.0.0.0/8"],
    }
    with override_settings(KAKAOPAY=settings_with(**options)):
        services.create_preapproval(reference=SEED_REFERENCE, backend="smart2pay")
        # The client forged a left-most hop; the proxy appended the real source.
        refused = post_webhook(
            SEED_PREAPPROVAL_NOTIFICATION,
            REMOTE_ADDR="10.0.0.2",
            HTTP_X_FORWARDED_FOR="203.0.113.5, 198.51.100.9, 10.0.0.7",
        )
        assert refused.status_code == 403
        accepted = post_webhook(
            SEED_PREAPPROVAL_NOTIFICATION,
            REMOTE_ADDR="10.0.0.2",
            HTTP_X_FORWARDED_FOR="198.51.100.9, 203.0.113.5, 10.0.0.7",
        )
        assert accepted.status_code == 204


def test_client_ip_rules() -> None:
    backend = make_backend(
        NOTIFICATION_IP_ALLOWLIST=["203.0.113.5"], TRUSTED_PROXIES=["10.0.0.1", "fd00::/8"]
    )
    headers = {"X-Forwarded-For": "203.0.113.5"}
    assert str(backend.client_ip("198.51.100.1", headers)) == "198.51.100.1"
    assert str(backend.client_ip("10.0.0.1", headers)) == "203.0.113.5"
    assert str(backend.client_ip("10.0.0.1", {})) == "10.0.0.1"
    assert str(backend.client_ip("fd00::1", {"X-Forwarded-For": "203.0.113.5:4711"})) == (
        "203.0.113.5"
    )
    assert str(backend.client_ip("::ffff:203.0.113.5", {})) == "203.0.113.5"
    assert backend.client_ip("10.0.0.1", {"X-Forwarded-For": "garbage"}) is None
    assert backend.client_ip(None, headers) is None
    with pytest.raises(WebhookForbidden):
        backend.verify_webhook(b"{}", {"Authorization": SEED_AUTHORIZATION}, None)
    backend.verify_webhook(b"{}", {"Authorization": SEED_AUTHORIZATION}, "203.0.113.5")


# -- notification bodies ------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("root", ["Dispute", "Payout", "Something"])
def test_other_root_keys_are_stored_as_ignored(s2p_settings: dict[str, Any], root: str) -> None:
    body = json.dumps({root: {"ID": 1, "Status": {"ID": 2}}}).encode()
    response = post_webhook(body)
    assert response.status_code == 204
    event = WebhookEvent.objects.get(backend="smart2pay")
    assert event.status == "ignored"
    assert event.event_type == root


@pytest.mark.django_db
def test_unreadable_notification_is_kept_as_malformed(s2p_settings: dict[str, Any]) -> None:
    response = post_webhook(b'{"Payment": "nope"}')
    assert response.status_code == 400
    assert WebhookEvent.objects.get(backend="smart2pay").status == "malformed"


def test_notifications_naming_nothing_are_malformed() -> None:
    backend = make_backend()
    for body in (
        b"[]",
        b"{}",
        b'{"Payment": {"Status": {"ID": 2}}}',
        b'{"Preapproval": {"Status": {"ID": 2}}}',
        b'{"Refund": {"Status": {"ID": 2}}}',
    ):
        with pytest.raises(MalformedWebhook):
            backend.parse_webhook(body, {})


@pytest.mark.django_db
def test_notification_for_an_unknown_payment_is_ignored(s2p_settings: dict[str, Any]) -> None:
    response = post_webhook(payment_notification(payment_id=999, reference="ORD-UNKNOWN"))
    assert response.status_code == 204
    event = WebhookEvent.objects.get(backend="smart2pay")
    assert event.status == "ignored"
    assert "ORD-UNKNOWN" in event.last_error


# -- amounts ---------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("amount", "currency"),
    [(1100000, "KRW"), (10000, "KRW"), (11000, "USD")],
)
def test_amount_or_currency_mismatch_is_recorded_not_applied(
    started_payment: Payment, amount: int, currency: str
) -> None:
    response = post_webhook(payment_notification(status=2, amount=amount, currency=currency))
    assert response.status_code == 204
    started_payment.refresh_from_db()
    assert started_payment.status == PaymentStatus.PENDING
    assert started_payment.needs_reconciliation
    assert "mismatch" in started_payment.last_error.lower()
    event = WebhookEvent.objects.get(backend="smart2pay")
    assert event.status == "ignored"
    assert "mismatch" in event.last_error.lower()


@pytest.mark.django_db
def test_amount_sent_as_a_string_is_understood(started_payment: Payment) -> None:
    assert post_webhook(payment_notification(status=2, amount="11000")).status_code == 204
    started_payment.refresh_from_db()
    assert started_payment.status == PaymentStatus.PAID


def test_krw_is_sent_as_whole_won_by_default(rsps: responses.RequestsMock) -> None:
    add_payment_create(rsps)
    make_backend().create_payment(payment_request())
    sent = sent_json(rsps.calls[0])["Payment"]
    assert sent["Amount"] == 11000
    assert sent["Articles"] == [{"Name": "Wireless headphones", "Quantity": 1, "Price": 11000}]


def test_amount_exponent_override_scales_both_ways(rsps: responses.RequestsMock) -> None:
    backend = make_backend(AMOUNT_EXPONENTS={"KRW": 2})
    add_payment_create(rsps, payment_resource(amount=1100000))
    instruction = backend.create_payment(payment_request())
    sent = sent_json(rsps.calls[0])["Payment"]
    assert sent["Amount"] == 1100000
    assert sent["Articles"][0]["Price"] == 1100000
    assert instruction.snapshot.amount == 11000
    [update] = backend.parse_webhook(payment_notification(amount=1100000), {}).updates
    assert isinstance(update, PaymentSnapshot)
    assert update.amount == 11000
    with pytest.raises(MalformedWebhook, match="AMOUNT_EXPONENTS"):
        backend.parse_webhook(payment_notification(amount=1100050), {})


def test_amount_exponent_smaller_than_iso() -> None:
    backend = make_backend(AMOUNT_EXPONENTS={"USD": 0})
    assert backend.to_provider_amount(1200, "USD") == 12
    assert backend.from_provider_amount(12, "USD") == 1200
    with pytest.raises(ProviderRejected):
        backend.to_provider_amount(1234, "USD")
    # Currencies not listed keep their ISO exponent, which Smart2Pay also uses for cents.
    assert backend.to_provider_amount(1154, "EUR") == 1154


@pytest.mark.django_db
def test_inexact_amount_in_a_pull_leaves_the_outcome_unknown(
    started_payment: Payment, rsps: responses.RequestsMock
) -> None:
    with override_settings(KAKAOPAY=settings_with(AMOUNT_EXPONENTS={"KRW": 2})):
        add_payment_get(rsps, payment_resource(status=2, amount=1100050))
        assert services.sync_payment(started_payment) is None
    started_payment.refresh_from_db()
    assert started_payment.status == PaymentStatus.PENDING
    assert "AMOUNT_EXPONENTS" in started_payment.last_error


@pytest.mark.django_db
def test_malformed_amount_notification_can_be_replayed_after_fixing_the_scale(
    started_payment: Payment,
) -> None:
    body = payment_notification(status=2, amount=1100050)
    with override_settings(KAKAOPAY=settings_with(AMOUNT_EXPONENTS={"KRW": 2})):
        assert post_webhook(body).status_code == 400
    event = WebhookEvent.objects.get(backend="smart2pay")
    assert event.status == "malformed"
    with override_settings(KAKAOPAY=settings_with(AMOUNT_EXPONENTS={"KRW": 0})):
        response = services.replay_event(event)
    assert response.status_code == 204
    started_payment.refresh_from_db()
    # 1,100,050 won is not the 11,000 won we asked for.
    assert started_payment.status == PaymentStatus.PENDING
    assert started_payment.needs_reconciliation


# -- errors ------------------------------------------------------------------------------------


def test_resource_error_shape_becomes_a_rejection_with_codes(
    rsps: responses.RequestsMock,
) -> None:
    rsps.add(
        responses.POST,
        f"{TEST_BASE}/v1/payments",
        body=error_body("Payment", (118, "Amount invalid"), ("2", "Validation failed")),
        status=400,
        content_type=JSON_TYPE,
    )
    with pytest.raises(ProviderRejected) as caught:
        make_backend().create_payment(payment_request())
    assert caught.value.codes == ("118", "2")
    assert caught.value.status_code == 400
    assert "118 Amount invalid" in str(caught.value)


def test_message_error_shape_becomes_a_rejection(rsps: responses.RequestsMock) -> None:
    rsps.add(
        responses.POST,
        f"{TEST_BASE}/v1/payments",
        json={"Message": "The request is invalid."},
        status=400,
    )
    with pytest.raises(ProviderRejected, match="The request is invalid") as caught:
        make_backend().create_payment(payment_request())
    assert caught.value.codes == ()


@pytest.mark.parametrize("status", [401, 403])
def test_refused_credentials_are_a_configuration_error(
    rsps: responses.RequestsMock, status: int
) -> None:
    rsps.add(
        responses.POST,
        f"{TEST_BASE}/v1/preapprovals",
        json={"Message": "Authorization has been denied for this request."},
        status=status,
    )
    with pytest.raises(ProviderConfigurationError, match="SITE_ID, API_KEY and ENVIRONMENT"):
        make_backend().create_preapproval(seed_preapproval_request())


def test_configuration_reason_codes_are_configuration_errors(
    rsps: responses.RequestsMock,
) -> None:
    rsps.add(
        responses.POST,
        f"{TEST_BASE}/v1/payments",
        body=error_body("Payment", (4, "Merchant inactive")),
        status=400,
        content_type=JSON_TYPE,
    )
    with pytest.raises(ProviderConfigurationError) as caught:
        make_backend().create_payment(payment_request())
    assert caught.value.codes == ("4",)


@pytest.mark.parametrize("status", [500, 502, 503, 504, 408, 429])
def test_server_errors_leave_the_outcome_unknown(rsps: responses.RequestsMock, status: int) -> None:
    rsps.add(responses.POST, f"{TEST_BASE}/v1/payments", body=b"oops", status=status)
    with pytest.raises(OutcomeUnknown):
        make_backend().create_payment(payment_request())


@pytest.mark.parametrize(
    "exception", [requests.ConnectTimeout(), requests.ReadTimeout(), requests.ConnectionError()]
)
def test_transport_failures_leave_the_outcome_unknown(
    rsps: responses.RequestsMock, exception: Exception
) -> None:
    rsps.add(responses.POST, f"{TEST_BASE}/v1/payments/recurrent", body=exception)
    charge = ChargeRequest(
        preapproval=PreapprovalRef(reference="KPA-1", provider_preapproval_id="22276"),
        reference="KPA-1-2026-11",
        amount=9900,
        currency="KRW",
        idempotency_key="a" * 32,
        notification_url="",
        customer=Customer(email="jia@example.com"),
    )
    with pytest.raises(OutcomeUnknown):
        make_backend().charge_preapproval(charge)


def test_not_found_is_a_rejection(rsps: responses.RequestsMock) -> None:
    rsps.add(
        responses.GET, f"{TEST_BASE}/v1/payments/404", json={"Message": "Not found"}, status=404
    )
    with pytest.raises(ProviderRejected) as caught:
        make_backend().fetch_payment(
            PaymentRef(reference="ORD-1", amount=1, currency="KRW", provider_payment_id="404")
        )
    assert caught.value.status_code == 404


def test_unreadable_success_answer_leaves_the_outcome_unknown(
    rsps: responses.RequestsMock,
) -> None:
    rsps.add(responses.POST, f"{TEST_BASE}/v1/payments", body=b"<html>", status=201)
    with pytest.raises(OutcomeUnknown):
        make_backend().create_payment(payment_request())


def test_success_code_with_only_reasons_is_a_rejection(rsps: responses.RequestsMock) -> None:
    rsps.add(
        responses.POST,
        f"{TEST_BASE}/v1/payments",
        body=error_body("Payment", (9, "Method unavailable")),
        status=200,
        content_type=JSON_TYPE,
    )
    with pytest.raises(ProviderRejected) as caught:
        make_backend().create_payment(payment_request())
    assert caught.value.codes == ("9",)


@pytest.mark.django_db
def test_rejected_payment_is_marked_failed(
    s2p_settings: dict[str, Any], rsps: responses.RequestsMock
) -> None:
    payment = services.create_payment(amount=11000, reference="ORD-2002", backend="smart2pay")
    rsps.add(
        responses.POST,
        f"{TEST_BASE}/v1/payments",
        body=error_body("Payment", (5, "Method is invalid")),
        status=400,
        content_type=JSON_TYPE,
    )
    services.start_payment(payment)
    assert payment.status == PaymentStatus.FAILED
    assert "5 Method is invalid" in payment.last_error


# -- "already created": codes 20 and 109 ------------------------------------------------------------


def test_duplicate_transaction_on_create_reconciles_by_listing(
    rsps: responses.RequestsMock,
) -> None:
    rsps.add(
        responses.POST,
        f"{TEST_BASE}/v1/payments",
        body=error_body("Payment", (20, "MerchantTransactionID is duplicated")),
        status=400,
        content_type=JSON_TYPE,
    )
    listing = rsps.add(
        responses.GET,
        f"{TEST_BASE}/v1/payments",
        json={
            "Payments": [
                payment_resource(payment_id=4999, reference="ORD-1001-OTHER"),
                payment_resource(payment_id=5001),
            ],
            "Count": 2,
        },
        match=[matchers.query_param_matcher({"merchantTransactionID": "ORD-1001"})],
    )
    add_payment_get(rsps, payment_resource(payment_id=5001))
    instruction = make_backend().create_payment(payment_request())
    assert listing.call_count == 1
    assert instruction.snapshot.provider_payment_id == "5001"
    assert instruction.url == "https://europaytest.smart2pay.com/pay?token=abc"


def test_duplicate_transaction_for_a_finished_payment_sends_the_customer_back(
    rsps: responses.RequestsMock,
) -> None:
    rsps.add(
        responses.POST,
        f"{TEST_BASE}/v1/payments",
        body=error_body("Payment", ("20", "MerchantTransactionID is duplicated")),
        status=400,
        content_type=JSON_TYPE,
    )
    rsps.add(
        responses.GET,
        f"{TEST_BASE}/v1/payments",
        json={"Payments": [payment_resource(status=2, redirect=None)]},
    )
    add_payment_get(rsps, payment_resource(status=2, redirect=None))
    request = payment_request()
    instruction = make_backend().create_payment(request)
    assert instruction.snapshot.status == PaymentStatus.PAID
    assert instruction.url == request.return_url


def test_duplicate_transaction_that_cannot_be_found_is_unknown(
    rsps: responses.RequestsMock,
) -> None:
    rsps.add(
        responses.POST,
        f"{TEST_BASE}/v1/payments",
        body=error_body("Payment", (20, "MerchantTransactionID is duplicated")),
        status=400,
        content_type=JSON_TYPE,
    )
    rsps.add(responses.GET, f"{TEST_BASE}/v1/payments", json={"Payments": []})
    with pytest.raises(OutcomeUnknown):
        make_backend().create_payment(payment_request())


def test_duplicate_preapproval_reconciles_by_listing(rsps: responses.RequestsMock) -> None:
    rsps.add(
        responses.POST,
        f"{TEST_BASE}/v1/preapprovals",
        body=error_body("Preapproval", (109, "Merchant preapproval ID duplicated")),
        status=400,
        content_type=JSON_TYPE,
    )
    listing = rsps.add(
        responses.GET,
        f"{TEST_BASE}/v1/preapprovals",
        json={"Preapprovals": [{"ID": 22276, "MerchantPreapprovalID": SEED_REFERENCE}]},
        match=[matchers.query_param_matcher({"merchantPreapprovalID": SEED_REFERENCE})],
    )
    rsps.add(
        responses.GET,
        f"{TEST_BASE}/v1/preapprovals/22276",
        body=SEED_PREAPPROVAL_RESPONSE,
        content_type=JSON_TYPE,
    )
    redirect = make_backend().create_preapproval(seed_preapproval_request())
    assert listing.call_count == 1
    assert redirect.url == SEED_REDIRECT
    assert redirect.snapshot.provider_preapproval_id == "22276"


def test_preapproval_list_without_the_inferred_filter(rsps: responses.RequestsMock) -> None:
    rsps.add(
        responses.GET,
        f"{TEST_BASE}/v1/preapprovals",
        json={"Message": "The request is invalid."},
        status=400,
        match=[matchers.query_param_matcher({"merchantPreapprovalID": SEED_REFERENCE})],
    )
    rsps.add(
        responses.GET,
        f"{TEST_BASE}/v1/preapprovals",
        json={"Preapprovals": [{"ID": 22276, "MerchantPreapprovalID": SEED_REFERENCE}]},
        match=[matchers.query_param_matcher({})],
    )
    rsps.add(
        responses.GET,
        f"{TEST_BASE}/v1/preapprovals/22276",
        body=SEED_PREAPPROVAL_NOTIFICATION,
        content_type=JSON_TYPE,
    )
    snapshot = make_backend().fetch_preapproval(PreapprovalRef(reference=SEED_REFERENCE))
    assert snapshot.status == PreapprovalStatus.ACTIVE
    assert snapshot.provider_preapproval_id == "22276"


def test_missing_preapproval_is_a_not_found_rejection(rsps: responses.RequestsMock) -> None:
    rsps.add(responses.GET, f"{TEST_BASE}/v1/preapprovals", json={"Preapprovals": []})
    with pytest.raises(ProviderRejected) as caught:
        make_backend().fetch_preapproval(PreapprovalRef(reference="KPA-NONE"))
    assert caught.value.status_code == 404


def test_merchant_id_falls_back_to_the_idempotency_key() -> None:
    assert merchant_id("ORD-5023-4E89", "k" * 32) == "ORD-5023-4E89"
    assert merchant_id("ORDER #12", "0123abcd" * 4) == "0123abcd" * 4
    assert merchant_id("x" * 51, "0123abcd" * 4) == "0123abcd" * 4
    with pytest.raises(ProviderRejected):
        merchant_id("ORDER #12", "")


@pytest.mark.django_db
def test_reference_smart2pay_cannot_take_uses_the_idempotency_key(
    s2p_settings: dict[str, Any], rsps: responses.RequestsMock
) -> None:
    payment = services.create_payment(amount=11000, reference="ORDER #12", backend="smart2pay")
    add_payment_create(rsps, payment_resource(payment_id=6001, reference=payment.idempotency_key))
    services.start_payment(payment)
    assert sent_json(rsps.calls[0])["Payment"]["MerchantTransactionID"] == payment.idempotency_key
    assert payment.provider_payment_id == "6001"
    body = payment_notification(payment_id=6001, reference=payment.idempotency_key, status=2)
    assert post_webhook(body).status_code == 204
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PAID


# -- one-time payments ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_one_time_payment_request_and_redirect(
    s2p_settings: dict[str, Any], rsps: responses.RequestsMock
) -> None:
    payment = services.create_payment(
        amount=23000,
        reference="ORD-3003",
        description="Two items",
        items=[
            {"name": "Wireless headphones", "quantity": 1, "unit_price": 11000, "reference": "77"},
            {"name": "Cable", "quantity": 2, "unit_price": 6000},
        ],
        customer={"name": "Jia Tsang", "email": "jia@example.com", "country": "kr"},
        backend="smart2pay",
    )
    add_payment_create(rsps, payment_resource(reference="ORD-3003", amount=23000))
    response = Client().get(reverse("kakaopay:checkout", args=[payment.return_token]))
    assert response.status_code == 302
    assert response["Location"] == "https://europaytest.smart2pay.com/pay?token=abc"
    assert sent_json(rsps.calls[0]) == {
        "Payment": {
            "MerchantTransactionID": "ORD-3003",
            "Amount": 23000,
            "Currency": "KRW",
            "ReturnURL": f"http://testserver/kakaopay/return/{payment.return_token}/",
            "Description": "Two items",
            "MethodID": 1135,
            "Customer": {"FirstName": "Jia", "LastName": "Tsang", "Email": "jia@example.com"},
            "BillingAddress": {"Country": "KR"},
            "Articles": [
                {
                    "MerchantArticleID": "77",
                    "Name": "Wireless headphones",
                    "Quantity": 1,
                    "Price": 11000,
                },
                {"Name": "Cable", "Quantity": 2, "Price": 6000},
            ],
        }
    }
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PENDING
    assert payment.provider_payment_id == "5001"
    assert payment.provider_payload is not None
    assert "ReturnURL" not in payment.provider_payload["Payment"]


def test_articles_are_left_out_beyond_999_units(rsps: responses.RequestsMock) -> None:
    add_payment_create(rsps)
    request = payment_request(
        amount=10000, items=(LineItem(name="Sticker", quantity=1000, unit_price=10),)
    )
    make_backend().create_payment(request)
    assert "Articles" not in sent_json(rsps.calls[0])["Payment"]


def test_method_id_option_and_live_environment(rsps: responses.RequestsMock) -> None:
    rsps.add(
        responses.POST,
        f"{LIVE_BASE}/v1/payments",
        json={"Payment": payment_resource()},
        status=201,
    )
    backend = make_backend(ENVIRONMENT="live", METHOD_ID=1136)
    assert backend.is_live
    backend.create_payment(payment_request())
    assert sent_json(rsps.calls[0])["Payment"]["MethodID"] == 1136
    assert not make_backend().is_live


def test_payment_without_redirect_url_is_unknown(rsps: responses.RequestsMock) -> None:
    add_payment_create(rsps, payment_resource(redirect=None))
    with pytest.raises(OutcomeUnknown):
        make_backend().create_payment(payment_request())


@pytest.mark.django_db
def test_return_view_ignores_the_query_string_and_pulls(
    started_payment: Payment, rsps: responses.RequestsMock
) -> None:
    pull = add_payment_get(rsps, payment_resource(status=7))
    url = reverse("kakaopay:return", args=[started_payment.return_token])
    response = Client().get(
        url, {"data": "2", "MerchantTransactionID": "ORD-1001", "StatusID": "2"}
    )
    assert pull.call_count == 1
    assert response.status_code == 202  # still processing: the query string was not believed
    started_payment.refresh_from_db()
    assert started_payment.status == PaymentStatus.PENDING

    rsps.replace(
        responses.GET,
        f"{TEST_BASE}/v1/payments/5001",
        json={"Payment": payment_resource(status=2)},
    )
    response = Client().get(url, {"data": "4", "StatusID": "4"})
    started_payment.refresh_from_db()
    assert started_payment.status == PaymentStatus.PAID
    assert response.status_code == 200


@pytest.mark.django_db
def test_timed_out_creation_is_found_by_listing(
    s2p_settings: dict[str, Any], rsps: responses.RequestsMock
) -> None:
    payment = services.create_payment(amount=11000, reference="ORD-1001", backend="smart2pay")
    rsps.add(responses.POST, f"{TEST_BASE}/v1/payments", body=requests.ReadTimeout())
    services.start_payment(payment)
    assert payment.status == PaymentStatus.CREATED
    assert payment.needs_reconciliation
    assert Payment.objects.get(pk=payment.pk).provider_payment_id == ""

    listing = rsps.add(
        responses.GET,
        f"{TEST_BASE}/v1/payments",
        json={"Payments": [payment_resource(status=2)], "Count": 1},
        match=[matchers.query_param_matcher({"merchantTransactionID": "ORD-1001"})],
    )
    add_payment_get(rsps, payment_resource(status=2))
    services.sync_payment(payment)
    assert listing.call_count == 1
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PAID
    assert payment.provider_payment_id == "5001"
    assert not payment.needs_reconciliation


# -- preapprovals and recurring charges --------------------------------------------------------


def test_preapproval_optional_amount_and_frequency(rsps: responses.RequestsMock) -> None:
    rsps.add(
        responses.POST,
        f"{TEST_BASE}/v1/preapprovals",
        body=SEED_PREAPPROVAL_RESPONSE,
        status=201,
        content_type=JSON_TYPE,
    )
    backend = make_backend(PREAPPROVAL_FREQUENCY="monthly")
    backend.create_preapproval(seed_preapproval_request(max_amount=30000))
    sent = sent_json(rsps.calls[0])["Preapproval"]
    assert sent["PreapprovedMaximumAmount"] == 30000
    assert sent["PreapprovedFrequency"] == "monthly"


@pytest.mark.django_db
def test_pull_of_a_preapproval(s2p_settings: dict[str, Any], rsps: responses.RequestsMock) -> None:
    preapproval = services.create_preapproval(reference=SEED_REFERENCE, backend="smart2pay")
    rsps.add(
        responses.POST,
        f"{TEST_BASE}/v1/preapprovals",
        body=SEED_PREAPPROVAL_RESPONSE,
        status=201,
        content_type=JSON_TYPE,
    )
    services.start_preapproval(preapproval)
    rsps.add(
        responses.GET,
        f"{TEST_BASE}/v1/preapprovals/22276",
        body=SEED_PREAPPROVAL_NOTIFICATION,
        content_type=JSON_TYPE,
    )
    # The customer comes back: the return view pulls.
    response = Client().get(reverse("kakaopay:return", args=[preapproval.return_token]))
    assert response.status_code == 200
    preapproval.refresh_from_db()
    assert preapproval.status == PreapprovalStatus.ACTIVE


@pytest.mark.django_db
def test_recurring_charge_body_and_pending_then_notification(
    active_preapproval: Preapproval, rsps: responses.RequestsMock
) -> None:
    charge = rsps.add(
        responses.POST,
        f"{TEST_BASE}/v1/payments/recurrent",
        json={
            "Payment": payment_resource(
                payment_id=8001,
                reference="KPA-SUB-0001-2026-11",
                amount=19900,
                redirect=None,
                preapproval_id=22276,
            )
        },
        status=201,
    )
    payment = services.charge_preapproval(
        active_preapproval, amount=19900, billing_period="2026-11"
    )
    assert charge.call_count == 1
    assert sent_json(rsps.calls[0]) == {
        "Payment": {
            "PreapprovalID": 22276,
            "MerchantTransactionID": "KPA-SUB-0001-2026-11",
            "Amount": 19900,
            "Currency": "KRW",
            "MethodID": 1135,
            "Description": "Coffee beans, monthly",
            "Customer": {"Email": "jia@example.com"},
            "BillingAddress": {"Country": "KR"},
        }
    }
    assert payment.status == PaymentStatus.PENDING
    assert payment.provider_payment_id == "8001"

    body = payment_notification(
        payment_id=8001,
        reference="KPA-SUB-0001-2026-11",
        status=2,
        amount=19900,
        preapproval_id=22276,
    )
    assert post_webhook(body).status_code == 204
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PAID


@pytest.mark.django_db
def test_recurring_charge_with_a_final_status_in_the_answer(
    active_preapproval: Preapproval, rsps: responses.RequestsMock
) -> None:
    rsps.add(
        responses.POST,
        f"{TEST_BASE}/v1/payments/recurrent",
        json={"Payment": payment_resource(payment_id=8001, status=2, amount=19900, redirect=None)},
        status=201,
    )
    payment = services.charge_preapproval(
        active_preapproval, amount=19900, billing_period="2026-11"
    )
    assert payment.status == PaymentStatus.PAID


@pytest.mark.django_db
def test_recurring_charge_retried_for_the_same_period_posts_once(
    active_preapproval: Preapproval, rsps: responses.RequestsMock
) -> None:
    charge = rsps.add(
        responses.POST,
        f"{TEST_BASE}/v1/payments/recurrent",
        json={"Payment": payment_resource(payment_id=8001, amount=19900, redirect=None)},
        status=201,
    )
    first = services.charge_preapproval(active_preapproval, amount=19900, billing_period="2026-11")
    second = services.charge_preapproval(active_preapproval, amount=19900, billing_period="2026-11")
    assert charge.call_count == 1
    assert first.pk == second.pk
    assert Payment.objects.filter(preapproval=active_preapproval).count() == 1


@pytest.mark.django_db
def test_recurring_charge_retried_after_a_timeout_is_reconciled_not_doubled(
    active_preapproval: Preapproval, rsps: responses.RequestsMock
) -> None:
    url = f"{TEST_BASE}/v1/payments/recurrent"
    rsps.add(responses.POST, url, body=requests.ReadTimeout())
    first = services.charge_preapproval(active_preapproval, amount=19900, billing_period="2026-11")
    assert first.status == PaymentStatus.CREATED
    assert first.needs_reconciliation

    # The timed-out call did create it: the retry is refused as a duplicate.
    rsps.replace(
        responses.POST,
        url,
        body=error_body("Payment", (20, "MerchantTransactionID is duplicated")),
        status=400,
        content_type=JSON_TYPE,
    )
    rsps.add(
        responses.GET,
        f"{TEST_BASE}/v1/payments",
        json={
            "Payments": [
                payment_resource(
                    payment_id=8001,
                    reference=first.reference,
                    status=2,
                    amount=19900,
                    redirect=None,
                )
            ]
        },
        match=[matchers.query_param_matcher({"merchantTransactionID": first.reference})],
    )
    add_payment_get(
        rsps,
        payment_resource(
            payment_id=8001, reference=first.reference, status=2, amount=19900, redirect=None
        ),
    )
    second = services.charge_preapproval(active_preapproval, amount=19900, billing_period="2026-11")
    posts = [call for call in rsps.calls if call.request.method == "POST"]
    assert len(posts) == 2
    ids = {sent_json(call)["Payment"]["MerchantTransactionID"] for call in posts}
    assert ids == {"KPA-SUB-0001-2026-11"}
    assert second.pk == first.pk
    assert second.status == PaymentStatus.PAID
    assert Payment.objects.filter(preapproval=active_preapproval).count() == 1


@pytest.mark.django_db
def test_recurring_charge_refused_by_smart2pay_fails_the_charge(
    active_preapproval: Preapproval, rsps: responses.RequestsMock
) -> None:
    rsps.add(
        responses.POST,
        f"{TEST_BASE}/v1/payments/recurrent",
        body=error_body("Payment", (119, "Customer balance insufficient"), status_id=4),
        status=402,
        content_type=JSON_TYPE,
    )
    payment = services.charge_preapproval(
        active_preapproval, amount=19900, billing_period="2026-11"
    )
    assert payment.status == PaymentStatus.FAILED
    assert "119" in payment.last_error


@pytest.mark.django_db
def test_inactive_preapproval_is_never_charged(
    s2p_settings: dict[str, Any], rsps: responses.RequestsMock
) -> None:
    preapproval = services.create_preapproval(reference=SEED_REFERENCE, backend="smart2pay")
    with pytest.raises(PreapprovalNotActive):
        services.charge_preapproval(preapproval, amount=19900, billing_period="2026-11")
    assert len(rsps.calls) == 0


@pytest.mark.django_db
def test_cancel_preapproval(active_preapproval: Preapproval, rsps: responses.RequestsMock) -> None:
    closed = json.loads(SEED_PREAPPROVAL_NOTIFICATION)
    closed["Preapproval"]["Status"] = status_obj(4, "ClosedByCustomer")
    delete = rsps.add(responses.DELETE, f"{TEST_BASE}/v1/preapprovals/22276", json=closed)
    services.cancel_preapproval(active_preapproval)
    assert delete.call_count == 1
    assert active_preapproval.status == PreapprovalStatus.CANCELED
    assert active_preapproval.provider_status == "4"
    with pytest.raises(PreapprovalNotActive):
        services.charge_preapproval(active_preapproval, amount=19900, billing_period="2026-12")


@pytest.mark.django_db
def test_cancel_answered_without_a_body_still_cancels(
    active_preapproval: Preapproval, rsps: responses.RequestsMock
) -> None:
    rsps.add(responses.DELETE, f"{TEST_BASE}/v1/preapprovals/22276", body=b"", status=204)
    services.cancel_preapproval(active_preapproval)
    assert active_preapproval.status == PreapprovalStatus.CANCELED


@pytest.mark.django_db
def test_preapproval_created_without_a_redirect_url_is_reconciled_later(
    s2p_settings: dict[str, Any], rsps: responses.RequestsMock
) -> None:
    answer = json.loads(SEED_PREAPPROVAL_RESPONSE)
    answer["Preapproval"]["RedirectURL"] = None
    rsps.add(responses.POST, f"{TEST_BASE}/v1/preapprovals", json=answer, status=201)
    preapproval = services.create_preapproval(reference=SEED_REFERENCE, backend="smart2pay")
    services.start_preapproval(preapproval)
    assert preapproval.status == PreapprovalStatus.CREATED
    assert preapproval.needs_reconciliation
    assert "RedirectURL" in preapproval.last_error


def test_cancel_answered_with_an_open_status_is_unknown(rsps: responses.RequestsMock) -> None:
    still_open = json.loads(SEED_PREAPPROVAL_NOTIFICATION)
    rsps.add(responses.DELETE, f"{TEST_BASE}/v1/preapprovals/22276", json=still_open)
    with pytest.raises(OutcomeUnknown):
        make_backend().cancel_preapproval(
            PreapprovalRef(reference=SEED_REFERENCE, provider_preapproval_id="22276")
        )


# -- refunds ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_full_refund_settles_from_the_refund_notification(
    paid_payment: Payment, rsps: responses.RequestsMock
) -> None:
    refunds_url = f"{TEST_BASE}/v1/payments/5001/refunds"
    post = rsps.add(
        responses.POST,
        refunds_url,
        json={"Refund": refund_resource(reference="placeholder", amount=11000)},
        status=201,
    )
    types = rsps.add(responses.GET, f"{refunds_url}/types", json={"RefundTypes": []})
    refund = services.request_refund(paid_payment, reason="Customer changed their mind")
    assert post.call_count == 1
    assert types.call_count == 0  # a full refund needs no partial-refund check
    assert sent_json(rsps.calls[-1]) == {
        "Refund": {
            "MerchantTransactionID": refund.reference,
            "Amount": 11000,
            "Description": "Customer changed their mind",
        }
    }
    assert refund.status == RefundStatus.PENDING
    assert refund.provider_refund_id == "7001"

    body = json.dumps({"Refund": refund_resource(reference=refund.reference, status=2)}).encode()
    assert post_webhook(body).status_code == 204
    refund.refresh_from_db()
    paid_payment.refresh_from_db()
    assert refund.status == RefundStatus.SUCCEEDED
    assert paid_payment.status == PaymentStatus.REFUNDED
    assert paid_payment.refunded_amount == 11000


@pytest.mark.django_db
def test_partial_refund_is_checked_against_refund_types(
    paid_payment: Payment, rsps: responses.RequestsMock
) -> None:
    refunds_url = f"{TEST_BASE}/v1/payments/5001/refunds"
    types = rsps.add(
        responses.GET,
        f"{refunds_url}/types",
        json={
            "RefundTypes": [
                {"Name": "Native", "ID": 1, "AllowsPartialRefund": True},
                {"Name": "Bank transfer", "ID": 2, "AllowsPartialRefund": False},
            ]
        },
    )
    rsps.add(
        responses.POST,
        refunds_url,
        json={"Refund": refund_resource(amount=4000, status=2)},
        status=201,
    )
    refund = services.request_refund(paid_payment, 4000)
    assert types.call_count == 1
    assert refund.status == RefundStatus.SUCCEEDED
    paid_payment.refresh_from_db()
    assert paid_payment.status == PaymentStatus.PARTIALLY_REFUNDED
    assert paid_payment.refunded_amount == 4000


@pytest.mark.django_db
@pytest.mark.parametrize(
    "types_answer",
    [
        {"RefundTypes": [{"Name": "Native", "ID": 1, "AllowsPartialRefund": False}]},
        {"RefundTypes": []},
        # The native type decides even when another type would allow it.
        {
            "RefundTypes": [
                {"Name": "Native", "ID": 1, "AllowsPartialRefund": False},
                {"Name": "Bank transfer", "ID": 2, "AllowsPartialRefund": True},
            ]
        },
    ],
)
def test_partial_refund_refused_when_not_allowed(
    paid_payment: Payment, rsps: responses.RequestsMock, types_answer: dict[str, Any]
) -> None:
    refunds_url = f"{TEST_BASE}/v1/payments/5001/refunds"
    rsps.add(responses.GET, f"{refunds_url}/types", json=types_answer)
    post = rsps.add(responses.POST, refunds_url, json={}, status=201)
    refund = services.request_refund(paid_payment, 4000)
    assert post.call_count == 0
    assert refund.status == RefundStatus.FAILED
    assert "partial refund" in refund.last_error
    paid_payment.refresh_from_db()
    assert paid_payment.status == PaymentStatus.PAID


def test_partial_refund_check_failing_means_nothing_was_sent(
    rsps: responses.RequestsMock,
) -> None:
    refunds_url = f"{TEST_BASE}/v1/payments/5001/refunds"
    rsps.add(responses.GET, f"{refunds_url}/types", body=requests.ConnectionError())
    post = rsps.add(responses.POST, refunds_url, json={}, status=201)
    request = RefundRequest(
        payment=PaymentRef(
            reference="ORD-1001", amount=11000, currency="KRW", provider_payment_id="5001"
        ),
        reference="rf_partial",
        amount=1000,
        idempotency_key="b" * 32,
    )
    with pytest.raises(ProviderRejected, match="not sent"):
        make_backend().refund_payment(request)
    assert post.call_count == 0


def test_duplicate_refund_reconciles_from_the_refund_list(rsps: responses.RequestsMock) -> None:
    refunds_url = f"{TEST_BASE}/v1/payments/5001/refunds"
    rsps.add(
        responses.POST,
        refunds_url,
        body=error_body("Refund", (20, "MerchantTransactionID is duplicated")),
        status=400,
        content_type=JSON_TYPE,
    )
    rsps.add(
        responses.GET,
        refunds_url,
        json={
            "Refunds": [
                refund_resource(reference="rf_other", refund_id=7000),
                refund_resource(reference="rf_full", status=2),
            ]
        },
    )
    request = RefundRequest(
        payment=PaymentRef(
            reference="ORD-1001", amount=11000, currency="KRW", provider_payment_id="5001"
        ),
        reference="rf_full",
        amount=11000,
        idempotency_key="c" * 32,
    )
    snapshot = make_backend().refund_payment(request)
    assert snapshot.provider_refund_id == "7001"
    assert snapshot.status == RefundStatus.SUCCEEDED
    assert snapshot.amount == 11000


@pytest.mark.django_db
def test_refused_refund_is_marked_failed(
    paid_payment: Payment, rsps: responses.RequestsMock
) -> None:
    rsps.add(
        responses.POST,
        f"{TEST_BASE}/v1/payments/5001/refunds",
        body=error_body("Refund", (18, "Refund is invalid")),
        status=400,
        content_type=JSON_TYPE,
    )
    refund = services.request_refund(paid_payment)
    assert refund.status == RefundStatus.FAILED
    assert "18 Refund is invalid" in refund.last_error


@pytest.mark.django_db
def test_refunded_payment_notification_records_the_refund(paid_payment: Payment) -> None:
    body = payment_notification(status=22, notification_time="20261124100000")
    assert post_webhook(body).status_code == 204
    paid_payment.refresh_from_db()
    assert paid_payment.status == PaymentStatus.REFUNDED
    assert Refund.objects.get(payment=paid_payment).origin == Refund.Origin.PROVIDER


@pytest.mark.django_db
def test_partially_refunded_payment_notification_takes_no_money_back(
    paid_payment: Payment,
) -> None:
    body = payment_notification(status=21, notification_time="20261124100000")
    assert post_webhook(body).status_code == 204
    paid_payment.refresh_from_db()
    assert paid_payment.status == PaymentStatus.PAID
    assert paid_payment.refunded_amount == 0
    assert paid_payment.provider_status == "21"


# -- options and system checks -----------------------------------------------------------------


def test_capabilities() -> None:
    backend = make_backend()
    assert backend.supports(Capability.REFUNDS)
    assert backend.supports(Capability.PARTIAL_REFUNDS)
    assert backend.supports(Capability.PREAPPROVALS)
    assert backend.has_webhook_credentials()
    assert make_backend(SITE_ID=None).has_webhook_credentials() is False


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"SITE_ID": None}, "'SITE_ID' is required"),
        ({"API_KEY": None}, "'API_KEY' is required"),
        ({"ENVIRONMENT": None}, "'ENVIRONMENT' is required"),
        ({"SITE_ID": "site-one"}, "SITE_ID must be the numeric site id"),
        ({"API_KEY": SEED_AUTHORIZATION}, "API_KEY must be the site's API key alone"),
        ({"ENVIRONMENT": "sandbox"}, "never derived from DEBUG"),
        ({"METHOD_ID": "1135"}, "METHOD_ID must be a positive whole number"),
        ({"NOTIFICATION_IP_ALLOWLIST": "203.0.113.5"}, "must be a list"),
        ({"NOTIFICATION_IP_ALLOWLIST": ["203.0.113.300"]}, "not an IP address or network"),
        ({"TRUSTED_PROXIES": ["proxy.local"]}, "not an IP address or network"),
        ({"READ_TIMEOUT": 0}, "READ_TIMEOUT must be a positive number"),
        ({"AMOUNT_EXPONENTS": {"KRW": 5}}, "from 0 to 4"),
        ({"AMOUNT_EXPONENTS": {"WON": 0, "KRWX": 0}}, "not a 3-letter currency code"),
        ({"AMOUNT_EXPONENTS": [("KRW", 0)]}, "must be a dict"),
        ({"PREAPPROVAL_FREQUENCY": "yearly"}, "PREAPPROVAL_FREQUENCY must be one of"),
        ({"SITEID": "30201"}, "did you mean 'SITE_ID'?"),
    ],
)
def test_option_problems_are_clear_sentences(overrides: dict[str, Any], fragment: str) -> None:
    options = {key: value for key, value in {**OPTIONS, **overrides}.items() if value is not None}
    problems = Smart2PayBackend.check_options(options)
    assert any(fragment in problem for problem in problems), problems


def test_valid_options_have_no_problems() -> None:
    options = {
        **OPTIONS,
        "SITE_ID": 30201,
        "METHOD_ID": 1135,
        "NOTIFICATION_IP_ALLOWLIST": ["203.0.113.0/24", "2001:db8::1"],
        "TRUSTED_PROXIES": ["10.0.0.1"],
        "CONNECT_TIMEOUT": 3,
        "READ_TIMEOUT": 20.5,
        "AMOUNT_EXPONENTS": {"KRW": 0, "usd": 2},
        "PREAPPROVAL_FREQUENCY": "monthly",
    }
    assert Smart2PayBackend.check_options(options) == []
    backend = Smart2PayBackend(alias="smart2pay", options=options)
    assert backend.client.timeout == (3.0, 20.5)
    assert backend.provider_exponent("USD") == 2


def test_misconfigured_backend_refuses_to_call(rsps: responses.RequestsMock) -> None:
    backend = make_backend(ENVIRONMENT="production")
    with pytest.raises(ProviderConfigurationError, match="misconfigured"):
        backend.create_payment(payment_request())
    assert len(rsps.calls) == 0


def test_krw_scale_warning_until_krw_is_listed() -> None:
    [warning] = Smart2PayBackend.check_warnings(OPTIONS)
    assert "test environment" in warning
    assert "AMOUNT_EXPONENTS" in warning
    assert Smart2PayBackend.check_warnings({**OPTIONS, "AMOUNT_EXPONENTS": {"KRW": 0}}) == []
    assert Smart2PayBackend.check_warnings({**OPTIONS, "AMOUNT_EXPONENTS": {"krw": 2}}) == []


def test_system_checks_warn_about_the_krw_scale() -> None:
    with override_settings(KAKAOPAY=S2P_SETTINGS):
        messages = check_settings()
    assert [message.id for message in messages] == ["kakaopay.W001"]
    [warning] = messages
    assert warning.level == checks.WARNING
    assert "'smart2pay'" in warning.msg
    with override_settings(KAKAOPAY=settings_with(AMOUNT_EXPONENTS={"KRW": 0})):
        assert check_settings() == []


def test_system_checks_report_bad_options() -> None:
    with override_settings(KAKAOPAY=settings_with(ENVIRONMENT="prod", AMOUNT_EXPONENTS={"KRW": 0})):
        ids = [message.id for message in check_settings()]
    assert ids == ["kakaopay.E005"]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("John Doe", ("John", "Doe")),
        ("John Ronald Doe", ("John Ronald", "Doe")),
        ("Madonna", ("Madonna", "")),
        ("김민수", ("김민수", "")),
        ("김 민수", ("민수", "김")),
        ("남궁 민수", ("민수", "남궁")),
        ("  ", ("", "")),
    ],
)
def test_names_are_split_sensibly(name: str, expected: tuple[str, str]) -> None:
    assert split_name(name) == expected


def test_acknowledgement_is_204_without_a_body() -> None:
    backend = make_backend()
    for outcome in WebhookOutcome:
        ack = backend.acknowledge(outcome)
        assert (ack.status_code, ack.body) == (204, b"")


# -- conformance ---------------------------------------------------------------------------------


@pytest.mark.django_db
class TestSmart2PayConformance(BackendConformance):
    def make_backend(self) -> BaseBackend:
        return make_backend(AMOUNT_EXPONENTS={"KRW": 0})

    def signed_notification(self, backend: BaseBackend) -> tuple[bytes, dict[str, str]]:
        return SEED_PREAPPROVAL_NOTIFICATION, {
            "Content-Type": "application/json",
            "Authorization": SEED_AUTHORIZATION,
        }

    def arrange_create_payment(self, backend: BaseBackend, request: PaymentRequest) -> None:
        resource = payment_resource(
            payment_id=5101, reference=request.reference, amount=request.amount
        )
        responses.add(
            responses.POST,
            f"{TEST_BASE}/v1/payments",
            json={"Payment": resource},
            status=201,
        )

    def arrange_fetch_payment(self, backend: BaseBackend, ref: PaymentRef) -> None:
        resource = payment_resource(
            payment_id=int(ref.provider_payment_id),
            reference=ref.reference,
            status=2,
            amount=ref.amount,
        )
        responses.add(
            responses.GET,
            f"{TEST_BASE}/v1/payments/{ref.provider_payment_id}",
            json={"Payment": resource},
        )

    def test_sample_request_is_accepted(self) -> None:
        backend = self.make_backend()
        request = sample_payment_request()
        self.arrange_create_payment(backend, request)
        instruction = backend.create_payment(request)
        assert instruction.snapshot.reference == request.reference


def test_preapproval_without_redirect_url_is_unknown(rsps: responses.RequestsMock) -> None:
    body = json.loads(SEED_PREAPPROVAL_RESPONSE)
    body["Preapproval"]["RedirectURL"] = None
    rsps.add(responses.POST, f"{TEST_BASE}/v1/preapprovals", json=body, status=201)
    with pytest.raises(OutcomeUnknown, match="22276"):
        make_backend().create_preapproval(seed_preapproval_request())


def test_a_finished_payment_without_redirect_url_goes_to_the_return_view(
    rsps: responses.RequestsMock,
) -> None:
    add_payment_create(rsps, payment_resource(status=2, redirect=None))
    request = payment_request()
    instruction = make_backend().create_payment(request)
    assert instruction.url == request.return_url
    assert instruction.snapshot.status == PaymentStatus.PAID
