"""KakaoPay's own Online Payment API: the documented shapes replayed with ``responses``.

The request and answer shapes are KakaoPay's as its own toolkit and public
clients show them (``ready``, ``approve``, ``order``, ``cancel``), with the
13 documented order statuses and both error shapes. Nothing reaches the
network: every call is mocked.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import responses
from django.core import checks
from django.test import Client, override_settings

from django_kakaopay import services
from django_kakaopay.backends.base import BaseBackend
from django_kakaopay.backends.kakaopay import ORDER_STATUS_MAP, KakaoPayBackend
from django_kakaopay.backends.types import (
    PaymentRef,
    PaymentRequest,
    RefundRequest,
    WebhookAuth,
)
from django_kakaopay.checks import check_settings
from django_kakaopay.exceptions import (
    MalformedWebhook,
    OutcomeUnknown,
    ProviderConfigurationError,
    ProviderRejected,
    WebhookAuthenticationError,
)
from django_kakaopay.models import Payment
from django_kakaopay.status import PaymentStatus, RefundStatus
from django_kakaopay.testing import BackendConformance, sample_payment_request

BASE = "https://open-api.kakaopay.com"
READY = f"{BASE}/online/v1/payment/ready"
APPROVE = f"{BASE}/online/v1/payment/approve"
ORDER = f"{BASE}/online/v1/payment/order"
CANCEL = f"{BASE}/online/v1/payment/cancel"

FAKE_KEY = "DEVFAKEKEYFORTESTSONLY0000"
TID = "T1234567890123456789"
OPTIONS: dict[str, Any] = {
    "SECRET_KEY": FAKE_KEY,
    "CID": "TC0ONETIME",
    "SUBSCRIPTION_CID": "TCSUBSCRIP",
    "ENVIRONMENT": "test",
}


def make_backend(**options: Any) -> KakaoPayBackend:
    return KakaoPayBackend(alias="kakaopay", options={**OPTIONS, **options})


def ready_answer(tid: str = TID) -> dict[str, Any]:
    return {
        "tid": tid,
        "tms_result": False,
        "created_at": "2026-12-02T10:00:00",
        "next_redirect_pc_url": f"https://online-pay.kakao.com/mockup/v1/{tid}/info",
        "next_redirect_mobile_url": f"https://online-pay.kakao.com/mockup/v1/{tid}/mInfo",
        "next_redirect_app_url": f"https://online-pay.kakao.com/mockup/v1/{tid}/aInfo",
        "android_app_scheme": f"kakaotalk://kakaopay/pg?url=https://online-pay.kakao.com/pg/{tid}",
        "ios_app_scheme": f"kakaotalk://kakaopay/pg?url=https://online-pay.kakao.com/pg/{tid}",
    }


def amount(total: int, tax_free: int = 0) -> dict[str, int]:
    return {
        "total": total,
        "tax_free": tax_free,
        "vat": round((total - tax_free) / 11),
        "point": 0,
        "discount": 0,
        "green_deposit": 0,
    }


def approve_answer(reference: str, total: int, method: str = "CARD") -> dict[str, Any]:
    answer: dict[str, Any] = {
        "aid": "A1234567890123456789",
        "tid": TID,
        "cid": "TC0ONETIME",
        "partner_order_id": reference,
        "partner_user_id": reference,
        "payment_method_type": method,
        "item_name": "Wireless headphones",
        "quantity": 1,
        "amount": amount(total),
        "created_at": "2026-12-02T10:00:00",
        "approved_at": "2026-12-02T10:01:00",
    }
    if method == "CARD":
        answer["card_info"] = {
            "kakaopay_purchase_corp": "비씨카드",
            "kakaopay_purchase_corp_code": "104",
            "kakaopay_issuer_corp": "수협은행",
            "kakaopay_issuer_corp_code": "212",
            "bin": "123456",
            "card_type": "CREDIT",
            "install_month": "00",
            "approved_id": "12345678",
            "card_mid": "123456789",
            "interest_free_install": "N",
            "card_item_code": "",
        }
    return answer


def order_answer(
    status: str, total: int = 11000, canceled: int = 0, reference: str = "ORD-5023-4E89"
) -> dict[str, Any]:
    return {
        "tid": TID,
        "cid": "TC0ONETIME",
        "status": status,
        "partner_order_id": reference,
        "partner_user_id": reference,
        "payment_method_type": "CARD",
        "amount": amount(total),
        "canceled_amount": amount(canceled),
        "cancel_available_amount": amount(total - canceled),
        "item_name": "Wireless headphones",
        "quantity": 1,
        "created_at": "2026-12-02T10:00:00",
        "approved_at": "2026-12-02T10:01:00",
        "payment_action_details": [],
    }


def ref(reference: str = "ORD-5023-4E89", total: int = 11000, tid: str = TID) -> PaymentRef:
    return PaymentRef(reference=reference, amount=total, currency="KRW", provider_payment_id=tid)


def sent(call_index: int = -1) -> dict[str, Any]:
    body = responses.calls[call_index].request.body
    return dict(json.loads(body if isinstance(body, str | bytes) else b"{}"))


# -- options and checks -----------------------------------------------------------------


def test_test_options_pass() -> None:
    assert KakaoPayBackend.check_options(OPTIONS) == []
    assert KakaoPayBackend.check_warnings(OPTIONS) == []


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        ({"ENVIRONMENT": "live"}, "test merchant code 'TC0ONETIME'"),
        ({"ENVIRONMENT": "live", "CID": "CABCDEFGHI"}, "test merchant code 'TCSUBSCRIP'"),
        ({"CID": "CABCDEFGHI"}, "not a test merchant code"),
        ({"SUBSCRIPTION_CID": "SABCDEFGHI"}, "not a test merchant code"),
        ({"ENVIRONMENT": "production"}, "'test' or 'live'"),
        ({"CID": "SHORT"}, "10-character"),
        ({"SECRET_KEY": f"SECRET_KEY {FAKE_KEY}"}, "the key alone"),
        ({"AUTHORIZATION_SCHEME": "KakaoAK"}, "AUTHORIZATION_SCHEME"),
        ({"EXPIRY_MINUTES": 0}, "EXPIRY_MINUTES"),
        ({"READ_TIMEOUT": -1}, "READ_TIMEOUT"),
        ({"SECERT_KEY": "x"}, "did you mean 'SECRET_KEY'"),
    ],
)
def test_option_problems(options: dict[str, Any], fragment: str) -> None:
    problems = KakaoPayBackend.check_options({**OPTIONS, **options})
    assert any(fragment in problem for problem in problems), problems


def test_missing_options_are_named() -> None:
    problems = " ".join(KakaoPayBackend.check_options({}))
    for name in ("SECRET_KEY", "CID", "ENVIRONMENT"):
        assert name in problems


def test_a_dev_key_in_live_warns() -> None:
    live = {**OPTIONS, "ENVIRONMENT": "live", "CID": "CABCDEFGHI", "SUBSCRIPTION_CID": ""}
    assert KakaoPayBackend.check_options(live) == []
    assert any("'DEV'" in w for w in KakaoPayBackend.check_warnings(live))
    assert KakaoPayBackend.check_warnings({**live, "SECRET_KEY": "PRDFAKEKEY"}) == []


def test_the_unverified_scheme_is_sent_and_warned() -> None:
    backend = make_backend(AUTHORIZATION_SCHEME="DEV_SECRET_KEY")
    assert backend.client.session.headers["Authorization"] == f"DEV_SECRET_KEY {FAKE_KEY}"
    assert make_backend().client.session.headers["Authorization"] == f"SECRET_KEY {FAKE_KEY}"
    assert any("unverified" in w for w in KakaoPayBackend.check_warnings(backend.options))


def test_expiry_window_defaults_to_fifteen_minutes() -> None:
    assert make_backend().expiry_window.total_seconds() == 15 * 60
    assert make_backend(EXPIRY_MINUTES=30).expiry_window.total_seconds() == 30 * 60


LIVE_SETTINGS = {
    "DEFAULT_BACKEND": "kakaopay",
    "SITE_URL": "https://shop.example",
    "BACKENDS": {
        "kakaopay": {
            "BACKEND": "django_kakaopay.backends.kakaopay.KakaoPayBackend",
            "OPTIONS": {"SECRET_KEY": "PRDFAKEKEY", "CID": "CABCDEFGHI", "ENVIRONMENT": "live"},
        }
    },
}


@override_settings(KAKAOPAY=LIVE_SETTINGS)
def test_a_live_backend_without_notifications_passes_e007() -> None:
    ids = {message.id for message in check_settings(None)}
    assert "kakaopay.E007" not in ids
    assert not {i for i in ids if i and i.startswith("kakaopay.E")}


class AcceptingBackend(KakaoPayBackend):
    """Declares no notifications but accepts them: E007 must catch it."""

    def verify_webhook(self, body: bytes, headers: Any, remote_addr: str | None = None) -> None:
        return None


@override_settings(
    KAKAOPAY={
        **LIVE_SETTINGS,
        "BACKENDS": {
            "kakaopay": {
                **LIVE_SETTINGS["BACKENDS"]["kakaopay"],  # type: ignore[index]
                "BACKEND": f"{__name__}.AcceptingBackend",
            }
        },
    }
)
def test_a_backend_that_declares_none_but_accepts_fails_e007() -> None:
    errors = [m for m in check_settings(None) if m.id == "kakaopay.E007"]
    assert errors
    assert errors[0].level == checks.ERROR


def test_every_notification_is_refused() -> None:
    backend = make_backend()
    assert backend.webhook_auth == WebhookAuth.NONE
    with pytest.raises(WebhookAuthenticationError):
        backend.verify_webhook(b'{"tid": "T1", "status": "SUCCESS_PAYMENT"}', {}, "127.0.0.1")
    with pytest.raises(MalformedWebhook):
        backend.parse_webhook(b"{}", {})


# -- ready -----------------------------------------------------------------------------


@responses.activate
@pytest.mark.parametrize(
    ("terminal", "field"),
    [
        ("web", "next_redirect_pc_url"),
        ("", "next_redirect_pc_url"),
        ("wap", "next_redirect_mobile_url"),
        ("app", "next_redirect_app_url"),
    ],
)
def test_ready_sends_the_order_and_redirects_by_terminal(terminal: str, field: str) -> None:
    responses.add(responses.POST, READY, json=ready_answer())
    request = sample_payment_request(terminal_type=terminal, tax_free_amount=1000, vat_amount=909)
    instruction = make_backend().create_payment(request)
    assert instruction.url == ready_answer()[field]
    assert instruction.snapshot.provider_payment_id == TID
    assert instruction.snapshot.status == PaymentStatus.PENDING
    call = responses.calls[0].request
    assert call.headers["Authorization"] == f"SECRET_KEY {FAKE_KEY}"
    assert call.headers["Content-Type"] == "application/json"
    body = sent()
    return_url = request.return_url
    assert body == {
        "cid": "TC0ONETIME",
        "partner_order_id": "ORD-5023-4E89",
        "partner_user_id": "ORD-5023-4E89",
        "item_name": "KakaoPay payment",
        "quantity": 1,
        "total_amount": 11000,
        "tax_free_amount": 1000,
        "vat_amount": 909,
        "approval_url": return_url,
        "cancel_url": f"{return_url}?outcome=cancel",
        "fail_url": f"{return_url}?outcome=fail",
    }


@responses.activate
def test_ready_without_vat_leaves_it_to_kakaopay() -> None:
    responses.add(responses.POST, READY, json=ready_answer())
    make_backend().create_payment(sample_payment_request())
    body = sent()
    assert body["tax_free_amount"] == 0
    assert "vat_amount" not in body


@responses.activate
def test_ready_without_tid_is_unknown() -> None:
    responses.add(responses.POST, READY, json={"next_redirect_pc_url": "https://x.example"})
    with pytest.raises(OutcomeUnknown):
        make_backend().create_payment(sample_payment_request())


# -- approve ---------------------------------------------------------------------------


@responses.activate
@pytest.mark.parametrize("method", ["CARD", "MONEY"])
def test_approve_is_the_proof(method: str) -> None:
    responses.add(responses.POST, APPROVE, json=approve_answer("ORD-5023-4E89", 11000, method))
    snapshot = make_backend().complete_return(ref(), {"pg_token": "token-from-browser"})
    assert snapshot.status == PaymentStatus.PAID
    assert (snapshot.amount, snapshot.currency) == (11000, "KRW")
    assert snapshot.provider_payment_id == TID
    assert snapshot.raw["payment_method_type"] == method
    assert sent() == {
        "cid": "TC0ONETIME",
        "tid": TID,
        "partner_order_id": "ORD-5023-4E89",
        "partner_user_id": "ORD-5023-4E89",
        "pg_token": "token-from-browser",
    }


@responses.activate
def test_a_refused_approve_pulls_the_order() -> None:
    responses.add(
        responses.POST,
        APPROVE,
        status=400,
        json={"error_code": -780, "error_message": "approval failure!", "extras": {}},
    )
    responses.add(responses.POST, ORDER, json=order_answer("AUTH_PASSWORD"))
    snapshot = make_backend().complete_return(ref(), {"pg_token": "forged"})
    assert snapshot.status == PaymentStatus.PENDING
    assert snapshot.provider_status == "AUTH_PASSWORD"


@responses.activate
def test_a_return_without_token_pulls_the_order() -> None:
    responses.add(responses.POST, ORDER, json=order_answer("QUIT_PAYMENT"))
    snapshot = make_backend().complete_return(ref(), {})
    assert snapshot.status == PaymentStatus.CANCELED
    assert [c.request.url for c in responses.calls] == [ORDER]


# -- order -----------------------------------------------------------------------------


EXPECTED = {
    "READY": PaymentStatus.PENDING,
    "SEND_TMS": PaymentStatus.PENDING,
    "OPEN_PAYMENT": PaymentStatus.PENDING,
    "SELECT_METHOD": PaymentStatus.PENDING,
    "ARS_WAITING": PaymentStatus.PENDING,
    "AUTH_PASSWORD": PaymentStatus.PENDING,
    "ISSUED_SID": PaymentStatus.PENDING,
    "SUCCESS_PAYMENT": PaymentStatus.PAID,
    "PART_CANCEL_PAYMENT": PaymentStatus.PARTIALLY_REFUNDED,
    "CANCEL_PAYMENT": PaymentStatus.REFUNDED,
    "FAIL_AUTH_PASSWORD": PaymentStatus.FAILED,
    "QUIT_PAYMENT": PaymentStatus.CANCELED,
    "FAIL_PAYMENT": PaymentStatus.FAILED,
}


def test_all_thirteen_statuses_are_mapped() -> None:
    assert set(ORDER_STATUS_MAP) == set(EXPECTED)


@responses.activate
@pytest.mark.parametrize("status", [*EXPECTED, "SOMETHING_NEW"])
def test_order_in_every_status(status: str) -> None:
    canceled = {"PART_CANCEL_PAYMENT": 4000, "CANCEL_PAYMENT": 11000}.get(status, 0)
    responses.add(responses.POST, ORDER, json=order_answer(status, canceled=canceled))
    snapshot = make_backend().fetch_payment(ref())
    assert snapshot.status == EXPECTED.get(status)  # unknown: None, never failed
    assert snapshot.provider_status == status
    assert snapshot.amount == 11000
    assert snapshot.raw["status"] == status
    if canceled:
        assert snapshot.refunded_amount == canceled
    assert sent() == {"cid": "TC0ONETIME", "tid": TID}


def test_order_without_tid_is_refused_without_a_call() -> None:
    with responses.RequestsMock(), pytest.raises(ProviderRejected):
        make_backend().fetch_payment(ref(tid=""))


# -- cancel ----------------------------------------------------------------------------


def cancel_answer(cancelled: int, total_canceled: int, status: str) -> dict[str, Any]:
    return {
        "aid": "A9876543210987654321",
        "tid": TID,
        "cid": "TC0ONETIME",
        "status": status,
        "partner_order_id": "ORD-5023-4E89",
        "partner_user_id": "ORD-5023-4E89",
        "payment_method_type": "CARD",
        "amount": amount(11000),
        "approved_cancel_amount": amount(cancelled),
        "canceled_amount": amount(total_canceled),
        "cancel_available_amount": amount(11000 - total_canceled),
    }


@responses.activate
def test_partial_cancel() -> None:
    responses.add(responses.POST, ORDER, json=order_answer("SUCCESS_PAYMENT"))
    responses.add(responses.POST, CANCEL, json=cancel_answer(4000, 4000, "PART_CANCEL_PAYMENT"))
    request = RefundRequest(payment=ref(), reference="R-1", amount=4000, idempotency_key="k")
    snapshot = make_backend().refund_payment(request)
    assert snapshot.status == RefundStatus.SUCCEEDED
    assert (snapshot.amount, snapshot.provider_refund_id) == (4000, "A9876543210987654321")
    assert sent() == {
        "cid": "TC0ONETIME",
        "tid": TID,
        "cancel_amount": 4000,
        "cancel_tax_free_amount": 0,
    }


@responses.activate
def test_full_cancel_sends_what_remains_of_tax_free_and_vat() -> None:
    order = order_answer("PART_CANCEL_PAYMENT", canceled=4000)
    order["cancel_available_amount"] = {"total": 7000, "tax_free": 2000, "vat": 455}
    responses.add(responses.POST, ORDER, json=order)
    responses.add(responses.POST, CANCEL, json=cancel_answer(7000, 11000, "CANCEL_PAYMENT"))
    request = RefundRequest(payment=ref(), reference="R-2", amount=7000, idempotency_key="k")
    snapshot = make_backend().refund_payment(request)
    assert snapshot.status == RefundStatus.SUCCEEDED
    assert sent()["cancel_tax_free_amount"] == 2000
    assert sent()["cancel_vat_amount"] == 455


@responses.activate
def test_a_cancel_beyond_what_remains_is_refused_before_sending() -> None:
    responses.add(responses.POST, ORDER, json=order_answer("PART_CANCEL_PAYMENT", canceled=8000))
    request = RefundRequest(payment=ref(), reference="R-3", amount=4000, idempotency_key="k")
    with pytest.raises(ProviderRejected):
        make_backend().refund_payment(request)
    assert [c.request.url for c in responses.calls] == [ORDER]


def test_a_timed_out_cancel_is_never_resent_on_its_own() -> None:
    assert KakaoPayBackend.idempotency_window is not None
    assert KakaoPayBackend.idempotency_window.total_seconds() == 0


# -- errors and timeouts ------------------------------------------------------------------


@responses.activate
@pytest.mark.parametrize(
    "payload",
    [
        {
            "error_code": -780,
            "error_message": "approval failure!",
            "extras": {
                "method_result_code": "USER_LOCKED",
                "method_result_message": "진행중인 거래가 있습니다. 잠시 후 다시 시도해 주세요.",
            },
        },
        {"code": -780, "msg": "approval failure!", "extras": {"method_result_code": "USER_LOCKED"}},
    ],
)
def test_both_error_shapes_keep_their_codes(payload: dict[str, Any]) -> None:
    responses.add(responses.POST, READY, status=400, json=payload)
    with pytest.raises(ProviderRejected) as caught:
        make_backend().create_payment(sample_payment_request())
    assert caught.value.codes == ("-780", "USER_LOCKED")
    assert "approval failure!" in str(caught.value)


@responses.activate
@pytest.mark.parametrize("status", [401, 403])
def test_credentials_refused_name_the_options(status: int) -> None:
    responses.add(responses.POST, ORDER, status=status, json={"error_code": -401})
    with pytest.raises(ProviderConfigurationError) as caught:
        make_backend().fetch_payment(ref())
    assert "SECRET_KEY" in str(caught.value)
    assert FAKE_KEY not in str(caught.value)


@responses.activate
@pytest.mark.parametrize("status", [500, 502, 503, 429])
def test_server_errors_are_unknown(status: int) -> None:
    responses.add(responses.POST, APPROVE, status=status, body=b"<html>")
    with pytest.raises(OutcomeUnknown):
        make_backend().complete_return(ref(), {"pg_token": "t"})


@responses.activate
def test_an_unreadable_success_is_unknown() -> None:
    responses.add(responses.POST, READY, status=200, body=b"not json")
    with pytest.raises(OutcomeUnknown):
        make_backend().create_payment(sample_payment_request())


@responses.activate
@pytest.mark.parametrize("url", [READY, APPROVE, ORDER, CANCEL])
def test_timeouts_at_each_step_are_unknown(url: str) -> None:
    for other in (READY, APPROVE, ORDER, CANCEL):
        if other == url:
            responses.add(responses.POST, other, body=requests.exceptions.ReadTimeout())
        elif other == ORDER:
            responses.add(responses.POST, other, json=order_answer("SUCCESS_PAYMENT"))
    backend = make_backend()
    refund = RefundRequest(payment=ref(), reference="R-4", amount=1000, idempotency_key="k")
    step = {
        READY: lambda: backend.create_payment(sample_payment_request()),
        APPROVE: lambda: backend.complete_return(ref(), {"pg_token": "t"}),
        ORDER: lambda: backend.fetch_payment(ref()),
        CANCEL: lambda: backend.refund_payment(refund),
    }[url]
    with pytest.raises(OutcomeUnknown):
        step()


# -- through the services and the return view ----------------------------------------------

SETTINGS = {
    "DEFAULT_BACKEND": "kakaopay",
    "SITE_URL": "https://shop.example",
    "BACKENDS": {
        "kakaopay": {
            "BACKEND": "django_kakaopay.backends.kakaopay.KakaoPayBackend",
            "OPTIONS": OPTIONS,
        }
    },
}


def started_payment() -> Payment:
    responses.add(responses.POST, READY, json=ready_answer())
    payment = services.create_payment(amount=11000, description="Wireless headphones")
    services.start_payment(payment)
    payment.refresh_from_db()
    assert payment.provider_payment_id == TID
    return payment


@pytest.mark.django_db
@responses.activate
@override_settings(KAKAOPAY=SETTINGS)
def test_approval_return_pays_once_and_a_reload_calls_nothing() -> None:
    payment = started_payment()
    responses.add(responses.POST, APPROVE, json=approve_answer(payment.reference, payment.amount))
    url = f"/kakaopay/return/{payment.return_token}/"
    Client().get(url, {"pg_token": "token-1"})
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PAID
    calls = len(responses.calls)
    Client().get(url, {"pg_token": "token-1"})  # a reload
    Client().get(url, {"pg_token": "another"})
    assert len(responses.calls) == calls, "nothing is approved twice"
    assert payment.transitions.filter(to_status="paid").count() == 1


@pytest.mark.django_db
@responses.activate
@override_settings(KAKAOPAY=SETTINGS)
def test_a_forged_token_changes_nothing() -> None:
    payment = started_payment()
    responses.add(responses.POST, APPROVE, status=400, json={"code": -702, "msg": "bad token"})
    responses.add(responses.POST, ORDER, json=order_answer("READY", reference=payment.reference))
    Client().get(f"/kakaopay/return/{payment.return_token}/", {"pg_token": "forged"})
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PENDING


@pytest.mark.django_db
@responses.activate
@override_settings(KAKAOPAY=SETTINGS)
def test_an_approve_that_timed_out_is_settled_by_a_pull() -> None:
    payment = started_payment()
    responses.add(responses.POST, APPROVE, body=requests.exceptions.ReadTimeout())
    Client().get(f"/kakaopay/return/{payment.return_token}/", {"pg_token": "token-1"})
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PENDING
    responses.add(
        responses.POST, ORDER, json=order_answer("SUCCESS_PAYMENT", reference=payment.reference)
    )
    services.sync_payment(payment)
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PAID


@pytest.mark.django_db
@responses.activate
@override_settings(KAKAOPAY=SETTINGS)
def test_a_cancel_return_looks_the_order_up() -> None:
    payment = started_payment()
    responses.add(
        responses.POST, ORDER, json=order_answer("QUIT_PAYMENT", reference=payment.reference)
    )
    Client().get(f"/kakaopay/return/{payment.return_token}/", {"outcome": "cancel"})
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.CANCELED
    assert [c.request.url for c in responses.calls][-1] == ORDER


# -- conformance -------------------------------------------------------------------------


@pytest.mark.django_db
class TestKakaoPayConformance(BackendConformance):
    rsps: responses.RequestsMock

    @pytest.fixture(autouse=True)
    def _mock_http(self) -> Iterator[None]:
        with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
            self.rsps = mock
            yield

    def make_backend(self) -> BaseBackend:
        return make_backend()

    def signed_notification(self, backend: BaseBackend) -> tuple[bytes, dict[str, str]]:
        # KakaoPay sends none: a plausible one, which must be refused.
        body = json.dumps({"tid": TID, "status": "SUCCESS_PAYMENT", "amount": 11000})
        return body.encode(), {"Content-Type": "application/json"}

    def arrange_create_payment(self, backend: BaseBackend, request: PaymentRequest) -> None:
        self.rsps.add(responses.POST, READY, json=ready_answer())

    def arrange_fetch_payment(self, backend: BaseBackend, ref: PaymentRef) -> None:
        self.rsps.add(
            responses.POST, ORDER, json=order_answer("SUCCESS_PAYMENT", reference=ref.reference)
        )

    def arrange_forged_return(self, backend: BaseBackend, ref: PaymentRef, params: Any) -> None:
        self.rsps.add(responses.POST, APPROVE, status=400, json={"error_code": -702})
        self.rsps.add(responses.POST, ORDER, json=order_answer("READY", reference=ref.reference))


# -- reconciliation's expiry window (unverified; 15 minutes by default) -------------------


@pytest.mark.django_db
@responses.activate
@override_settings(KAKAOPAY=SETTINGS)
@pytest.mark.parametrize(
    ("minutes", "order", "expected"),
    [
        (16, "READY", PaymentStatus.EXPIRED),
        (16, "AUTH_PASSWORD", PaymentStatus.EXPIRED),
        (14, "READY", PaymentStatus.PENDING),
        (16, "SUCCESS_PAYMENT", PaymentStatus.PAID),
        (16, "SOMETHING_NEW", PaymentStatus.PENDING),
    ],
)
def test_reconcile_expires_only_after_the_order_says_not_approved(
    minutes: int, order: str, expected: str
) -> None:
    from datetime import timedelta

    payment = started_payment()
    responses.add(responses.POST, ORDER, json=order_answer(order, reference=payment.reference))
    now = payment.created_at + timedelta(minutes=minutes)
    services.reconcile_payment(payment, now=now)
    payment.refresh_from_db()
    assert payment.status == expected
    assert [c.request.url for c in responses.calls][-1] == ORDER


@pytest.mark.django_db
@responses.activate
@override_settings(KAKAOPAY=SETTINGS)
def test_reconcile_expires_nothing_when_the_order_cannot_be_read() -> None:
    from datetime import timedelta

    payment = started_payment()
    responses.add(responses.POST, ORDER, body=requests.exceptions.ConnectTimeout())
    services.reconcile_payment(payment, now=payment.created_at + timedelta(hours=2))
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PENDING


@pytest.mark.django_db
@responses.activate
@override_settings(KAKAOPAY=SETTINGS)
def test_an_approve_that_timed_out_is_settled_by_the_reconcile_job() -> None:
    from datetime import timedelta

    payment = started_payment()
    responses.add(responses.POST, APPROVE, body=requests.exceptions.ReadTimeout())
    Client().get(f"/kakaopay/return/{payment.return_token}/", {"pg_token": "token-1"})
    payment.refresh_from_db()
    assert payment.needs_reconciliation or payment.status == PaymentStatus.PENDING
    responses.add(
        responses.POST, ORDER, json=order_answer("SUCCESS_PAYMENT", reference=payment.reference)
    )
    report = services.reconcile(now=payment.created_at + timedelta(hours=1))
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PAID
    assert report.results
