"""Dates and billing periods as a customer reads them.

One format for each: a moment in the active language's ``DATETIME_FORMAT``,
in the active time zone and followed by that zone's name (a customer in
Seoul and a shop server in UTC then read the same clock), and a billing
period of the usual ``YYYY-MM`` form as a month in ``YEAR_MONTH_FORMAT``.
"""

from __future__ import annotations

import re
from datetime import date, datetime

from django.utils import dateformat, formats, timezone

_MONTH_PERIOD = re.compile(r"\A(\d{4})-(\d{2})\Z")


def format_datetime(value: datetime | None) -> str:
    """``Dec. 2, 2026, 9:49 a.m. KST`` in English, ``2026년 12월 2일 9:49 오전 KST`` in Korean."""
    if value is None:
        return ""
    if timezone.is_aware(value):
        value = timezone.localtime(value)
    shown = formats.date_format(value, "DATETIME_FORMAT")
    # A naive value has no zone to name; saying one would be a guess.
    zone = dateformat.format(value, "T") if timezone.is_aware(value) else ""
    return f"{shown} {zone}" if zone else shown


def format_billing_period(period: str) -> str:
    """``2026-12`` → ``December 2026`` / ``2026년 12월``; any other period as it is."""
    match = _MONTH_PERIOD.match(period or "")
    if match is None:
        return period or ""
    year, month = int(match.group(1)), int(match.group(2))
    if not 1 <= month <= 12:
        return period
    return formats.date_format(date(year, month, 1), "YEAR_MONTH_FORMAT")
