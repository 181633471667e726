"""The services layer: creating, applying provider updates, refunds, preapprovals, the log."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from django.db import IntegrityError, transaction
from django.db.models import F
from django.test import override_settings
from django.utils import timezone

from django_kakaopay import services
from django_kakaopay.backends.base import PaymentRequest as ProviderPaymentRequest
from django_kakaopay.backends.base import (
    PaymentSnapshot,
    PreapprovalSnapshot,
    RedirectInstruction,
    RefundRequest,
    RefundSnapshot,
)
from django_kakaopay.backends.sandbox import SandboxBackend
from django_kakaopay.exceptions import (
    InvalidPaymentRequest,
    OutcomeUnknown,
    PreapprovalNotActive,
    ProviderRejected,
    RefundNotAllowed,
)
from django_kakaopay.models import (
    Payment,
    Preapproval,
    Refund,
    SandboxTransaction,
    StatusTransition,
)
from django_kakaopay.sandbox import provider
from django_kakaopay.services import Outcome

from .conftest import SignalRecorder
from .helpers import (
    HEADPHONES,
    active_preapproval,
    paid_payment,
    provider_side,
    sandbox_settings,
    started_payment,
)

# Signals are sent after commit, so these tests commit for real.
pytestmark = pytest.mark.django_db(transaction=True)

HERE = "tests.test_services"


class LostAnswerBackend(SandboxBackend):
    """The provider creates the payment, but its first answer is lost on the way back."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.answered: set[str] = set()

    def create_payment(self, request: ProviderPaymentRequest) -> RedirectInstruction:
        instruction = super().create_payment(request)
        if request.idempotency_key not in self.answered:
            self.answered.add(request.idempotency_key)
            raise OutcomeUnknown("POST /payments timed out; the outcome is unknown.")
        return instruction


class UnreachableRefunds(SandboxBackend):
    """Refund requests time out."""

    def refund_payment(self, request: RefundRequest) -> RefundSnapshot:
        raise OutcomeUnknown("POST /refunds timed out; the outcome is unknown.")


class RefusedRefunds(SandboxBackend):
    """The provider refuses refund requests."""

    def refund_payment(self, request: RefundRequest) -> RefundSnapshot:
        raise ProviderRejected("refund_period_over", status_code=422, codes=("refund",))


MORE_BACKENDS = {
    "lost": f"{HERE}.LostAnswerBackend",
    "unreachable_refunds": f"{HERE}.UnreachableRefunds",
    "refused_refunds": f"{HERE}.RefusedRefunds",
}


def transitions_of(obj: Payment | Preapproval | Refund) -> list[tuple[str, str]]:
    return list(obj.transitions.order_by("id").values_list("from_status", "to_status"))


def snapshot_of(
    payment: Payment, status: str | None, *, at: datetime | None = None, **changes: Any
) -> PaymentSnapshot:
    values: dict[str, Any] = {
        "status": status,
        "provider_status": str(status).upper(),
        "provider_payment_id": payment.provider_payment_id,
        "reference": payment.reference,
        "amount": payment.amount,
        "currency": payment.currency,
        "occurred_at": at,
    }
    values.update(changes)
    return PaymentSnapshot(**values)


# -- creating ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    [
        {"amount": 11000.0},
        {"amount": "11000"},
        {"amount": True},
        {"amount": 0},
        {"amount": -11000},
        {"amount": 11000, "currency": "WON"},
        {"amount": 11000, "currency": ""},
        {"amount": 12000, "items": HEADPHONES},
        {"amount": 11000, "items": [{"name": "x", "quantity": 2, "unit_price": 5000}]},
        {"amount": 11000, "items": [{"name": "x", "quantity": 1, "unit_price": 11000.0}]},
        {"amount": 11000, "items": [{"quantity": 1, "unit_price": 11000}]},
        {"amount": 11000, "customer": {"nickname": "jia"}},
        {"amount": 11000, "terminal_type": "tv"},
    ],
    ids=repr,
)
def test_create_payment_refuses_invalid_input(bad: dict[str, Any]) -> None:
    with pytest.raises(InvalidPaymentRequest):
        services.create_payment(**bad)
    assert not Payment.objects.exists()


def test_items_that_add_up_are_accepted() -> None:
    items = [
        {"name": "Cable", "quantity": 2, "unit_price": 2500},
        {"name": "Case", "unit_price": 6000},  # quantity defaults to 1
    ]
    payment = services.create_payment(amount=11000, currency="krw", items=items)
    assert payment.currency == "KRW"
    assert [row["quantity"] for row in payment.items] == [2, 1]


