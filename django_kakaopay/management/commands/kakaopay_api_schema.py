"""Print the REST API's OpenAPI 3 schema (YAML)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Print the OpenAPI 3 schema of django_kakaopay.api as YAML."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--prefix",
            default="kakaopay/api/",
            help="Where the API is mounted (default: kakaopay/api/).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        from ...api.schema import schema_yaml

        self.stdout.write(schema_yaml(options["prefix"]), ending="")
