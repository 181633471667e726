"""Turn every unknown payment, refund and preapproval outcome into a definite one.

Safe to run from cron on several machines at once. Exits with status 1 when
something failed or is still unknown after the run.
"""

from __future__ import annotations

from typing import Any, cast

from django.core.management.base import CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ... import services
from ._options import (
    Progress,
    TranslatedCommand,
    add_scope_arguments,
    check_backend,
    finish,
    non_negative_int,
)


class Command(TranslatedCommand):
    help = cast(
        str,
        gettext_lazy(
            "Ask the providers about payments, refunds and preapprovals whose outcome is "
            "unknown or still pending, and apply their answers."
        ),
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--older-than",
            type=non_negative_int,
            metavar="SECONDS",
            help=_("Only objects at least this old (default: the RECONCILE_AFTER setting)."),
        )
        parser.add_argument(
            "--expire-after",
            type=non_negative_int,
            metavar="SECONDS",
            help=_(
                "Expire payments and preapprovals the provider still reports pending this "
                "long after creation (default: the backend's own window where it has one, "
                "such as EXPIRY_MINUTES of KakaoPay's API, else the EXPIRE_AFTER setting)."
            ),
        )
        add_scope_arguments(
            parser,
            limit_help=_("Check at most this many objects."),
            dry_run_help=_("List what would be checked; call no provider, change nothing."),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        check_backend(options["backend"])
        verbosity = int(options["verbosity"])
        problems = (services.ReconcileOutcome.UNKNOWN, services.ReconcileOutcome.ERROR)
        progress = Progress(
            self,
            verbosity,
            # Every row at -v 2; at -v 1 only those a person must look at.
            show=lambda result: verbosity >= 2 or (verbosity >= 1 and result.outcome in problems),
        )
        try:
            report = services.reconcile(
                older_than=options["older_than"],
                expire_after=options["expire_after"],
                backend=options["backend"],
                limit=options["limit"],
                dry_run=options["dry_run"],
                progress=progress,
            )
        finally:
            progress.clear()
        if options["dry_run"]:
            for result in report.results:
                self.stdout.write(str(result))
            self.stdout.write(
                _("Dry run: %(count)d object(s) would be checked.") % {"count": report.planned}
            )
            return
        summary = _(
            "Checked %(checked)d: %(settled)d settled, %(unchanged)d unchanged, "
            "%(unknown)d still unknown, %(errors)d errors, %(skipped)d skipped."
        ) % {
            "checked": report.checked,
            "settled": report.settled,
            "unchanged": report.unchanged,
            "unknown": report.still_unknown,
            "errors": report.errors,
            "skipped": report.skipped,
        }
        finish(
            self,
            report.ok,
            summary,
            _("%(count)d object(s) failed or are still unknown.")
            % {"count": report.errors + report.still_unknown},
        )
