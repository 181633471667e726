"""Helpers for reading provider payloads, shared by the backends."""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Mapping
from datetime import UTC, datetime
from typing import Any

from django.utils.translation import gettext as _

from ..exceptions import MalformedWebhook


def as_utc(moment: datetime) -> datetime:
    """``moment`` unchanged if it has a zone; a zone-less one is taken as UTC,
    so times from any provider always compare."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def parse_iso_time(value: object) -> datetime | None:
    """An ISO 8601 time (zone-less read as UTC), or ``None`` when absent or unreadable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return as_utc(datetime.fromisoformat(value))
    except ValueError:
        return None


def parse_layout_time(value: object, layout: str) -> datetime | None:
    """A time written in a provider's own ``layout`` (``strptime`` codes), zone-less
    read as UTC; ``None`` when absent or not written that way."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return as_utc(datetime.strptime(value, layout))  # made aware by as_utc
    except ValueError:
        return None


def scrub(value: Any, keys: Collection[str]) -> Any:
    """A copy of a payload without ``keys`` at any depth.

    Used to drop return URLs before a payload is stored: they carry the
    customer's return token, which grants access to the payment.
    """
    if isinstance(value, Mapping):
        return {str(k): scrub(v, keys) for k, v in value.items() if k not in keys}
    if isinstance(value, list):
        return [scrub(item, keys) for item in value]
    return value


# Real notifications nest a handful of levels; anything deeper is an attack on
# recursive code (ours or a receiver's), not a payment.
MAX_JSON_DEPTH = 32
# Larger than any amount a provider could report, small enough for a 64-bit column.
MAX_AMOUNT = 10**15

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable(text: str) -> bool:
    """Whether ``text`` can be stored in any database text column.

    PostgreSQL refuses NUL in text and JSON, and no UTF-8 encoder takes a lone
    surrogate; both can be written as JSON escapes (``\\u0000``, ``\\ud800``).
    """
    return _UNSTORABLE.search(text) is None


def read_json(body: bytes, provider: str) -> Any:
    """Parse an authenticated notification body, or raise ``MalformedWebhook``.

    Strict UTF-8, no ``NaN``/``Infinity``, at most ``MAX_JSON_DEPTH`` levels,
    and no string (key or value) that a database could not store, so that
    whatever a backend builds from the result can be saved as it is.
    """
    try:
        text = body.decode("utf-8")
        value = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
    except RecursionError:
        raise MalformedWebhook(
            _("The %(provider)s notification cannot be stored: %(problem)s")
            % {"provider": provider, "problem": _too_deep()}
        ) from None
    except ValueError as exc:
        # UnicodeDecodeError is a ValueError; so is an integer of over 4,300 digits.
        raise MalformedWebhook(
            _("The %(provider)s notification is not JSON: %(error)s")
            % {"provider": provider, "error": _short(exc)}
        ) from None
    problem = _tree_problem(value)
    if problem:
        raise MalformedWebhook(
            _("The %(provider)s notification cannot be stored: %(problem)s")
            % {"provider": provider, "problem": problem}
        )
    return value


def _too_deep() -> str:
    return _("it nests deeper than %(depth)d levels") % {"depth": MAX_JSON_DEPTH}


def _finite_float(text: str) -> float:
    # "1e999" reads as infinity, which no JSON column stores.
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise ValueError(f"{text[:20]} is not a finite number")
    return value


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number")


def _short(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 200 else text[:200] + "…"


def _tree_problem(value: Any) -> str:
    """Walk ``value`` without recursion; the first reason it cannot be stored, or ``""``."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, str):
            if not storable(node):
                return str(_("it holds NUL or an unpaired surrogate"))
        elif isinstance(node, dict | list):
            if depth > MAX_JSON_DEPTH:
                return str(_("it nests deeper than %(depth)d levels") % {"depth": MAX_JSON_DEPTH})
            if isinstance(node, dict):
                stack.extend((key, depth) for key in node)
                stack.extend((item, depth + 1) for item in node.values())
            else:
                stack.extend((item, depth + 1) for item in node)
    return ""
