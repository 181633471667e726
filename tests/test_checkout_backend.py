"""The Checkout.com backend: the seed's requests replayed, statuses, webhooks, errors.

Every HTTP exchange is mocked with ``responses``. The seed bodies below are
Checkout.com's KakaoPay guide ("KakaoPay for Payment Setup API"), line for
line: the create request, the create response and the confirm response.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import responses
from django.core import checks
from django.test import Client, override_settings
from responses import matchers

from django_kakaopay import services
from django_kakaopay.backends.base import (
    BaseBackend,
    Capability,
    Customer,
    LineItem,
    PaymentRef,
    PaymentRequest,
    PaymentSnapshot,
    RefundRequest,
    RefundSnapshot,
    WebhookOutcome,
)
from django_kakaopay.backends.checkout import (
    CheckoutBackend,
    map_payment_status,
    sign_webhook,
)
from django_kakaopay.checks import check_settings
from django_kakaopay.exceptions import (
    MalformedWebhook,
    OutcomeUnknown,
    ProviderConfigurationError,
    ProviderError,
    ProviderRejected,
    WebhookAuthenticationError,
)
from django_kakaopay.models import Payment, Refund, StatusTransition, WebhookEvent
from django_kakaopay.status import PaymentStatus, RefundStatus
from django_kakaopay.testing import BackendConformance

# -- fake configuration (never real credentials) ---------------------------------

SECRET_KEY = "sk_sbox_fake_key_for_tests_only"
PRODUCTION_KEY = "sk_fake_production_key_for_tests"
CHANNEL = "pc_testchanneltestchanneltest"
PREFIX = "testpfx1"
SANDBOX_BASE = f"https://{PREFIX}.api.sandbox.checkout.com"
PRODUCTION_BASE = f"https://{PREFIX}.api.checkout.com"
KEY_ONE = "test-webhook-signature-key-one"
KEY_TWO = "test-webhook-signature-key-two"
WEBHOOK_AUTH = "test-webhook-authorization-value"

OPTIONS: dict[str, Any] = {
    "SECRET_KEY": SECRET_KEY,
    "PROCESSING_CHANNEL_ID": CHANNEL,
    "ENVIRONMENT": "sandbox",
    "SUBDOMAIN_PREFIX": PREFIX,
    "WEBHOOK_SIGNATURE_KEYS": [KEY_ONE],
}

# -- the seed, line for line ------------------------------------------------------

SEED_SETUP_REQUEST = b"""{
  "amount": 11000,
  "currency": "KRW",
  "reference": "ORD-5023-4E89",
  "customer": {
    "name": "Jia Tsang"
  },
  "order": {
    "items": [
      {
        "name": "Wireless headphones",
        "quantity": 1,
        "unit_price": 11000
      }
    ]
  },
  "payment_methods": {
    "kakaopay": {
      "terminal_type": "app",
      "os_type": "ios"
    }
  },
  "settings": {
    "success_url": "https://example.com/payments/success",
    "failure_url": "https://example.com/payments/failure"
  }
}"""

SEED_SETUP_RESPONSE = b"""{
  "id": "set_rcmepwrchqab2wsergcafvijfy",
  "processing_channel_id": "pc_wzjki6hw5puepb5fnvqlizj2e4",
  "amount": 11000,
  "currency": "KRW",
  "payment_type": "Regular",
  "reference": "ORD-5023-4E89",
  "description": "KakaoPay payment",
  "payment_methods": {
    "kakaopay": {
      "status": "ready",
      "flags": []
    }
  },
  "available_payment_methods": [
    "kakaopay"
  ],
  "settings": {
    "success_url": "https://example.com/payments/success",
    "failure_url": "https://example.com/payments/failure"
  }
}"""

SEED_CONFIRM_RESPONSE = b"""{
  "id": "pay_sxzrgliy2w3e5gpnby3chlswwq",
  "status": "Pending",
  "reference": "ORD-5023-4E89",
  "customer": {
    "id": "cus_2g4ehcpm6phexgkzahlwxvbgne"
  },
  "_links": {
    "self": {
      "href": "https://{prefix}.api.checkout.com/payments/pay_sxzrgliy2w3e5gpnby3chlswwq"
    },
    "redirect": {
      "href": "https://psp.ac.alipay.com/page/simulation-wallet/acwallet/alipayconnectcode.html?code=281666040095AHvh5AIKT0a3kv8X6Zzv3kiv&pspName=KAKAOPAY&loadMode=2"
    }
  }
}"""

SETUP_ID = "set_rcmepwrchqab2wsergcafvijfy"
PAY_ID = "pay_sxzrgliy2w3e5gpnby3chlswwq"
REFERENCE = "ORD-5023-4E89"
REDIRECT = (
    "https://psp.ac.alipay.com/page/simulation-wallet/acwallet/alipayconnectcode.html"
    "?code=281666040095AHvh5AIKT0a3kv8X6Zzv3kiv&pspName=KAKAOPAY&loadMode=2"
)
RETURN_URL = "https://shop.example/kakaopay/return/test-token/"
JSON = "application/json"

CHECKOUT_SETTINGS: dict[str, Any] = {
    "DEFAULT_BACKEND": "checkout",
    "BACKENDS": {
        "sandbox": {
            "BACKEND": "django_kakaopay.backends.sandbox.SandboxBackend",
            "OPTIONS": {"MERCHANT_NAME": "Test shop", "ALLOW_WITHOUT_DEBUG": True},
        },
        "checkout": {
            "BACKEND": "django_kakaopay.backends.checkout.CheckoutBackend",
            "OPTIONS": {**OPTIONS, "OS_TYPE": "ios"},
        },
    },
    "SITE_URL": "http://testserver",
}


# -- helpers ------------------------------------------------------------------------


def make_backend(base: str = "sandbox", **overrides: Any) -> CheckoutBackend:
    options = {**OPTIONS, "ENVIRONMENT": base, **overrides}
    options = {key: value for key, value in options.items() if value is not None}
    return CheckoutBackend(alias="checkout", options=options)


def seed_request(**overrides: Any) -> PaymentRequest:
    values: dict[str, Any] = {
        "reference": REFERENCE,
        "amount": 11000,
        "currency": "KRW",
        "idempotency_key": "test-idempotency-key-0001",
        "return_url": RETURN_URL,
        "notification_url": "https://shop.example/kakaopay/webhooks/checkout/",
        "description": "KakaoPay payment",
        "items": (LineItem(name="Wireless headphones", quantity=1, unit_price=11000),),
        "customer": Customer(name="Jia Tsang"),
        "terminal_type": "app",
        "os_type": "ios",
    }
    values.update(overrides)
    return PaymentRequest(**values)


def add_seed_create(
    rsps: responses.RequestsMock,
    base: str = SANDBOX_BASE,
    *,
    setup: bytes = SEED_SETUP_RESPONSE,
    confirm: bytes = SEED_CONFIRM_RESPONSE,
) -> None:
    rsps.add(responses.POST, f"{base}/payments/setups", body=setup, status=200, content_type=JSON)
    rsps.add(
        responses.POST,
        f"{base}/payments/setups/{SETUP_ID}/confirm/kakaopay",
        body=confirm,
        status=202,
        content_type=JSON,
    )


def payment_json(status: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": PAY_ID,
        "requested_on": "2026-11-23T01:00:00Z",
        "amount": 11000,
        "currency": "KRW",
        "payment_type": "Regular",
        "reference": REFERENCE,
        "status": status,
        "approved": status not in ("Declined", "Canceled", "Expired"),
        "balances": {"total_refunded": 0},
        "_links": {"self": {"href": f"{SANDBOX_BASE}/payments/{PAY_ID}"}},
        **extra,
    }


def add_get_payment(
    rsps: responses.RequestsMock, status: str, base: str = SANDBOX_BASE, **extra: Any
) -> None:
    rsps.add(responses.GET, f"{base}/payments/{PAY_ID}", json=payment_json(status, **extra))


def cko_event(
    event_type: str,
    *,
    event_id: str | None = None,
    created_on: str = "2026-11-23T01:05:00Z",
    time_key: str = "created_on",
    **data: Any,
) -> bytes:
    payload: dict[str, Any] = {
        "id": event_id or f"evt_test_{event_type}",
        "type": event_type,
        "version": "1.0.43",
        time_key: created_on,
        "data": {
            "id": PAY_ID,
            "action_id": "act_test_payment_action",
            "reference": REFERENCE,
            "amount": 11000,
            "currency": "KRW",
            "response_code": "10000",
            "response_summary": "Approved",
            **data,
        },
        "_links": {"self": {"href": f"{SANDBOX_BASE}/workflows/events/evt_x"}},
    }
    return json.dumps(payload).encode()


def signed(body: bytes, key: str = KEY_ONE, **extra: str) -> dict[str, str]:
    return {"Cko-Signature": sign_webhook(key, body), **extra}


def post_webhook(client: Client, body: bytes, headers: dict[str, str]) -> Any:
    return client.post("/kakaopay/webhooks/checkout/", body, content_type=JSON, headers=headers)


def sent_json(call: Any) -> Any:
    body = call.request.body
    return json.loads(body) if body else None


# -- fixtures -------------------------------------------------------------------------


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def checkout_settings() -> Iterator[dict[str, Any]]:
    with override_settings(KAKAOPAY=CHECKOUT_SETTINGS):
        yield CHECKOUT_SETTINGS


def new_payment(**overrides: Any) -> Payment:
    values: dict[str, Any] = {
        "amount": 11000,
        "currency": "KRW",
        "reference": REFERENCE,
        "description": "KakaoPay payment",
        "items": [{"name": "Wireless headphones", "quantity": 1, "unit_price": 11000}],
        "customer": {"name": "Jia Tsang"},
        "backend": "checkout",
        "terminal_type": "app",
    }
    values.update(overrides)
    return services.create_payment(**values)


@pytest.fixture
def started(checkout_settings: dict[str, Any], rsps: responses.RequestsMock) -> Payment:
    """A payment started through the services layer with the seed's answers."""
    add_seed_create(rsps)
    payment = services.start_payment(new_payment())
    assert payment.status == PaymentStatus.PENDING
    rsps.reset()
    return payment


