"""Deliver the notifications a sandbox backend held back (``NOTIFICATIONS="late"``)."""

from __future__ import annotations

from typing import Any, cast

from django.core.management.base import CommandError, CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ... import services
from ...exceptions import NotASandbox
from ._options import TranslatedCommand


class Command(TranslatedCommand):
    help = cast(
        str, gettext_lazy("Deliver notifications held back by sandbox backends in 'late' mode.")
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "aliases",
            nargs="*",
            metavar="ALIAS",
            help=_("Sandbox backend aliases (default: every sandbox backend)."),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            delivered = services.deliver_held_notifications(options["aliases"])
        except NotASandbox as exc:
            raise CommandError(str(exc)) from exc
        for alias, count in delivered.items():
            self.stdout.write(
                _("%(alias)s: delivered %(count)d notification(s)")
                % {"alias": alias, "count": count}
            )
        total = sum(delivered.values())
        self.stdout.write(self.style.SUCCESS(_("Delivered %(count)d in total.") % {"count": total}))