def test_a_reference_is_used_once() -> None:
    services.create_payment(amount=11000, reference="ORD-1")
    with pytest.raises(InvalidPaymentRequest):
        services.create_payment(amount=11000, reference="ORD-1")
    assert Payment.objects.count() == 1


def test_payment_records_what_the_merchant_sent() -> None:
    payment = services.create_payment(
        amount=11000,
        reference="ORD-5023-4E89",
        items=HEADPHONES,
        customer={"name": "Jia Tsang", "email": "jia@example.com", "phone": "+82 10-0000-0000"},
        success_url="/thanks/",
        failure_url="/sorry/",
        description="KakaoPay payment",
    )
    assert payment.status == Payment.Status.CREATED
    assert payment.items == [
        {"name": "Wireless headphones", "quantity": 1, "unit_price": 11000, "reference": ""}
    ]
    assert payment.customer_name == "Jia Tsang"
    assert len(payment.return_token) >= 40
    assert payment.idempotency_key
    assert payment.amount_display == "₩11,000"
    assert transitions_of(payment) == [], "creating is not a transition"


def test_start_payment_is_idempotent(signal_log: SignalRecorder) -> None:
    payment = services.create_payment(amount=11000)
    services.start_payment(payment)
    first_redirect = payment.redirect_url
    assert payment.status == Payment.Status.PENDING
    services.start_payment(payment)
    services.start_payment(Payment.objects.get(pk=payment.pk))
    assert SandboxTransaction.objects.filter(kind="payment").count() == 1
    assert transitions_of(payment) == [("created", "pending")]
    assert len(signal_log.of("status_changed")) == 1
    # Even a restart from scratch reuses the stored idempotency key.
    Payment.objects.filter(pk=payment.pk).update(status="created", redirect_url="")
    payment.refresh_from_db()
    services.start_payment(payment)
    assert SandboxTransaction.objects.filter(kind="payment").count() == 1
    assert payment.redirect_url == first_redirect
    assert provider_side(payment).idempotency_key == payment.idempotency_key


# -- applying provider updates -------------------------------------------------------------


def test_a_repeated_update_is_a_no_op(signal_log: SignalRecorder) -> None:
    payment = started_payment()
    paid = snapshot_of(payment, "paid", at=timezone.now())
    first = services.apply_update("sandbox", paid, source="sync")
    second = services.apply_update("sandbox", paid, source="sync")
    third = services.apply_update("sandbox", paid, source="webhook")
    assert first.outcome == Outcome.APPLIED
    assert second.outcome == Outcome.UNCHANGED
    assert third.outcome == Outcome.UNCHANGED
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PAID
    assert StatusTransition.objects.filter(payment=payment, to_status="paid").count() == 1
    assert len(signal_log.of("payment_paid")) == 1


def test_an_older_update_is_ignored(signal_log: SignalRecorder) -> None:
    payment = started_payment()
    now = timezone.now()
    declined = snapshot_of(payment, "failed", at=now)
    older_success = snapshot_of(payment, "paid", at=now - timedelta(seconds=30))
    assert services.apply_update("sandbox", declined, source="webhook").outcome == Outcome.APPLIED
    result = services.apply_update("sandbox", older_success, source="webhook")
    assert result.outcome == Outcome.STALE
    payment.refresh_from_db()
    assert payment.status == Payment.Status.FAILED
    assert payment.provider_updated_at == now
    assert signal_log.of("payment_paid") == []