@pytest.fixture
def paid(started: Payment, client: Client) -> Payment:
    body = cko_event("payment_captured", created_on="2026-11-23T01:10:00Z")
    assert post_webhook(client, body, signed(body)).status_code == 200
    started.refresh_from_db()
    assert started.status == PaymentStatus.PAID
    return started


def refund_via_services(
    rsps: responses.RequestsMock, payment: Payment, amount: int, action_id: str
) -> Refund:
    rsps.add(
        responses.POST,
        f"{SANDBOX_BASE}/payments/{PAY_ID}/refunds",
        json={"action_id": action_id, "reference": "echo", "_links": {}},
        status=202,
    )
    refund = services.request_refund(payment, amount, reason="test")
    assert refund.status == RefundStatus.PENDING
    assert refund.provider_refund_id == action_id
    return refund


# == the seed, replayed =====================================================================


def test_seed_request_and_answers_are_replayed_exactly(rsps: responses.RequestsMock) -> None:
    backend = make_backend("production", SECRET_KEY=PRODUCTION_KEY)
    add_seed_create(rsps, PRODUCTION_BASE)

    instruction = backend.create_payment(seed_request())

    create, confirm = rsps.calls
    assert create.request.method == "POST"
    assert create.request.url == f"{PRODUCTION_BASE}/payments/setups"
    expected = json.loads(SEED_SETUP_REQUEST)
    # Fields the seed leaves out that we always send, and our return view as both URLs.
    expected["description"] = "KakaoPay payment"
    expected["processing_channel_id"] = CHANNEL
    expected["settings"] = {"success_url": RETURN_URL, "failure_url": RETURN_URL}
    assert sent_json(create) == expected
    assert create.request.headers["Cko-Idempotency-Key"] == "test-idempotency-key-0001"
    assert create.request.headers["Authorization"] == f"Bearer {PRODUCTION_KEY}"
    assert create.request.headers["Content-Type"] == JSON

    assert confirm.request.url == f"{PRODUCTION_BASE}/payments/setups/{SETUP_ID}/confirm/kakaopay"
    assert not confirm.request.body
    assert confirm.request.headers["Cko-Idempotency-Key"] == "test-idempotency-key-0001:confirm"
    assert confirm.request.headers["Authorization"] == f"Bearer {PRODUCTION_KEY}"

    assert instruction.url == REDIRECT
    snapshot = instruction.snapshot
    assert snapshot.provider_session_id == SETUP_ID
    assert snapshot.provider_payment_id == PAY_ID
    assert snapshot.status == PaymentStatus.PENDING
    assert snapshot.provider_status == "Pending"
    assert (snapshot.amount, snapshot.currency, snapshot.reference) == (11000, "KRW", REFERENCE)
    assert snapshot.raw["confirm"]["customer"]["id"] == "cus_2g4ehcpm6phexgkzahlwxvbgne"
    assert snapshot.raw["setup"]["payment_methods"]["kakaopay"]["status"] == "ready"


def test_seed_fields_are_all_sent_with_seed_values(rsps: responses.RequestsMock) -> None:
    add_seed_create(rsps)
    make_backend().create_payment(seed_request())
    sent = sent_json(rsps.calls[0])
    seed = json.loads(SEED_SETUP_REQUEST)
    for field in ("amount", "currency", "reference", "customer", "order", "payment_methods"):
        assert sent[field] == seed[field], field
    assert isinstance(sent["amount"], int)  # KRW: whole won, no x100


def test_sandbox_and_production_base_urls(rsps: responses.RequestsMock) -> None:
    assert make_backend("sandbox").base_url == "https://testpfx1.api.sandbox.checkout.com"
    assert make_backend("production", SECRET_KEY=PRODUCTION_KEY).base_url == (
        "https://testpfx1.api.checkout.com"
    )
    add_seed_create(rsps, SANDBOX_BASE)
    assert make_backend().create_payment(seed_request()).url == REDIRECT


def test_return_urls_are_not_stored_in_the_provider_payload(rsps: responses.RequestsMock) -> None:
    add_seed_create(rsps)
    raw = make_backend().create_payment(seed_request()).snapshot.raw
    assert "success_url" not in json.dumps(raw)
    assert "failure_url" not in json.dumps(raw)


def test_optional_customer_billing_and_item_fields(rsps: responses.RequestsMock) -> None:
    add_seed_create(rsps)
    request = seed_request(
        customer=Customer(
            name="Jia Tsang", email="jia@example.com", phone="010-1234-5678", country="kr"
        ),
        items=(
            LineItem(name="Wireless headphones", quantity=1, unit_price=10000, reference="SKU-1"),
            LineItem(name="Cable", quantity=2, unit_price=500),
        ),
        terminal_type="web",
    )
    make_backend().create_payment(request)
    sent = sent_json(rsps.calls[0])
    assert sent["customer"] == {
        "name": "Jia Tsang",
        "email": {"address": "jia@example.com"},
        "phone": {"number": "01012345678"},
    }
    assert sent["billing"] == {"address": {"country": "KR"}}
    assert sent["order"]["items"] == [
        {"name": "Wireless headphones", "quantity": 1, "unit_price": 10000, "reference": "SKU-1"},
        {"name": "Cable", "quantity": 2, "unit_price": 500},
    ]
    assert sent["payment_methods"] == {"kakaopay": {"terminal_type": "web"}}


def test_international_phone_numbers(rsps: responses.RequestsMock) -> None:
    backend = make_backend()
    assert backend._customer(Customer(phone="+82 10-1234-5678")) == {
        "phone": {"country_code": "+82", "number": "1012345678"}
    }
    # A country code of unknown length is not guessed: the phone is left out.
    assert backend._customer(Customer(phone="+44 20 7946 0000")) == {}
    assert backend._customer(Customer(phone="123")) == {}


def test_payment_without_items_is_sent_as_one_line(rsps: responses.RequestsMock) -> None:
    add_seed_create(rsps)
    make_backend().create_payment(seed_request(items=(), customer=Customer()))
    sent = sent_json(rsps.calls[0])
    assert sent["order"] == {
        "items": [{"name": "KakaoPay payment", "quantity": 1, "unit_price": 11000}]
    }
    assert "customer" not in sent
    assert "billing" not in sent


# == terminal and OS types ================================================================


@pytest.mark.parametrize(
    ("option_terminal", "option_os", "request_terminal", "request_os", "expected"),
    [
        ("web", None, "web", "", {"terminal_type": "web"}),
        ("web", None, "app", "ios", {"terminal_type": "app", "os_type": "ios"}),
        ("web", "android", "wap", "", {"terminal_type": "wap", "os_type": "android"}),
        ("web", "android", "wap", "ios", {"terminal_type": "wap", "os_type": "ios"}),
        # No OS known for a mobile browser: KakaoPay's PC page works on any device.
        ("web", None, "wap", "", {"terminal_type": "web"}),
        # The option is the default when the request carries none (or an unknown one).
        ("app", "android", "", "", {"terminal_type": "app", "os_type": "android"}),
        ("wap", "ios", "pc", "", {"terminal_type": "wap", "os_type": "ios"}),
        ("web", "ios", "WEB", "", {"terminal_type": "web"}),
    ],
)
def test_terminal_and_os_type(
    rsps: responses.RequestsMock,
    option_terminal: str,
    option_os: str | None,
    request_terminal: str,
    request_os: str,
    expected: dict[str, str],
) -> None:
    add_seed_create(rsps)
    backend = make_backend(TERMINAL_TYPE=option_terminal, OS_TYPE=option_os)
    backend.create_payment(seed_request(terminal_type=request_terminal, os_type=request_os))
    assert sent_json(rsps.calls[0])["payment_methods"] == {"kakaopay": expected}


