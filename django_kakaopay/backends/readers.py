"""Tolerant readers for values in a provider's JSON and headers, shared by the backends.

A provider's answer is read with :func:`~django_kakaopay.backends.payloads.read_json`
(or ``HttpResponse.json``) and then picked apart with these. Each reader
returns an empty value of the wanted type for anything else, so a field of an
unexpected type reads as "absent" instead of raising; whoever needs to tell
"absent" from "unreadable" compares with the raw value, as the notification
parsers do for amounts.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

_DIGITS_RE = re.compile(r"^[0-9]+$")
# More digits than any amount or status id (and than int() accepts past 4,300).
MAX_DIGITS = 18


def header(headers: Mapping[str, str], name: str) -> str:
    """The value of header ``name`` in any case, or ``""``."""
    wanted = name.lower()
    for key, value in headers.items():
        if str(key).lower() == wanted:
            return str(value)
    return ""


def field(obj: Mapping[str, Any], key: str) -> Any:
    """``obj[key]``, also when the provider changed the key's case; ``None`` when absent."""
    if key in obj:
        return obj[key]
    wanted = key.lower()
    for name, value in obj.items():
        if str(name).lower() == wanted:
            return value
    return None


def mapping(value: object) -> Mapping[str, Any]:
    """``value`` if it is a JSON object, else an empty one."""
    return value if isinstance(value, Mapping) else {}


def text(value: object) -> str:
    """``value`` if it is a string, else ``""`` (a number is not an id here)."""
    return value if isinstance(value, str) else ""


def text_or_number(value: object) -> str:
    """A string, or a whole number written as one (providers send ids either way)."""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return ""


def integer(value: object) -> int | None:
    """``value`` if it is a JSON integer (not ``true``/``false``), else ``None``."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def integer_or_digits(value: object) -> int | None:
    """An integer sent as a number or as a string of digits ("100").

    A string of more than :data:`MAX_DIGITS` digits is refused rather than
    converted: no amount or id is that long, and converting it costs time.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    stripped = value.strip() if isinstance(value, str) else ""
    if stripped and len(stripped) <= MAX_DIGITS and _DIGITS_RE.match(stripped):
        return int(stripped)
    return None


def is_digits(value: str) -> bool:
    """Whether ``value`` is one or more ASCII digits and nothing else."""
    return _DIGITS_RE.match(value) is not None


def flag(value: object) -> bool:
    """A JSON boolean, or the string ``"true"`` in any case."""
    if isinstance(value, bool):
        return value
    return isinstance(value, str) and value.strip().lower() == "true"


def positive_number(value: object) -> bool:
    """Whether ``value`` is a number above zero (``True`` is not a number here)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and value > 0


def positive_integer(value: object) -> bool:
    """Whether ``value`` is a whole number above zero (``True`` is not one here)."""
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def strings(value: object) -> tuple[str, ...]:
    """The non-empty strings of a list option; one string counts as a list of one."""
    if isinstance(value, str):
        return (value,) if value else ()
    if isinstance(value, Sequence):
        return tuple(item for item in value if isinstance(item, str) and item)
    return ()


CUSTOMER_TEXT_LIMIT = 255


def customer_text(value: object) -> str:
    """A provider's message for the customer, fit to show: one line, printable, bounded.

    Only a message from the provider's own server answer may be passed here,
    never one from the browser's query string, which anyone can write.
    """
    words = "".join(ch if ch.isprintable() else " " for ch in text(value)).split()
    return " ".join(words)[:CUSTOMER_TEXT_LIMIT]