def test_a_regression_is_refused(signal_log: SignalRecorder) -> None:
    payment = started_payment()
    services.apply_update("sandbox", snapshot_of(payment, "paid", at=timezone.now()), source="sync")
    later_pending = snapshot_of(payment, "pending", at=timezone.now() + timedelta(minutes=1))
    result = services.apply_update("sandbox", later_pending, source="webhook")
    assert result.outcome == Outcome.NOT_ALLOWED
    pull_pending = snapshot_of(payment, "pending")  # a pull carries no event time
    assert services.apply_update("sandbox", pull_pending, source="sync").outcome == (
        Outcome.NOT_ALLOWED
    )
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PAID
    assert transitions_of(payment) == [("created", "pending"), ("pending", "paid")]
    assert [e[3] for e in signal_log.of("status_changed")] == ["pending", "paid"]


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"amount": 1100}, "Amount mismatch"),
        ({"amount": 11001}, "Amount mismatch"),
        ({"currency": "USD"}, "Currency mismatch"),
        ({"amount": 1100000, "currency": "USD"}, "Currency mismatch"),
    ],
)
def test_a_money_mismatch_is_recorded_and_not_paid(
    signal_log: SignalRecorder, change: dict[str, Any], fragment: str
) -> None:
    payment = started_payment()
    wrong = snapshot_of(payment, "paid", at=timezone.now(), **change)
    result = services.apply_update("sandbox", wrong, source="webhook")
    assert result.outcome == Outcome.MISMATCH
    assert fragment in result.detail
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PENDING
    assert payment.paid_at is None
    assert payment.needs_reconciliation is True
    assert fragment in payment.last_error
    assert transitions_of(payment) == [("created", "pending")]
    assert signal_log.of("payment_paid") == []


def test_currency_case_is_not_a_mismatch() -> None:
    payment = started_payment()
    result = services.apply_update(
        "sandbox", snapshot_of(payment, "paid", currency="krw"), source="sync"
    )
    assert result.outcome == Outcome.APPLIED


def test_an_unknown_provider_status_moves_nothing() -> None:
    payment = started_payment()
    result = services.apply_update(
        "sandbox", snapshot_of(payment, None, provider_status="WHATEVER"), source="sync"
    )
    assert result.outcome in (Outcome.UPDATED, Outcome.UNCHANGED)
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PENDING
    assert payment.provider_status == "WHATEVER"


def test_an_update_about_nobody_is_not_found() -> None:
    started_payment()
    result = services.apply_update(
        "sandbox",
        PaymentSnapshot(status="paid", provider_payment_id="sbx_pay_x", reference="NOT-OURS"),
        source="webhook",
    )
    assert result.outcome == Outcome.NOT_FOUND
    assert result.obj is None
    assert "NOT-OURS" in result.detail
    assert not Payment.objects.filter(status="paid").exists()


def test_an_update_for_another_backend_alias_is_not_found() -> None:
    payment = started_payment()
    result = services.apply_update("elsewhere", snapshot_of(payment, "paid"), source="webhook")
    assert result.outcome == Outcome.NOT_FOUND
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PENDING


# -- unknown outcomes ------------------------------------------------------------------------


@override_settings(KAKAOPAY=sandbox_settings())
def test_a_timeout_on_create_leaves_the_outcome_unknown(signal_log: SignalRecorder) -> None:
    payment = services.create_payment(amount=11000, backend="flaky")
    services.start_payment(payment)
    assert payment.status == Payment.Status.CREATED
    assert payment.needs_reconciliation is True
    assert "timed out" in payment.last_error
    payment.refresh_from_db()
    assert payment.status == Payment.Status.CREATED
    assert payment.needs_reconciliation is True
    # Pulling times out as well: still unknown, never failed.
    assert services.sync_payment(payment) is None
    payment.refresh_from_db()
    assert payment.status == Payment.Status.CREATED
    assert payment.needs_reconciliation is True
    assert transitions_of(payment) == []
    assert signal_log.of("payment_failed") == []


@override_settings(KAKAOPAY=sandbox_settings())
def test_a_timeout_on_pull_never_fails_a_pending_payment(signal_log: SignalRecorder) -> None:
    payment = services.create_payment(amount=11000, backend="flaky")
    Payment.objects.filter(pk=payment.pk).update(status="pending", provider_payment_id="p1")
    payment.refresh_from_db()
    assert services.sync_payment(payment) is None
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PENDING
    assert "timed out" in payment.last_error
    assert signal_log.events == []


@override_settings(KAKAOPAY=sandbox_settings(extra=MORE_BACKENDS))
def test_a_lost_answer_is_reconciled_by_reference_without_a_second_payment() -> None:
    payment = services.create_payment(amount=11000, backend="lost")
    services.start_payment(payment)
    assert payment.status == Payment.Status.CREATED
    assert payment.needs_reconciliation
    assert payment.provider_payment_id == ""
    # The provider did create it; a pull by reference finds it and settles the doubt.
    services.sync_payment(payment)
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PENDING
    assert payment.needs_reconciliation is False
    assert payment.provider_payment_id
    assert SandboxTransaction.objects.filter(kind="payment").count() == 1


