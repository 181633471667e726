"""PortOne webhooks: authenticated as Standard Webhooks, keyed by ``webhook-id``, read as hints.

A ``Transaction.*`` event names a payment and a ``BillingKey.*`` event a
billing key; neither is taken as the state. The backend looks the payment
or key up and applies what PortOne answers, so an event delivered twice,
late or out of order changes nothing the look-up would not. Other types,
and fields we do not know, are acknowledged and ignored.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from django.utils.translation import gettext as _

from ...exceptions import MalformedWebhook, ProviderError, ProviderRejected, WebhookUnconfirmed
from ..payloads import parse_iso_time, read_json
from ..readers import header, text
from ..types import ParsedWebhook, PaymentSnapshot, PreapprovalSnapshot, Snapshot
from .signatures import ID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER

# The signature changes with every delivery and proves nothing once checked.
SECRET_HEADERS = frozenset({SIGNATURE_HEADER})
STORED_HEADERS = (ID_HEADER, TIMESTAMP_HEADER)
PAYMENT_PREFIX = "Transaction."
BILLING_KEY_PREFIX = "BillingKey."
# What our columns hold: a reference (our paymentId) and a provider id.
MAX_PAYMENT_ID = 100
MAX_BILLING_KEY = 128


def parse_notification(
    body: bytes,
    headers: Mapping[str, str],
    store_id: str,
    fetch_payment: Callable[[str], PaymentSnapshot],
    fetch_billing_key: Callable[[str], PreapprovalSnapshot | None],
) -> ParsedWebhook:
    """An authenticated body as the state PortOne reports when asked about it."""
    event_id = header(headers, ID_HEADER)
    event = read_json(body, "PortOne")
    if not isinstance(event, dict):
        raise MalformedWebhook(
            _("The PortOne notification is not a JSON object."), event_id=event_id
        )
    event_type = text(event.get("type"))[:100]
    if not event_type:
        raise MalformedWebhook(_("The PortOne notification has no type."), event_id=event_id)
    occurred_at = parse_iso_time(event.get("timestamp"))
    data = event.get("data")
    data = data if isinstance(data, dict) else {}
    store = text(data.get("storeId"))
    if store and store != store_id:
        # Another store's event signed with our secret: nothing of ours.
        return ParsedWebhook(event_id, event_type, (), occurred_at)
    try:
        update = _look_up(event_type, data, fetch_payment, fetch_billing_key, event_id)
    except ProviderRejected as exc:
        # A definite refusal (another store's payment, say) will not pass on a
        # retry: kept as malformed with the reason, for a person.
        raise MalformedWebhook(
            _("PortOne refused the look-up the notification asks for: %(error)s") % {"error": exc},
            event_id=event_id,
        ) from exc
    except ProviderError as exc:
        raise WebhookUnconfirmed(
            _("PortOne did not confirm the notification: %(error)s") % {"error": exc},
            event_id=event_id,
        ) from exc
    updates: tuple[Snapshot, ...] = (update,) if update is not None else ()
    return ParsedWebhook(event_id, event_type, updates, occurred_at)


def _look_up(
    event_type: str,
    data: Mapping[str, object],
    fetch_payment: Callable[[str], PaymentSnapshot],
    fetch_billing_key: Callable[[str], PreapprovalSnapshot | None],
    event_id: str,
) -> Snapshot | None:
    if event_type.startswith(PAYMENT_PREFIX):
        payment_id = _identifier(data.get("paymentId"), "paymentId", MAX_PAYMENT_ID, event_id)
        return fetch_payment(payment_id) if payment_id else None
    if event_type.startswith(BILLING_KEY_PREFIX):
        key = _identifier(data.get("billingKey"), "billingKey", MAX_BILLING_KEY, event_id)
        return fetch_billing_key(key) if key else None
    return None


def _identifier(value: object, name: str, limit: int, event_id: str) -> str:
    """The id an event names; ``""`` for one longer than ours can be (not ours: ignored)."""
    found = text(value)
    if not found or not found.isprintable():
        raise MalformedWebhook(
            _("The PortOne notification has no readable %(field)s.") % {"field": name},
            event_id=event_id,
        )
    return found if len(found) <= limit else ""


def notification_identity(body: bytes, headers: Mapping[str, str]) -> tuple[str, str]:
    """``webhook-id`` and the event's type, without the look-up parsing makes."""
    event_id = header(headers, ID_HEADER)
    try:
        event = read_json(body, "PortOne")
    except MalformedWebhook:
        return event_id, ""
    kind = text(event.get("type"))[:100] if isinstance(event, dict) else ""
    return event_id, kind
