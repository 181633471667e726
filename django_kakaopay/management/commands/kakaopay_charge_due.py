"""Charge the preapprovals whose billing plan is due.

Safe to run from cron on several machines at once, and twice on one day: a
plan is charged at most once per billing period. Exits with status 1 when a
charge failed or its outcome is unknown.
"""

from __future__ import annotations

from typing import Any, cast

from django.core.management.base import CommandError, CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ... import services
from ...services.schedule import local_today
from ._options import (
    Progress,
    TranslatedCommand,
    add_scope_arguments,
    check_backend,
    finish,
    iso_date,
)


class Command(TranslatedCommand):
    help = cast(str, gettext_lazy("Charge every active preapproval whose billing plan is due."))

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--date",
            type=iso_date,
            metavar="YYYY-MM-DD",
            help=_(
                "Charge what is due on this day (default: today). A later day is only "
                "accepted with --dry-run: charging ahead of time would take money early."
            ),
        )
        add_scope_arguments(
            parser,
            limit_help=_("Charge at most this many preapprovals."),
            dry_run_help=_("List what would be charged; call no provider, change nothing."),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        check_backend(options["backend"])
        day = options["date"]
        if day is not None and day > local_today() and not options["dry_run"]:
            raise CommandError(
                _("%(date)s is in the future; only --dry-run looks ahead.")
                % {"date": day.isoformat()}
            )
        verbosity = int(options["verbosity"])
        quiet = (services.ChargeOutcome.CHARGED, services.ChargeOutcome.PENDING)
        progress = Progress(
            self,
            verbosity,
            # Every charge at -v 2; at -v 1 only those a person must look at.
            show=lambda line: verbosity >= 2 or (verbosity >= 1 and line.outcome not in quiet),
        )
        try:
            report = services.charge_due_preapprovals(
                today=options["date"],
                backend=options["backend"],
                limit=options["limit"],
                dry_run=options["dry_run"],
                progress=progress,
            )
        finally:
            progress.clear()
        if options["dry_run"]:
            for line in report.lines:
                self.stdout.write(str(line))
            self.stdout.write(
                _("Dry run for %(date)s: %(count)d charge(s) would be made.")
                % {"date": report.today.isoformat(), "count": report.planned}
            )
            return
        summary = _(
            "%(date)s: charged %(charged)d, pending %(pending)d, unknown %(unknown)d, "
            "failed %(failed)d, skipped %(skipped)d."
        ) % {
            "date": report.today.isoformat(),
            "charged": report.charged,
            "pending": report.pending,
            "unknown": report.unknown,
            "failed": report.failed,
            "skipped": report.skipped,
        }
        finish(
            self,
            report.ok,
            summary,
            _("%(count)d charge(s) failed or have an unknown outcome.")
            % {"count": report.failed + report.unknown},
        )
