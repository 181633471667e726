"""The lifecycle of payments, refunds and preapprovals.

This package is the only code that changes a status. Views, the admin, the
API and commands call these functions; backends are called only from here.
"""

from .apply import ApplyResult, Outcome, apply_update
from .payments import create_payment, request_refund, start_payment, sync_payment
from .preapprovals import (
    cancel_preapproval,
    charge_preapproval,
    create_preapproval,
    start_preapproval,
    sync_preapproval,
)
from .webhooks import WebhookResponse, process_event, receive_webhook, replay_event

__all__ = [
    "ApplyResult",
    "Outcome",
    "WebhookResponse",
    "apply_update",
    "cancel_preapproval",
    "charge_preapproval",
    "create_payment",
    "create_preapproval",
    "process_event",
    "receive_webhook",
    "replay_event",
    "request_refund",
    "start_payment",
    "start_preapproval",
    "sync_payment",
    "sync_preapproval",
]