def test_app_payment_without_any_os_type_is_a_configuration_error(
    rsps: responses.RequestsMock,
) -> None:
    with pytest.raises(ProviderConfigurationError, match="OS_TYPE"):
        make_backend().create_payment(seed_request(terminal_type="app", os_type=""))
    assert len(rsps.calls) == 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("os_option", "user_agent", "expected"),
    [
        (None, "Mozilla/5.0 (Windows NT 10.0; Win64; x64)", {"terminal_type": "web"}),
        ("ios", "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0) Mobile/15E148", None),
        # No OS_TYPE option: the OS comes from the user agent.
        (None, "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0) Mobile/15E148", None),
        (
            None,
            "Mozilla/5.0 (Linux; Android 15; SM-S921N) Mobile Safari/537.36",
            {"terminal_type": "wap", "os_type": "android"},
        ),
    ],
)
def test_checkout_view_picks_the_terminal_from_the_user_agent(
    rsps: responses.RequestsMock,
    client: Client,
    os_option: str | None,
    user_agent: str,
    expected: dict[str, str] | None,
) -> None:
    options = {**OPTIONS, **({"OS_TYPE": os_option} if os_option else {})}
    config = {
        **CHECKOUT_SETTINGS,
        "BACKENDS": {
            "checkout": {
                "BACKEND": "django_kakaopay.backends.checkout.CheckoutBackend",
                "OPTIONS": options,
            }
        },
    }
    with override_settings(KAKAOPAY=config):
        add_seed_create(rsps)
        payment = new_payment(terminal_type=None)
        response = client.get(
            f"/kakaopay/checkout/{payment.return_token}/", headers={"User-Agent": user_agent}
        )
    assert response.status_code == 302
    assert response["Location"] == REDIRECT
    sent = sent_json(rsps.calls[0])
    assert sent["payment_methods"]["kakaopay"] == (
        expected or {"terminal_type": "wap", "os_type": "ios"}
    )
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PENDING
    assert payment.provider_payment_id == PAY_ID
    assert payment.provider_session_id == SETUP_ID


# == confirm response shapes ===============================================================


def test_confirm_answering_the_setup_with_latest_payment(rsps: responses.RequestsMock) -> None:
    confirm = {
        **json.loads(SEED_SETUP_RESPONSE),
        "latest_payment": {
            "id": PAY_ID,
            "status": "Pending",
            "_links": {"redirect": {"href": "https://kakaopay.example/latest"}},
        },
        "_links": {"redirect": {"href": "https://kakaopay.example/top-level-not-used"}},
    }
    add_seed_create(rsps, confirm=json.dumps(confirm).encode())
    instruction = make_backend().create_payment(seed_request())
    assert instruction.url == "https://kakaopay.example/latest"
    assert instruction.snapshot.provider_payment_id == PAY_ID
    assert instruction.snapshot.provider_session_id == SETUP_ID
    assert len(rsps.calls) == 2


def test_confirm_with_latest_payment_but_top_level_link(rsps: responses.RequestsMock) -> None:
    confirm = {
        "id": SETUP_ID,
        "latest_payment": {"id": PAY_ID, "status": "Pending"},
        "_links": {"redirect": {"href": "https://kakaopay.example/top-level"}},
    }
    add_seed_create(rsps, confirm=json.dumps(confirm).encode())
    instruction = make_backend().create_payment(seed_request())
    assert instruction.url == "https://kakaopay.example/top-level"
    assert instruction.snapshot.provider_payment_id == PAY_ID


def test_confirm_without_a_link_gets_the_payment(rsps: responses.RequestsMock) -> None:
    confirm = {"id": PAY_ID, "status": "Pending", "reference": REFERENCE}
    add_seed_create(rsps, confirm=json.dumps(confirm).encode())
    add_get_payment(rsps, "Pending", _links={"redirect": {"href": "https://kakaopay.example/got"}})
    instruction = make_backend().create_payment(seed_request())
    assert instruction.url == "https://kakaopay.example/got"
    assert rsps.calls[2].request.url == f"{SANDBOX_BASE}/payments/{PAY_ID}"
    assert instruction.snapshot.provider_payment_id == PAY_ID
    assert instruction.snapshot.raw["payment"]["id"] == PAY_ID


def test_confirm_setup_shape_without_a_link_gets_the_latest_payment(
    rsps: responses.RequestsMock,
) -> None:
    confirm = {"id": SETUP_ID, "latest_payment": {"id": PAY_ID, "status": "Pending"}}
    add_seed_create(rsps, confirm=json.dumps(confirm).encode())
    add_get_payment(rsps, "Pending", _links={"redirect": {"href": "https://kakaopay.example/got"}})
    assert make_backend().create_payment(seed_request()).url == "https://kakaopay.example/got"


def test_no_link_anywhere_leaves_the_outcome_unknown(rsps: responses.RequestsMock) -> None:
    add_seed_create(rsps, confirm=json.dumps({"id": PAY_ID, "status": "Pending"}).encode())
    add_get_payment(rsps, "Pending")
    with pytest.raises(OutcomeUnknown, match=SETUP_ID):
        make_backend().create_payment(seed_request())


def test_confirm_without_any_payment_id_or_link_is_unknown(rsps: responses.RequestsMock) -> None:
    add_seed_create(rsps, confirm=json.dumps({"id": SETUP_ID}).encode())
    with pytest.raises(OutcomeUnknown):
        make_backend().create_payment(seed_request())
    assert len(rsps.calls) == 2


def test_confirm_declined_at_once_is_rejected(rsps: responses.RequestsMock) -> None:
    confirm = {
        "id": PAY_ID,
        "status": "Declined",
        "response_code": "20005",
        "response_summary": "Declined - Do Not Honour",
    }
    add_seed_create(rsps, confirm=json.dumps(confirm).encode())
    with pytest.raises(ProviderRejected, match="Declined") as excinfo:
        make_backend().create_payment(seed_request())
    assert excinfo.value.codes == ("20005",)


@pytest.mark.parametrize("status", [201, 200])
def test_setup_created_answer_codes(rsps: responses.RequestsMock, status: int) -> None:
    rsps.add(
        responses.POST, f"{SANDBOX_BASE}/payments/setups", body=SEED_SETUP_RESPONSE, status=status
    )
    rsps.add(
        responses.POST,
        f"{SANDBOX_BASE}/payments/setups/{SETUP_ID}/confirm/kakaopay",
        body=SEED_CONFIRM_RESPONSE,
        status=201,
    )
    assert make_backend().create_payment(seed_request()).url == REDIRECT


# == the KakaoPay method must be ready ===================================================


@pytest.mark.parametrize(
    ("method", "fragment"),
    [
        (
            {"status": "action_required", "flags": ["customer_email_required", "billing_missing"]},
            "customer_email_required, billing_missing",
        ),
        ({"status": "unavailable", "flags": []}, "unavailable"),
        ({"status": "invalid", "flags": ["currency_not_supported"]}, "currency_not_supported"),
        ({"status": "pending"}, "pending"),
    ],
)
def test_a_method_that_is_not_ready_is_not_confirmed(
    rsps: responses.RequestsMock, method: dict[str, Any], fragment: str
) -> None:
    setup = {**json.loads(SEED_SETUP_RESPONSE), "payment_methods": {"kakaopay": method}}
    add_seed_create(rsps, setup=json.dumps(setup).encode())
    with pytest.raises(ProviderRejected, match=fragment) as excinfo:
        make_backend().create_payment(seed_request())
    assert excinfo.value.codes == tuple(method.get("flags", ()))
    assert len(rsps.calls) == 1, "confirm must not be called"


def test_kakaopay_missing_from_the_setup_is_rejected(rsps: responses.RequestsMock) -> None:
    setup = {
        **json.loads(SEED_SETUP_RESPONSE),
        "payment_methods": {"card": {"status": "ready"}},
        "available_payment_methods": ["card"],
    }
    add_seed_create(rsps, setup=json.dumps(setup).encode())
    with pytest.raises(ProviderRejected, match="account manager"):
        make_backend().create_payment(seed_request())
    assert len(rsps.calls) == 1


@pytest.mark.django_db
def test_a_method_not_ready_fails_the_payment_with_the_flags(
    checkout_settings: dict[str, Any], rsps: responses.RequestsMock
) -> None:
    setup = {
        **json.loads(SEED_SETUP_RESPONSE),
        "payment_methods": {
            "kakaopay": {"status": "action_required", "flags": ["os_type_missing"]}
        },
    }
    add_seed_create(rsps, setup=json.dumps(setup).encode())
    payment = services.start_payment(new_payment())
    assert payment.status == PaymentStatus.FAILED
    assert "os_type_missing" in payment.last_error
    assert not payment.redirect_url


# == pulling the state ======================================================================


@pytest.mark.parametrize(
    ("provider_status", "ours"),
    [
        ("Pending", PaymentStatus.PENDING),
        ("Authorized", PaymentStatus.PENDING),
        ("Captured", PaymentStatus.PAID),
        ("Paid", PaymentStatus.PAID),
        ("Declined", PaymentStatus.FAILED),
        ("Canceled", PaymentStatus.CANCELED),
        ("Voided", PaymentStatus.CANCELED),
        ("Expired", PaymentStatus.EXPIRED),
        ("Partially Refunded", PaymentStatus.PARTIALLY_REFUNDED),
        ("Refunded", PaymentStatus.REFUNDED),
        ("Card Verified", None),
        ("Partially Captured", None),
        ("Something New", None),
        ("", None),
    ],
)
def test_status_mapping(
    rsps: responses.RequestsMock, provider_status: str, ours: str | None
) -> None:
    refunded = {"Partially Refunded": 4000, "Refunded": 11000}.get(provider_status, 0)
    add_get_payment(rsps, provider_status, balances={"total_refunded": refunded})
    snapshot = make_backend().fetch_payment(
        PaymentRef(REFERENCE, 11000, "KRW", provider_payment_id=PAY_ID)
    )
    assert snapshot.status == ours
    assert snapshot.provider_status == provider_status
    assert snapshot.raw["status"] == provider_status, "the raw payload is kept"
    assert snapshot.refunded_amount == refunded
    assert (snapshot.amount, snapshot.currency) == (11000, "KRW")
    assert snapshot.occurred_at is None, "a pull carries no event time"
    assert map_payment_status(provider_status.upper()) == ours


