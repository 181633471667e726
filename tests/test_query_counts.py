"""SQL statements per request on the money paths, pinned.

Counted with real transactions (BEGIN and COMMIT are logged by Django and
count here), through the views, with the Checkout.com backend and its HTTP
mocked so that the provider costs no statement. The example shop's own
``payment_paid`` receiver is left out: it is the shop's work, not ours.

On PostgreSQL a status change and its log row are one statement (a
data-modifying ``WITH``); elsewhere they are two.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import responses
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext

from django_kakaopay import services
from django_kakaopay.models import Payment, WebhookEvent
from django_kakaopay.status import PaymentStatus

from .test_checkout_backend import (
    CHECKOUT_SETTINGS,
    PAY_ID,
    add_get_payment,
    add_seed_create,
    cko_event,
    new_payment,
    signed,
)

pytestmark = pytest.mark.django_db(transaction=True)

# One statement fewer on PostgreSQL for each status change.
CHANGE = 1 if connection.vendor == "postgresql" else 2


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture(autouse=True)
def _checkout() -> Iterator[None]:
    with override_settings(KAKAOPAY=CHECKOUT_SETTINGS):
        yield


def ours(context: CaptureQueriesContext) -> list[str]:
    return [q["sql"] for q in context.captured_queries if "shop_order" not in q["sql"]]


def started(rsps: responses.RequestsMock) -> Payment:
    add_seed_create(rsps)
    payment = services.start_payment(new_payment())
    rsps.reset()
    assert payment.status == PaymentStatus.PENDING
    return payment


def post(client: Client, body: bytes, headers: dict[str, str]) -> Any:
    return client.post(
        "/kakaopay/webhooks/checkout/", body, content_type="application/json", headers=headers
    )


def test_a_new_notification(client: Client, rsps: responses.RequestsMock) -> None:
    started(rsps)
    body = cko_event("payment_captured")
    with CaptureQueriesContext(connection) as context:
        assert post(client, body, signed(body)).status_code == 200
    sql = ours(context)
    # BEGIN, claim the inbox row, find and lock the payment, change + log, COMMIT.
    assert len(sql) == 3 + CHANGE + 1, sql
    assert sql[0] == "BEGIN"
    assert sql[-1] == "COMMIT"
    assert " OR " not in sql[2], "one point look-up, not an OR across columns"
    assert Payment.objects.get().status == PaymentStatus.PAID


def test_a_duplicate_notification(client: Client, rsps: responses.RequestsMock) -> None:
    started(rsps)
    body = cko_event("payment_captured")
    post(client, body, signed(body))
    with CaptureQueriesContext(connection) as context:
        assert post(client, body, signed(body)).status_code == 200
    assert len(ours(context)) == 3, ours(context)  # BEGIN, the claim finds it done, COMMIT


def test_an_ignored_event_type(client: Client) -> None:
    body = cko_event("payment_authentication_started")
    with CaptureQueriesContext(connection) as context:
        assert post(client, body, signed(body)).status_code == 200
    assert len(ours(context)) == 3, ours(context)
    assert WebhookEvent.objects.get().status == WebhookEvent.Status.IGNORED


def test_a_malformed_notification(client: Client) -> None:
    body = b'{"id": "evt_bad", "type": "payment_paid"}'
    with CaptureQueriesContext(connection) as context:
        assert post(client, body, signed(body)).status_code == 400
    assert len(ours(context)) == 3, ours(context)


def test_a_forged_notification(client: Client) -> None:
    body = cko_event("payment_captured")
    with CaptureQueriesContext(connection) as context:
        assert post(client, body, {"Cko-Signature": "0" * 64}).status_code == 401
    # BEGIN, the bounded diagnostic row, trimming the oldest, COMMIT.
    assert len(ours(context)) == 4, ours(context)


def test_the_return_view_with_a_pull(client: Client, rsps: responses.RequestsMock) -> None:
    payment = started(rsps)
    add_get_payment(rsps, "Captured")
    with CaptureQueriesContext(connection) as context:
        response = client.get(f"/kakaopay/return/{payment.return_token}/")
    assert response.status_code in (200, 302)
    # The look-up by token, then BEGIN, one compare-and-set (+ log), COMMIT.
    assert len(ours(context)) == 1 + 1 + CHANGE + 1, ours(context)
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PAID
    assert payment.provider_payment_id == PAY_ID


def test_starting_a_payment(client: Client, rsps: responses.RequestsMock) -> None:
    payment = new_payment()
    add_seed_create(rsps)
    with CaptureQueriesContext(connection) as context:
        response = client.get(f"/kakaopay/checkout/{payment.return_token}/")
    assert response.status_code == 302
    # The look-up by token, the claim (one conditional UPDATE, committed before
    # the provider call, so a double click calls it once), then BEGIN, the
    # redirect URL, ids, status and the claim's end in one UPDATE (+ log), COMMIT.
    assert len(ours(context)) == 1 + 1 + 1 + CHANGE + 1, ours(context)
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PENDING
    assert payment.redirect_url


def test_the_payment_look_up_uses_an_index(client: Client, rsps: responses.RequestsMock) -> None:
    started(rsps)
    # Enough rows, each with its own ids, for the planner's choice to mean something.
    Payment.objects.bulk_create(
        Payment(
            backend="checkout",
            amount=1000,
            currency="KRW",
            status=PaymentStatus.PENDING,
            reference=f"BULK-{n}",
            provider_payment_id=f"pay_bulk_{n}",
            provider_session_id=f"set_bulk_{n}",
        )
        for n in range(2000)
    )
    body = cko_event("payment_captured")
    with CaptureQueriesContext(connection) as context:
        post(client, body, signed(body))
    look_up = next(sql for sql in ours(context) if sql.startswith("SELECT"))
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ANALYZE django_kakaopay_payment")
            cursor.execute("SET enable_seqscan = off")
            cursor.execute("EXPLAIN " + look_up)
        else:
            cursor.execute("EXPLAIN QUERY PLAN " + look_up)
        plan = " ".join(str(row) for row in cursor.fetchall())
        if connection.vendor == "postgresql":
            cursor.execute("RESET enable_seqscan")
    # The (backend, provider_payment_id) index, or the unique constraint on the same columns.
    assert "kakaopay_payment_provider" in plan, plan
    if connection.vendor == "postgresql":
        assert (
            "Index Cond: (((backend)::text = 'checkout'::text) AND ((provider_payment_id)" in plan
        )
