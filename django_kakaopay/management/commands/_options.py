"""Argument types shared by the commands."""

from __future__ import annotations

import argparse
from datetime import date

from django.core.management.base import CommandError
from django.utils.translation import gettext as _

from ...conf import backend_configs


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


def check_backend(alias: str | None) -> None:
    """Refuse a ``--backend`` that is not configured: a typo would otherwise match
    nothing and report success."""
    if alias is None:
        return
    known = sorted(backend_configs())
    if alias not in known:
        raise CommandError(
            _("No backend %(alias)r is configured; the aliases are: %(known)s.")
            % {"alias": alias, "known": ", ".join(known)}
        )
