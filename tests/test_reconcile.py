"""Reconciliation: every unknown outcome becomes a definite one.

The sandbox cases use ``LossyBackend`` (tests/helpers.py), whose calls time out
either before reaching the simulated provider ("lost") or after it acted
("late"). The Checkout.com and Smart2Pay cases replay the documented answers
with ``responses``, using the payload builders of their backend test modules.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
import requests
import responses
from django.test import Client, override_settings
from django.utils import timezone
from responses import matchers

from django_kakaopay import services
from django_kakaopay.exceptions import PreapprovalNotActive, ProviderRejected
from django_kakaopay.models import (
    Payment,
    Preapproval,
    Refund,
    SandboxTransaction,
    StatusTransition,
)
from django_kakaopay.sandbox import provider
from django_kakaopay.services import ReconcileOutcome
from django_kakaopay.status import PaymentStatus, PreapprovalStatus, RefundStatus

from . import test_checkout_backend as cko
from . import test_smart2pay_backend as s2p
from .conftest import SignalRecorder
from .helpers import LossyBackend, deliver, event_body, provider_side

pytestmark = pytest.mark.django_db


def later(**delta: float) -> datetime:
    """A "now" far enough ahead that everything created in the test is old enough."""
    return timezone.now() + timedelta(**delta)


HOUR = {"hours": 1}
TWO_DAYS = {"days": 2}


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def lossy_payment(fault: str | None = None) -> Payment:
    if fault:
        LossyBackend.faults["create_payment"] = fault
    payment = services.create_payment(amount=11000, backend="lossy")
    services.start_payment(payment)
    LossyBackend.faults.clear()
    return payment


def paid_lossy_payment() -> Payment:
    payment = lossy_payment()
    provider.decide_payment(provider_side(payment), "approve")
    services.sync_payment(payment)
    assert payment.status == PaymentStatus.PAID
    return payment


def active_lossy_preapproval(**kwargs: Any) -> Preapproval:
    preapproval = services.create_preapproval(backend="lossy", **kwargs)
    services.start_preapproval(preapproval)
    agreement = SandboxTransaction.objects.get(pk=preapproval.provider_preapproval_id)
    provider.decide_preapproval(agreement, "approve")
    services.sync_preapproval(preapproval)
    assert preapproval.status == PreapprovalStatus.ACTIVE
    return preapproval


def last_transition(obj: Payment | Refund | Preapproval) -> StatusTransition:
    return obj.transitions.order_by("created_at", "id").last()  # type: ignore[union-attr,return-value]


# == payments whose creation timed out: the sandbox ====================================


def test_sandbox_creation_timed_out_after_the_provider_acted_ends_paid(
    lossy: type[LossyBackend],
) -> None:
    payment = lossy_payment("late")
    assert payment.status == PaymentStatus.CREATED
    assert payment.needs_reconciliation
    assert not payment.provider_payment_id
    tx = provider.find("lossy", SandboxTransaction.Kind.PAYMENT, payment.reference)
    assert tx is not None
    provider.decide_payment(tx, "approve")

    report = services.reconcile(now=later(**HOUR))

    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PAID
    assert payment.provider_payment_id == tx.pk
    assert not payment.needs_reconciliation
    assert (report.checked, report.settled, report.ok) == (1, 1, True)
    assert last_transition(payment).source == "command"


def test_sandbox_creation_timed_out_and_still_pending_expires_after_the_window(
    lossy: type[LossyBackend],
) -> None:
    payment = lossy_payment("late")

    first = services.reconcile(now=later(**HOUR))
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PENDING, "within the window it only becomes pending"
    assert not payment.needs_reconciliation
    assert first.settled == 1

    again = services.reconcile(now=later(hours=2))
    assert again.unchanged == 1
    assert again.ok

    expired = services.reconcile(now=later(**TWO_DAYS))
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.EXPIRED
    assert expired.settled == 1
    step = last_transition(payment)
    assert (step.from_status, step.to_status, step.source) == ("pending", "expired", "command")
    assert "expiry window" in step.evidence["reason"]


def test_sandbox_creation_that_never_reached_the_provider_fails(
    lossy: type[LossyBackend],
) -> None:
    payment = lossy_payment("lost")
    assert payment.needs_reconciliation

    waiting = services.reconcile(now=later(**HOUR))
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.CREATED, "a look-up may miss a new object"
    assert (waiting.unchanged, waiting.ok) == (1, True)
    assert "Not found at the provider yet" in waiting.results[0].detail

    report = services.reconcile(now=later(**TWO_DAYS))

    payment.refresh_from_db()
    assert payment.status == PaymentStatus.FAILED
    assert not payment.needs_reconciliation
    assert report.settled == 1
    evidence = last_transition(payment).evidence
    assert "never created" in evidence["reason"]
    assert evidence["status_code"] == 404


def test_a_provider_that_cannot_answer_leaves_the_outcome_unknown(
    lossy: type[LossyBackend],
) -> None:
    payment = lossy_payment("lost")
    LossyBackend.faults["fetch_payment"] = "lost"

    report = services.reconcile(now=later(**TWO_DAYS))

    payment.refresh_from_db()
    assert payment.status == PaymentStatus.CREATED, "a timeout never fails or expires anything"
    assert payment.needs_reconciliation
    assert "fetch_payment timed out" in payment.last_error
    assert (report.still_unknown, report.ok) == (1, False)


def test_locally_expired_payment_reported_paid_later_ends_paid(
    lossy: type[LossyBackend],
    client: Client,
    signal_log: SignalRecorder,
    django_capture_on_commit_callbacks: Any,
) -> None:
    payment = lossy_payment()
    services.reconcile(now=later(**TWO_DAYS))
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.EXPIRED

    # The customer finished paying at the provider after all.
    provider.decide_payment(provider_side(payment), "approve")
    with django_capture_on_commit_callbacks(execute=True):
        response = deliver(client, event_body(payment, event_id="evt_late_paid"), alias="lossy")
    assert response.status_code == 200

    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PAID
    assert payment.paid_at is not None
    assert [event[3] for event in signal_log.of("payment_paid")] == ["paid"]


def test_recently_created_objects_are_left_alone(lossy: type[LossyBackend]) -> None:
    lossy_payment("late")
    report = services.reconcile()  # now: nothing is RECONCILE_AFTER seconds old yet
    assert report.results == []
    assert "fetch_payment" not in LossyBackend.calls


def test_a_row_checked_recently_waits_for_the_age_before_the_next_pull(
    lossy: type[LossyBackend],
) -> None:
    payment = lossy_payment("late")
    services.reconcile(now=later(**HOUR))
    LossyBackend.calls.clear()

    soon = services.reconcile(now=later(hours=1, minutes=5))
    assert soon.results == [], "checked five minutes ago: RECONCILE_AFTER has not passed"
    assert "fetch_payment" not in LossyBackend.calls

    services.reconcile(now=later(hours=1, minutes=11))
    assert LossyBackend.calls.count("fetch_payment") == 1
    payment.refresh_from_db()
    assert payment.reconciled_at is not None


def test_dry_run_lists_and_calls_nothing(lossy: type[LossyBackend]) -> None:
    payment = lossy_payment("late")
    report = services.reconcile(now=later(**TWO_DAYS), dry_run=True)
    assert [(r.kind, r.reference, r.outcome) for r in report.results] == [
        ("payment", payment.reference, ReconcileOutcome.PLANNED)
    ]
    assert report.checked == 0
    assert "fetch_payment" not in LossyBackend.calls
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.CREATED
    assert payment.needs_reconciliation


def test_limit_and_backend_filter(lossy: type[LossyBackend]) -> None:
    lossy_payment("late")
    lossy_payment("late")
    assert len(services.reconcile(now=later(**HOUR), limit=1).results) == 1
    assert services.reconcile(now=later(**HOUR), backend="sandbox").results == []
    assert services.reconcile(now=later(**HOUR), backend="lossy").settled == 1


def test_per_object_function_can_be_called_directly(lossy: type[LossyBackend]) -> None:
    payment = lossy_payment("late")
    result = services.reconcile_payment(payment, expire_after=0)
    assert result.outcome == ReconcileOutcome.SETTLED
    assert (result.old_status, result.new_status) == ("created", "expired")


# == payments whose creation timed out: Checkout.com =====================================


@pytest.fixture
def cko_timed_out(rsps: responses.RequestsMock) -> Iterator[Payment]:
    with override_settings(KAKAOPAY=cko.CHECKOUT_SETTINGS):
        rsps.add(
            responses.POST,
            f"{cko.SANDBOX_BASE}/payments/setups",
            body=requests.exceptions.ReadTimeout("read timed out"),
        )
        payment = services.start_payment(cko.new_payment())
        assert payment.status == PaymentStatus.CREATED
        assert payment.needs_reconciliation
        rsps.reset()
        yield payment


def add_cko_search(rsps: responses.RequestsMock, *rows: dict[str, Any]) -> None:
    rsps.add(
        responses.GET,
        f"{cko.SANDBOX_BASE}/payments",
        match=[matchers.query_param_matcher({"reference": cko.REFERENCE})],
        json={"data": list(rows)},
    )


def test_checkout_creation_timed_out_found_by_reference_ends_paid(
    cko_timed_out: Payment, rsps: responses.RequestsMock
) -> None:
    add_cko_search(rsps, cko.payment_json("Captured"))
    cko.add_get_payment(rsps, "Captured")
    report = services.reconcile(now=later(**HOUR))
    cko_timed_out.refresh_from_db()
    assert cko_timed_out.status == PaymentStatus.PAID
    assert cko_timed_out.provider_payment_id == cko.PAY_ID
    assert report.ok


def test_checkout_creation_timed_out_still_pending_expires(
    cko_timed_out: Payment, rsps: responses.RequestsMock
) -> None:
    add_cko_search(rsps, cko.payment_json("Pending"))
    cko.add_get_payment(rsps, "Pending")
    services.reconcile(now=later(**TWO_DAYS))
    cko_timed_out.refresh_from_db()
    assert cko_timed_out.status == PaymentStatus.EXPIRED
    assert cko_timed_out.provider_payment_id == cko.PAY_ID


def test_checkout_creation_timed_out_and_not_found_fails(
    cko_timed_out: Payment, rsps: responses.RequestsMock
) -> None:
    add_cko_search(rsps)
    services.reconcile(now=later(**TWO_DAYS))
    cko_timed_out.refresh_from_db()
    assert cko_timed_out.status == PaymentStatus.FAILED
    assert cko.REFERENCE in cko_timed_out.last_error


def test_checkout_server_error_on_the_lookup_stays_unknown(
    cko_timed_out: Payment, rsps: responses.RequestsMock
) -> None:
    rsps.add(responses.GET, f"{cko.SANDBOX_BASE}/payments", status=502, body="Bad gateway")
    report = services.reconcile(now=later(**TWO_DAYS))
    cko_timed_out.refresh_from_db()
    assert cko_timed_out.status == PaymentStatus.CREATED
    assert cko_timed_out.needs_reconciliation
    assert not report.ok


# == payments whose creation timed out: Smart2Pay ========================================


@pytest.fixture
def s2p_timed_out(rsps: responses.RequestsMock) -> Iterator[Payment]:
    with override_settings(KAKAOPAY=s2p.S2P_SETTINGS):
        payment = services.create_payment(amount=11000, reference="ORD-1001", backend="smart2pay")
        rsps.add(responses.POST, f"{s2p.TEST_BASE}/v1/payments", body=requests.ReadTimeout())
        services.start_payment(payment)
        assert payment.status == PaymentStatus.CREATED
        assert payment.needs_reconciliation
        rsps.reset()
        yield payment


def add_s2p_listing(rsps: responses.RequestsMock, *rows: dict[str, Any]) -> None:
    rsps.add(
        responses.GET,
        f"{s2p.TEST_BASE}/v1/payments",
        json={"Payments": list(rows), "Count": len(rows)},
        match=[matchers.query_param_matcher({"merchantTransactionID": "ORD-1001"})],
    )


@pytest.mark.parametrize(
    ("status_id", "when", "expected"),
    [
        (2, HOUR, PaymentStatus.PAID),
        (1, HOUR, PaymentStatus.PENDING),
        (1, TWO_DAYS, PaymentStatus.EXPIRED),
        (4, HOUR, PaymentStatus.FAILED),
    ],
)
def test_smart2pay_creation_timed_out_found_by_merchant_transaction_id(
    s2p_timed_out: Payment,
    rsps: responses.RequestsMock,
    status_id: int,
    when: dict[str, float],
    expected: str,
) -> None:
    resource = s2p.payment_resource(status=status_id)
    add_s2p_listing(rsps, resource)
    s2p.add_payment_get(rsps, resource)
    report = services.reconcile(now=later(**when))
    s2p_timed_out.refresh_from_db()
    assert s2p_timed_out.status == expected
    assert s2p_timed_out.provider_payment_id == "5001"
    assert not s2p_timed_out.needs_reconciliation
    assert report.ok


def test_smart2pay_creation_timed_out_and_not_found_fails(
    s2p_timed_out: Payment, rsps: responses.RequestsMock
) -> None:
    add_s2p_listing(rsps)
    services.reconcile(now=later(**TWO_DAYS))
    s2p_timed_out.refresh_from_db()
    assert s2p_timed_out.status == PaymentStatus.FAILED
    assert "ORD-1001" in s2p_timed_out.last_error


# == refunds =====================================================================


def test_refund_that_timed_out_after_the_provider_acted_is_settled_by_the_retry(
    lossy: type[LossyBackend],
) -> None:
    payment = paid_lossy_payment()
    LossyBackend.faults["refund_payment"] = "late"
    refund = services.request_refund(payment, 3000)
    LossyBackend.faults.clear()
    assert refund.status == RefundStatus.PENDING
    assert refund.needs_reconciliation

    report = services.reconcile(now=later(**HOUR))

    refund.refresh_from_db()
    payment.refresh_from_db()
    assert refund.status == RefundStatus.SUCCEEDED
    assert not refund.needs_reconciliation
    assert payment.status == PaymentStatus.PARTIALLY_REFUNDED
    assert payment.refunded_amount == 3000
    assert payment.refunds.count() == 1
    assert LossyBackend.calls.count("refund_payment") == 2, "sent again with the same key"
    assert SandboxTransaction.objects.filter(kind="refund").count() == 1, "refunded once"
    assert report.settled == 1


def test_refund_that_never_reached_the_provider_is_sent_again_with_the_same_key(
    lossy: type[LossyBackend],
) -> None:
    payment = paid_lossy_payment()
    LossyBackend.faults["refund_payment"] = "lost"
    refund = services.request_refund(payment, 3000)
    LossyBackend.faults.clear()
    assert refund.needs_reconciliation

    services.reconcile(now=later(**HOUR))

    refund.refresh_from_db()
    assert refund.status == RefundStatus.SUCCEEDED
    at_provider = SandboxTransaction.objects.filter(kind=SandboxTransaction.Kind.REFUND)
    assert [(tx.idempotency_key, tx.reference) for tx in at_provider] == [
        (refund.idempotency_key, refund.reference)
    ]
    assert LossyBackend.calls.count("refund_payment") == 2


def test_refund_lost_while_the_dashboard_refunded_everything_fails_and_books_the_dashboard(
    lossy: type[LossyBackend],
) -> None:
    payment = paid_lossy_payment()
    LossyBackend.faults["refund_payment"] = "lost"
    refund = services.request_refund(payment, 3000)
    LossyBackend.faults.clear()
    # Meanwhile the whole payment was refunded at the provider's dashboard.
    SandboxTransaction.objects.filter(pk=payment.provider_payment_id).update(
        status=provider.CANCEL_PAYMENT, refunded_amount=11000
    )

    services.reconcile(now=later(**HOUR))

    refund.refresh_from_db()
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.REFUNDED
    assert payment.refunded_amount == 11000
    assert refund.status == RefundStatus.FAILED, "our request never reached the provider"
    assert not refund.needs_reconciliation
    assert sorted((r.amount, r.status, r.origin) for r in payment.refunds.all()) == [
        (3000, RefundStatus.FAILED, "merchant"),
        (11000, RefundStatus.SUCCEEDED, "provider"),
    ]
    assert LossyBackend.calls.count("refund_payment") == 2


def test_a_timed_out_refund_is_not_credited_with_money_another_refund_moved(
    lossy: type[LossyBackend],
) -> None:
    """Refund A is lost in transit; refund B reaches the provider but its answer is lost."""
    payment = paid_lossy_payment()
    LossyBackend.faults["refund_payment"] = "lost"
    lost = services.request_refund(payment, 3000)
    LossyBackend.faults["refund_payment"] = "late"
    arrived = services.request_refund(payment, 5000)
    LossyBackend.faults.clear()
    assert lost.needs_reconciliation
    assert arrived.needs_reconciliation

    services.sync_payment(payment)  # the provider's total is 5000: it must not settle A
    lost.refresh_from_db()
    assert lost.status == RefundStatus.PENDING

    services.reconcile(now=later(**HOUR))

    payment.refresh_from_db()
    assert sorted((r.amount, r.status) for r in payment.refunds.all()) == [
        (3000, RefundStatus.SUCCEEDED),
        (5000, RefundStatus.SUCCEEDED),
    ]
    assert payment.refunded_amount == 8000
    provider_total = SandboxTransaction.objects.get(pk=payment.provider_payment_id).refunded_amount
    assert provider_total == 8000, "our books equal the provider's"


def test_refund_retry_refused_by_the_provider_fails_the_refund(
    lossy: type[LossyBackend],
) -> None:
    payment = paid_lossy_payment()
    LossyBackend.faults["refund_payment"] = "lost"
    refund = services.request_refund(payment, 3000)
    LossyBackend.faults.clear()
    # The provider no longer accepts refunds of this payment.
    SandboxTransaction.objects.filter(pk=payment.provider_payment_id).update(
        status=provider.FAIL_PAYMENT
    )

    report = services.reconcile(now=later(**HOUR))

    refund.refresh_from_db()
    payment.refresh_from_db()
    assert refund.status == RefundStatus.FAILED
    assert not refund.needs_reconciliation
    assert "successful payment" in refund.last_error
    assert payment.status == PaymentStatus.PAID, "money taken is never undone by a pull"
    assert payment.refunded_amount == 0
    assert report.settled == 1


# == charges =====================================================================


def test_charge_that_timed_out_after_the_provider_acted_ends_paid(
    lossy: type[LossyBackend],
) -> None:
    preapproval = active_lossy_preapproval()
    LossyBackend.faults["charge_preapproval"] = "late"
    charge = services.charge_preapproval(preapproval, amount=9900, billing_period="2026-11")
    LossyBackend.faults.clear()
    assert charge.status == PaymentStatus.CREATED
    assert charge.needs_reconciliation

    report = services.reconcile(now=later(**HOUR))

    charge.refresh_from_db()
    assert charge.status == PaymentStatus.PAID
    assert charge.provider_payment_id
    assert report.ok
    again = services.charge_preapproval(preapproval, amount=9900, billing_period="2026-11")
    assert again.pk == charge.pk
    assert LossyBackend.calls.count("charge_preapproval") == 1


def test_charge_that_never_reached_the_provider_fails(lossy: type[LossyBackend]) -> None:
    preapproval = active_lossy_preapproval()
    LossyBackend.faults["charge_preapproval"] = "lost"
    charge = services.charge_preapproval(preapproval, amount=9900, billing_period="2026-11")
    LossyBackend.faults.clear()

    services.reconcile(now=later(**TWO_DAYS))

    charge.refresh_from_db()
    assert charge.status == PaymentStatus.FAILED
    assert not SandboxTransaction.objects.filter(reference=charge.reference).exists()


# == preapprovals ==================================================================


def test_pending_preapproval_expires_after_the_window(lossy: type[LossyBackend]) -> None:
    preapproval = services.create_preapproval(backend="lossy")
    services.start_preapproval(preapproval)
    assert preapproval.status == PreapprovalStatus.PENDING

    assert services.reconcile(now=later(**HOUR)).unchanged == 1
    report = services.reconcile(now=later(**TWO_DAYS))

    preapproval.refresh_from_db()
    assert preapproval.status == PreapprovalStatus.EXPIRED
    assert report.settled == 1
    assert last_transition(preapproval).source == "command"


@pytest.mark.django_db(transaction=True)
def test_locally_expired_agreement_approved_later_becomes_active(
    lossy: type[LossyBackend], signal_log: SignalRecorder
) -> None:
    preapproval = services.create_preapproval(backend="lossy")
    services.start_preapproval(preapproval)
    services.reconcile(now=later(**TWO_DAYS))
    preapproval.refresh_from_db()
    assert preapproval.status == PreapprovalStatus.EXPIRED

    agreement = SandboxTransaction.objects.get(pk=preapproval.provider_preapproval_id)
    provider.decide_preapproval(agreement, "approve")
    services.sync_preapproval(preapproval)

    preapproval.refresh_from_db()
    assert preapproval.status == PreapprovalStatus.ACTIVE, "the customer's approval wins"
    assert signal_log.names().count("preapproval_activated") == 1


def test_preapproval_whose_creation_never_reached_the_provider_fails(
    lossy: type[LossyBackend],
) -> None:
    LossyBackend.faults["create_preapproval"] = "lost"
    preapproval = services.create_preapproval(backend="lossy")
    services.start_preapproval(preapproval)
    LossyBackend.faults.clear()
    assert preapproval.status == PreapprovalStatus.CREATED
    assert preapproval.needs_reconciliation

    services.reconcile(now=later(**TWO_DAYS))

    preapproval.refresh_from_db()
    assert preapproval.status == PreapprovalStatus.FAILED


@pytest.mark.parametrize("fault", ["lost", "late"])
def test_cancel_that_timed_out_is_sent_again(lossy: type[LossyBackend], fault: str) -> None:
    preapproval = active_lossy_preapproval()
    LossyBackend.faults["cancel_preapproval"] = fault
    services.cancel_preapproval(preapproval)
    LossyBackend.faults.clear()
    preapproval.refresh_from_db()
    assert preapproval.status == PreapprovalStatus.ACTIVE
    assert preapproval.cancel_requested_at is not None
    assert preapproval.needs_reconciliation
    with pytest.raises(PreapprovalNotActive):
        services.charge_preapproval(preapproval, amount=9900, billing_period="2026-11")

    report = services.reconcile(now=later(**HOUR))

    preapproval.refresh_from_db()
    assert preapproval.status == PreapprovalStatus.CANCELED
    assert not preapproval.needs_reconciliation
    assert report.settled == 1
    assert LossyBackend.calls.count("cancel_preapproval") == 2
    agreement = SandboxTransaction.objects.get(pk=preapproval.provider_preapproval_id)
    assert agreement.status == provider.INACTIVE_SID
    assert not Payment.objects.filter(preapproval=preapproval).exists()


def test_cancel_refused_outright_forgets_the_request(lossy: type[LossyBackend]) -> None:
    preapproval = active_lossy_preapproval()
    SandboxTransaction.objects.filter(pk=preapproval.provider_preapproval_id).delete()
    with pytest.raises(Exception, match="sandbox"):
        services.cancel_preapproval(preapproval)
    preapproval.refresh_from_db()
    assert preapproval.cancel_requested_at is None
    assert preapproval.status == PreapprovalStatus.ACTIVE


def test_a_refused_second_cancel_keeps_the_first_unsettled_request(
    lossy: type[LossyBackend], monkeypatch: pytest.MonkeyPatch
) -> None:
    preapproval = active_lossy_preapproval()
    services.set_billing_plan(
        preapproval, amount=5000, interval="month", next_charge_on=timezone.localdate()
    )
    LossyBackend.faults["cancel_preapproval"] = "lost"
    services.cancel_preapproval(preapproval)
    LossyBackend.faults.clear()
    first_request = Preapproval.objects.get(pk=preapproval.pk).cancel_requested_at
    assert first_request is not None

    def refuse(self: LossyBackend, ref: object) -> object:
        raise ProviderRejected("agreement_locked", status_code=422)

    monkeypatch.setattr(LossyBackend, "cancel_preapproval", refuse)
    with pytest.raises(ProviderRejected):
        services.cancel_preapproval(preapproval)

    preapproval.refresh_from_db()
    assert preapproval.cancel_requested_at == first_request, "the unsettled request stays"
    report = services.charge_due_preapprovals()
    assert report.charged == 0
    assert not Payment.objects.filter(preapproval=preapproval).exists(), "never charged"


def test_pending_agreement_whose_cancel_is_refused_expires_after_the_window(
    lossy: type[LossyBackend], monkeypatch: pytest.MonkeyPatch
) -> None:
    preapproval = services.create_preapproval(backend="lossy")
    services.start_preapproval(preapproval)
    LossyBackend.faults["cancel_preapproval"] = "lost"
    services.cancel_preapproval(preapproval)
    LossyBackend.faults.clear()

    def refuse(self: LossyBackend, ref: object) -> object:
        raise ProviderRejected("not cancellable while pending", status_code=422)

    monkeypatch.setattr(LossyBackend, "cancel_preapproval", refuse)
    report = services.reconcile(now=later(**TWO_DAYS))

    preapproval.refresh_from_db()
    assert preapproval.status == PreapprovalStatus.EXPIRED
    assert (report.settled, report.ok) == (1, True)


@pytest.mark.django_db(transaction=True)
def test_provider_calls_are_made_outside_any_transaction(lossy: type[LossyBackend]) -> None:
    """A held row lock would stall the payment's notifications for a whole timeout,
    and a rollback after the call would forget what the provider did."""
    payment = paid_lossy_payment()
    LossyBackend.faults["refund_payment"] = "lost"
    services.request_refund(payment, 3000)
    lossy_payment("late")
    active_lossy_preapproval()
    LossyBackend.faults["cancel_preapproval"] = "lost"
    services.cancel_preapproval(Preapproval.objects.get(status="active"))
    LossyBackend.faults.clear()
    LossyBackend.calls.clear()
    LossyBackend.in_transaction.clear()

    report = services.reconcile(now=later(**HOUR))

    assert {"refund_payment", "fetch_payment", "cancel_preapproval"} <= set(LossyBackend.calls)
    assert report.ok, [str(line) for line in report.results]
    assert not any(LossyBackend.in_transaction), list(
        zip(LossyBackend.calls, LossyBackend.in_transaction, strict=True)
    )


def test_a_timed_out_refund_past_the_providers_key_window_is_left_for_a_person(
    lossy: type[LossyBackend], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(LossyBackend, "idempotency_window", timedelta(hours=24))
    payment = paid_lossy_payment()
    LossyBackend.faults["refund_payment"] = "lost"
    refund = services.request_refund(payment, 3000)
    LossyBackend.faults.clear()
    LossyBackend.calls.clear()

    report = services.reconcile(now=later(hours=30))

    refund.refresh_from_db()
    assert refund.status == RefundStatus.PENDING
    assert refund.needs_reconciliation
    assert "refund_payment" not in LossyBackend.calls, "a forgotten key could refund twice"
    assert (report.still_unknown, report.ok) == (1, False)
    assert "too long ago to be sent again safely" in report.results[0].detail


def test_a_timed_out_refund_inside_the_providers_key_window_is_sent_again(
    lossy: type[LossyBackend], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(LossyBackend, "idempotency_window", timedelta(hours=24))
    payment = paid_lossy_payment()
    LossyBackend.faults["refund_payment"] = "lost"
    refund = services.request_refund(payment, 3000)
    LossyBackend.faults.clear()

    report = services.reconcile(now=later(hours=2))

    refund.refresh_from_db()
    assert refund.status == RefundStatus.SUCCEEDED
    assert report.ok


def test_checkout_keys_are_remembered_for_a_day() -> None:
    from django_kakaopay.backends.checkout import CheckoutBackend

    assert CheckoutBackend.idempotency_window == timedelta(hours=24)
    assert LossyBackend.idempotency_window is None, "the sandbox never forgets a key"