@override_settings(KAKAOPAY=sandbox_settings(extra=MORE_BACKENDS))
def test_a_retry_after_a_lost_answer_reuses_the_idempotency_key() -> None:
    payment = services.create_payment(amount=11000, backend="lost")
    services.start_payment(payment)
    assert payment.status == Payment.Status.CREATED
    services.start_payment(payment)  # the customer presses "pay" again
    assert payment.status == Payment.Status.PENDING
    assert payment.needs_reconciliation is False
    assert SandboxTransaction.objects.filter(kind="payment").count() == 1
    assert provider_side(payment).idempotency_key == payment.idempotency_key


@override_settings(KAKAOPAY=sandbox_settings())
def test_a_refusal_on_create_fails_the_payment(signal_log: SignalRecorder) -> None:
    payment = services.create_payment(amount=11000, backend="refusing")
    services.start_payment(payment)
    assert payment.status == Payment.Status.FAILED
    assert "currency_not_supported" in payment.last_error
    assert payment.needs_reconciliation is False
    transition = payment.transitions.get()
    assert (transition.from_status, transition.to_status) == ("created", "failed")
    assert transition.evidence["codes"] == ["currency"]
    assert transition.evidence["status_code"] == 422
    failed = signal_log.of("payment_failed")
    assert len(failed) == 1
    assert failed[0][3] == "failed"


# -- refunds --------------------------------------------------------------------------------


def refunded_signals(log: SignalRecorder) -> list[tuple[str, Any, str, str, str]]:
    return log.of("payment_refunded")


def test_full_refund(signal_log: SignalRecorder) -> None:
    payment = paid_payment()
    refund = services.request_refund(payment, reason="changed mind")
    assert refund.status == Refund.Status.SUCCEEDED
    assert refund.amount == 11000
    payment.refresh_from_db()
    assert payment.status == Payment.Status.REFUNDED
    assert payment.refunded_amount == 11000
    assert Refund.objects.filter(payment=payment).count() == 1
    assert len(refunded_signals(signal_log)) == 1
    assert transitions_of(refund) == [("pending", "succeeded")]
    assert provider_side(payment).status == provider.CANCEL_PAYMENT


def test_partial_refunds_one_row_and_one_signal_each(signal_log: SignalRecorder) -> None:
    payment = paid_payment()
    first = services.request_refund(payment, 4000, reason="one item returned")
    assert first.status == Refund.Status.SUCCEEDED
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PARTIALLY_REFUNDED
    assert payment.refunded_amount == 4000
    second = services.request_refund(payment, 2000)
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PARTIALLY_REFUNDED
    assert payment.refunded_amount == 6000
    rest = services.request_refund(payment)
    assert rest.amount == 5000
    payment.refresh_from_db()
    assert payment.status == Payment.Status.REFUNDED
    assert payment.refunded_amount == 11000
    assert sorted(Refund.objects.filter(payment=payment).values_list("amount", flat=True)) == [
        2000,
        4000,
        5000,
    ]
    signals = refunded_signals(signal_log)
    assert len(signals) == 3
    assert {s[1].pk for s in signals} == {payment.pk}
    assert first.pk != second.pk != rest.pk
    assert transitions_of(payment) == [
        ("created", "pending"),
        ("pending", "paid"),
        ("paid", "partially_refunded"),
        ("partially_refunded", "refunded"),
    ]
    assert provider_side(payment).refunded_amount == 11000


def test_an_over_refund_is_refused() -> None:
    payment = paid_payment()
    with pytest.raises(RefundNotAllowed):
        services.request_refund(payment, 11001)
    services.request_refund(payment, 10000)
    with pytest.raises(RefundNotAllowed):
        services.request_refund(payment, 1001)
    with pytest.raises(RefundNotAllowed):
        services.request_refund(Payment.objects.get(pk=payment.pk), 1001)
    payment.refresh_from_db()
    assert payment.refunded_amount == 10000
    assert Refund.objects.count() == 1


@pytest.mark.parametrize("bad", [0, -1, 10.5, True, "1000"], ids=repr)
def test_a_refund_amount_must_be_a_positive_int(bad: Any) -> None:
    payment = paid_payment()
    with pytest.raises(RefundNotAllowed):
        services.request_refund(payment, bad)
    assert not Refund.objects.exists()


