"""The admin lists and shows every model, and never lets a status be edited by hand."""

from __future__ import annotations

import pytest
from django.contrib.admin.utils import quote
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import resolve, reverse
from django.utils import translation

from django_kakaopay import services
from django_kakaopay.backends.checkout import CheckoutBackend
from django_kakaopay.backends.smart2pay import Smart2PayBackend
from django_kakaopay.conf import get_backend
from django_kakaopay.models import (
    Payment,
    Preapproval,
    Refund,
    SandboxTransaction,
    StatusTransition,
    WebhookEvent,
)
from django_kakaopay.sandbox import provider
from tests import helpers

pytestmark = pytest.mark.django_db


# ``admin_client`` is pytest-django's: a logged-in superuser.


@pytest.fixture
def paid_payment() -> Payment:
    payment = helpers.started_payment(
        reference="ORD-5023-4E89", customer={"name": "Jia Tsang", "email": "jia@example.com"}
    )
    # Approved on the sandbox page, which notifies: a change made by a notification.
    approval = helpers.provider_side(payment)
    provider.decide_payment(approval, "approve")
    get_backend("sandbox").notifier.notify(approval)
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PAID
    services.request_refund(payment, 1000, reason="damaged box")
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PARTIALLY_REFUNDED
    return payment


MODELS = (Payment, Refund, Preapproval, WebhookEvent, StatusTransition, SandboxTransaction)


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_changelist_renders(admin_client: Client, paid_payment: Payment, model: type) -> None:
    url = reverse(f"admin:django_kakaopay_{model._meta.model_name}_changelist")
    response = admin_client.get(url)
    assert response.status_code == 200


def test_payment_list_shows_formatted_money_and_searches(
    admin_client: Client, paid_payment: Payment
) -> None:
    url = reverse("admin:django_kakaopay_payment_changelist")
    page = admin_client.get(url, {"q": "jia@example.com"}).content.decode()
    assert "₩11,000" in page
    assert "ORD-5023-4E89" in page
    assert "ORD-5023-4E89" not in admin_client.get(url, {"q": "nobody"}).content.decode()


def test_payment_change_page_is_read_only_for_money_and_status(
    admin_client: Client, paid_payment: Payment
) -> None:
    url = reverse("admin:django_kakaopay_payment_change", args=[paid_payment.pk])
    page = admin_client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="status"' not in html
    assert 'name="amount"' not in html
    assert 'name="refunded_amount"' not in html
    assert paid_payment.return_token not in html, "the return capability must not be shown"
    # A forged POST cannot change the status either.
    admin_client.post(url, {"status": "refunded", "amount": "1", "description": "x"})
    paid_payment.refresh_from_db()
    assert paid_payment.status == Payment.Status.PARTIALLY_REFUNDED
    assert paid_payment.amount == 11000


def test_nothing_is_added_or_edited_by_hand(admin_client: Client, paid_payment: Payment) -> None:
    for model in (Payment, Refund, Preapproval, WebhookEvent, StatusTransition):
        add_url = reverse(f"admin:django_kakaopay_{model._meta.model_name}_add")
        assert admin_client.get(add_url).status_code == 403
    transition = StatusTransition.objects.filter(payment=paid_payment).first()
    assert transition is not None
    delete_url = reverse("admin:django_kakaopay_statustransition_delete", args=[transition.pk])
    assert admin_client.post(delete_url, {"post": "yes"}).status_code == 403
    assert StatusTransition.objects.filter(pk=transition.pk).exists()


def test_webhook_event_shows_body_but_no_secret_headers(admin_client: Client) -> None:
    services.receive_webhook(
        "sandbox",
        b'{"id": "evt_admin", "type": "payment.updated", "data": {}}',
        {
            "Content-Type": "application/json",
            "Authorization": "Basic c2VjcmV0LWNyZWRlbnRpYWw=",
            "X-Sandbox-Signature": "sha256=forged-signature-value",
        },
        "127.0.0.1",
    )
    event = WebhookEvent.objects.get()
    assert event.status == WebhookEvent.Status.REJECTED
    url = reverse("admin:django_kakaopay_webhookevent_change", args=[event.pk])
    html = admin_client.get(url).content.decode()
    assert "evt_admin" in html
    assert "c2VjcmV0LWNyZWRlbnRpYWw" not in html
    assert "forged-signature-value" not in html


# -- list pages: one query count whatever the number of rows ------------------------

LISTED = (Payment, Refund, Preapproval, WebhookEvent, StatusTransition)


