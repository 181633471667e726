"""Rows of the notification inbox, written only after authentication.

An authenticated delivery's row is written inside the transaction that
applies it (:func:`claim`), so a row exists only if its changes committed,
or, after a failure, as ``failed`` (:func:`claim` again, in a transaction of
its own). A delivery that failed authentication leaves at most a bounded,
truncated diagnostic row (:func:`keep_rejected`).
"""

from __future__ import annotations

import hashlib
import ipaddress
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import F, Subquery
from django.utils import timezone

from ..backends.base import content_hash
from ..backends.payloads import storable
from ..conf import get_setting
from ..models import WebhookEvent, WebhookEventStatus
from .statements import column, concrete_field

# A row in one of these states is taken over by a new authenticated delivery
# with the same key; any other state means the delivery is a duplicate.
UNFINISHED = (
    WebhookEventStatus.RECEIVED,
    WebhookEventStatus.QUEUED,
    WebhookEventStatus.FAILED,
    WebhookEventStatus.MALFORMED,
)
REJECTED_BODY_BYTES = 4096
_HEADER_VALUE_CHARS = 1024
_ERROR_CHARS = 2000
_KEY_CHARS = 255


def event_key(event_id: str, body: bytes) -> str:
    """The inbox key: the provider's event id, or a hash when it cannot be stored as is."""
    if not event_id:
        return content_hash(body)
    if len(event_id) <= _KEY_CHARS and storable(event_id):
        return event_id
    digest = hashlib.sha256(event_id.encode("utf-8", "surrogatepass")).hexdigest()
    return f"sha256:{digest}"


def clean_text(text: object, limit: int) -> str:
    """``text`` as something every database stores: no NUL, no lone surrogate, cut to ``limit``."""
    value = str(text)
    if not storable(value):
        value = value.encode("utf-8", "replace").decode("utf-8").replace("\x00", "\ufffd")
    return value if len(value) <= limit else value[: limit - 1] + "…"


def clean_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {
        clean_text(name, 100): clean_text(value, _HEADER_VALUE_CHARS)
        for name, value in headers.items()
    }


def clean_address(remote_addr: str | None) -> str | None:
    """A valid IP address, or ``None`` (the column refuses anything else on PostgreSQL)."""
    if not remote_addr:
        return None
    try:
        return str(ipaddress.ip_address(remote_addr.strip()))
    except ValueError:
        return None


@dataclass(frozen=True)
class Delivery:
    """What is stored of one authenticated delivery."""

    backend: str
    key: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    remote_addr: str | None = None
    event_type: str = ""

    def as_event(
        self, pk: int, status: str, attempts: int, last_error: str, now: datetime
    ) -> WebhookEvent:
        """The row as written, without reading it back."""
        return WebhookEvent(
            pk=pk,
            backend=self.backend,
            event_key=self.key,
            event_type=self.event_type,
            body=self.body,
            headers=self.headers,
            remote_addr=self.remote_addr,
            status=status,
            attempts=attempts,
            last_error=last_error,
            received_at=now,
            updated_at=now,
            processed_at=now if status not in UNFINISHED else None,
        )


def claim(delivery: Delivery, status: str, last_error: str = "") -> WebhookEvent | None:
    """Insert ``delivery``'s row with ``status``, or take over an unfinished row with its key.

    Returns the row as written, locked until the current transaction ends,
    or ``None`` when a finished row (processed, ignored) already has the key:
    the delivery is a duplicate. One statement on PostgreSQL and SQLite; a
    concurrent delivery of the same event waits on the unique index until
    this transaction ends, then sees the row.
    """
    now = timezone.now()
    last_error = clean_text(last_error, _ERROR_CHARS) if last_error else ""
    values: dict[str, Any] = {
        "backend": delivery.backend,
        "event_key": delivery.key,
        "event_type": delivery.event_type[:100],
        "body": delivery.body,
        "headers": delivery.headers,
        "remote_addr": delivery.remote_addr,
        "status": status,
        "attempts": 1,
        "last_error": last_error,
        "received_at": now,
        "updated_at": now,
        "processed_at": None if status in UNFINISHED else now,
    }
    features = connection.features
    if features.supports_update_conflicts_with_target and features.can_return_columns_from_insert:
        row = _upsert(values)
    else:
        row = _claim_portably(values)
    if row is None:
        return None
    pk, attempts = row
    return delivery.as_event(pk, status, attempts, last_error, now)