def test_partially_refunded_without_balances_only_says_paid(rsps: responses.RequestsMock) -> None:
    data = payment_json("Partially Refunded")
    del data["balances"]
    rsps.add(responses.GET, f"{SANDBOX_BASE}/payments/{PAY_ID}", json=data)
    snapshot = make_backend().fetch_payment(
        PaymentRef(REFERENCE, 11000, "KRW", provider_payment_id=PAY_ID)
    )
    assert snapshot.status == PaymentStatus.PAID
    assert snapshot.refunded_amount is None


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("provider_status", "total_refunded", "ours", "refunded"),
    [
        ("Pending", 0, PaymentStatus.PENDING, 0),
        ("Captured", 0, PaymentStatus.PAID, 0),
        ("Paid", 0, PaymentStatus.PAID, 0),
        ("Declined", 0, PaymentStatus.FAILED, 0),
        ("Canceled", 0, PaymentStatus.CANCELED, 0),
        ("Expired", 0, PaymentStatus.EXPIRED, 0),
        ("Partially Refunded", 3000, PaymentStatus.PARTIALLY_REFUNDED, 3000),
        ("Refunded", 11000, PaymentStatus.REFUNDED, 11000),
        ("Something New", 0, PaymentStatus.PENDING, 0),
    ],
)
def test_sync_applies_each_status(
    started: Payment,
    rsps: responses.RequestsMock,
    provider_status: str,
    total_refunded: int,
    ours: str,
    refunded: int,
) -> None:
    add_get_payment(rsps, provider_status, balances={"total_refunded": total_refunded})
    services.sync_payment(started)
    started.refresh_from_db()
    assert started.status == ours
    assert started.refunded_amount == refunded
    assert started.provider_status == provider_status
    assert started.provider_payload is not None
    assert started.provider_payload["status"] == provider_status


@pytest.mark.django_db
def test_return_view_pulls_the_truth(
    started: Payment, rsps: responses.RequestsMock, client: Client
) -> None:
    add_get_payment(rsps, "Captured")
    # The query string is ignored: only the pull counts.
    response = client.get(f"/kakaopay/return/{started.return_token}/?status=failed")
    assert response.status_code == 200
    started.refresh_from_db()
    assert started.status == PaymentStatus.PAID
    assert rsps.calls[0].request.url == f"{SANDBOX_BASE}/payments/{PAY_ID}"


def test_fetch_by_setup_id_uses_latest_payment(rsps: responses.RequestsMock) -> None:
    rsps.add(
        responses.GET,
        f"{SANDBOX_BASE}/payments/setups/{SETUP_ID}",
        json={**json.loads(SEED_SETUP_RESPONSE), "latest_payment": {"id": PAY_ID}},
    )
    add_get_payment(rsps, "Captured")
    snapshot = make_backend().fetch_payment(
        PaymentRef(REFERENCE, 11000, "KRW", provider_session_id=SETUP_ID)
    )
    assert snapshot.status == PaymentStatus.PAID
    assert snapshot.provider_payment_id == PAY_ID
    assert snapshot.provider_session_id == SETUP_ID


def test_fetch_by_setup_without_payment_falls_back_to_reference(
    rsps: responses.RequestsMock,
) -> None:
    rsps.add(
        responses.GET,
        f"{SANDBOX_BASE}/payments/setups/{SETUP_ID}",
        body=SEED_SETUP_RESPONSE,
        content_type=JSON,
    )
    rsps.add(
        responses.GET,
        f"{SANDBOX_BASE}/payments",
        match=[matchers.query_param_matcher({"reference": REFERENCE})],
        json={"limit": 10, "skip": 0, "total_count": 1, "data": [payment_json("Pending")]},
    )
    add_get_payment(rsps, "Pending")
    snapshot = make_backend().fetch_payment(
        PaymentRef(REFERENCE, 11000, "KRW", provider_payment_id=SETUP_ID)
    )
    assert snapshot.status == PaymentStatus.PENDING
    assert snapshot.provider_payment_id == PAY_ID
    assert snapshot.provider_session_id == SETUP_ID


def test_fetch_by_reference_prefers_the_payment_that_took_money(
    rsps: responses.RequestsMock,
) -> None:
    newer_expired = {
        **payment_json("Expired"),
        "id": "pay_newerexpired",
        "requested_on": "2026-11-23T02:00:00Z",
    }
    other_reference = {**payment_json("Captured"), "id": "pay_other", "reference": "ORD-OTHER"}
    rsps.add(
        responses.GET,
        f"{SANDBOX_BASE}/payments",
        match=[matchers.query_param_matcher({"reference": REFERENCE})],
        json=[newer_expired, other_reference, payment_json("Captured")],
    )
    add_get_payment(rsps, "Captured")
    snapshot = make_backend().fetch_payment(PaymentRef(REFERENCE, 11000, "KRW"))
    assert snapshot.provider_payment_id == PAY_ID
    assert snapshot.status == PaymentStatus.PAID


def test_fetch_by_reference_with_no_match_is_not_found(rsps: responses.RequestsMock) -> None:
    rsps.add(
        responses.GET,
        f"{SANDBOX_BASE}/payments/setups/{SETUP_ID}",
        status=404,
        json={"request_id": "req_1"},
    )
    rsps.add(responses.GET, f"{SANDBOX_BASE}/payments", json={"data": []})
    with pytest.raises(ProviderRejected, match=REFERENCE) as excinfo:
        make_backend().fetch_payment(
            PaymentRef(REFERENCE, 11000, "KRW", provider_session_id=SETUP_ID)
        )
    assert excinfo.value.status_code == 404


# == refunds ==================================================================================


@pytest.mark.parametrize("amount", [11000, 3000])
def test_refund_request(rsps: responses.RequestsMock, amount: int) -> None:
    rsps.add(
        responses.POST,
        f"{SANDBOX_BASE}/payments/{PAY_ID}/refunds",
        json={
            "action_id": "act_test_refund_1",
            "reference": "rf_test",
            "_links": {"payment": {"href": f"{SANDBOX_BASE}/payments/{PAY_ID}"}},
        },
        status=202,
    )
    snapshot = make_backend().refund_payment(
        RefundRequest(
            payment=PaymentRef(REFERENCE, 11000, "KRW", provider_payment_id=PAY_ID),
            reference="rf_test",
            amount=amount,
            idempotency_key="refund-key-1",
        )
    )
    call = rsps.calls[0]
    assert sent_json(call) == {"amount": amount, "reference": "rf_test"}
    assert call.request.headers["Cko-Idempotency-Key"] == "refund-key-1"
    assert isinstance(snapshot, RefundSnapshot)
    assert snapshot.status in (None, RefundStatus.PENDING)
    assert snapshot.provider_refund_id == "act_test_refund_1"
    assert snapshot.reference == "rf_test"
    assert snapshot.provider_payment_id == PAY_ID
    assert snapshot.payment_reference == REFERENCE


def test_refund_of_a_payment_known_only_by_reference(rsps: responses.RequestsMock) -> None:
    rsps.add(responses.GET, f"{SANDBOX_BASE}/payments", json={"data": [payment_json("Captured")]})
    add_get_payment(rsps, "Captured")
    rsps.add(
        responses.POST,
        f"{SANDBOX_BASE}/payments/{PAY_ID}/refunds",
        json={"action_id": "act_r"},
        status=202,
    )
    snapshot = make_backend().refund_payment(
        RefundRequest(PaymentRef(REFERENCE, 11000, "KRW"), "rf_x", 1000, "refund-key-2")
    )
    assert snapshot.provider_refund_id == "act_r"
    assert snapshot.provider_payment_id == PAY_ID


@pytest.mark.django_db
def test_refund_through_services_stays_pending_until_settled(
    paid: Payment, rsps: responses.RequestsMock
) -> None:
    refund = refund_via_services(rsps, paid, 3000, "act_test_refund_1")
    assert sent_json(rsps.calls[0]) == {"amount": 3000, "reference": refund.reference}
    assert rsps.calls[0].request.headers["Cko-Idempotency-Key"] == refund.idempotency_key
    paid.refresh_from_db()
    assert paid.status == PaymentStatus.PAID
    assert paid.refunded_amount == 0


@pytest.mark.django_db
def test_refund_rejected_with_422_fails_the_refund(
    paid: Payment, rsps: responses.RequestsMock
) -> None:
    rsps.add(
        responses.POST,
        f"{SANDBOX_BASE}/payments/{PAY_ID}/refunds",
        json={
            "request_id": "req_r",
            "error_type": "request_invalid",
            "error_codes": ["amount_invalid"],
        },
        status=422,
    )
    refund = services.request_refund(paid, 3000)
    assert refund.status == RefundStatus.FAILED
    assert "amount_invalid" in refund.last_error


