"""Staff actions leave a trail: Django's admin log, the acting user, and source ``admin``.

And the refund form says what it needs, where it needs it.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.contrib.admin.models import ADDITION, CHANGE, LogEntry
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.test import Client, override_settings
from django.urls import reverse

from django_kakaopay import services
from django_kakaopay.backends.base import RefundRequest, RefundSnapshot
from django_kakaopay.backends.sandbox import SandboxBackend
from django_kakaopay.models import Payment, Preapproval, Refund, StatusTransition, WebhookEvent
from django_kakaopay.sandbox import provider
from django_kakaopay.status import RefundStatus
from tests import helpers
from tests.test_admin_actions import (
    EVENTS,
    MISBEHAVING,
    PAYMENTS,
    PREAPPROVALS,
    REFUNDS,
    failed_event,
    follow,
    run,
    submit_refund,
)

pytestmark = pytest.mark.django_db


class RefundAcceptedBackend(SandboxBackend):
    """A provider that takes a refund now and confirms it later, by notification.

    As Checkout.com does (202 Accepted): the answer leaves the refund pending.
    """

    def refund_payment(self, request: RefundRequest) -> RefundSnapshot:
        snapshot = super().refund_payment(request)
        return RefundSnapshot(
            status=RefundStatus.PENDING,
            provider_refund_id=snapshot.provider_refund_id,
            reference=snapshot.reference,
            provider_payment_id=snapshot.provider_payment_id,
        )


def entries(obj: models.Model) -> list[LogEntry]:
    """The admin log of ``obj``, oldest first."""
    content_type = ContentType.objects.get_for_model(obj)
    return list(
        LogEntry.objects.filter(content_type=content_type, object_id=str(obj.pk)).order_by(
            "action_time", "pk"
        )
    )


def actor(user: AbstractBaseUser) -> dict[str, Any]:
    return {"id": user.pk, "username": user.get_username()}


def history(client: Client, obj: models.Model) -> str:
    opts = obj._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_history", args=[obj.pk])
    page = client.get(url)
    assert page.status_code == 200
    return page.content.decode()


# -- point 5: who did what -------------------------------------------------------------


def test_a_partial_refund_is_logged_credited_to_the_admin_and_its_user(
    admin_client: Client, admin_user: AbstractBaseUser
) -> None:
    payment = helpers.paid_payment(reference="ORD-AUDIT")
    response = submit_refund(admin_client, [payment], amount="3,000", reason="one item returned")
    assert follow(admin_client, response) == ["1 payment was refunded: ORD-AUDIT (₩3,000)"]
    refund = Refund.objects.get(payment=payment)
    assert refund.requested_by == admin_user

    # The admin's action caused both changes, and the provider's answer to it
    # settled them: the sandbox's own notification must not take the credit.
    settled = refund.transitions.get(to_status=Refund.Status.SUCCEEDED)
    assert (settled.source, settled.evidence["actor"]) == ("admin", actor(admin_user))
    moved = payment.transitions.get(to_status=Payment.Status.PARTIALLY_REFUNDED)
    assert (moved.source, moved.evidence["actor"]) == ("admin", actor(admin_user))
    # The notification still arrived, and confirmed what was already applied.
    event = WebhookEvent.objects.get(event_type="refund.updated")
    assert event.status == WebhookEvent.Status.PROCESSED
    assert not StatusTransition.objects.filter(evidence__webhook_event=event.pk).exists()

    message = f"Refund {refund.reference} of ₩3,000 requested (one item returned): Succeeded"
    [change] = entries(payment)
    assert (change.user, change.action_flag) == (admin_user, CHANGE)
    assert change.get_change_message() == message
    [added] = entries(refund)
    assert (added.user, added.action_flag) == (admin_user, ADDITION)
    assert added.get_change_message() == message

    page = history(admin_client, payment)
    assert "doesn&#x27;t have a change history" not in page
    assert message in page
    index = admin_client.get(reverse("admin:index")).content.decode()
    recent = index[index.index('id="recent-actions-module"') :]
    assert "ORD-AUDIT" in recent
    refund_page = admin_client.get(
        reverse("admin:django_kakaopay_refund_change", args=[refund.pk])
    ).content.decode()
    assert "Requested by" in refund_page
    assert admin_user.get_username() in refund_page


def test_the_services_apply_their_own_answer_before_the_sandbox_notifies() -> None:
    # Outside the admin too: whoever asked for the refund gets the credit, and
    # the notification the sandbox sends "at once" arrives after the answer.
    payment = helpers.paid_payment()
    refund = services.request_refund(payment, 1000, reason="x", source="api")
    assert refund.status == Refund.Status.SUCCEEDED
    assert refund.requested_by is None
    settled = refund.transitions.get(to_status=Refund.Status.SUCCEEDED)
    assert settled.source == "api"
    assert "actor" not in settled.evidence
    assert WebhookEvent.objects.get(event_type="refund.updated").status == "processed"


def test_a_later_notification_that_settles_a_staff_refund_keeps_its_own_source(
    admin_client: Client, admin_user: AbstractBaseUser
) -> None:
    kakaopay = helpers.sandbox_settings(
        extra={"accepts": "tests.test_admin_audit.RefundAcceptedBackend"}
    )
    # Its notification is sent by hand below, when the provider has confirmed.
    kakaopay["BACKENDS"]["accepts"]["OPTIONS"] = {"NOTIFICATIONS": "none"}
    with override_settings(KAKAOPAY=kakaopay):
        payment = helpers.paid_payment(backend="accepts", reference="ORD-LATER")
        messages = follow(
            admin_client, submit_refund(admin_client, [payment], amount="2000", reason="later")
        )
        assert messages == [
            "1 refund was requested and waits for the provider's confirmation: ORD-LATER (₩2,000)"
        ]
        refund = Refund.objects.get(payment=payment)
        assert refund.status == Refund.Status.PENDING
        assert refund.requested_by == admin_user
        [change] = entries(payment)
        assert change.get_change_message().endswith(": Pending")
        # The provider confirms it by notification, later.
        tx = provider.find("accepts", "refund", refund.reference)
        assert tx is not None
        helpers.deliver(
            Client(),
            json.dumps(
                {
                    "id": "evt_refund_later",
                    "type": "refund.updated",
                    "created_at": "2026-11-23T11:00:00+09:00",
                    "data": provider.as_json(tx),
                }
            ).encode(),
            alias="accepts",
        )
    settled = refund.transitions.get(to_status=Refund.Status.SUCCEEDED)
    assert settled.source == "webhook"
    assert "actor" not in settled.evidence
    refund.refresh_from_db()
    assert refund.requested_by == admin_user, "the request stays the staff member's"


def test_a_charge_is_logged_and_credited_to_its_user(
    admin_client: Client, admin_user: AbstractBaseUser
) -> None:
    agreement = helpers.active_preapproval(reference="AGR-AUDIT")
    response = run(
        admin_client,
        PREAPPROVALS,
        "charge_preapprovals",
        [agreement],
        apply="1",
        amount="9900",
        billing_period="2026-11",
    )
    assert follow(admin_client, response) == [
        "1 agreement was charged: AGR-AUDIT (AGR-AUDIT-2026-11, ₩9,900)"
    ]
    charge = Payment.objects.get(preapproval=agreement)
    assert charge.requested_by == admin_user
    paid = charge.transitions.get(to_status=Payment.Status.PAID)
    assert (paid.source, paid.evidence["actor"]) == ("admin", actor(admin_user))
    message = "Charge AGR-AUDIT-2026-11 of ₩9,900 for period 2026-11: Paid"
    [change] = entries(agreement)
    assert (change.user, change.action_flag, change.get_change_message()) == (
        admin_user,
        CHANGE,
        message,
    )
    [added] = entries(charge)
    assert (added.action_flag, added.get_change_message()) == (ADDITION, message)
    assert message in history(admin_client, agreement)


def test_a_cancellation_is_logged_and_credited_to_its_user(
    admin_client: Client, admin_user: AbstractBaseUser
) -> None:
    agreement = helpers.active_preapproval(reference="AGR-BYE")
    response = run(admin_client, PREAPPROVALS, "cancel_preapprovals", [agreement], apply="1")
    assert follow(admin_client, response) == ["1 agreement was canceled: AGR-BYE"]
    agreement.refresh_from_db()
    assert agreement.cancel_requested_by == admin_user
    canceled = agreement.transitions.get(to_status=Preapproval.Status.CANCELED)
    assert (canceled.source, canceled.evidence["actor"]) == ("admin", actor(admin_user))
    [change] = entries(agreement)
    assert (change.user, change.get_change_message()) == (
        admin_user,
        "Cancellation requested: Canceled",
    )


def test_a_refused_cancellation_is_logged_and_forgets_its_requester(
    admin_client: Client, admin_user: AbstractBaseUser
) -> None:
    with override_settings(KAKAOPAY=MISBEHAVING):
        agreement = helpers.active_preapproval(backend="cancel_refused", reference="AGR-NO")
        follow(
            admin_client,
            run(admin_client, PREAPPROVALS, "cancel_preapprovals", [agreement], apply="1"),
        )
    agreement.refresh_from_db()
    # Nothing changed at the provider: this request is withdrawn with its requester.
    assert (agreement.cancel_requested_at, agreement.cancel_requested_by) == (None, None)
    [change] = entries(agreement)
    assert (change.user, change.get_change_message()) == (
        admin_user,
        "Cancellation failed: agreement_locked",
    )


def test_a_refresh_is_logged_and_credited_to_its_user(
    admin_client: Client, admin_user: AbstractBaseUser
) -> None:
    with override_settings(KAKAOPAY=helpers.sandbox_settings(NOTIFICATIONS="none")):
        payment = helpers.started_payment(reference="ORD-REF")
        provider.decide_payment(helpers.provider_side(payment), "approve")
        follow(admin_client, run(admin_client, PAYMENTS, "refresh_payments", [payment]))
        paid = payment.transitions.get(to_status=Payment.Status.PAID)
        assert (paid.source, paid.evidence["actor"]) == ("admin", actor(admin_user))
        [entry] = entries(payment)
        assert (entry.user, entry.get_change_message()) == (
            admin_user,
            "Refreshed from the provider: Pending → Paid",
        )
        # Refunds are refreshed through their payments: the payment's log says so.
        services.request_refund(payment, 1000, reason="x")
        follow(
            admin_client,
            run(admin_client, REFUNDS, "refresh_refunds", list(Refund.objects.all())),
        )
        assert entries(payment)[-1].get_change_message() == (
            "Refreshed from the provider: Partially refunded, unchanged"
        )
        agreement = helpers.active_preapproval(reference="AGR-REF")
        follow(admin_client, run(admin_client, PREAPPROVALS, "refresh_preapprovals", [agreement]))
    [entry] = entries(agreement)
    assert entry.get_change_message() == "Refreshed from the provider: Active, unchanged"


def test_a_failed_refresh_is_logged_with_its_error(admin_client: Client) -> None:
    with override_settings(KAKAOPAY=helpers.sandbox_settings()):
        payment = services.create_payment(amount=11000, backend="flaky", reference="ORD-NOPE")
        services.start_payment(payment)
        follow(admin_client, run(admin_client, PAYMENTS, "refresh_payments", [payment]))
    [entry] = entries(payment)
    assert entry.get_change_message().startswith("Refresh from the provider failed: ")
    assert "timed out" in entry.get_change_message()


def test_a_replay_is_logged_and_credited_to_its_user(
    admin_client: Client,
    admin_user: AbstractBaseUser,
    client: Client,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    payment, event = failed_event(client, monkeypatch)
    follow(admin_client, run(admin_client, EVENTS, "replay_events", [event]))
    paid = payment.transitions.get(to_status=Payment.Status.PAID)
    assert (paid.source, paid.evidence["actor"]) == ("admin", actor(admin_user))
    assert paid.evidence["webhook_event"] == event.pk
    [entry] = entries(event)
    assert (entry.user, entry.get_change_message()) == (admin_user, "Replayed: Processed")


def test_services_record_the_actor_they_are_given(admin_user: AbstractBaseUser) -> None:
    payment = helpers.paid_payment()
    refund = services.request_refund(payment, 1000, reason="x", actor=admin_user)
    assert refund.requested_by == admin_user
    agreement = helpers.active_preapproval()
    charge = services.charge_preapproval(
        agreement, amount=1000, billing_period="2026-11", actor=admin_user
    )
    assert charge.requested_by == admin_user
    services.cancel_preapproval(agreement, actor=admin_user)
    agreement.refresh_from_db()
    assert agreement.cancel_requested_by == admin_user
    caused = StatusTransition.objects.filter(evidence__step__in=["refund", "charge", "cancel"])
    assert caused.count() == 4, "refund, its payment, the charge and the cancellation"
    for row in caused:
        assert row.evidence["actor"] == actor(admin_user), (row.from_status, row.to_status)
    assert not StatusTransition.objects.exclude(pk__in=caused).filter(evidence__has_key="actor")


# -- point 6: the refund form --------------------------------------------------------


def test_the_reason_is_marked_required_and_the_amount_is_not(admin_client: Client) -> None:
    payment = helpers.paid_payment()
    html = run(admin_client, PAYMENTS, "refund_payments", [payment]).content.decode()
    assert re.search(r'<label[^>]*class="required"[^>]*for="id_reason"', html) or re.search(
        r'<label[^>]*for="id_reason"[^>]*class="required"', html
    ), html
    assert "admin/css/forms.css" in html, "the admin's style that sets required labels in bold"
    amount_label = re.search(r'<label[^>]*for="id_amount"[^>]*>', html)
    assert amount_label is not None
    assert "required" not in amount_label.group(0)


def test_the_reason_error_is_shown_with_the_reason(admin_client: Client) -> None:
    payment = helpers.paid_payment()
    html = submit_refund(admin_client, [payment], amount="1000", reason="").content.decode()
    assert not Refund.objects.exists()
    error = html.index("This field is required.")
    amount_help = html.index('id="id_amount_helptext"')
    reason_input = html.index('name="reason"')
    reason_help = html.index('id="id_reason_helptext"')
    # Not between the amount's help and the reason's label: after the reason's
    # field, before its help text.
    assert amount_help < reason_input < error < reason_help


def test_the_amount_starts_with_what_remains_refundable(admin_client: Client) -> None:
    payment = helpers.paid_payment()
    html = run(admin_client, PAYMENTS, "refund_payments", [payment]).content.decode()
    assert re.search(r'name="amount" value="11000"', html), html
    services.request_refund(payment, 3000, reason="first")
    html = run(admin_client, PAYMENTS, "refund_payments", [payment]).content.decode()
    assert re.search(r'name="amount" value="8000"', html)
    # Submitted as shown, it refunds the rest.
    follow(admin_client, submit_refund(admin_client, [payment], amount="8000", reason="rest"))
    payment.refresh_from_db()
    assert payment.status == Payment.Status.REFUNDED
    # With several payments each is refunded in full: the field starts empty.
    other = helpers.paid_payment()
    third = helpers.paid_payment()
    html = run(admin_client, PAYMENTS, "refund_payments", [other, third]).content.decode()
    field = re.search(r'<input[^>]*name="amount"[^>]*>', html)
    assert field is not None
    assert "value=" not in field.group(0)


def test_the_payment_shows_the_providers_payload_after_the_refund(admin_client: Client) -> None:
    payment = helpers.paid_payment(reference="ORD-PAYLOAD")
    assert payment.provider_payload["refunded_amount"] == 0
    follow(admin_client, submit_refund(admin_client, [payment], amount="3,000", reason="x"))
    payment.refresh_from_db()
    assert payment.provider_payload["refunded_amount"] == 3000
    assert payment.provider_payload["status"] == provider.PART_CANCEL_PAYMENT
    assert payment.provider_status == provider.PART_CANCEL_PAYMENT
    page = admin_client.get(reverse("admin:django_kakaopay_payment_change", args=[payment.pk]))
    assert "PART_CANCEL_PAYMENT" in page.content.decode()
