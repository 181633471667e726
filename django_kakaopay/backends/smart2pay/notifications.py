"""Smart2Pay notifications: how one is authenticated, keyed and read.

Authenticated by the source address when ``NOTIFICATION_IP_ALLOWLIST`` is
set (behind ``TRUSTED_PROXIES``), then by the same
``Authorization: Basic base64(SiteID:ApiKey)`` header our calls carry.
Answered with ``204 No Content``, which Smart2Pay requires.

Smart2Pay notifications carry no event id. The inbox key is
``smart2pay:<root key>:<ID>:<Status.ID>:<NotificationDateTime>``, with a
SHA-256 of the body in place of the time when the notification has none
(preapproval notifications), and a plain body hash when the body names no
object. ``NotificationDateTime`` (``yyyyMMddHHmmss``) is read as UTC:
Smart2Pay does not document its time zone, and it only orders notifications
among themselves.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.utils.translation import gettext as _

from ...exceptions import MalformedWebhook, WebhookAuthenticationError
from ..auth import NotBasicCredentials, basic_credentials_match
from ..base import content_hash
from ..payloads import parse_iso_time, parse_layout_time, read_json
from ..readers import field, header, text_or_number
from ..types import ParsedWebhook, Snapshot
from .client import AUTHORIZATION_HEADER
from .maps import (
    PAYMENT,
    PREAPPROVAL,
    ROOT_KEYS,
    AmountScale,
    InexactAmount,
    payment_snapshot,
    preapproval_snapshot,
    refund_snapshot,
    scrub_payload,
    status_id,
)
from .options import Smart2PaySettings

NOTIFICATION_TIME_LAYOUT = "%Y%m%d%H%M%S"


def parse_notification_time(value: object) -> datetime | None:
    """``yyyyMMddHHmmss`` (Smart2Pay's format), read as UTC; ISO 8601 is accepted too."""
    if not isinstance(value, str):
        return None
    stripped = value.strip()
    return parse_layout_time(stripped, NOTIFICATION_TIME_LAYOUT) or parse_iso_time(stripped)


def verify_credentials(headers: Mapping[str, str], settings: Smart2PaySettings) -> None:
    """Raise ``WebhookAuthenticationError`` unless the header carries SITE_ID and API_KEY."""
    if not (settings.site_id and settings.api_key):
        raise WebhookAuthenticationError(
            _("SITE_ID and API_KEY are not configured, so no notification can be verified.")
        )
    received = header(headers, AUTHORIZATION_HEADER).strip()
    if not received:
        raise WebhookAuthenticationError(_("The Authorization header is missing."))
    try:
        genuine = basic_credentials_match(received, settings.site_id, settings.api_key)
    except NotBasicCredentials as exc:
        raise WebhookAuthenticationError(
            _("The Authorization header is not HTTP Basic credentials.")
        ) from exc
    if not genuine:
        raise WebhookAuthenticationError(
            _("The Authorization header does not match SITE_ID and API_KEY.")
        )


def _root(event: Mapping[str, Any]) -> tuple[str, Any]:
    """The root key (``Payment``, ``Preapproval``, ``Refund`` or another) and its object."""
    for key in ROOT_KEYS:
        value = field(event, key)
        if value is not None:
            return key, value
    for key, value in event.items():
        return str(key), value
    return "", None


def event_key(event: Mapping[str, Any], body: bytes) -> str:
    """``smart2pay:<root>:<ID>:<Status.ID>:<NotificationDateTime or body hash>``.

    A repeated delivery of one notification has the same key; a new status
    or a new notification time makes a new one. Without an object id the
    whole key is the body's hash.
    """
    root, resource = _root(event)
    if not isinstance(resource, Mapping):
        return content_hash(body)
    object_id = text_or_number(field(resource, "ID"))
    if not object_id:
        return content_hash(body)
    found = status_id(resource)
    when = text_or_number(field(resource, "NotificationDateTime")).strip() or content_hash(body)
    return f"smart2pay:{root}:{object_id}:{'' if found is None else found}:{when}"


def parse_notification(body: bytes, scale: AmountScale) -> ParsedWebhook:
    """An authenticated body as the update it reports; raise ``MalformedWebhook`` if unreadable."""
    event = read_json(body, "Smart2Pay")
    if not isinstance(event, Mapping) or not event:
        raise MalformedWebhook(_("The Smart2Pay notification is not a JSON object."))
    root, resource = _root(event)
    event_id = event_key(event, body)
    if root not in ROOT_KEYS:
        return ParsedWebhook(event_id, root[:100] or "unknown", ())
    if not isinstance(resource, Mapping):
        raise MalformedWebhook(
            _("The Smart2Pay %(type)s notification has no %(type)s object.") % {"type": root}
        )
    occurred_at = parse_notification_time(field(resource, "NotificationDateTime"))
    raw = scrub_payload(event)
    update: Snapshot
    try:
        if root == PAYMENT:
            if not _names(resource, "MerchantTransactionID"):
                raise MalformedWebhook(_("The Smart2Pay notification names no payment."))
            update = payment_snapshot(resource, scale, occurred_at=occurred_at, raw=raw)
        elif root == PREAPPROVAL:
            if not _names(resource, "MerchantPreapprovalID"):
                raise MalformedWebhook(_("The Smart2Pay notification names no preapproval."))
            update = preapproval_snapshot(resource, occurred_at=occurred_at, raw=raw)
        else:
            if not _names(resource, "MerchantTransactionID"):
                raise MalformedWebhook(_("The Smart2Pay notification names no refund."))
            update = refund_snapshot(resource, scale, occurred_at=occurred_at, raw=raw)
    except InexactAmount as exc:
        # Kept as failed for replay once AMOUNT_EXPONENTS is corrected.
        raise MalformedWebhook(str(exc)) from exc
    return ParsedWebhook(event_id, root, (update,), occurred_at)


def _names(resource: Mapping[str, Any], merchant_key: str) -> bool:
    """Whether the object names itself, by Smart2Pay's id or by ours."""
    return bool(
        text_or_number(field(resource, "ID")) or text_or_number(field(resource, merchant_key))
    )
