"""Billing-plan date arithmetic: due dates and period keys, pure functions.

Kept apart from :mod:`.billing` so the calendar rules can be read and tested
without the database.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta

from django.conf import settings
from django.utils import timezone

from ..models.preapproval import BillingInterval

MAX_INTERVAL_COUNT = 32767  # PositiveSmallIntegerField


def add_months(day: date, months: int) -> date:
    """``day`` moved by ``months``, clamped to the end of a shorter month.

    Jan 31 + 1 month is Feb 28 (Feb 29 in a leap year).
    """
    total = day.year * 12 + day.month - 1 + months
    year, month = divmod(total, 12)
    month += 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def nth_due_date(anchor: date, interval: str, count: int, n: int) -> date:
    """The ``n``-th due date of a plan (``n = 0`` is the anchor).

    Always computed from the anchor, never from the previous due date, so the
    anchor's day survives short months: a plan anchored on Jan 31 is due on
    Feb 28, then Mar 31.
    """
    if interval == BillingInterval.DAY:
        return anchor + timedelta(days=count * n)
    if interval == BillingInterval.WEEK:
        return anchor + timedelta(weeks=count * n)
    if interval == BillingInterval.MONTH:
        return add_months(anchor, count * n)
    if interval == BillingInterval.YEAR:
        return add_months(anchor, 12 * count * n)
    raise ValueError(f"Unknown billing interval {interval!r}")


def _periods_estimate(anchor: date, interval: str, count: int, day: date) -> int:
    if interval in (BillingInterval.DAY, BillingInterval.WEEK):
        unit = 1 if interval == BillingInterval.DAY else 7
        return max(0, (day - anchor).days // (unit * count))
    months = (day.year - anchor.year) * 12 + day.month - anchor.month
    unit = 1 if interval == BillingInterval.MONTH else 12
    return max(0, months // (unit * count))


def latest_due_date(anchor: date, interval: str, count: int, on_or_before: date) -> date | None:
    """The last due date not after ``on_or_before`` (``None`` before the anchor)."""
    if on_or_before < anchor:
        return None
    n = _periods_estimate(anchor, interval, count, on_or_before)
    while n > 0 and nth_due_date(anchor, interval, count, n) > on_or_before:
        n -= 1
    while nth_due_date(anchor, interval, count, n + 1) <= on_or_before:
        n += 1
    return nth_due_date(anchor, interval, count, n)


def next_due_date(anchor: date, interval: str, count: int, after: date) -> date:
    """The first due date strictly after ``after``."""
    latest = latest_due_date(anchor, interval, count, after)
    if latest is None:
        return anchor
    n = _periods_estimate(anchor, interval, count, latest)
    while nth_due_date(anchor, interval, count, n) <= after:
        n += 1
    return nth_due_date(anchor, interval, count, n)


def period_key(interval: str, due: date) -> str:
    """The billing period key of a charge due on ``due``.

    The calendar unit of the interval that holds the due date: ``2026-11-23``
    (daily), ``2026-W48`` (ISO week, weekly), ``2026-11`` (monthly), ``2026``
    (yearly). With an interval count above one (every 3 months) successive
    due dates still fall in different units, so the key names exactly one
    period, and the database's unique (preapproval, billing period) pair
    makes a second charge for it impossible.
    """
    if interval == BillingInterval.DAY:
        return due.isoformat()
    if interval == BillingInterval.WEEK:
        iso = due.isocalendar()
        return f"{iso.year}-W{iso.week:02d}"
    if interval == BillingInterval.MONTH:
        return f"{due.year}-{due.month:02d}"
    if interval == BillingInterval.YEAR:
        return f"{due.year}"
    raise ValueError(f"Unknown billing interval {interval!r}")


def local_today() -> date:
    """Today in the site's time zone (``TIME_ZONE``), with or without ``USE_TZ``."""
    return timezone.localdate() if settings.USE_TZ else date.today()
