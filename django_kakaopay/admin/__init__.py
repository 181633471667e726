"""The Django admin an operations team works in.

Statuses and amounts are never edited by hand: the actions here (refresh,
refund, charge, cancel, replay) call the services layer, which is the only
code that changes a status. Importing this package registers every model.
"""

from . import payments, preapprovals, sandbox, transitions, webhooks
from .payments import PaymentAdmin, RefundAdmin
from .preapprovals import PreapprovalAdmin
from .sandbox import SandboxTransactionAdmin
from .transitions import StatusTransitionAdmin
from .webhooks import WebhookEventAdmin

__all__ = [
    "PaymentAdmin",
    "PreapprovalAdmin",
    "RefundAdmin",
    "SandboxTransactionAdmin",
    "StatusTransitionAdmin",
    "WebhookEventAdmin",
    "payments",
    "preapprovals",
    "sandbox",
    "transitions",
    "webhooks",
]
