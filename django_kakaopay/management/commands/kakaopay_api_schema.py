"""Print the REST API's OpenAPI 3 schema (YAML)."""

from __future__ import annotations

from typing import Any, cast

from django.core.management.base import CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ._options import TranslatedCommand


class Command(TranslatedCommand):
    help = cast(str, gettext_lazy("Print the OpenAPI 3 schema of django_kakaopay.api as YAML."))

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--prefix",
            default="kakaopay/api/",
            help=_("Where the API is mounted (default: %(default)s)."),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        from ...api.schema import schema_yaml

        self.stdout.write(schema_yaml(options["prefix"]), ending="")