def test_an_unpaid_payment_cannot_be_refunded() -> None:
    created = services.create_payment(amount=11000)
    pending = started_payment()
    for payment in (created, pending):
        with pytest.raises(RefundNotAllowed):
            services.request_refund(payment, 1000)
        with pytest.raises(RefundNotAllowed):
            services.request_refund(payment)
    assert not Refund.objects.exists()


def test_a_fully_refunded_payment_cannot_be_refunded_again() -> None:
    payment = paid_payment()
    services.request_refund(payment)
    with pytest.raises(RefundNotAllowed):
        services.request_refund(payment)
    with pytest.raises(RefundNotAllowed):
        services.request_refund(payment, 1)
    assert Refund.objects.count() == 1


def test_the_database_refuses_refunding_more_than_was_paid() -> None:
    payment = paid_payment()
    with pytest.raises(IntegrityError), transaction.atomic():
        Payment.objects.filter(pk=payment.pk).update(refunded_amount=F("amount") + 1)
    with pytest.raises(IntegrityError), transaction.atomic():
        Payment.objects.filter(pk=payment.pk).update(refunded_amount=11001)
    Payment.objects.filter(pk=payment.pk).update(refunded_amount=11000)  # equal is fine
    payment.refresh_from_db()
    assert payment.refunded_amount == 11000


@override_settings(KAKAOPAY=sandbox_settings(extra=MORE_BACKENDS))
def test_a_refund_timeout_keeps_the_money_reserved(signal_log: SignalRecorder) -> None:
    payment = paid_payment(backend="unreachable_refunds")
    refund = services.request_refund(payment, 6000)
    assert refund.status == Refund.Status.PENDING
    assert refund.needs_reconciliation is True
    assert "timed out" in refund.last_error
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PAID
    assert payment.refunded_amount == 0
    # The 6000 in doubt cannot be refunded a second time meanwhile.
    with pytest.raises(RefundNotAllowed):
        services.request_refund(payment, 6000)
    assert services.request_refund(payment).amount == 5000
    assert refunded_signals(signal_log) == []


@override_settings(KAKAOPAY=sandbox_settings(extra=MORE_BACKENDS))
def test_a_refused_refund_fails_and_frees_the_amount(signal_log: SignalRecorder) -> None:
    payment = paid_payment(backend="refused_refunds")
    refund = services.request_refund(payment, 6000)
    assert refund.status == Refund.Status.FAILED
    assert "refund_period_over" in refund.last_error
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PAID
    assert payment.refunded_amount == 0
    assert refunded_signals(signal_log) == []
    assert transitions_of(refund) == [("pending", "failed")]
    with pytest.raises(RefundNotAllowed):
        services.request_refund(payment, 11001)
    assert services.request_refund(payment).status == Refund.Status.FAILED


def test_an_expected_refund_total_that_matches_refunds() -> None:
    payment = paid_payment()
    first = services.request_refund(payment, 3000, expected_refund_total=0)
    assert first.status == Refund.Status.SUCCEEDED
    second = services.request_refund(payment, 2000, expected_refund_total=3000)
    assert second.status == Refund.Status.SUCCEEDED
    payment.refresh_from_db()
    assert payment.refunded_amount == 5000


def test_a_stale_expected_refund_total_is_refused_and_creates_nothing() -> None:
    # The second submission of one form: prepared when nothing was refunded.
    payment = paid_payment()
    services.request_refund(payment, 3000, expected_refund_total=0)
    for stale in (0, 1000, 11000):
        with pytest.raises(RefundNotAllowed, match="refunds changed since this refund was"):
            services.request_refund(payment, 3000, expected_refund_total=stale)
        with pytest.raises(RefundNotAllowed, match="refunds changed since this refund was"):
            services.request_refund(payment, expected_refund_total=stale)
    assert Refund.objects.filter(payment=payment).count() == 1
    payment.refresh_from_db()
    assert payment.refunded_amount == 3000


@override_settings(KAKAOPAY=sandbox_settings(extra=MORE_BACKENDS))
def test_an_expected_refund_total_counts_pending_refunds() -> None:
    # A refund waiting for the provider is money already promised back: a
    # resubmitted form must see it, although refunded_amount has not moved.
    payment = paid_payment(backend="unreachable_refunds")
    pending = services.request_refund(payment, 2000, expected_refund_total=0)
    assert pending.status == Refund.Status.PENDING
    payment.refresh_from_db()
    assert payment.refunded_amount == 0
    with pytest.raises(RefundNotAllowed):
        services.request_refund(payment, 2000, expected_refund_total=0)
    assert services.request_refund(payment, 1000, expected_refund_total=2000).amount == 1000
    assert Refund.objects.filter(payment=payment).count() == 2


