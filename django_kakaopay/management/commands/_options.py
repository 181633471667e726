"""Argument types shared by the commands."""

from __future__ import annotations

import argparse
from datetime import date

from django.core.management.base import BaseCommand, CommandError, CommandParser
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


def add_scope_arguments(
    parser: CommandParser, *, limit_help: str, dry_run_help: str | None = None
) -> None:
    """``--backend`` and ``--limit``, and ``--dry-run`` when the command has one."""
    parser.add_argument("--backend", metavar="ALIAS", help=_("Only this backend alias."))
    parser.add_argument("--limit", type=positive_int, metavar="N", help=limit_help)
    if dry_run_help is not None:
        parser.add_argument("--dry-run", action="store_true", help=dry_run_help)


def finish(command: BaseCommand, ok: bool, summary: str, failure: str) -> None:
    """Print the summary; when something failed, exit with status 1 saying ``failure``."""
    if ok:
        command.stdout.write(command.style.SUCCESS(summary))
        return
    command.stdout.write(command.style.ERROR(summary))
    raise CommandError(failure, returncode=1)