@pytest.mark.django_db
def test_refund_timeout_leaves_it_pending_for_reconciliation(
    paid: Payment, rsps: responses.RequestsMock
) -> None:
    rsps.add(
        responses.POST,
        f"{SANDBOX_BASE}/payments/{PAY_ID}/refunds",
        body=requests.exceptions.ReadTimeout("read timed out"),
    )
    refund = services.request_refund(paid, 3000)
    refund.refresh_from_db()
    assert refund.status == RefundStatus.PENDING
    assert refund.needs_reconciliation


# == webhooks: authentication ================================================================


def test_signature_vectors() -> None:
    body = b'{"id":"evt_1","type":"payment_paid"}'
    # hex HMAC-SHA256 of the raw body
    assert sign_webhook("key", body) == hmac.new(b"key", body, hashlib.sha256).hexdigest()
    backend = make_backend(WEBHOOK_SIGNATURE_KEYS=[KEY_ONE, KEY_TWO])
    backend.verify_webhook(body, signed(body, KEY_ONE))
    backend.verify_webhook(body, signed(body, KEY_TWO))
    backend.verify_webhook(body, {"cko-signature": sign_webhook(KEY_ONE, body).upper()})
    with pytest.raises(WebhookAuthenticationError, match="does not match"):
        backend.verify_webhook(body, signed(body, "some-other-key"))
    with pytest.raises(WebhookAuthenticationError, match="does not match"):
        backend.verify_webhook(body + b" ", signed(body, KEY_ONE))
    with pytest.raises(WebhookAuthenticationError, match="missing"):
        backend.verify_webhook(body, {"Content-Type": JSON})
    with pytest.raises(WebhookAuthenticationError, match="does not match"):
        backend.verify_webhook(body, {"Cko-Signature": "not-hex-at-all-é"})


def test_known_hmac_vector() -> None:
    # RFC 4231 test case 2 ("Jefe" / "what do ya want for nothing?").
    assert sign_webhook("Jefe", b"what do ya want for nothing?") == (
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    )


def test_no_signature_keys_rejects_everything() -> None:
    backend = make_backend(WEBHOOK_SIGNATURE_KEYS=[])
    assert not backend.has_webhook_credentials()
    body = cko_event("payment_paid")
    with pytest.raises(WebhookAuthenticationError, match="WEBHOOK_SIGNATURE_KEYS"):
        backend.verify_webhook(body, signed(body))


def test_authorization_header_is_checked_when_configured() -> None:
    backend = make_backend(WEBHOOK_AUTHORIZATION=WEBHOOK_AUTH)
    body = cko_event("payment_paid")
    backend.verify_webhook(body, signed(body, Authorization=WEBHOOK_AUTH))
    with pytest.raises(WebhookAuthenticationError, match="Authorization header does not match"):
        backend.verify_webhook(body, signed(body, Authorization="wrong-value"))
    with pytest.raises(WebhookAuthenticationError, match="Authorization header is missing"):
        backend.verify_webhook(body, signed(body))
    # A right Authorization header does not excuse a wrong signature.
    with pytest.raises(WebhookAuthenticationError, match="Cko-Signature"):
        backend.verify_webhook(body, signed(body, "wrong-key", Authorization=WEBHOOK_AUTH))


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("keys", "authorization", "make_headers", "tamper", "expected"),
    [
        ([KEY_ONE], None, lambda b: signed(b), False, 200),
        ([KEY_ONE], None, lambda b: signed(b, "wrong-key"), False, 401),
        ([KEY_ONE, KEY_TWO], None, lambda b: signed(b, KEY_TWO), False, 200),
        ([KEY_TWO], None, lambda b: signed(b, KEY_ONE), False, 401),
        ([KEY_ONE], None, lambda b: signed(b), True, 401),
        ([KEY_ONE], None, lambda b: {}, False, 401),
        ([KEY_ONE], WEBHOOK_AUTH, lambda b: signed(b, Authorization=WEBHOOK_AUTH), False, 200),
        ([KEY_ONE], WEBHOOK_AUTH, lambda b: signed(b, Authorization="Bearer nope"), False, 401),
        ([KEY_ONE], WEBHOOK_AUTH, lambda b: signed(b), False, 401),
    ],
    ids=[
        "valid",
        "wrong-key",
        "rotated-second-key",
        "old-key-removed",
        "tampered-body",
        "missing-header",
        "authorization-ok",
        "authorization-mismatch",
        "authorization-missing",
    ],
)
def test_webhook_view_authentication(
    started: Payment,
    client: Client,
    keys: list[str],
    authorization: str | None,
    make_headers: Any,
    tamper: bool,
    expected: int,
) -> None:
    options = {**OPTIONS, "OS_TYPE": "ios", "WEBHOOK_SIGNATURE_KEYS": keys}
    if authorization:
        options["WEBHOOK_AUTHORIZATION"] = authorization
    config = {
        **CHECKOUT_SETTINGS,
        "BACKENDS": {
            "checkout": {
                "BACKEND": "django_kakaopay.backends.checkout.CheckoutBackend",
                "OPTIONS": options,
            }
        },
    }
    body = cko_event("payment_captured")
    headers = make_headers(body)
    if tamper:
        body = body.replace(b"11000", b"1100", 1)
    with override_settings(KAKAOPAY=config):
        response = post_webhook(client, body, headers)
    assert response.status_code == expected
    started.refresh_from_db()
    event = WebhookEvent.objects.get()
    stored = json.dumps(event.headers).lower()
    assert "cko-signature" not in stored
    assert "authorization" not in stored
    if expected == 200:
        assert started.status == PaymentStatus.PAID
        assert event.status == WebhookEvent.Status.PROCESSED
    else:
        assert started.status == PaymentStatus.PENDING, "a forgery changes nothing"
        assert event.status == WebhookEvent.Status.REJECTED
        assert event.event_key != "evt_test_payment_captured", "never the genuine event's key"


def test_redact_headers_never_keeps_secrets() -> None:
    backend = make_backend()
    kept = backend.redact_headers(
        {
            "Authorization": WEBHOOK_AUTH,
            "authorization": WEBHOOK_AUTH,
            "Cko-Signature": "abc",
            "CKO-SIGNATURE": "abc",
            "Content-Type": JSON,
            "Cookie": "session=1",
        }
    )
    assert kept == {"Content-Type": JSON}
    # Even a subclass that allows them cannot keep them.

    class Leaky(CheckoutBackend):
        stored_webhook_headers = ("Authorization", "Cko-Signature", "Content-Type")

    leaky = Leaky("checkout", OPTIONS)
    assert leaky.redact_headers(
        {"Authorization": "x", "Cko-Signature": "y", "Content-Type": JSON}
    ) == {"Content-Type": JSON}


# == webhooks: parsing =========================================================================


def test_event_key_is_the_event_id() -> None:
    backend = make_backend()
    body = cko_event("payment_paid", event_id="evt_abc")
    assert backend.parse_webhook(body, {}).event_id == "evt_abc"
    with pytest.raises(MalformedWebhook):
        backend.parse_webhook(b'{"id": 5, "type": "payment_paid"}', {})


@pytest.mark.parametrize(
    ("event_type", "status"),
    [
        ("payment_approved", PaymentStatus.PENDING),
        ("payment_pending", PaymentStatus.PENDING),
        ("payment_captured", PaymentStatus.PAID),
        ("payment_paid", PaymentStatus.PAID),
        ("payment_declined", PaymentStatus.FAILED),
        ("payment_expired", PaymentStatus.EXPIRED),
        ("payment_canceled", PaymentStatus.CANCELED),
    ],
)
def test_parse_payment_events(event_type: str, status: str) -> None:
    parsed = make_backend().parse_webhook(cko_event(event_type), {})
    assert parsed.event_id == f"evt_test_{event_type}"
    assert parsed.event_type == event_type
    assert parsed.occurred_at is not None
    assert parsed.occurred_at.isoformat() == "2026-11-23T01:05:00+00:00"
    (update,) = parsed.updates
    assert isinstance(update, PaymentSnapshot)
    assert update.status == status
    assert update.provider_payment_id == PAY_ID
    assert update.reference == REFERENCE
    assert (update.amount, update.currency) == (11000, "KRW")
    assert update.occurred_at == parsed.occurred_at
    assert update.raw["type"] == event_type


@pytest.mark.parametrize(
    ("event_type", "status"),
    [
        ("payment_refunded", RefundStatus.SUCCEEDED),
        ("payment_refund_declined", RefundStatus.FAILED),
        ("payment_refund_pending", RefundStatus.PENDING),
    ],
)
def test_parse_refund_events(event_type: str, status: str) -> None:
    body = cko_event(event_type, action_id="act_test_refund_1", amount=3000)
    (update,) = make_backend().parse_webhook(body, {}).updates
    assert isinstance(update, RefundSnapshot)
    assert update.status == status
    assert update.provider_refund_id == "act_test_refund_1"
    assert update.provider_payment_id == PAY_ID
    assert update.amount == 3000, "a refund event's amount is the refund's"
    assert update.reference == REFERENCE
    assert update.payment_reference == REFERENCE


def test_parse_accepts_the_older_timestamp_field() -> None:
    body = cko_event(
        "payment_paid", time_key="timestamp", created_on="2022-01-02T03:04:05.1234567Z"
    )
    parsed = make_backend().parse_webhook(body, {})
    assert parsed.occurred_at is not None
    assert parsed.occurred_at.year == 2022
    assert parsed.occurred_at.tzinfo is not None


