"""Checkout.com webhooks: how one is authenticated, keyed and read.

Authenticated by ``Cko-Signature``, the hex HMAC-SHA256 of the raw body with
one of ``WEBHOOK_SIGNATURE_KEYS``, and, when ``WEBHOOK_AUTHORIZATION`` is
set, by the ``Authorization`` header Checkout.com sends too. Keyed by the
event's own id. Events about payments and refunds become snapshots; other
event types are stored and acknowledged, never acted on. The shape of refund
events is inferred from Checkout.com's SDKs, so it is read defensively.
"""

from __future__ import annotations

from collections.abc import Mapping

from django.utils.translation import gettext as _

from ...exceptions import MalformedWebhook, WebhookAuthenticationError
from ..auth import hmac_sha256_hex, same_secret, signature_matches_any
from ..payloads import parse_iso_time, read_json
from ..readers import header, integer, text
from ..types import ParsedWebhook, PaymentSnapshot, RefundSnapshot, Snapshot
from .maps import PAYMENT_EVENTS, REFUND_EVENTS
from .options import CheckoutSettings
from .payments import scrub_payload

SIGNATURE_HEADER = "Cko-Signature"
AUTHORIZATION_HEADER = "Authorization"
# Never stored with a notification, whatever a subclass allows.
SECRET_HEADERS = frozenset({AUTHORIZATION_HEADER.lower(), SIGNATURE_HEADER.lower()})


def sign_webhook(key: str, body: bytes) -> str:
    """The ``Cko-Signature`` value for ``body``: hex HMAC-SHA256 with ``key``."""
    return hmac_sha256_hex(key, body)


def verify_notification(
    body: bytes, headers: Mapping[str, str], settings: CheckoutSettings
) -> None:
    """Raise ``WebhookAuthenticationError`` unless the raw ``body`` and ``headers`` are genuine."""
    if settings.webhook_authorization:
        received = header(headers, AUTHORIZATION_HEADER)
        if not received:
            raise WebhookAuthenticationError(_("The Authorization header is missing."))
        if not same_secret(received, settings.webhook_authorization):
            raise WebhookAuthenticationError(
                _("The Authorization header does not match WEBHOOK_AUTHORIZATION.")
            )
    if not settings.signature_keys:
        raise WebhookAuthenticationError(
            _("No WEBHOOK_SIGNATURE_KEYS are configured, so no notification can be verified.")
        )
    signature = header(headers, SIGNATURE_HEADER).strip().lower()
    if not signature:
        raise WebhookAuthenticationError(_("The Cko-Signature header is missing."))
    if not signature_matches_any(signature, body, settings.signature_keys):
        raise WebhookAuthenticationError(
            _("The Cko-Signature header does not match any WEBHOOK_SIGNATURE_KEYS.")
        )


def parse_notification(body: bytes) -> ParsedWebhook:
    """An authenticated body as the event it reports; raise ``MalformedWebhook`` if unreadable."""
    event = read_json(body, "Checkout.com")
    if not isinstance(event, dict):
        raise MalformedWebhook(_("The Checkout.com notification is not a JSON object."))
    event_id = text(event.get("id"))
    event_type = text(event.get("type"))
    if not event_id or not event_type:
        raise MalformedWebhook(_("The Checkout.com notification has no id or type."))
    occurred_at = parse_iso_time(event.get("created_on")) or parse_iso_time(event.get("timestamp"))
    if event_type not in PAYMENT_EVENTS and event_type not in REFUND_EVENTS:
        return ParsedWebhook(event_id, event_type, (), occurred_at)

    data = event.get("data")
    if not isinstance(data, dict):
        raise MalformedWebhook(
            _("The Checkout.com notification %(id)s has no data object.") % {"id": event_id},
            event_id=event_id,
        )
    payment_id = text(data.get("id"))
    reference = text(data.get("reference"))
    if not payment_id and not reference:
        raise MalformedWebhook(
            _("The Checkout.com notification %(id)s names no payment.") % {"id": event_id},
            event_id=event_id,
        )
    amount = integer(data.get("amount"))
    currency = text(data.get("currency")) or None
    if (data.get("amount") is not None and amount is None) or (
        data.get("currency") is not None and not isinstance(data.get("currency"), str)
    ):
        # An amount we cannot read must never pass as "not stated".
        raise MalformedWebhook(
            _("The Checkout.com notification %(id)s has an unreadable amount or currency.")
            % {"id": event_id},
            event_id=event_id,
        )
    summary = text(data.get("response_summary"))
    raw = scrub_payload(event)
    update: Snapshot
    if event_type in PAYMENT_EVENTS:
        # data.amount is the payment's amount here.
        update = PaymentSnapshot(
            status=PAYMENT_EVENTS[event_type],
            provider_status=event_type,
            provider_payment_id=payment_id,
            reference=reference,
            amount=amount,
            currency=currency,
            occurred_at=occurred_at,
            message=summary,
            raw=raw,
        )
    else:
        # data.amount is the refund's amount. data.reference may be the
        # refund's own reference or the payment's (not documented): it is
        # offered as both, and the action id matches the refund anyway.
        update = RefundSnapshot(
            status=REFUND_EVENTS[event_type],
            provider_refund_id=text(data.get("action_id")),
            reference=reference,
            provider_payment_id=payment_id,
            payment_reference=reference,
            amount=amount,
            currency=currency,
            occurred_at=occurred_at,
            message=summary,
            raw=raw,
        )
    return ParsedWebhook(event_id, event_type, (update,), occurred_at)
