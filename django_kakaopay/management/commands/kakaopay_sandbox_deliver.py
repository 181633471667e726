"""Deliver the notifications a sandbox backend held back (``NOTIFICATIONS="late"``)."""

from __future__ import annotations

from typing import Any, cast

from django.core.management.base import CommandError, CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ...backends.sandbox import SandboxBackend
from ...conf import backend_configs, get_backend
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
        aliases = options["aliases"] or list(backend_configs())
        delivered = 0
        for alias in aliases:
            backend = get_backend(alias)
            if not isinstance(backend, SandboxBackend):
                if options["aliases"]:
                    raise CommandError(_("%(alias)r is not a sandbox backend.") % {"alias": alias})
                continue
            count = backend.deliver_late_notifications()
            delivered += count
            self.stdout.write(
                _("%(alias)s: delivered %(count)d notification(s)")
                % {"alias": alias, "count": count}
            )
        self.stdout.write(
            self.style.SUCCESS(_("Delivered %(count)d in total.") % {"count": delivered})
        )