@pytest.mark.parametrize(
    "event_type",
    ["payment_voided", "payment_capture_declined", "dispute_received", "card_verified"],
)
def test_other_event_types_carry_no_updates(event_type: str) -> None:
    parsed = make_backend().parse_webhook(cko_event(event_type), {})
    assert parsed.updates == ()
    assert parsed.event_type == event_type


@pytest.mark.parametrize(
    "body",
    [
        b"\x00not json",
        b"[1, 2]",
        b'{"type": "payment_paid"}',
        b'{"id": "evt_1"}',
        b'{"id": "evt_1", "type": "payment_paid"}',
        b'{"id": "evt_1", "type": "payment_paid", "data": {"amount": 1}}',
    ],
)
def test_malformed_notifications(body: bytes) -> None:
    with pytest.raises(MalformedWebhook):
        make_backend().parse_webhook(body, {})


def test_acknowledgement_is_200() -> None:
    backend = make_backend()
    for outcome in WebhookOutcome:
        assert backend.acknowledge(outcome).status_code == 200


# == webhooks through the view and services ========================================================


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("event_type", "expected"),
    [
        ("payment_captured", PaymentStatus.PAID),
        ("payment_paid", PaymentStatus.PAID),
        ("payment_declined", PaymentStatus.FAILED),
        ("payment_expired", PaymentStatus.EXPIRED),
        ("payment_canceled", PaymentStatus.CANCELED),
    ],
)
def test_payment_events_change_the_payment(
    started: Payment, client: Client, event_type: str, expected: str
) -> None:
    body = cko_event(event_type)
    response = post_webhook(client, body, signed(body))
    assert response.status_code == 200
    started.refresh_from_db()
    assert started.status == expected
    event = WebhookEvent.objects.get(event_key=f"evt_test_{event_type}")
    assert event.status == WebhookEvent.Status.PROCESSED
    assert event.event_type == event_type
    assert started.provider_updated_at is not None


@pytest.mark.django_db
@pytest.mark.parametrize("event_type", ["payment_approved", "payment_pending"])
def test_pending_events_move_a_payment_whose_creation_timed_out(
    checkout_settings: dict[str, Any], rsps: responses.RequestsMock, client: Client, event_type: str
) -> None:
    rsps.add(
        responses.POST,
        f"{SANDBOX_BASE}/payments/setups",
        body=requests.exceptions.ReadTimeout("read timed out"),
    )
    payment = services.start_payment(new_payment())
    assert payment.status == PaymentStatus.CREATED
    assert payment.needs_reconciliation
    body = cko_event(event_type)
    assert post_webhook(client, body, signed(body)).status_code == 200
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PENDING
    assert payment.provider_payment_id == PAY_ID
    assert not payment.needs_reconciliation


@pytest.mark.django_db
def test_payment_event_with_a_different_amount_is_not_applied(
    started: Payment, client: Client
) -> None:
    body = cko_event("payment_captured", amount=1100)
    assert post_webhook(client, body, signed(body)).status_code == 200
    started.refresh_from_db()
    assert started.status == PaymentStatus.PENDING
    assert started.needs_reconciliation
    assert "mismatch" in started.last_error.lower()


@pytest.mark.django_db
@pytest.mark.parametrize("reference_shape", ["refund", "payment"])
def test_refunded_event_settles_the_refund(
    paid: Payment, rsps: responses.RequestsMock, client: Client, reference_shape: str
) -> None:
    refund = refund_via_services(rsps, paid, 3000, "act_test_refund_1")
    reference = refund.reference if reference_shape == "refund" else REFERENCE
    body = cko_event(
        "payment_refunded", action_id="act_test_refund_1", amount=3000, reference=reference
    )
    assert post_webhook(client, body, signed(body)).status_code == 200
    refund.refresh_from_db()
    paid.refresh_from_db()
    assert refund.status == RefundStatus.SUCCEEDED
    assert paid.status == PaymentStatus.PARTIALLY_REFUNDED
    assert paid.refunded_amount == 3000
    assert Refund.objects.count() == 1


@pytest.mark.django_db
def test_refunded_event_matches_by_refund_reference_when_the_202_was_lost(
    paid: Payment, rsps: responses.RequestsMock, client: Client
) -> None:
    rsps.add(
        responses.POST,
        f"{SANDBOX_BASE}/payments/{PAY_ID}/refunds",
        body=requests.exceptions.ConnectionError("reset"),
    )
    refund = services.request_refund(paid)
    refund.refresh_from_db()
    assert refund.needs_reconciliation
    assert not refund.provider_refund_id
    body = cko_event(
        "payment_refunded", action_id="act_late", amount=11000, reference=refund.reference
    )
    assert post_webhook(client, body, signed(body)).status_code == 200
    settled = Refund.objects.get(pk=refund.pk)
    paid.refresh_from_db()
    assert settled.status == RefundStatus.SUCCEEDED
    assert settled.provider_refund_id == "act_late"
    assert not settled.needs_reconciliation
    assert paid.status == PaymentStatus.REFUNDED


@pytest.mark.django_db
def test_full_refund_event_refunds_the_payment(
    paid: Payment, rsps: responses.RequestsMock, client: Client
) -> None:
    refund = refund_via_services(rsps, paid, 11000, "act_full")
    body = cko_event("payment_refunded", action_id="act_full", amount=11000)
    assert post_webhook(client, body, signed(body)).status_code == 200
    refund.refresh_from_db()
    paid.refresh_from_db()
    assert refund.status == RefundStatus.SUCCEEDED
    assert paid.status == PaymentStatus.REFUNDED


@pytest.mark.django_db
def test_refund_declined_event_fails_the_refund(
    paid: Payment, rsps: responses.RequestsMock, client: Client
) -> None:
    refund = refund_via_services(rsps, paid, 3000, "act_test_refund_1")
    body = cko_event(
        "payment_refund_declined",
        action_id="act_test_refund_1",
        amount=3000,
        response_summary="Refund declined",
    )
    assert post_webhook(client, body, signed(body)).status_code == 200
    refund.refresh_from_db()
    paid.refresh_from_db()
    assert refund.status == RefundStatus.FAILED
    assert refund.last_error == "Refund declined"
    assert paid.status == PaymentStatus.PAID
    assert paid.refunded_amount == 0


@pytest.mark.django_db
def test_refund_pending_event_keeps_the_refund_pending(
    paid: Payment, rsps: responses.RequestsMock, client: Client
) -> None:
    refund = refund_via_services(rsps, paid, 3000, "act_test_refund_1")
    body = cko_event("payment_refund_pending", action_id="act_test_refund_1", amount=3000)
    assert post_webhook(client, body, signed(body)).status_code == 200
    refund.refresh_from_db()
    assert refund.status == RefundStatus.PENDING
    assert WebhookEvent.objects.get(event_key="evt_test_payment_refund_pending").status == (
        WebhookEvent.Status.PROCESSED
    )


@pytest.mark.django_db
def test_refund_made_in_the_dashboard_is_recorded(paid: Payment, client: Client) -> None:
    body = cko_event("payment_refunded", action_id="act_dashboard", amount=2000)
    assert post_webhook(client, body, signed(body)).status_code == 200
    paid.refresh_from_db()
    assert paid.status == PaymentStatus.PARTIALLY_REFUNDED
    refund = Refund.objects.get(payment=paid)
    assert (refund.amount, refund.origin, refund.provider_refund_id) == (
        2000,
        Refund.Origin.PROVIDER,
        "act_dashboard",
    )


@pytest.mark.django_db
def test_other_event_types_are_stored_as_ignored(started: Payment, client: Client) -> None:
    body = cko_event("payment_voided")
    assert post_webhook(client, body, signed(body)).status_code == 200
    event = WebhookEvent.objects.get(event_key="evt_test_payment_voided")
    assert event.status == WebhookEvent.Status.IGNORED
    started.refresh_from_db()
    assert started.status == PaymentStatus.PENDING


@pytest.mark.django_db
def test_malformed_but_signed_notification_answers_400(client: Client, started: Payment) -> None:
    body = b'{"id": "evt_bad", "type": "payment_paid", "data": {}}'
    assert post_webhook(client, body, signed(body)).status_code == 400
    assert WebhookEvent.objects.get(event_key="evt_bad").status == WebhookEvent.Status.MALFORMED


@pytest.mark.django_db
def test_duplicate_deliveries_are_processed_once(started: Payment, client: Client) -> None:
    body = cko_event("payment_captured")
    assert post_webhook(client, body, signed(body)).status_code == 200
    transitions = StatusTransition.objects.count()
    for _ in range(3):
        assert post_webhook(client, body, signed(body)).status_code == 200
    assert StatusTransition.objects.count() == transitions
    assert WebhookEvent.objects.filter(event_key="evt_test_payment_captured").count() == 1
    started.refresh_from_db()
    assert started.status == PaymentStatus.PAID


@pytest.mark.django_db
@pytest.mark.parametrize("older_type", ["payment_pending", "payment_approved", "payment_declined"])
def test_an_older_event_never_undoes_a_newer_state(
    started: Payment, client: Client, older_type: str
) -> None:
    newer = cko_event("payment_captured", created_on="2026-11-23T01:10:00Z")
    older = cko_event(older_type, created_on="2026-11-23T01:01:00Z")
    assert post_webhook(client, newer, signed(newer)).status_code == 200
    assert post_webhook(client, older, signed(older)).status_code == 200
    started.refresh_from_db()
    assert started.status == PaymentStatus.PAID


