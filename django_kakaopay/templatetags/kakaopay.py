from __future__ import annotations

from datetime import datetime

from django import template

from ..dates import format_billing_period, format_datetime
from ..money import format_money

register = template.Library()


@register.filter
def money(amount: int | None, currency: str) -> str:
    """``{{ payment.amount|money:payment.currency }}`` → ``₩11,000``."""
    return format_money(amount, currency)


@register.filter
def local_datetime(value: datetime | None) -> str:
    """``{{ payment.paid_at|local_datetime }}`` → ``Dec. 2, 2026, 9:49 a.m. KST``.

    The active language's ``DATETIME_FORMAT`` in the active time zone, with
    the zone named, so one page never mixes formats or leaves the clock unsaid.
    """
    return format_datetime(value)


@register.filter
def billing_period(period: str) -> str:
    """``{{ charge.billing_period|billing_period }}`` → ``December 2026`` for ``2026-12``."""
    return format_billing_period(period)
