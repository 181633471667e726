"""Admin actions: each goes through the services layer, counts what happened, never 500s."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from typing import Any, ClassVar

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone

from django_kakaopay import services
from django_kakaopay.admin.forms import manual_billing_period, parse_major_units
from django_kakaopay.backends.base import (
    Capability,
    ChargeRequest,
    PaymentSnapshot,
    PreapprovalRef,
    PreapprovalSnapshot,
    RefundRequest,
    RefundSnapshot,
)
from django_kakaopay.backends.sandbox import SandboxBackend
from django_kakaopay.exceptions import OutcomeUnknown, ProviderRejected
from django_kakaopay.models import Payment, Preapproval, Refund, WebhookEvent
from django_kakaopay.sandbox import provider
from tests import helpers

pytestmark = pytest.mark.django_db

PAYMENTS = reverse("admin:django_kakaopay_payment_changelist")
PREAPPROVALS = reverse("admin:django_kakaopay_preapproval_changelist")
EVENTS = reverse("admin:django_kakaopay_webhookevent_changelist")
REFUNDS = reverse("admin:django_kakaopay_refund_changelist")


class FullRefundsOnlyBackend(SandboxBackend):
    """A provider that refunds only whole payments."""

    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {Capability.REFUNDS, Capability.PREAPPROVALS}
    )


class RefundTimesOutBackend(SandboxBackend):
    """The refund request times out: the provider may or may not have refunded."""

    def refund_payment(self, request: RefundRequest) -> RefundSnapshot:
        raise OutcomeUnknown("POST /refunds timed out; the outcome is unknown.")


class CancelRefusedBackend(SandboxBackend):
    """The provider refuses to end the agreement."""

    def cancel_preapproval(self, ref: PreapprovalRef) -> PreapprovalSnapshot:
        raise ProviderRejected("agreement_locked", status_code=422, codes=("locked",))


class ChargeRefusedBackend(SandboxBackend):
    """The provider refuses every charge (a card declined, say)."""

    def charge_preapproval(self, request: ChargeRequest) -> PaymentSnapshot:
        raise ProviderRejected("card_declined", status_code=422, codes=("declined",))


MISBEHAVING = helpers.sandbox_settings(
    extra={
        "refund_timeout": "tests.test_admin_actions.RefundTimesOutBackend",
        "cancel_refused": "tests.test_admin_actions.CancelRefusedBackend",
        "charge_refused": "tests.test_admin_actions.ChargeRefusedBackend",
    }
)


def staff(*codenames: str) -> Client:
    user = get_user_model().objects.create_user(
        f"staff-{'-'.join(codenames) or 'none'}", "staff@example.com", "pw", is_staff=True
    )
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label="django_kakaopay", codename__in=codenames)
    )
    client = Client()
    client.force_login(user)
    return client


# ``admin_client`` is pytest-django's: a logged-in superuser.


def run(client: Client, url: str, action: str, objects: list[Any], **data: Any) -> Any:
    return client.post(
        url, {"action": action, "_selected_action": [str(o.pk) for o in objects], **data}
    )


def messages_of(response: Any) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def follow(client: Client, response: Any) -> list[str]:
    assert response.status_code == 302, response.content.decode()[:3000]
    return messages_of(client.get(response["Location"]))


def offered_actions(client: Client, url: str) -> str:
    return client.get(url).content.decode()


def refund_token(client: Client, objects: list[Any]) -> str:
    """The signed refunded-plus-pending totals the refund page carries, as a browser sends it."""
    page = run(client, PAYMENTS, "refund_payments", objects)
    found = re.search(r'name="refund_totals" value="([^"]+)"', page.content.decode())
    assert found, page.content.decode()[:3000]
    return found.group(1)


def submit_refund(
    client: Client, objects: list[Any], *, token: str | None = None, **data: Any
) -> Any:
    """Show the refund page, then submit it (``token``: one from an earlier page)."""
    if token is None:
        token = refund_token(client, objects)
    return run(client, PAYMENTS, "refund_payments", objects, apply="1", refund_totals=token, **data)


# -- refund ---------------------------------------------------------------------------


def test_partial_refund_through_the_form(admin_client: Client) -> None:
    payment = helpers.paid_payment(reference="ORD-R1")
    page = run(admin_client, PAYMENTS, "refund_payments", [payment])
    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="amount"' in html
    assert 'name="csrfmiddlewaretoken"' in html
    assert "ORD-R1" in html
    assert "₩11,000" in html
    assert Refund.objects.count() == 0, "showing the form refunds nothing"

    response = submit_refund(
        admin_client,
        [payment],
        amount="3,000",
        reason="one item returned",
    )
    messages = follow(admin_client, response)
    refund = Refund.objects.get(payment=payment)
    assert refund.amount == 3000
    assert refund.reason == "one item returned"
    assert refund.status == Refund.Status.SUCCEEDED
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PARTIALLY_REFUNDED
    assert payment.refunded_amount == 3000
    assert messages == ["1 payment was refunded: ORD-R1 (₩3,000)"]


def test_a_partial_refund_submitted_twice_refunds_once(admin_client: Client) -> None:
    # Double click, or Back and resubmit: both POSTs carry the page's totals.
    payment = helpers.paid_payment(reference="ORD-TWICE")
    token = refund_token(admin_client, [payment])
    form = {"amount": "3,000", "reason": "one item returned"}
    first = follow(admin_client, submit_refund(admin_client, [payment], token=token, **form))
    assert first == ["1 payment was refunded: ORD-TWICE (₩3,000)"]
    second = follow(admin_client, submit_refund(admin_client, [payment], token=token, **form))
    assert second == [
        "1 payment could not be refunded: ORD-TWICE: The payment's refunds changed since "
        "this refund was prepared; check them and try again."
    ]
    assert list(Refund.objects.filter(payment=payment).values_list("amount", flat=True)) == [3000]
    payment.refresh_from_db()
    assert payment.refunded_amount == 3000
    # A freshly shown page is current again and refunds.
    follow(admin_client, submit_refund(admin_client, [payment], **form))
    assert Refund.objects.filter(payment=payment).count() == 2


def test_a_full_refund_submitted_twice_reports_the_change_not_the_amount(
    admin_client: Client,
) -> None:
    payment = helpers.paid_payment(reference="ORD-ALL")
    token = refund_token(admin_client, [payment])
    follow(admin_client, submit_refund(admin_client, [payment], token=token, reason="all"))
    messages = follow(
        admin_client, submit_refund(admin_client, [payment], token=token, reason="all")
    )
    assert len(messages) == 1
    assert messages[0].startswith("1 payment could not be refunded: ORD-ALL: The payment's")
    assert Refund.objects.filter(payment=payment).count() == 1


def test_a_several_payment_refund_submitted_twice_refunds_each_once(
    admin_client: Client,
) -> None:
    one = helpers.paid_payment(reference="ORD-A")
    two = helpers.paid_payment(reference="ORD-B")
    token = refund_token(admin_client, [one, two])
    follow(admin_client, submit_refund(admin_client, [one, two], token=token, reason="recall"))
    messages = follow(
        admin_client, submit_refund(admin_client, [one, two], token=token, reason="recall")
    )
    assert messages[0].startswith("2 payments could not be refunded: ORD-A: The payment's")
    assert Refund.objects.count() == 2


@pytest.mark.parametrize("token", ["", "garbage", "other-selection"])
def test_a_missing_forged_or_misapplied_token_refunds_nothing(
    admin_client: Client, token: str
) -> None:
    payment = helpers.paid_payment()
    other = helpers.paid_payment()
    if token == "other-selection":
        # A genuine token of another page cannot be reused for this payment.
        token = refund_token(admin_client, [other])
    response = submit_refund(admin_client, [payment], token=token, amount="1000", reason="x")
    assert response.status_code == 200
    assert "This page is out of date or was altered" in response.content.decode()
    assert not Refund.objects.exists()


def test_the_refund_token_is_hidden_and_kept_when_the_form_is_shown_again(
    admin_client: Client,
) -> None:
    payment = helpers.paid_payment()
    token = refund_token(admin_client, [payment])
    mistyped = submit_refund(admin_client, [payment], token=token, amount="abc", reason="x")
    html = mistyped.content.decode()
    assert f'<input type="hidden" name="refund_totals" value="{token}"' in html
    assert "Refund totals" not in html, "no label row for the hidden field"
    follow(
        admin_client, submit_refund(admin_client, [payment], token=token, amount="1000", reason="x")
    )
    assert Refund.objects.get().amount == 1000


def test_empty_amount_refunds_what_remains(admin_client: Client) -> None:
    payment = helpers.paid_payment()
    services.request_refund(payment, 1000, reason="first")
    response = submit_refund(admin_client, [payment], reason="rest")
    follow(admin_client, response)
    payment.refresh_from_db()
    assert payment.status == Payment.Status.REFUNDED
    assert sorted(payment.refunds.values_list("amount", flat=True)) == [1000, 10000]


def test_over_refund_is_a_form_error_and_creates_nothing(admin_client: Client) -> None:
    payment = helpers.paid_payment()
    services.request_refund(payment, 10000, reason="most of it")
    response = submit_refund(
        admin_client,
        [payment],
        amount="2000",
        reason="too much",
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "At most ₩1,000 can still be refunded" in html
    assert Refund.objects.filter(payment=payment).count() == 1


@pytest.mark.parametrize("amount", ["abc", "0", "-5", "10.5"])
def test_unreadable_amounts_are_form_errors(admin_client: Client, amount: str) -> None:
    payment = helpers.paid_payment()
    response = submit_refund(admin_client, [payment], amount=amount, reason="x")
    assert response.status_code == 200
    assert 'class="errorlist' in response.content.decode()
    assert not Refund.objects.exists()


def test_a_backend_without_partial_refunds_refuses_a_partial_amount(admin_client: Client) -> None:
    kakaopay = helpers.sandbox_settings(
        extra={"fullonly": "tests.test_admin_actions.FullRefundsOnlyBackend"}
    )
    with override_settings(KAKAOPAY=kakaopay):
        payment = helpers.paid_payment(backend="fullonly")
        page = run(admin_client, PAYMENTS, "refund_payments", [payment]).content.decode()
        assert "full refunds only" in page
        response = submit_refund(
            admin_client,
            [payment],
            amount="3000",
            reason="partial",
        )
        assert response.status_code == 200
        assert "only refunds the whole payment" in response.content.decode()
        assert not Refund.objects.exists()
        response = submit_refund(admin_client, [payment], reason="all")
        follow(admin_client, response)
    payment.refresh_from_db()
    assert payment.status == Payment.Status.REFUNDED


def test_several_payments_are_refunded_in_full_and_failures_counted(
    admin_client: Client,
) -> None:
    paid = helpers.paid_payment(reference="ORD-FULL")
    waiting = helpers.started_payment(reference="ORD-WAIT")
    page = run(admin_client, PAYMENTS, "refund_payments", [paid, waiting])
    assert "it is not paid" in page.content.decode()
    with_amount = submit_refund(
        admin_client,
        [paid, waiting],
        amount="1000",
        reason="x",
    )
    assert with_amount.status_code == 200, "a partial amount needs a single payment"
    assert not Refund.objects.exists()
    response = submit_refund(admin_client, [paid, waiting], reason="recall")
    messages = follow(admin_client, response)
    assert "1 payment was refunded: ORD-FULL (₩11,000)" in messages
    assert any(m.startswith("1 payment could not be refunded: ORD-WAIT") for m in messages)
    waiting.refresh_from_db()
    assert waiting.status == Payment.Status.PENDING


def test_refund_needs_the_refund_permission(admin_client: Client) -> None:
    payment = helpers.paid_payment()
    viewer = staff("view_payment", "change_payment")
    assert "refund_payments" not in offered_actions(viewer, PAYMENTS)
    assert "refund_payments" in offered_actions(admin_client, PAYMENTS)
    token = refund_token(admin_client, [payment])
    sneaky = {"apply": "1", "amount": "1000", "reason": "sneaky", "refund_totals": token}
    for data in ({}, sneaky):
        response = run(viewer, PAYMENTS, "refund_payments", [payment], **data)
        assert response.status_code in (200, 302)
        assert "Refund 1 payment" not in response.content.decode()
    assert not Refund.objects.exists()
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PAID

    refunder = staff("view_payment", "refund_payment")
    assert "refund_payments" in offered_actions(refunder, PAYMENTS)
    response = submit_refund(refunder, [payment], amount="500", reason="ok")
    follow(refunder, response)
    assert Refund.objects.get().amount == 500


def test_a_refund_timeout_is_reported_as_waiting_not_failed(admin_client: Client) -> None:
    with override_settings(KAKAOPAY=MISBEHAVING):
        payment = helpers.paid_payment(backend="refund_timeout", reference="ORD-TO")
        response = submit_refund(
            admin_client,
            [payment],
            amount="2000",
            reason="slow provider",
        )
        messages = follow(admin_client, response)
        page = run(admin_client, PAYMENTS, "refund_payments", [payment]).content.decode()
    assert messages == [
        "1 refund was requested and waits for the provider's confirmation: ORD-TO (₩2,000)"
    ]
    refund = Refund.objects.get(payment=payment)
    assert refund.status == Refund.Status.PENDING
    assert refund.needs_reconciliation
    assert "<td>₩9,000</td>" in page, "a pending refund is no longer refundable"


# -- refresh --------------------------------------------------------------------------


def test_refresh_pulls_from_the_provider(admin_client: Client) -> None:
    # No notification: only a pull can tell that the customer approved.
    with override_settings(KAKAOPAY=helpers.sandbox_settings(NOTIFICATIONS="none")):
        payment = helpers.started_payment(reference="ORD-PULL")
        provider.decide_payment(helpers.provider_side(payment), "approve")
        payment.refresh_from_db()
        assert payment.status == Payment.Status.PENDING
        response = run(admin_client, PAYMENTS, "refresh_payments", [payment])
        messages = follow(admin_client, response)
    assert messages == ["1 record was refreshed from the provider: ORD-PULL: Paid"]
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PAID
    assert payment.transitions.filter(to_status="paid", source="admin").exists()


def test_refresh_with_a_provider_timeout_counts_a_failure(admin_client: Client) -> None:
    with override_settings(KAKAOPAY=helpers.sandbox_settings()):
        payment = services.create_payment(amount=11000, backend="flaky", reference="ORD-FLAKY")
        services.start_payment(payment)
        assert payment.needs_reconciliation
        ok = helpers.paid_payment(reference="ORD-OK")
        response = run(admin_client, PAYMENTS, "refresh_payments", [payment, ok])
        messages = follow(admin_client, response)
    assert "1 record was refreshed from the provider: ORD-OK: Paid" in messages
    failure = next(m for m in messages if m.startswith("1 record could not be refreshed"))
    assert "ORD-FLAKY" in failure
    assert "timed out" in failure
    payment.refresh_from_db()
    assert payment.status == Payment.Status.CREATED, "a timeout never fails a payment"


def test_refresh_of_refunds_pulls_their_payments(admin_client: Client) -> None:
    payment = helpers.paid_payment(reference="ORD-RF")
    services.request_refund(payment, 1000, reason="x")
    response = run(admin_client, REFUNDS, "refresh_refunds", list(Refund.objects.all()))
    assert follow(admin_client, response) == [
        "1 record was refreshed from the provider: ORD-RF: Partially refunded"
    ]


def started_but_approved() -> list[Payment]:
    """Approved at the provider, still pending here: a refresh would move it."""
    with override_settings(KAKAOPAY=helpers.sandbox_settings(NOTIFICATIONS="none")):
        payment = helpers.started_payment(reference="ORD-V")
        provider.decide_payment(helpers.provider_side(payment), "approve")
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PENDING
    return [payment]


def partly_refunded() -> list[Refund]:
    payment = helpers.paid_payment(reference="ORD-RV")
    services.request_refund(payment, 1000, reason="x")
    return list(Refund.objects.all())


def active_agreement() -> list[Preapproval]:
    return [helpers.active_preapproval(reference="AGR-V")]


@pytest.mark.parametrize(
    ("url", "action", "selected", "viewer_perms", "operator_perms", "refreshed"),
    [
        # Up to 100 provider calls a click, and statuses move: more than viewing.
        (
            PAYMENTS,
            "refresh_payments",
            started_but_approved,
            ("view_payment",),
            ("view_payment", "change_payment"),
            "ORD-V: Paid",
        ),
        # Refunds are read-only; their refresh pulls their payments.
        (
            REFUNDS,
            "refresh_refunds",
            partly_refunded,
            ("view_refund", "view_payment"),
            ("view_refund", "change_payment"),
            "ORD-RV: Partially refunded",
        ),
        (
            PREAPPROVALS,
            "refresh_preapprovals",
            active_agreement,
            ("view_preapproval", "change_payment"),
            ("view_preapproval", "change_preapproval"),
            "AGR-V: Active",
        ),
    ],
    ids=["payments", "refunds", "preapprovals"],
)
def test_refreshing_needs_the_permission_to_change_what_it_pulls(
    monkeypatch: pytest.MonkeyPatch,
    url: str,
    action: str,
    selected: Callable[[], list[Any]],
    viewer_perms: tuple[str, ...],
    operator_perms: tuple[str, ...],
    refreshed: str,
) -> None:
    objects = selected()
    viewer = staff(*viewer_perms)
    assert action not in offered_actions(viewer, url)
    with monkeypatch.context() as patch:
        for name in ("sync_payment", "sync_preapproval"):
            patch.setattr(services, name, lambda *a, **k: pytest.fail("pulled"))
        assert run(viewer, url, action, objects).status_code in (200, 302)

    operator = staff(*operator_perms)
    assert action in offered_actions(operator, url)
    assert follow(operator, run(operator, url, action, objects)) == [
        f"1 record was refreshed from the provider: {refreshed}"
    ]


# -- preapprovals ---------------------------------------------------------------------


def test_charge_with_the_amount_form(admin_client: Client) -> None:
    agreement = helpers.active_preapproval(reference="AGR-1", max_amount=20000)
    page = run(admin_client, PREAPPROVALS, "charge_preapprovals", [agreement])
    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="amount"' in html
    assert f'value="{manual_billing_period()}"' in html, "today's manual key by default"

    too_much = run(
        admin_client,
        PREAPPROVALS,
        "charge_preapprovals",
        [agreement],
        apply="1",
        amount="25000",
        billing_period="2026-11",
    )
    assert too_much.status_code == 200
    assert "₩20,000" in too_much.content.decode()
    assert not Payment.objects.filter(preapproval=agreement).exists()

    response = run(
        admin_client,
        PREAPPROVALS,
        "charge_preapprovals",
        [agreement],
        apply="1",
        amount="9900",
        billing_period="2026-11",
        description="November",
    )
    messages = follow(admin_client, response)
    charge = Payment.objects.get(preapproval=agreement)
    assert charge.amount == 9900
    assert charge.billing_period == "2026-11"
    assert charge.description == "November"
    assert charge.status == Payment.Status.PAID
    assert messages == ["1 agreement was charged: AGR-1 (AGR-1-2026-11, ₩9,900)"]

    again = run(
        admin_client,
        PREAPPROVALS,
        "charge_preapprovals",
        [agreement],
        apply="1",
        amount="9900",
        billing_period="2026-11",
    )
    messages = follow(admin_client, again)
    assert messages == [
        "1 agreement was not charged: AGR-1: period 2026-11 already has a charge "
        "(AGR-1-2026-11, Paid); nothing was charged again"
    ]
    assert Payment.objects.filter(preapproval=agreement).count() == 1


def test_the_default_billing_period_cannot_collide_with_a_plan_period(
    admin_client: Client,
) -> None:
    # Plans key their charges 2026-11-23, 2026-W48, 2026-11 or 2026; a one-off
    # charge under the same key would silently use up the plan's charge.
    period = manual_billing_period()
    assert period == f"manual-{timezone.localdate().isoformat()}", "the site's day"
    assert re.fullmatch(r"manual-\d{4}-\d{2}-\d{2}", period)
    agreement = helpers.active_preapproval(reference="AGR-D")
    page = run(admin_client, PREAPPROVALS, "charge_preapprovals", [agreement]).content.decode()
    assert "never matches a billing plan" in page
    submit = {"apply": "1", "amount": "1000", "billing_period": period}
    follow(
        admin_client, run(admin_client, PREAPPROVALS, "charge_preapprovals", [agreement], **submit)
    )
    again = follow(
        admin_client, run(admin_client, PREAPPROVALS, "charge_preapprovals", [agreement], **submit)
    )
    assert again[0].startswith(f"1 agreement was not charged: AGR-D: period {period} already")
    charge = Payment.objects.get(preapproval=agreement)
    assert charge.billing_period == period
    assert charge.status == Payment.Status.PAID


@override_settings(USE_TZ=False)
def test_the_charge_form_works_without_time_zone_support(admin_client: Client) -> None:
    # timezone.localdate() raises ValueError when USE_TZ is off.
    assert manual_billing_period() == f"manual-{date.today().isoformat()}"
    agreement = helpers.active_preapproval()
    page = run(admin_client, PREAPPROVALS, "charge_preapprovals", [agreement])
    assert page.status_code == 200
    assert f'value="{manual_billing_period()}"' in page.content.decode()


def test_a_period_whose_charge_failed_says_so(admin_client: Client) -> None:
    with override_settings(KAKAOPAY=MISBEHAVING):
        agreement = helpers.active_preapproval(backend="charge_refused", reference="AGR-NO")
        submit = {"apply": "1", "amount": "1000", "billing_period": "2026-11"}
        first = follow(
            admin_client,
            run(admin_client, PREAPPROVALS, "charge_preapprovals", [agreement], **submit),
        )
        again = follow(
            admin_client,
            run(admin_client, PREAPPROVALS, "charge_preapprovals", [agreement], **submit),
        )
    assert first[0].startswith("1 agreement was not charged: AGR-NO (AGR-NO-2026-11, ₩1,000)")
    assert again == [
        "1 agreement was not charged: AGR-NO: period 2026-11 already has a charge "
        "(AGR-NO-2026-11), which failed; choose another period to try again"
    ]
    assert Payment.objects.get(preapproval=agreement).status == Payment.Status.FAILED


def test_charge_of_an_inactive_agreement_is_a_failure(admin_client: Client) -> None:
    agreement = helpers.active_preapproval(reference="AGR-OFF")
    services.cancel_preapproval(agreement)
    response = run(
        admin_client,
        PREAPPROVALS,
        "charge_preapprovals",
        [agreement],
        apply="1",
        amount="1000",
        billing_period="2026-11",
    )
    messages = follow(admin_client, response)
    assert messages[0].startswith("1 agreement was not charged: AGR-OFF")
    assert not Payment.objects.filter(preapproval=agreement).exists()


def test_charge_needs_the_charge_permission() -> None:
    agreement = helpers.active_preapproval()
    viewer = staff("view_preapproval", "change_preapproval")
    assert "charge_preapprovals" not in offered_actions(viewer, PREAPPROVALS)
    run(
        viewer,
        PREAPPROVALS,
        "charge_preapprovals",
        [agreement],
        apply="1",
        amount="1000",
        billing_period="2026-11",
    )
    assert not Payment.objects.filter(preapproval=agreement).exists()

    charger = staff("view_preapproval", "charge_preapproval")
    assert "charge_preapprovals" in offered_actions(charger, PREAPPROVALS)
    assert "cancel_preapprovals" not in offered_actions(charger, PREAPPROVALS)
    response = run(
        charger,
        PREAPPROVALS,
        "charge_preapprovals",
        [agreement],
        apply="1",
        amount="1000",
        billing_period="2026-12",
    )
    follow(charger, response)
    assert Payment.objects.filter(preapproval=agreement, billing_period="2026-12").exists()


def test_cancel_asks_first_then_cancels(admin_client: Client) -> None:
    agreement = helpers.active_preapproval(reference="AGR-END")
    page = run(admin_client, PREAPPROVALS, "cancel_preapprovals", [agreement])
    assert page.status_code == 200
    assert "AGR-END" in page.content.decode()
    agreement.refresh_from_db()
    assert agreement.status == Preapproval.Status.ACTIVE, "the confirmation page changes nothing"

    response = run(admin_client, PREAPPROVALS, "cancel_preapprovals", [agreement], apply="1")
    assert follow(admin_client, response) == ["1 agreement was canceled: AGR-END"]
    agreement.refresh_from_db()
    assert agreement.status == Preapproval.Status.CANCELED
    assert agreement.transitions.filter(to_status="canceled").exists()

    again = run(admin_client, PREAPPROVALS, "cancel_preapprovals", [agreement], apply="1")
    messages = follow(admin_client, again)
    assert messages[0].startswith("1 agreement was not canceled: AGR-END")


def test_a_refused_cancel_counts_a_failure_and_does_not_500(admin_client: Client) -> None:
    with override_settings(KAKAOPAY=MISBEHAVING):
        agreement = helpers.active_preapproval(backend="cancel_refused", reference="AGR-LOCK")
        response = run(admin_client, PREAPPROVALS, "cancel_preapprovals", [agreement], apply="1")
        messages = follow(admin_client, response)
    assert messages == ["1 agreement was not canceled: AGR-LOCK: agreement_locked"]
    agreement.refresh_from_db()
    assert agreement.status == Preapproval.Status.ACTIVE


def test_cancel_needs_the_cancel_permission() -> None:
    # Ending a customer's agreement is not an edit of its notes: "change" is not enough.
    agreement = helpers.active_preapproval(reference="AGR-PERM")
    for codenames in (("view_preapproval",), ("view_preapproval", "change_preapproval")):
        editor = staff(*codenames)
        assert "cancel_preapprovals" not in offered_actions(editor, PREAPPROVALS)
        for data in ({}, {"apply": "1"}):
            response = run(editor, PREAPPROVALS, "cancel_preapprovals", [agreement], **data)
            assert "Cancel 1 agreement" not in response.content.decode()
        agreement.refresh_from_db()
        assert agreement.status == Preapproval.Status.ACTIVE

    canceler = staff("view_preapproval", "cancel_preapproval")
    assert "cancel_preapprovals" in offered_actions(canceler, PREAPPROVALS)
    assert "charge_preapprovals" not in offered_actions(canceler, PREAPPROVALS)
    response = run(canceler, PREAPPROVALS, "cancel_preapprovals", [agreement], apply="1")
    assert follow(canceler, response) == ["1 agreement was canceled: AGR-PERM"]
    agreement.refresh_from_db()
    assert agreement.status == Preapproval.Status.CANCELED


def test_the_cancel_permission_is_declared_on_the_model() -> None:
    assert ("cancel_preapproval", "Can cancel preapprovals") in [
        (codename, str(name)) for codename, name in Payment._meta.permissions
    ]


# -- replay ---------------------------------------------------------------------------


def failed_event(client: Client, monkeypatch: pytest.MonkeyPatch) -> tuple[Payment, WebhookEvent]:
    """A genuine notification whose processing crashed (see test_webhooks)."""
    payment = helpers.started_payment()

    def explode(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("database went away")

    with monkeypatch.context() as patch:
        patch.setattr(services.webhooks, "apply_update", explode)
        assert helpers.deliver(client, helpers.event_body(payment)).status_code == 500
    event = WebhookEvent.objects.get(event_key="evt_test_1")
    assert event.status == WebhookEvent.Status.FAILED
    return payment, event


def test_replay_of_a_failed_notification(
    admin_client: Client, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    payment, event = failed_event(client, monkeypatch)
    response = run(admin_client, EVENTS, "replay_events", [event])
    assert follow(admin_client, response) == ["1 notification was replayed: evt_test_1: Processed"]
    event.refresh_from_db()
    assert event.status == WebhookEvent.Status.PROCESSED
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PAID
    paid = payment.transitions.get(to_status=Payment.Status.PAID)
    assert paid.source == "admin", "the log says who replayed it"
    assert paid.evidence["webhook_event"] == event.pk
    page = admin_client.get(reverse("admin:django_kakaopay_webhookevent_change", args=[event.pk]))
    assert "Processed" in page.content.decode()

    again = run(admin_client, EVENTS, "replay_events", [event])
    messages = follow(admin_client, again)
    assert messages[0].startswith("1 notification was not replayed: evt_test_1")
    assert "only failed or malformed notifications are replayed" in messages[0]


def test_replay_needs_the_real_change_permission(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, event = failed_event(client, monkeypatch)
    viewer = staff("view_webhookevent")
    assert "replay_events" not in offered_actions(viewer, EVENTS)
    run(viewer, EVENTS, "replay_events", [event])
    event.refresh_from_db()
    assert event.status == WebhookEvent.Status.FAILED

    operator = staff("view_webhookevent", "change_webhookevent")
    assert "replay_events" in offered_actions(operator, EVENTS)
    follow(operator, run(operator, EVENTS, "replay_events", [event]))
    event.refresh_from_db()
    assert event.status == WebhookEvent.Status.PROCESSED


# -- amounts as staff type them -------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "currency", "minor"),
    [("11000", "KRW", 11000), ("₩11,000", "KRW", 11000), ("12.34", "USD", 1234), ("7", "USD", 700)],
)
def test_amounts_are_read_in_major_units(text: str, currency: str, minor: int) -> None:
    assert parse_major_units(text, currency) == minor
