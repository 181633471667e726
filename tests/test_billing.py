"""Scheduled recurring billing: interval arithmetic, the plan, and the charge job."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from django_kakaopay import services
from django_kakaopay.exceptions import InvalidPaymentRequest, PreapprovalNotActive
from django_kakaopay.models import Payment, Preapproval, SandboxTransaction
from django_kakaopay.services import ChargeOutcome
from django_kakaopay.services.schedule import (
    add_months,
    latest_due_date,
    next_due_date,
    nth_due_date,
    period_key,
)
from django_kakaopay.status import PaymentStatus

from .helpers import LossyBackend, active_preapproval

# == interval arithmetic (no database) ===============================================


def due_dates(anchor: date, interval: str, count: int, n: int) -> list[date]:
    return [nth_due_date(anchor, interval, count, i) for i in range(n)]


def test_month_end_clamps_and_keeps_the_anchor_day() -> None:
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert due_dates(date(2026, 1, 31), "month", 1, 4) == [
        date(2026, 1, 31),
        date(2026, 2, 28),
        date(2026, 3, 31),
        date(2026, 4, 30),
    ]
    assert next_due_date(date(2026, 1, 31), "month", 1, date(2026, 2, 28)) == date(2026, 3, 31)


def test_leap_years() -> None:
    assert add_months(date(2028, 1, 31), 1) == date(2028, 2, 29)
    assert due_dates(date(2028, 2, 29), "year", 1, 5) == [
        date(2028, 2, 29),
        date(2029, 2, 28),
        date(2030, 2, 28),
        date(2031, 2, 28),
        date(2032, 2, 29),
    ]


def test_weekly_and_daily() -> None:
    assert due_dates(date(2026, 11, 23), "week", 1, 3) == [
        date(2026, 11, 23),
        date(2026, 11, 30),
        date(2026, 12, 7),
    ]
    assert due_dates(date(2026, 11, 23), "week", 2, 2)[1] == date(2026, 12, 7)
    assert due_dates(date(2026, 12, 30), "day", 1, 3)[2] == date(2027, 1, 1)


def test_interval_count_three_months() -> None:
    assert due_dates(date(2026, 1, 31), "month", 3, 5) == [
        date(2026, 1, 31),
        date(2026, 4, 30),
        date(2026, 7, 31),
        date(2026, 10, 31),
        date(2027, 1, 31),
    ]
    keys = [period_key("month", day) for day in due_dates(date(2026, 1, 31), "month", 3, 5)]
    assert len(set(keys)) == 5


@pytest.mark.parametrize(
    ("interval", "due", "key"),
    [
        ("day", date(2026, 11, 23), "2026-11-23"),
        ("week", date(2026, 11, 23), "2026-W48"),
        ("week", date(2027, 1, 1), "2026-W53"),  # ISO week-year, not the calendar year
        ("month", date(2026, 11, 30), "2026-11"),
        ("year", date(2026, 2, 28), "2026"),
    ],
)
def test_period_keys(interval: str, due: date, key: str) -> None:
    assert period_key(interval, due) == key


def test_latest_and_next_due_dates() -> None:
    anchor = date(2026, 1, 31)
    assert latest_due_date(anchor, "month", 1, date(2026, 1, 30)) is None
    assert latest_due_date(anchor, "month", 1, date(2026, 4, 29)) == date(2026, 3, 31)
    assert latest_due_date(anchor, "month", 1, date(2026, 4, 30)) == date(2026, 4, 30)
    assert next_due_date(anchor, "month", 1, date(2026, 1, 1)) == anchor
    assert next_due_date(anchor, "month", 1, date(2026, 4, 30)) == date(2026, 5, 31)
    for count in (1, 2, 3):
        for interval in ("day", "week", "month", "year"):
            for offset in range(0, 800, 37):
                day = anchor + timedelta(days=offset)
                latest = latest_due_date(anchor, interval, count, day)
                following = next_due_date(anchor, interval, count, day)
                assert latest is not None
                assert latest <= day < following


# == the plan ========================================================================

pytestmark_db = pytest.mark.django_db


TODAY = date(2026, 11, 23)


def planned(
    *, interval: str = "month", count: int = 1, on: date = TODAY, **kwargs: object
) -> Preapproval:
    preapproval = active_preapproval(max_amount=20000, **kwargs)
    return services.set_billing_plan(
        preapproval, amount=9900, interval=interval, interval_count=count, next_charge_on=on
    )


@pytestmark_db
def test_set_and_clear_a_plan() -> None:
    preapproval = planned(on=date(2026, 1, 31))
    preapproval.refresh_from_db()
    assert preapproval.has_billing_plan
    assert (preapproval.billing_anchor, preapproval.next_charge_on) == (
        date(2026, 1, 31),
        date(2026, 1, 31),
    )
    services.clear_billing_plan(preapproval)
    preapproval.refresh_from_db()
    assert not preapproval.has_billing_plan
    assert preapproval.next_charge_on is None


@pytestmark_db
@pytest.mark.parametrize(
    "changes",
    [
        {"amount": 0},
        {"amount": 20001},
        {"interval": "fortnight"},
        {"interval_count": 0},
        {"currency": "USD"},
    ],
)
def test_invalid_plans_are_refused(changes: dict[str, object]) -> None:
    preapproval = active_preapproval(max_amount=20000)
    values: dict[str, object] = {
        "amount": 9900,
        "interval": "month",
        "interval_count": 1,
        "next_charge_on": TODAY,
        **changes,
    }
    with pytest.raises(InvalidPaymentRequest):
        services.set_billing_plan(preapproval, **values)  # type: ignore[arg-type]
    preapproval.refresh_from_db()
    assert not preapproval.has_billing_plan


@pytestmark_db
def test_no_plan_for_an_agreement_being_canceled_or_ended() -> None:
    preapproval = active_preapproval()
    Preapproval.objects.filter(pk=preapproval.pk).update(cancel_requested_at=timezone.now())
    preapproval.refresh_from_db()
    with pytest.raises(InvalidPaymentRequest, match="being canceled"):
        services.set_billing_plan(preapproval, amount=9900, interval="month", next_charge_on=TODAY)
    ended = active_preapproval()
    services.cancel_preapproval(ended)
    ended.refresh_from_db()
    assert ended.status == Preapproval.Status.CANCELED
    with pytest.raises(InvalidPaymentRequest, match="it cannot get a billing plan"):
        services.set_billing_plan(ended, amount=9900, interval="month", next_charge_on=TODAY)


@pytestmark_db
def test_a_plan_is_all_or_nothing_in_the_database() -> None:
    preapproval = active_preapproval()
    preapproval.billing_amount = 9900
    with pytest.raises(IntegrityError), transaction.atomic():
        preapproval.save()


# == the charge job ==================================================================


@pytestmark_db
def test_running_twice_charges_once() -> None:
    preapproval = planned()
    first = services.charge_due_preapprovals(today=TODAY)
    assert (first.charged, first.ok) == (1, True)
    assert first.lines[0].billing_period == "2026-11"
    preapproval.refresh_from_db()
    assert preapproval.next_charge_on == date(2026, 12, 23)

    second = services.charge_due_preapprovals(today=TODAY)
    assert second.lines == []

    # A second machine that saw the row as due before the first one advanced it.
    Preapproval.objects.filter(pk=preapproval.pk).update(next_charge_on=TODAY)
    third = services.charge_due_preapprovals(today=TODAY)
    assert (third.charged, third.skipped) == (0, 1)
    assert Payment.objects.filter(preapproval=preapproval).count() == 1
    assert (
        SandboxTransaction.objects.filter(parent_id=preapproval.provider_preapproval_id).count()
        == 1
    )


@pytestmark_db
def test_next_period_is_charged_when_due() -> None:
    preapproval = planned(on=date(2026, 1, 31))
    for day, key in [
        (date(2026, 1, 31), "2026-01"),
        (date(2026, 2, 28), "2026-02"),
        (date(2026, 3, 31), "2026-03"),
    ]:
        assert services.charge_due_preapprovals(today=day - timedelta(days=1)).lines == []
        report = services.charge_due_preapprovals(today=day)
        assert [(line.billing_period, line.outcome) for line in report.lines] == [
            (key, ChargeOutcome.CHARGED)
        ]
    preapproval.refresh_from_db()
    assert preapproval.next_charge_on == date(2026, 4, 30)


@pytestmark_db
def test_missed_periods_are_charged_once_not_back_charged() -> None:
    preapproval = planned(on=date(2026, 7, 23))
    report = services.charge_due_preapprovals(today=TODAY)
    assert [line.billing_period for line in report.lines] == ["2026-11"]
    preapproval.refresh_from_db()
    assert preapproval.next_charge_on == date(2026, 12, 23)
    assert Payment.objects.filter(preapproval=preapproval).count() == 1


@pytestmark_db
@pytest.mark.parametrize(
    ("interval", "count", "key", "following"),
    [
        ("day", 1, "2026-11-23", date(2026, 11, 24)),
        ("week", 1, "2026-W48", date(2026, 11, 30)),
        ("month", 3, "2026-11", date(2027, 2, 23)),
        ("year", 1, "2026", date(2027, 11, 23)),
    ],
)
def test_period_key_and_next_date_per_interval(
    interval: str, count: int, key: str, following: date
) -> None:
    preapproval = planned(interval=interval, count=count)
    report = services.charge_due_preapprovals(today=TODAY)
    assert report.lines[0].billing_period == key
    preapproval.refresh_from_db()
    assert preapproval.next_charge_on == following


@pytestmark_db
def test_dry_run_changes_nothing() -> None:
    preapproval = planned()
    report = services.charge_due_preapprovals(today=TODAY, dry_run=True)
    assert [(line.billing_period, line.outcome) for line in report.lines] == [
        ("2026-11", ChargeOutcome.PLANNED)
    ]
    preapproval.refresh_from_db()
    assert preapproval.next_charge_on == TODAY
    assert not Payment.objects.exists()


@pytestmark_db
def test_cancel_requested_and_inactive_agreements_are_not_charged() -> None:
    requested = planned()
    Preapproval.objects.filter(pk=requested.pk).update(cancel_requested_at=timezone.now())
    canceled = planned()
    services.cancel_preapproval(canceled)
    assert services.charge_due_preapprovals(today=TODAY).lines == []
    requested.refresh_from_db()
    with pytest.raises(PreapprovalNotActive):
        services.charge_preapproval(requested, amount=9900, billing_period="2026-11")
    assert not Payment.objects.exists()


@pytestmark_db
def test_limit_and_backend() -> None:
    planned()
    planned()
    assert len(services.charge_due_preapprovals(today=TODAY, limit=1).lines) == 1
    assert services.charge_due_preapprovals(today=TODAY, backend="other").lines == []
    assert services.charge_due_preapprovals(today=TODAY).charged == 1


@pytestmark_db
def test_charge_that_times_out_is_reported_unknown(lossy: type[LossyBackend]) -> None:
    preapproval = planned(backend="lossy")
    LossyBackend.faults["charge_preapproval"] = "late"
    report = services.charge_due_preapprovals(today=TODAY)
    assert [line.outcome for line in report.lines] == [ChargeOutcome.UNKNOWN]
    assert not report.ok
    charge = Payment.objects.get(preapproval=preapproval)
    assert charge.needs_reconciliation
    assert charge.billing_period == "2026-11"


@pytestmark_db
def test_a_charge_row_never_sent_is_resumed_with_its_key(lossy: type[LossyBackend]) -> None:
    preapproval = planned(backend="lossy")
    with transaction.atomic():
        locked = Preapproval.objects.select_for_update().get(pk=preapproval.pk)
        stranded = services.billing.charge_row(locked, amount=9900, billing_period="2026-11")
    Payment.objects.filter(pk=stranded.pk).update(created_at=timezone.now() - timedelta(hours=1))
    Preapproval.objects.filter(pk=preapproval.pk).update(next_charge_on=date(2026, 12, 23))

    report = services.charge_due_preapprovals(today=TODAY)

    assert [(line.billing_period, line.outcome) for line in report.lines] == [
        ("2026-11", ChargeOutcome.CHARGED)
    ]
    stranded.refresh_from_db()
    assert stranded.status == PaymentStatus.PAID
    assert LossyBackend.calls.count("charge_preapproval") == 1


@pytestmark_db
def test_a_resumed_charge_is_claimed_so_a_second_run_does_not_send_it_too(
    lossy: type[LossyBackend], monkeypatch: pytest.MonkeyPatch
) -> None:
    preapproval = planned(backend="lossy")
    with transaction.atomic():
        locked = Preapproval.objects.select_for_update().get(pk=preapproval.pk)
        stranded = services.billing.charge_row(locked, amount=9900, billing_period="2026-11")
    Payment.objects.filter(pk=stranded.pk).update(created_at=timezone.now() - timedelta(hours=1))
    Preapproval.objects.filter(pk=preapproval.pk).update(next_charge_on=date(2026, 12, 23))

    def crash(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("the worker was killed")

    with monkeypatch.context() as patch:
        patch.setattr(services.billing, "_send_charge", crash)
        first = services.charge_due_preapprovals(today=TODAY)
    assert [line.outcome for line in first.lines] == [ChargeOutcome.FAILED]

    # Claimed a moment ago: another run now leaves it alone...
    assert services.charge_due_preapprovals(today=TODAY).lines == []
    assert "charge_preapproval" not in LossyBackend.calls
    # ...and once RECONCILE_AFTER has passed, a run sends it, with its key.
    later = timezone.now() + timedelta(hours=1)
    resumed = services.charge_due_preapprovals(today=TODAY, now=later)
    assert [line.outcome for line in resumed.lines] == [ChargeOutcome.CHARGED]
    assert LossyBackend.calls.count("charge_preapproval") == 1


@pytestmark_db
def test_direct_charges_with_a_merchant_schedule_still_work() -> None:
    preapproval = active_preapproval()
    payment = services.charge_preapproval(preapproval, amount=5000, billing_period="custom-7")
    assert payment.is_paid
    assert services.charge_preapproval(preapproval, amount=5000, billing_period="custom-7") == (
        payment
    )


@pytestmark_db
def test_one_plan_that_breaks_does_not_stop_the_others(monkeypatch: pytest.MonkeyPatch) -> None:
    broken, healthy = planned(), planned()
    real_charge_row = services.billing.charge_row

    def charge_row(locked: Preapproval, **kwargs: Any) -> Payment:
        if locked.pk == broken.pk:
            raise RuntimeError("disk full")
        return real_charge_row(locked, **kwargs)

    monkeypatch.setattr(services.billing, "charge_row", charge_row)
    report = services.charge_due_preapprovals(today=TODAY)

    assert (report.charged, report.failed, report.ok) == (1, 1, False)
    assert any("RuntimeError: disk full" in line.detail for line in report.lines)
    assert Payment.objects.filter(preapproval=healthy).count() == 1
    broken.refresh_from_db()
    assert broken.next_charge_on == TODAY, "still due: the next run tries again"


@pytestmark_db
def test_a_long_agreement_reference_still_gives_a_charge_reference_that_fits() -> None:
    preapproval = active_preapproval(reference="SUB-" + "x" * 96)
    first = services.charge_preapproval(
        preapproval, amount=9900, billing_period="manual-2026-11-30"
    )
    second = services.charge_preapproval(preapproval, amount=9900, billing_period="2026-12")
    assert len(first.reference) == 100
    assert len(second.reference) == 100
    assert first.reference != second.reference
    assert first.status == PaymentStatus.PAID