@pytest.mark.django_db
def test_a_later_capture_overrides_an_earlier_decline(started: Payment, client: Client) -> None:
    declined = cko_event("payment_declined", created_on="2026-11-23T01:01:00Z")
    captured = cko_event("payment_captured", created_on="2026-11-23T01:10:00Z")
    for body in (declined, captured):
        assert post_webhook(client, body, signed(body)).status_code == 200
    started.refresh_from_db()
    assert started.status == PaymentStatus.PAID


@pytest.mark.django_db
def test_an_older_refund_pending_never_undoes_a_refund(
    paid: Payment, rsps: responses.RequestsMock, client: Client
) -> None:
    refund = refund_via_services(rsps, paid, 3000, "act_test_refund_1")
    done = cko_event(
        "payment_refunded",
        action_id="act_test_refund_1",
        amount=3000,
        created_on="2026-11-23T02:00:00Z",
    )
    late = cko_event(
        "payment_refund_pending",
        action_id="act_test_refund_1",
        amount=3000,
        created_on="2026-11-23T01:30:00Z",
    )
    for body in (done, late):
        assert post_webhook(client, body, signed(body)).status_code == 200
    refund.refresh_from_db()
    assert refund.status == RefundStatus.SUCCEEDED


# == errors ===================================================================================


def error_body(codes: list[str] | None = None, request_id: str = "req_body_1") -> dict[str, Any]:
    return {
        "request_id": request_id,
        "error_type": "request_invalid",
        "error_codes": codes if codes is not None else ["reference_invalid"],
    }


@pytest.mark.parametrize(
    ("status", "error_class", "fragments"),
    [
        (401, ProviderConfigurationError, ["SECRET_KEY", "ENVIRONMENT", "SUBDOMAIN_PREFIX"]),
        (403, ProviderConfigurationError, ["PROCESSING_CHANNEL_ID", "SECRET_KEY"]),
        (422, ProviderRejected, ["reference_invalid", "422"]),
        (400, ProviderRejected, ["reference_invalid"]),
        (404, ProviderRejected, ["404"]),
        (409, OutcomeUnknown, ["409"]),
        (429, OutcomeUnknown, ["429"]),
        (500, OutcomeUnknown, ["500"]),
        (502, OutcomeUnknown, ["502"]),
        (503, OutcomeUnknown, ["503"]),
    ],
)
def test_error_answers(
    rsps: responses.RequestsMock,
    status: int,
    error_class: type[ProviderError],
    fragments: list[str],
) -> None:
    rsps.add(
        responses.POST,
        f"{SANDBOX_BASE}/payments/setups",
        json=error_body(),
        status=status,
        headers={"Cko-Request-Id": "req_header_1"},
    )
    with pytest.raises(error_class) as excinfo:
        make_backend().create_payment(seed_request())
    error = excinfo.value
    assert type(error) is error_class
    assert error.status_code == status
    assert error.request_id == "req_body_1"
    assert error.codes == ("reference_invalid",)
    message = str(error)
    for fragment in fragments:
        assert fragment in message
    assert "req_body_1" in message
    assert SECRET_KEY not in message
    assert SECRET_KEY not in repr(error.args)
    assert SECRET_KEY not in repr(vars(error))


def test_request_id_falls_back_to_the_header(rsps: responses.RequestsMock) -> None:
    rsps.add(
        responses.POST,
        f"{SANDBOX_BASE}/payments/setups",
        body="<html>bad gateway</html>",
        status=422,
        headers={"Cko-Request-Id": "req_header_1"},
    )
    with pytest.raises(ProviderRejected) as excinfo:
        make_backend().create_payment(seed_request())
    assert excinfo.value.request_id == "req_header_1"
    assert excinfo.value.codes == ()
    assert "no error code given" in str(excinfo.value)


def test_error_type_is_used_when_there_are_no_codes(rsps: responses.RequestsMock) -> None:
    rsps.add(
        responses.POST,
        f"{SANDBOX_BASE}/payments/setups",
        json={"request_id": "r", "error_type": "processing_error"},
        status=422,
    )
    with pytest.raises(ProviderRejected, match="processing_error") as excinfo:
        make_backend().create_payment(seed_request())
    assert excinfo.value.codes == ("processing_error",)


@pytest.mark.parametrize(
    "failure",
    [
        requests.exceptions.ReadTimeout("read timed out"),
        requests.exceptions.ConnectTimeout("connect timed out"),
        requests.exceptions.ConnectionError("connection refused"),
    ],
)
def test_transport_failures_are_outcome_unknown(
    rsps: responses.RequestsMock, failure: Exception
) -> None:
    rsps.add(responses.POST, f"{SANDBOX_BASE}/payments/setups", body=failure)
    with pytest.raises(OutcomeUnknown):
        make_backend().create_payment(seed_request())


def test_unreadable_success_answer_is_outcome_unknown(rsps: responses.RequestsMock) -> None:
    rsps.add(responses.POST, f"{SANDBOX_BASE}/payments/setups", body="OK", status=200)
    with pytest.raises(OutcomeUnknown):
        make_backend().create_payment(seed_request())


def test_timeouts_are_configurable_and_always_set(rsps: responses.RequestsMock) -> None:
    assert make_backend().client.timeout == (5.0, 30.0)
    assert make_backend(CONNECT_TIMEOUT=2, READ_TIMEOUT=12.5).client.timeout == (2.0, 12.5)


def test_misconfigured_backend_never_calls_out(rsps: responses.RequestsMock) -> None:
    backend = make_backend("production")  # a sandbox key with production
    with pytest.raises(ProviderConfigurationError, match="sandbox key") as excinfo:
        backend.create_payment(seed_request())
    assert SECRET_KEY not in str(excinfo.value)
    with pytest.raises(ProviderConfigurationError):
        backend.fetch_payment(PaymentRef(REFERENCE, 11000, "KRW", provider_payment_id=PAY_ID))
    assert len(rsps.calls) == 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    "answer",
    [
        {"body": requests.exceptions.ReadTimeout("read timed out")},
        {"body": requests.exceptions.ConnectTimeout("connect timed out")},
        {"body": requests.exceptions.ConnectionError("refused")},
        {"status": 409, "json": error_body([])},
        {"status": 429, "json": error_body([])},
        {"status": 500, "json": error_body([])},
        {"status": 502, "body": "Bad gateway"},
    ],
    ids=["read-timeout", "connect-timeout", "connection", "409", "429", "500", "502"],
)
@pytest.mark.parametrize("step", ["create", "confirm"])
def test_unknown_outcomes_need_reconciliation_and_never_fail(
    checkout_settings: dict[str, Any],
    rsps: responses.RequestsMock,
    answer: dict[str, Any],
    step: str,
) -> None:
    if step == "create":
        rsps.add(responses.POST, f"{SANDBOX_BASE}/payments/setups", **answer)
    else:
        rsps.add(
            responses.POST,
            f"{SANDBOX_BASE}/payments/setups",
            body=SEED_SETUP_RESPONSE,
            content_type=JSON,
        )
        rsps.add(
            responses.POST,
            f"{SANDBOX_BASE}/payments/setups/{SETUP_ID}/confirm/kakaopay",
            **answer,
        )
    payment = services.start_payment(new_payment())
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.CREATED
    assert payment.status != PaymentStatus.FAILED
    assert payment.needs_reconciliation
    assert payment.last_error
    assert not payment.redirect_url
    first_key = rsps.calls[0].request.headers["Cko-Idempotency-Key"]
    assert first_key == payment.idempotency_key

    # A retry (the customer reloads the checkout page) reuses the same keys.
    rsps.reset()
    add_seed_create(rsps)
    services.start_payment(payment)
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PENDING
    assert payment.redirect_url == REDIRECT
    assert not payment.needs_reconciliation
    assert rsps.calls[0].request.headers["Cko-Idempotency-Key"] == first_key
    assert rsps.calls[1].request.headers["Cko-Idempotency-Key"] == f"{first_key}:confirm"


@pytest.mark.django_db
def test_reconciliation_finds_a_payment_whose_confirm_timed_out(
    checkout_settings: dict[str, Any], rsps: responses.RequestsMock
) -> None:
    rsps.add(
        responses.POST,
        f"{SANDBOX_BASE}/payments/setups",
        body=SEED_SETUP_RESPONSE,
        content_type=JSON,
    )
    rsps.add(
        responses.POST,
        f"{SANDBOX_BASE}/payments/setups/{SETUP_ID}/confirm/kakaopay",
        body=requests.exceptions.ReadTimeout("read timed out"),
    )
    payment = services.start_payment(new_payment())
    assert payment.needs_reconciliation
    rsps.reset()
    rsps.add(
        responses.GET,
        f"{SANDBOX_BASE}/payments",
        match=[matchers.query_param_matcher({"reference": REFERENCE})],
        json={"data": [payment_json("Captured")]},
    )
    add_get_payment(rsps, "Captured")
    services.sync_payment(payment)
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PAID
    assert payment.provider_payment_id == PAY_ID
    assert not payment.needs_reconciliation


