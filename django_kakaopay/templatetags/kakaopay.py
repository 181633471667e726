from __future__ import annotations

from django import template

from ..money import format_money

register = template.Library()


@register.filter
def money(amount: int | None, currency: str) -> str:
    """``{{ payment.amount|money:payment.currency }}`` → ``₩11,000``."""
    return format_money(amount, currency)
