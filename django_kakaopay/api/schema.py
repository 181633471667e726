"""The API's OpenAPI 3 document, built with drf-spectacular.

``python -m django kakaopay_api_schema`` (with your settings) prints it; the
committed copy is ``docs/api/openapi.yaml``.
"""

from __future__ import annotations

from typing import Any

from django.urls import URLPattern, URLResolver, include, path
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiYamlRenderer

from .. import __version__

TITLE = "django-kakaopay API"
DESCRIPTION = (
    "Payments, refunds and auto-debit agreements (preapprovals) with KakaoPay. "
    "Amounts are whole numbers of the currency's minor unit: 11000 KRW is ₩11,000."
)


def _patterns(prefix: str) -> list[URLPattern | URLResolver]:
    return [path(prefix, include("django_kakaopay.api.urls"))]


def build_schema(prefix: str = "kakaopay/api/") -> dict[str, Any]:
    """The schema as a dict, with the API mounted under ``prefix``."""
    generator = SchemaGenerator(patterns=_patterns(prefix))  # type: ignore[no-untyped-call]
    schema: dict[str, Any] = generator.get_schema(  # type: ignore[no-untyped-call]
        request=None, public=True
    )
    schema["info"] = {"title": TITLE, "version": __version__, "description": DESCRIPTION}
    return schema


def schema_yaml(prefix: str = "kakaopay/api/") -> str:
    rendered: bytes = OpenApiYamlRenderer().render(  # type: ignore[no-untyped-call]
        build_schema(prefix), renderer_context={}
    )
    return rendered.decode("utf-8")