@pytest.mark.django_db
def test_rejected_creation_fails_the_payment_with_the_codes(
    checkout_settings: dict[str, Any], rsps: responses.RequestsMock
) -> None:
    rsps.add(
        responses.POST,
        f"{SANDBOX_BASE}/payments/setups",
        json=error_body(["amount_invalid", "currency_not_supported"]),
        status=422,
    )
    payment = services.start_payment(new_payment())
    assert payment.status == PaymentStatus.FAILED
    assert "amount_invalid, currency_not_supported" in payment.last_error
    transition = StatusTransition.objects.filter(to_status=PaymentStatus.FAILED).get()
    assert transition.evidence["codes"] == ["amount_invalid", "currency_not_supported"]
    assert transition.evidence["request_id"] == "req_body_1"


@pytest.mark.django_db
def test_credentials_refused_keep_the_payment_retryable(
    checkout_settings: dict[str, Any], rsps: responses.RequestsMock, client: Client
) -> None:
    rsps.add(responses.POST, f"{SANDBOX_BASE}/payments/setups", status=401, json={})
    payment = new_payment()
    with pytest.raises(ProviderConfigurationError):
        services.start_payment(payment)
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.CREATED
    assert "SECRET_KEY" in payment.last_error
    assert SECRET_KEY not in payment.last_error
    # Through the checkout view the customer sees an error page, not a traceback.
    response = client.get(f"/kakaopay/checkout/{payment.return_token}/")
    assert response.status_code == 502


# == options and system checks ==============================================================


def test_valid_options_have_no_problems() -> None:
    assert CheckoutBackend.check_options(OPTIONS) == []
    assert (
        CheckoutBackend.check_options(
            {
                **OPTIONS,
                "ENVIRONMENT": "production",
                "SECRET_KEY": PRODUCTION_KEY,
                "WEBHOOK_AUTHORIZATION": WEBHOOK_AUTH,
                "TERMINAL_TYPE": "app",
                "OS_TYPE": "android",
                "CONNECT_TIMEOUT": 3,
                "READ_TIMEOUT": 20.0,
            }
        )
        == []
    )


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"SECRET_KEY": None}, "'SECRET_KEY' is required"),
        ({"PROCESSING_CHANNEL_ID": None}, "'PROCESSING_CHANNEL_ID' is required"),
        ({"ENVIRONMENT": None}, "'ENVIRONMENT' is required"),
        ({"SUBDOMAIN_PREFIX": None}, "'SUBDOMAIN_PREFIX' is required"),
        ({"ENVIRONMENT": "live"}, "ENVIRONMENT must be 'sandbox' or 'production'"),
        ({"ENVIRONMENT": "production"}, "SECRET_KEY is a sandbox key"),
        ({"SECRET_KEY": f"Bearer {SECRET_KEY}"}, "without the 'Bearer ' prefix"),
        ({"SECRET_KEY": "pk_sbox_fake_public_key"}, "public key"),
        ({"PROCESSING_CHANNEL_ID": "channel-1"}, "PROCESSING_CHANNEL_ID must look like"),
        ({"SUBDOMAIN_PREFIX": "https://testpfx1.api.checkout.com"}, "not a host name or URL"),
        ({"SUBDOMAIN_PREFIX": "cli_testpfx1"}, "without 'cli_'"),
        ({"SUBDOMAIN_PREFIX": "bad_prefix!"}, "only letters, digits and hyphens"),
        ({"WEBHOOK_SIGNATURE_KEYS": KEY_ONE}, "must be a list"),
        ({"WEBHOOK_SIGNATURE_KEYS": [KEY_ONE, ""]}, "non-empty string"),
        ({"WEBHOOK_AUTHORIZATION": 123}, "WEBHOOK_AUTHORIZATION must be a string"),
        ({"TERMINAL_TYPE": "pc"}, "TERMINAL_TYPE must be"),
        ({"TERMINAL_TYPE": "wap"}, "OS_TYPE ('ios' or 'android') is required"),
        ({"TERMINAL_TYPE": "app", "OS_TYPE": "windows"}, "OS_TYPE must be 'ios' or 'android'"),
        ({"READ_TIMEOUT": 0}, "READ_TIMEOUT must be a positive number"),
        ({"CONNECT_TIMEOUT": "5"}, "CONNECT_TIMEOUT must be a positive number"),
        ({"WEBHOOK_SIGNATURE_KEY": [KEY_ONE]}, "did you mean 'WEBHOOK_SIGNATURE_KEYS'"),
    ],
)
def test_option_problems(overrides: dict[str, Any], fragment: str) -> None:
    options = {**OPTIONS, **overrides}
    options = {key: value for key, value in options.items() if value is not None}
    problems = CheckoutBackend.check_options(options)
    assert any(fragment in problem for problem in problems), problems
    assert all(SECRET_KEY not in problem for problem in problems)


def test_environment_is_never_taken_from_debug() -> None:
    options = {key: value for key, value in OPTIONS.items() if key != "ENVIRONMENT"}
    with override_settings(DEBUG=True):
        assert "the option 'ENVIRONMENT' is required" in CheckoutBackend.check_options(options)
    with override_settings(DEBUG=False):
        assert "the option 'ENVIRONMENT' is required" in CheckoutBackend.check_options(options)
    with pytest.raises(ProviderConfigurationError, match="ENVIRONMENT"):
        CheckoutBackend("checkout", options).create_payment(seed_request())


def test_backend_properties() -> None:
    backend = make_backend()
    # Checkout.com's sandbox environment moves no real money; production does.
    assert not backend.is_live
    assert make_backend(ENVIRONMENT="production", SECRET_KEY="sk_fake_production_key").is_live
    assert not backend.is_sandbox_backend
    assert backend.has_webhook_credentials()
    assert not make_backend(WEBHOOK_SIGNATURE_KEYS=None).has_webhook_credentials()
    assert backend.capabilities == frozenset({Capability.REFUNDS, Capability.PARTIAL_REFUNDS})
    assert not backend.supports(Capability.PREAPPROVALS)


def test_system_checks_report_the_checkout_alias() -> None:
    config = {
        **CHECKOUT_SETTINGS,
        "BACKENDS": {
            **CHECKOUT_SETTINGS["BACKENDS"],
            "checkout": {
                "BACKEND": "django_kakaopay.backends.checkout.CheckoutBackend",
                "OPTIONS": {"SECRET_KEY": SECRET_KEY, "ENVIRONMENT": "production"},
            },
        },
    }
    with override_settings(KAKAOPAY=config):
        errors = check_settings()
    messages = [error.msg for error in errors if isinstance(error, checks.Error)]
    assert any("'checkout'" in m and "PROCESSING_CHANNEL_ID" in m for m in messages)
    assert any("'checkout'" in m and "sandbox key" in m for m in messages)
    assert any(e.id == "kakaopay.E007" for e in errors), "no webhook keys on a live backend"
    assert all(SECRET_KEY not in m for m in messages)
    with override_settings(KAKAOPAY=CHECKOUT_SETTINGS):
        assert check_settings() == []


# == conformance ================================================================================


@pytest.mark.django_db
class TestCheckoutConformance(BackendConformance):
    rsps: responses.RequestsMock

    @pytest.fixture(autouse=True)
    def _mock_http(self) -> Iterator[None]:
        with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
            self.rsps = mock
            yield

    def make_backend(self) -> BaseBackend:
        return CheckoutBackend(
            alias="checkout", options={**OPTIONS, "WEBHOOK_AUTHORIZATION": WEBHOOK_AUTH}
        )

    def signed_notification(self, backend: BaseBackend) -> tuple[bytes, dict[str, str]]:
        body = cko_event("payment_captured")
        return body, {
            "Content-Type": JSON,
            "Cko-Signature": sign_webhook(KEY_ONE, body),
            "Authorization": WEBHOOK_AUTH,
        }

    def sign_body(self, backend: BaseBackend, body: bytes) -> dict[str, str]:
        return {
            "Content-Type": JSON,
            "Cko-Signature": sign_webhook(KEY_ONE, body),
            "Authorization": WEBHOOK_AUTH,
        }

    def arrange_create_payment(self, backend: BaseBackend, request: PaymentRequest) -> None:
        add_seed_create(self.rsps)

    def arrange_fetch_payment(self, backend: BaseBackend, ref: PaymentRef) -> None:
        assert ref.provider_payment_id == PAY_ID
        add_get_payment(self.rsps, "Captured")


@pytest.mark.parametrize(("environment", "flagged"), [("sandbox", False), ("production", True)])
def test_only_production_without_signature_keys_is_a_check_error(
    environment: str, flagged: bool
) -> None:
    from django_kakaopay.checks import check_settings

    options = {k: v for k, v in OPTIONS.items() if k != "WEBHOOK_SIGNATURE_KEYS"}
    options["ENVIRONMENT"] = environment
    if environment == "production":
        options["SECRET_KEY"] = "sk_fake_production_key_for_tests"
    config = {
        **CHECKOUT_SETTINGS,
        "BACKENDS": {
            "checkout": {
                "BACKEND": "django_kakaopay.backends.checkout.CheckoutBackend",
                "OPTIONS": options,
            }
        },
    }
    with override_settings(KAKAOPAY=config):
        ids = [message.id for message in check_settings()]
    assert ("kakaopay.E007" in ids) is flagged, ids
