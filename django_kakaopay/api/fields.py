"""The API's serializer fields, and what the schema says about each.

Each field's schema states what the field refuses, so that a client built
from the schema never sends what the server answers with 400: amounts are
JSON integers within bounds, text never holds a NUL character (Django REST
framework refuses it everywhere) and required text is not blank, currencies
and backend aliases are the ones this project knows.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.openapi import AutoSchema
from rest_framework import serializers

from ..conf import backend_configs
from ..money import KNOWN_CURRENCIES, CurrencyError, normalize_currency

#: Larger amounts are refused (no KakaoPay payment is near it; the column is 64-bit).
MAX_AMOUNT = 10**12
EMAIL_MAX_LENGTH = 254

#: The server refuses text holding NUL in any field: the schema says ``not`` this.
HOLDS_NUL = r"\u0000"
#: Required text holds a character that is not white space (leading and
#: trailing white space is trimmed before the blank check).
NOT_BLANK = r"\S"


class MinorUnitsField(serializers.Field):  # type: ignore[type-arg]
    """A JSON integer from ``min_value`` (1) to ``MAX_AMOUNT``; ``1.0``, ``"100"`` and
    ``true`` are refused."""

    default_error_messages = {
        "invalid": gettext_lazy(
            "Enter a whole number of the currency's minor unit (a JSON integer, e.g. 11000)."
        ),
        "min_value": gettext_lazy("The amount must be positive."),
        "negative": gettext_lazy("The amount cannot be negative."),
        "max_value": gettext_lazy("The amount must be at most %(max)d."),
    }

    def __init__(self, *, min_value: int = 1, **kwargs: Any) -> None:
        self.min_value = min_value
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        if data < self.min_value:
            self.fail("negative" if self.min_value == 0 else "min_value")
        if data > MAX_AMOUNT:
            raise serializers.ValidationError(
                self.error_messages["max_value"] % {"max": MAX_AMOUNT}, code="max_value"
            )
        return data

    def to_representation(self, value: Any) -> int:
        return int(value)


class TextField(serializers.CharField):
    """A ``CharField`` that takes JSON strings only (DRF's turns ``0`` into ``"0"``),
    and refuses text the database cannot store."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        value = str(super().to_internal_value(data))
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise serializers.ValidationError(_("The text is not valid Unicode.")) from exc
        return value


class CurrencyField(TextField):
    """An ISO 4217 code this package knows, upper-cased: ``"krw"`` becomes ``"KRW"``."""

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        try:
            return normalize_currency(value)
        except CurrencyError as exc:
            raise serializers.ValidationError(str(exc)) from exc


def validate_backend(value: str) -> None:
    if value and value not in backend_configs():
        raise serializers.ValidationError(
            _("No KakaoPay backend is configured under the alias %(alias)r.") % {"alias": value}
        )


class BackendField(TextField):
    """An alias of ``KAKAOPAY["BACKENDS"]``, or empty for ``DEFAULT_BACKEND``."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 64)
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_blank", True)
        kwargs.setdefault("default", "")
        kwargs.setdefault("validators", [validate_backend])
        super().__init__(**kwargs)


class OptionalEmailField(serializers.EmailField):
    """An e-mail address or ``""``."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", EMAIL_MAX_LENGTH)
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_blank", True)
        kwargs.setdefault("default", "")
        super().__init__(**kwargs)


# -- the schema of each field (drf-spectacular extensions) ---------------------------


class MinorUnitsFieldSchema(OpenApiSerializerFieldExtension):  # type: ignore[no-untyped-call]
    target_class = MinorUnitsField

    def map_serializer_field(self, auto_schema: AutoSchema, direction: Any) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "integer", "format": "int64"}
        if not self.target.read_only:
            schema.update(minimum=self.target.min_value, maximum=MAX_AMOUNT)
        return schema


class TextFieldSchema(OpenApiSerializerFieldExtension):  # type: ignore[no-untyped-call]
    target_class = TextField
    match_subclasses = True

    def map_serializer_field(self, auto_schema: AutoSchema, direction: Any) -> dict[str, Any]:
        field = self.target
        schema: dict[str, Any] = auto_schema._map_serializer_field(  # type: ignore[no-untyped-call]
            field, direction, bypass_extensions=True
        )
        if field.read_only:
            return schema
        if isinstance(field, CurrencyField):
            return {
                "type": "string",
                "enum": sorted(KNOWN_CURRENCIES),
                "description": "An ISO 4217 code; lower case is accepted too.",
            }
        if isinstance(field, BackendField):
            # Read from the settings when the schema is built: the project's aliases.
            return {"type": "string", "enum": ["", *sorted(backend_configs())]}
        # ``not`` rather than a pattern excluding NUL: drf-spectacular splits a
        # blank-allowed field with a pattern into a ``oneOf`` that '' matches twice.
        schema["not"] = {"pattern": HOLDS_NUL}
        if not field.allow_blank:
            schema.update(minLength=1, pattern=NOT_BLANK)
        return schema


class OptionalEmailFieldSchema(OpenApiSerializerFieldExtension):  # type: ignore[no-untyped-call]
    # drf-spectacular describes a blank-allowed EmailField as ``oneOf`` an
    # e-mail and an empty string, but puts the field's ``default: ''`` inside
    # the e-mail branch, where an independent validator rejects it ("'' is not
    # a 'email'"). The default belongs beside the ``oneOf``.
    target_class = OptionalEmailField

    def map_serializer_field(self, auto_schema: AutoSchema, direction: Any) -> dict[str, Any]:
        return {
            "oneOf": [
                {"type": "string", "format": "email", "maxLength": EMAIL_MAX_LENGTH},
                {"type": "string", "maxLength": 0},
            ]
        }
