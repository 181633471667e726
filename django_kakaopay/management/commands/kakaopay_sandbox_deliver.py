"""Deliver the notifications a sandbox backend held back (``NOTIFICATIONS="late"``)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ...backends.sandbox import SandboxBackend
from ...conf import backend_configs, get_backend


class Command(BaseCommand):
    help = "Deliver notifications held back by sandbox backends in 'late' mode."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "aliases", nargs="*", help="Sandbox backend aliases (default: every sandbox backend)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        aliases = options["aliases"] or list(backend_configs())
        delivered = 0
        for alias in aliases:
            backend = get_backend(alias)
            if not isinstance(backend, SandboxBackend):
                if options["aliases"]:
                    raise CommandError(f"{alias!r} is not a sandbox backend.")
                continue
            count = backend.deliver_late_notifications()
            delivered += count
            self.stdout.write(f"{alias}: delivered {count} notification(s)")
        self.stdout.write(self.style.SUCCESS(f"Delivered {delivered} in total."))