def add_rows(start: int, count: int) -> None:
    """``count`` paid payments with a refund each, and as many active agreements.

    The sandbox notifies in process, so each also leaves inbox rows and transitions.
    """
    for number in range(start, start + count):
        payment = helpers.paid_payment(
            reference=f"ORD-{number:04d}",
            customer={"name": f"Customer {number}", "email": f"c{number}@example.com"},
        )
        services.request_refund(payment, 1000, reason="damaged box")
        helpers.active_preapproval(
            reference=f"AGR-{number:04d}",
            customer={"name": f"Customer {number}", "email": f"c{number}@example.com"},
            max_amount=50000,
        )


def changelist_queries(client: Client, model: type) -> int:
    url = reverse(f"admin:django_kakaopay_{model._meta.model_name}_changelist")
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries.captured_queries)


@pytest.mark.parametrize("model", LISTED, ids=lambda m: m.__name__)
def test_actions_run_outside_a_request_transaction(model: type) -> None:
    """Refund rows must commit before the provider is called, even with ATOMIC_REQUESTS."""
    view = resolve(reverse(f"admin:django_kakaopay_{model._meta.model_name}_changelist")).func
    assert "default" in getattr(view, "_non_atomic_requests", set())


def test_changelist_query_count_does_not_grow_with_rows(admin_client: Client) -> None:
    add_rows(0, 2)
    for model in LISTED:  # warm caches (content types, sessions) before counting
        changelist_queries(admin_client, model)
    few = {model.__name__: changelist_queries(admin_client, model) for model in LISTED}
    add_rows(2, 10)
    assert Payment.objects.count() == 12
    assert Refund.objects.count() == 12
    assert Preapproval.objects.count() == 12
    assert WebhookEvent.objects.count() >= 12
    many = {model.__name__: changelist_queries(admin_client, model) for model in LISTED}
    assert many == few


def change_page_queries(client: Client, obj: Payment | Preapproval) -> int:
    url = reverse(f"admin:django_kakaopay_{obj._meta.model_name}_change", args=[obj.pk])
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries.captured_queries)


def test_payment_change_page_query_count_does_not_grow_with_refunds(
    admin_client: Client,
) -> None:
    # The refund inline shows amounts in the payment's currency: without a
    # join, each refund row loads its payment again.
    one = helpers.paid_payment(reference="ORD-ONE-REFUND")
    services.request_refund(one, 1000, reason="first")
    six = helpers.paid_payment(reference="ORD-SIX-REFUNDS")
    for number in range(6):
        services.request_refund(six, 1000, reason=f"part {number}")
    assert six.refunds.count() == 6
    change_page_queries(admin_client, one)  # warm caches (content types, sessions)
    assert change_page_queries(admin_client, six) == change_page_queries(admin_client, one)


def test_payment_list_shows_badge_customer_and_filters(
    admin_client: Client, paid_payment: Payment
) -> None:
    url = reverse("admin:django_kakaopay_payment_changelist")
    html = admin_client.get(url).content.decode()
    assert "kakaopay-status-partially_refunded" in html
    assert "Partially refunded" in html
    assert "Jia Tsang" in html
    assert "₩1,000" in html, "the refunded amount is shown formatted"
    filtered = admin_client.get(url, {"status__exact": "paid"}).content.decode()
    assert "ORD-5023-4E89" not in filtered
    by_currency = admin_client.get(url, {"currency": "KRW"}).content.decode()
    assert "ORD-5023-4E89" in by_currency


def test_refund_list_searches_by_payment_reference_and_provider_id(
    admin_client: Client, paid_payment: Payment
) -> None:
    refund = Refund.objects.get(payment=paid_payment)
    url = reverse("admin:django_kakaopay_refund_changelist")
    assert refund.reference in admin_client.get(url, {"q": "ORD-5023"}).content.decode()
    assert refund.provider_refund_id
    page = admin_client.get(url, {"q": refund.provider_refund_id}).content.decode()
    assert refund.reference in page
    assert "₩1,000" in page
    assert refund.reference not in admin_client.get(url, {"q": "nothing"}).content.decode()


# -- change pages -------------------------------------------------------------------


def test_payment_change_page_pretty_prints_and_escapes_the_payload(
    admin_client: Client, paid_payment: Payment
) -> None:
    Payment.objects.filter(pk=paid_payment.pk).update(
        provider_payload={"note": "<script>alert('x')</script>", "name": "카카오"}
    )
    url = reverse("admin:django_kakaopay_payment_change", args=[paid_payment.pk])
    html = admin_client.get(url).content.decode()
    assert "<script>alert(" not in html
    assert "&lt;script&gt;alert(" in html
    assert "&quot;name&quot;: &quot;카카오&quot;" in html, "indented, not ASCII-escaped"
    assert '<pre class="kakaopay-json"' in html