_TAKEN_OVER = (
    "event_type",
    "body",
    "headers",
    "remote_addr",
    "status",
    "last_error",
    "updated_at",
    "processed_at",
)


def _upsert(values: dict[str, Any]) -> tuple[int, int] | None:
    quote = connection.ops.quote_name

    def col(name: str) -> str:
        return quote(column(concrete_field(WebhookEvent, name)))

    table = quote(WebhookEvent._meta.db_table)
    fields = [concrete_field(WebhookEvent, name) for name in values]
    params = [f.get_db_prep_save(values[f.name], connection) for f in fields]
    names = ", ".join(col(f.name) for f in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    taken_over = ", ".join(f"{col(name)} = EXCLUDED.{col(name)}" for name in _TAKEN_OVER)
    attempts, status = col("attempts"), col("status")
    unfinished = ", ".join(["%s"] * len(UNFINISHED))
    # Only quoted column names from the model are interpolated; every value is a parameter.
    sql = (
        f"INSERT INTO {table} ({names}) VALUES ({placeholders}) "  # noqa: S608
        f"ON CONFLICT ({col('backend')}, {col('event_key')}) DO UPDATE SET "
        f"{attempts} = {table}.{attempts} + 1, {taken_over} "
        f"WHERE {table}.{status} IN ({unfinished}) "
        f"RETURNING {col('id')}, {attempts}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, *UNFINISHED])
        row = cursor.fetchone()
    return (int(row[0]), int(row[1])) if row else None


def _claim_portably(values: dict[str, Any]) -> tuple[int, int] | None:
    """The same as :func:`_upsert` with the ORM, for databases without ``ON CONFLICT``."""
    lookup = {"backend": values["backend"], "event_key": values["event_key"]}
    existing = WebhookEvent.objects.select_for_update().filter(**lookup).first()
    if existing is None:
        try:
            with transaction.atomic():
                created = WebhookEvent.objects.create(**values)
            return created.pk, 1
        except IntegrityError:
            existing = WebhookEvent.objects.select_for_update().get(**lookup)
    if existing.status not in UNFINISHED:
        return None
    WebhookEvent.objects.filter(pk=existing.pk).update(
        attempts=F("attempts") + 1, **{name: values[name] for name in _TAKEN_OVER}
    )
    return existing.pk, existing.attempts + 1


def finish(event: WebhookEvent, status: str, last_error: str) -> None:
    """Record the outcome of a claimed row, in the transaction that claimed it."""
    event.status = status
    event.last_error = clean_text(last_error, _ERROR_CHARS) if last_error else ""
    event.processed_at = event.updated_at if status not in UNFINISHED else None
    WebhookEvent.objects.filter(pk=event.pk).update(
        status=event.status, last_error=event.last_error, processed_at=event.processed_at
    )


def keep_rejected(
    backend: str,
    body: bytes,
    headers: Mapping[str, str],
    remote_addr: str | None,
    error: str,
) -> None:
    """Keep a delivery that failed authentication, for diagnosing a signature setup.

    ``headers`` must already be redacted by the backend.

    Bounded whatever a sender does: at most ``WEBHOOK_REJECTED_KEEP`` rows per
    backend (the oldest are deleted), each body cut to 4 KiB, under a key of
    its own so that it never stands in for a genuine delivery.
    """
    keep = int(get_setting("WEBHOOK_REJECTED_KEEP"))
    if keep <= 0:
        return
    note = clean_text(error, _ERROR_CHARS)
    if len(body) > REJECTED_BODY_BYTES:
        note += f" (body cut to {REJECTED_BODY_BYTES} of {len(body)} bytes)"
    with transaction.atomic():
        WebhookEvent.objects.create(
            backend=backend,
            event_key=f"rejected:{uuid.uuid4().hex}",
            body=body[:REJECTED_BODY_BYTES],
            headers=clean_headers(headers),
            remote_addr=clean_address(remote_addr),
            status=WebhookEventStatus.REJECTED,
            last_error=note,
        )
        rejected = WebhookEvent.objects.filter(backend=backend, status=WebhookEventStatus.REJECTED)
        oldest_kept = rejected.order_by("-pk").values("pk")[keep - 1 : keep]
        rejected.filter(pk__lt=Subquery(oldest_kept)).delete()
