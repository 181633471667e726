"""Helpers for reading provider payloads, shared by the backends."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import UTC, datetime
from typing import Any


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
