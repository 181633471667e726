"""Argument types shared by the commands."""

from __future__ import annotations

import argparse
from datetime import date

from django.utils.translation import gettext as _


def non_negative_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = -1
    if number < 0:
        raise argparse.ArgumentTypeError(
            _("%(value)r is not a whole number of 0 or more.") % {"value": value}
        )
    return number


def positive_int(value: str) -> int:
    number = non_negative_int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(
            _("%(value)r is not a whole number of 1 or more.") % {"value": value}
        )
    return number


def iso_date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            _("%(value)r is not a date in the form YYYY-MM-DD.") % {"value": value}
        ) from exc
