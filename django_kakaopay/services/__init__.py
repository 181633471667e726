"""The lifecycle of payments, refunds and preapprovals.

This package is the only code that changes a status. Views, the admin, the
API and commands call these functions; backends are called only from here.
"""

from .apply import ApplyResult, Outcome, apply_update
from .billing import charge_due_preapprovals
from .billing_plan import clear_billing_plan, set_billing_plan
from .billing_report import ChargeLine, ChargeOutcome, ChargeReport
from .browser_checkout import browser_checkout
from .charges import charge_preapproval
from .payments import complete_return, create_payment, start_payment, sync_payment
from .preapprovals import (
    cancel_preapproval,
    complete_preapproval_return,
    create_preapproval,
    start_preapproval,
    sync_preapproval,
)
from .reconcile import reconcile_payment, reconcile_preapproval, reconcile_refund
from .reconcile_report import ReconcileOutcome, ReconcileReport, ReconcileResult
from .reconcile_run import reconcile
from .refunds import request_refund
from .replay import (
    ReplayLine,
    ReplayOutcome,
    ReplayReport,
    replay_failed_events,
    settle_stranded,
)
from .sandbox_delivery import deliver_held_notifications
from .schedule import next_due_date, period_key
from .start_claim import is_being_started
from .webhooks import (
    WebhookResponse,
    process_event,
    receive_webhook,
    replay_event,
    webhook_body_limit,
    webhook_too_large,
)

__all__ = [
    "ApplyResult",
    "ChargeLine",
    "ChargeOutcome",
    "ChargeReport",
    "Outcome",
    "ReconcileOutcome",
    "ReconcileReport",
    "ReconcileResult",
    "ReplayLine",
    "ReplayOutcome",
    "ReplayReport",
    "WebhookResponse",
    "apply_update",
    "browser_checkout",
    "cancel_preapproval",
    "charge_due_preapprovals",
    "charge_preapproval",
    "clear_billing_plan",
    "complete_preapproval_return",
    "complete_return",
    "create_payment",
    "create_preapproval",
    "deliver_held_notifications",
    "is_being_started",
    "next_due_date",
    "period_key",
    "process_event",
    "receive_webhook",
    "reconcile",
    "reconcile_payment",
    "reconcile_preapproval",
    "reconcile_refund",
    "replay_event",
    "replay_failed_events",
    "request_refund",
    "set_billing_plan",
    "settle_stranded",
    "start_payment",
    "start_preapproval",
    "sync_payment",
    "sync_preapproval",
    "webhook_body_limit",
    "webhook_too_large",
]