def test_payment_change_page_links_transitions_refunds_and_notifications(
    admin_client: Client, paid_payment: Payment
) -> None:
    url = reverse("admin:django_kakaopay_payment_change", args=[paid_payment.pk])
    html = admin_client.get(url).content.decode()
    refund = Refund.objects.get(payment=paid_payment)
    assert refund.reference in html
    assert "partially_refunded" in html, "the transition log is inline"
    event_ids = {
        t.evidence["webhook_event"]
        for t in StatusTransition.objects.filter(payment=paid_payment)
        if "webhook_event" in t.evidence
    }
    assert event_ids, "the sandbox notified the approval"
    for event_id in event_ids:
        event_url = reverse("admin:django_kakaopay_webhookevent_change", args=[event_id])
        assert event_url in html


def test_description_and_metadata_are_editable_without_touching_the_status(
    admin_client: Client, paid_payment: Payment
) -> None:
    url = reverse("admin:django_kakaopay_payment_change", args=[paid_payment.pk])
    response = admin_client.post(
        url, {"description": "gift wrap", "metadata": '{"order": 5023}', **inline_management()}
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    paid_payment.refresh_from_db()
    assert paid_payment.description == "gift wrap"
    assert paid_payment.metadata == {"order": 5023}
    assert paid_payment.status == Payment.Status.PARTIALLY_REFUNDED


def inline_management() -> dict[str, str]:
    data = {}
    for prefix in ("refunds", "transitions"):
        data.update(
            {
                f"{prefix}-TOTAL_FORMS": "0",
                f"{prefix}-INITIAL_FORMS": "0",
                f"{prefix}-MIN_NUM_FORMS": "0",
                f"{prefix}-MAX_NUM_FORMS": "1000",
            }
        )
    return data


def test_webhook_event_page_shows_pretty_body_headers_and_changed_records(
    admin_client: Client, paid_payment: Payment
) -> None:
    transition = (
        StatusTransition.objects.filter(payment=paid_payment, evidence__has_key="webhook_event")
        .order_by("created_at")
        .first()
    )
    assert transition is not None
    event = WebhookEvent.objects.get(pk=transition.evidence["webhook_event"])
    url = reverse("admin:django_kakaopay_webhookevent_change", args=[event.pk])
    html = admin_client.get(url).content.decode()
    assert '<pre class="kakaopay-body"' in html
    assert "\n  &quot;data&quot;: {" in html, "JSON bodies are indented"
    assert "Content-Type" in html
    payment_url = reverse("admin:django_kakaopay_payment_change", args=[paid_payment.pk])
    assert payment_url in html
    assert 'name="event_key"' not in html, "read-only"


def test_transition_list_links_subject_and_notification(
    admin_client: Client, paid_payment: Payment
) -> None:
    html = admin_client.get(
        reverse("admin:django_kakaopay_statustransition_changelist")
    ).content.decode()
    assert reverse("admin:django_kakaopay_payment_change", args=[paid_payment.pk]) in html
    assert "/admin/django_kakaopay/webhookevent/" in html


def test_nothing_can_be_deleted(admin_client: Client, paid_payment: Payment) -> None:
    refund = Refund.objects.get(payment=paid_payment)
    event = WebhookEvent.objects.first()
    assert event is not None
    for model, pk in ((Payment, paid_payment.pk), (Refund, refund.pk), (WebhookEvent, event.pk)):
        url = reverse(f"admin:django_kakaopay_{model._meta.model_name}_delete", args=[pk])
        assert admin_client.post(url, {"post": "yes"}).status_code == 403
    assert Payment.objects.filter(pk=paid_payment.pk).exists()


# -- links to the provider's dashboard ----------------------------------------------


def test_sandbox_payment_links_to_its_sandbox_transaction(
    admin_client: Client, paid_payment: Payment
) -> None:
    url = reverse("admin:django_kakaopay_payment_change", args=[paid_payment.pk])
    html = admin_client.get(url).content.decode()
    target = reverse(
        "admin:django_kakaopay_sandboxtransaction_change",
        args=[quote(paid_payment.provider_payment_id)],
    )
    assert f'href="{target}"' in html
    assert admin_client.get(target).status_code == 200


@pytest.mark.parametrize("provider_id", ["sbx_pay_25ab", "sbx_pay_2f3a", "sbx_pay_40ff"])
def test_a_sandbox_link_survives_ids_the_admin_would_unquote(
    admin_client: Client, provider_id: str
) -> None:
    """ "_25" reads to the admin as "%": unquoted, one id in fifty would not open."""
    tx = SandboxTransaction.objects.create(
        id=provider_id,
        backend="sandbox",
        kind="payment",
        status="READY",
        reference="ORD-Q",
        amount=1000,
        currency="KRW",
    )
    link = get_backend("sandbox").dashboard_url("payment", tx.pk)
    assert admin_client.get(link).status_code == 200


def test_a_configured_dashboard_url_is_used(admin_client: Client) -> None:
    template = "https://dashboard.example.com/payments/{id}?from=admin"
    with override_settings(KAKAOPAY=helpers.sandbox_settings(DASHBOARD_URL=template)):
        payment = helpers.paid_payment()
        url = reverse("admin:django_kakaopay_payment_change", args=[payment.pk])
        html = admin_client.get(url).content.decode()
    expected = f"https://dashboard.example.com/payments/{payment.provider_payment_id}?from=admin"
    assert f'href="{expected.replace("&", "&amp;")}"' in html


CHECKOUT_OPTIONS = {
    "SECRET_KEY": "sk_sbox_admin_tests",
    "PROCESSING_CHANNEL_ID": "pc_admintests",
    "ENVIRONMENT": "sandbox",
    "SUBDOMAIN_PREFIX": "abcd1234",
}


def test_provider_backends_have_no_dashboard_link_unless_configured(
    admin_client: Client,
) -> None:
    kakaopay = helpers.sandbox_settings()
    kakaopay["BACKENDS"]["checkout"] = {
        "BACKEND": "django_kakaopay.backends.checkout.CheckoutBackend",
        "OPTIONS": CHECKOUT_OPTIONS,
    }
    with override_settings(KAKAOPAY=kakaopay):
        payment = Payment.objects.create(
            reference="ORD-CKO-1",
            backend="checkout",
            amount=11000,
            currency="KRW",
            status=Payment.Status.PENDING,
            provider_payment_id="pay_abc/../1",
        )
        url = reverse("admin:django_kakaopay_payment_change", args=[payment.pk])
        assert "dashboard.example.com" not in admin_client.get(url).content.decode()
        assert CheckoutBackend("checkout", CHECKOUT_OPTIONS).dashboard_url("payment", "x") == ""
        assert Smart2PayBackend.dashboard_url_template == ""
        configured = {**CHECKOUT_OPTIONS, "DASHBOARD_URL": "https://dashboard.example.com/{id}"}
        kakaopay["BACKENDS"]["checkout"]["OPTIONS"] = configured
        assert CheckoutBackend.unknown_option_problems(configured) == []
    with override_settings(KAKAOPAY=kakaopay):
        html = admin_client.get(url).content.decode()
    # The provider's id is quoted as one path segment.
    assert 'href="https://dashboard.example.com/pay_abc%2F..%2F1"' in html


def test_dashboard_url_per_kind_mapping() -> None:
    backend = Smart2PayBackend(
        "smart2pay",
        {
            "SITE_ID": "1234",
            "API_KEY": "key",
            "ENVIRONMENT": "test",
            "DASHBOARD_URL": {"payment": "https://s2p.example/p/{id}"},
        },
    )
    assert backend.dashboard_url("payment", "42") == "https://s2p.example/p/42"
    assert backend.dashboard_url("preapproval", "42") == ""
    assert backend.dashboard_url("payment", "") == ""


# -- Korean -------------------------------------------------------------------------


def test_payment_pages_render_in_korean(admin_client: Client, paid_payment: Payment) -> None:
    changelist = reverse("admin:django_kakaopay_payment_changelist")
    html = admin_client.get(changelist, HTTP_ACCEPT_LANGUAGE="ko").content.decode()
    assert "검색" in html, "Django admin's own Korean"
    assert "결제" in html, "the app's Korean model name"
    with translation.override("ko"):
        label = str(Payment.Status.PARTIALLY_REFUNDED.label)
    assert label != "Partially refunded"
    assert label in html, "the status badge shows the translated label"
    change = reverse("admin:django_kakaopay_payment_change", args=[paid_payment.pk])
    response = admin_client.get(change, HTTP_ACCEPT_LANGUAGE="ko")
    assert response.status_code == 200
    assert "결제" in response.content.decode()
    assert "₩11,000" in response.content.decode()


def test_every_change_page_renders(admin_client: Client, paid_payment: Payment) -> None:
    agreement = helpers.active_preapproval(reference="AGR-PAGE", max_amount=30000)
    services.charge_preapproval(agreement, amount=9900, billing_period="2026-11")
    objects = [
        paid_payment,
        Refund.objects.get(payment=paid_payment),
        agreement,
        WebhookEvent.objects.first(),
        StatusTransition.objects.first(),
    ]
    for obj in objects:
        assert obj is not None
        url = reverse(f"admin:django_kakaopay_{obj._meta.model_name}_change", args=[obj.pk])
        response = admin_client.get(url)
        assert response.status_code == 200, url
    html = admin_client.get(
        reverse("admin:django_kakaopay_preapproval_change", args=[agreement.pk])
    ).content.decode()
    assert "AGR-PAGE-2026-11" in html, "charges are inline"
    assert "₩30,000" in html
    assert 'name="max_amount"' not in html
    assert 'name="status"' not in html