def test_a_refund_reported_by_the_provider_is_recorded_once(signal_log: SignalRecorder) -> None:
    payment = paid_payment()
    SandboxTransaction.objects.filter(pk=payment.provider_payment_id).update(
        status=provider.PART_CANCEL_PAYMENT, refunded_amount=3000
    )
    services.sync_payment(payment)
    services.sync_payment(payment)
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PARTIALLY_REFUNDED
    assert payment.refunded_amount == 3000
    refund = Refund.objects.get(payment=payment)
    assert refund.origin == Refund.Origin.PROVIDER
    assert refund.amount == 3000
    assert len(refunded_signals(signal_log)) == 1


# -- preapprovals -----------------------------------------------------------------------------


def test_start_preapproval(signal_log: SignalRecorder) -> None:
    preapproval = services.create_preapproval(description="Monthly plan", max_amount=20000)
    assert preapproval.status == Preapproval.Status.CREATED
    services.start_preapproval(preapproval)
    services.start_preapproval(preapproval)
    assert preapproval.status == Preapproval.Status.PENDING
    assert "/kakaopay/sandbox/sandbox/agreements/" in preapproval.redirect_url
    assert SandboxTransaction.objects.filter(kind="preapproval").count() == 1
    assert transitions_of(preapproval) == [("created", "pending")]
    assert signal_log.of("preapproval_activated") == []


def test_activate_through_the_sandbox(signal_log: SignalRecorder) -> None:
    preapproval = active_preapproval()
    services.sync_preapproval(preapproval)
    preapproval.refresh_from_db()
    assert preapproval.status == Preapproval.Status.ACTIVE
    assert preapproval.activated_at is not None
    assert len(signal_log.of("preapproval_activated")) == 1


def test_a_stale_preapproval_update_is_ignored() -> None:
    preapproval = active_preapproval()
    stale = PreapprovalSnapshot(
        status="pending",
        provider_preapproval_id=preapproval.provider_preapproval_id,
        occurred_at=timezone.now() - timedelta(days=1),
    )
    assert services.apply_update("sandbox", stale, source="webhook").outcome in (
        Outcome.NOT_ALLOWED,
        Outcome.STALE,
    )
    preapproval.refresh_from_db()
    assert preapproval.status == Preapproval.Status.ACTIVE


def test_charging_twice_for_one_period_charges_once(signal_log: SignalRecorder) -> None:
    preapproval = active_preapproval()
    first = services.charge_preapproval(preapproval, amount=9900, billing_period="2026-11")
    again = services.charge_preapproval(preapproval, amount=9900, billing_period="2026-11")
    assert first.pk == again.pk
    assert first.status == Payment.Status.PAID
    assert first.preapproval_id == preapproval.pk
    assert Payment.objects.filter(preapproval=preapproval).count() == 1
    charges = SandboxTransaction.objects.filter(kind="payment", parent__isnull=False)
    assert charges.count() == 1
    assert signal_log.names().count("payment_paid") == 1
    following = services.charge_preapproval(preapproval, amount=9900, billing_period="2026-12")
    assert following.pk != first.pk
    assert charges.count() == 2
    assert signal_log.names().count("payment_paid") == 2


def test_one_charge_per_period_is_enforced_by_the_database() -> None:
    preapproval = active_preapproval()
    services.charge_preapproval(preapproval, amount=9900, billing_period="2026-11")
    with pytest.raises(IntegrityError), transaction.atomic():
        Payment.objects.create(
            reference="DUP",
            amount=9900,
            currency="KRW",
            backend="sandbox",
            preapproval=preapproval,
            billing_period="2026-11",
        )


def test_a_period_already_charged_returns_the_first_charge() -> None:
    preapproval = active_preapproval()
    services.charge_preapproval(preapproval, amount=9900, billing_period="2026-11")
    # Already charged: the same payment comes back, never a second charge.
    again = services.charge_preapproval(preapproval, amount=12000, billing_period="2026-11")
    assert again.amount == 9900
    assert SandboxTransaction.objects.filter(kind="payment", parent__isnull=False).count() == 1


