"""Process failed inbox rows (provider notifications) again.

Safe to run from cron on several machines at once. Exits with status 1 when
a replay still fails or an id given cannot be replayed.
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
    positive_int,
)

# Deliveries and replays of one notification before the job stops retrying it.
DEFAULT_MAX_ATTEMPTS = 10


class Command(TranslatedCommand):
    help = cast(
        str,
        gettext_lazy(
            "Replay failed provider notifications: every failed one, oldest first, or the ids given."
        ),
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "event_ids",
            nargs="*",
            type=positive_int,
            metavar="EVENT_ID",
            help=_("Inbox row ids (default: every failed notification)."),
        )
        add_scope_arguments(parser, limit_help=_("Replay at most this many notifications."))
        parser.add_argument(
            "--max-attempts",
            type=non_negative_int,
            default=DEFAULT_MAX_ATTEMPTS,
            metavar="N",
            help=_(
                "Without ids, hold back notifications already processed this many times "
                "(default %(default)s; 0 retries every one)."
            ),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        check_backend(options["backend"])
        verbosity = int(options["verbosity"])
        progress = Progress(
            self,
            verbosity,
            # Every notification at -v 2; at -v 1 only those a person must look at.
            show=lambda line: (
                verbosity >= 2
                or (verbosity >= 1 and line.outcome != services.ReplayOutcome.REPLAYED)
            ),
        )
        try:
            report = services.replay_failed_events(
                options["event_ids"] or None,
                backend=options["backend"],
                limit=options["limit"],
                max_attempts=options["max_attempts"] or None,
                progress=progress,
            )
        finally:
            progress.clear()
        summary = _(
            "Replayed %(replayed)d, failed %(failed)d, skipped %(skipped)d, "
            "held back %(held_back)d."
        ) % {
            "replayed": report.replayed,
            "failed": report.failed,
            "skipped": report.skipped,
            "held_back": report.held_back,
        }
        finish(
            self,
            report.ok,
            summary,
            _("%(count)d notification(s) could not be replayed.") % {"count": report.failed},
        )
