"""Argument types shared by the commands."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from ...conf import backend_configs


class TranslatedCommand(BaseCommand):
    """A command whose ``help`` is a lazy translation.

    argparse only takes a ``str`` (a lazy one crashes ``--help``), and
    translating at import time would freeze whatever language was active
    then; so it becomes a ``str`` when the parser is built.
    """

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        self.help = str(self.help)
        return super().create_parser(prog_name, subcommand, **kwargs)


class Progress:
    """Reports a run while it goes, since each provider call may wait up to 30 s.

    The service calls it with ``(done, total, None)`` before the first object
    and ``(done, total, line)`` after each one. A line ``show`` accepts is
    printed at once; on a terminal, and only there, a ``3 of 120 done`` line
    is redrawn in place (a file or a pipe would keep every redraw, and cron
    would mail them all).
    """

    def __init__(self, command: BaseCommand, verbosity: int, show: Callable[[Any], bool]) -> None:
        self.out = command.stdout
        self.show = show
        self.live = verbosity >= 1 and self.out.isatty()
        self.drawn = False

    def __call__(self, done: int, total: int, line: object | None) -> None:
        if line is not None and self.show(line):
            self.clear()
            self.out.write(str(line))
        if self.live:
            counter = _("%(done)d of %(total)d done") % {"done": done, "total": total}
            self.out.write(f"\r{counter}\x1b[K", ending="")
            self.out.flush()
            self.drawn = True

    def clear(self) -> None:
        """Erase the progress line, so that what is printed next starts a clean line."""
        if self.drawn:
            self.out.write("\r\x1b[K", ending="")
            self.drawn = False


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