def test_charging_an_inactive_preapproval_is_refused() -> None:
    created = services.create_preapproval()
    pending = services.create_preapproval()
    services.start_preapproval(pending)
    for preapproval in (created, pending):
        with pytest.raises(PreapprovalNotActive):
            services.charge_preapproval(preapproval, amount=9900, billing_period="2026-11")
    assert not Payment.objects.exists()
    assert not SandboxTransaction.objects.filter(kind="payment").exists()


def test_charges_stay_within_the_agreed_maximum() -> None:
    preapproval = active_preapproval(max_amount=10000)
    with pytest.raises(InvalidPaymentRequest):
        services.charge_preapproval(preapproval, amount=10001, billing_period="2026-11")
    with pytest.raises(InvalidPaymentRequest):
        services.charge_preapproval(preapproval, amount=9900, billing_period="")
    with pytest.raises(InvalidPaymentRequest):
        services.charge_preapproval(preapproval, amount=99.0, billing_period="2026-11")  # type: ignore[arg-type]
    assert not Payment.objects.filter(preapproval=preapproval).exists()
    assert services.charge_preapproval(preapproval, amount=10000, billing_period="2026-11").is_paid


def test_cancel_preapproval(signal_log: SignalRecorder) -> None:
    preapproval = active_preapproval()
    services.cancel_preapproval(preapproval)
    services.cancel_preapproval(preapproval)
    preapproval.refresh_from_db()
    assert preapproval.status == Preapproval.Status.CANCELED
    assert preapproval.canceled_at is not None
    assert len(signal_log.of("preapproval_canceled")) == 1
    assert transitions_of(preapproval)[-1] == ("active", "canceled")
    agreement = SandboxTransaction.objects.get(pk=preapproval.provider_preapproval_id)
    assert agreement.status == provider.INACTIVE_SID
    with pytest.raises(PreapprovalNotActive):
        services.charge_preapproval(preapproval, amount=9900, billing_period="2027-01")


def test_a_charge_can_be_refunded() -> None:
    preapproval = active_preapproval()
    charge = services.charge_preapproval(preapproval, amount=9900, billing_period="2026-11")
    refund = services.request_refund(charge)
    assert refund.status == Refund.Status.SUCCEEDED
    charge.refresh_from_db()
    assert charge.status == Payment.Status.REFUNDED
    assert charge.refunded_amount == 9900


# -- the transition log -------------------------------------------------------------------------


def test_every_transition_is_logged_with_its_source() -> None:
    payment = paid_payment()
    rows = list(
        payment.transitions.order_by("id").values_list("from_status", "to_status", "source")
    )
    assert rows == [("created", "pending", "checkout"), ("pending", "paid", "sync")]


def test_transition_rows_cannot_be_changed() -> None:
    payment = paid_payment()
    row = payment.transitions.order_by("id").first()
    assert row is not None
    row.to_status = "refunded"
    with pytest.raises(ValueError, match="append-only"):
        row.save()
    with pytest.raises(ValueError, match="append-only"):
        StatusTransition.objects.filter(pk=row.pk).update(to_status="refunded")
    assert StatusTransition.objects.get(pk=row.pk).to_status == "pending"


def test_transition_rows_cannot_be_deleted() -> None:
    payment = paid_payment()
    row = payment.transitions.order_by("id").first()
    assert row is not None
    with pytest.raises(ValueError, match="append-only"):
        row.delete()
    with pytest.raises(ValueError, match="append-only"):
        StatusTransition.objects.filter(pk=row.pk).delete()
    with pytest.raises(ValueError, match="append-only"):
        payment.transitions.all().delete()
    assert payment.transitions.count() == 2
    # Nor can the payment that they describe.
    with pytest.raises(IntegrityError), transaction.atomic():
        Payment.objects.filter(pk=payment.pk).delete()
    assert Payment.objects.filter(pk=payment.pk).exists()


def test_a_currency_the_backend_does_not_take_is_refused() -> None:
    from .test_checkout_backend import CHECKOUT_SETTINGS

    with override_settings(KAKAOPAY=CHECKOUT_SETTINGS):
        with pytest.raises(InvalidPaymentRequest, match="USD"):
            services.create_payment(amount=1100, currency="USD", backend="checkout")
        assert (
            services.create_payment(amount=1100, currency="USD", backend="sandbox").currency
            == "USD"
        )
        assert services.create_payment(amount=11000, currency="KRW", backend="checkout")
