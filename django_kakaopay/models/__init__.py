from ..sandbox.models import SandboxTransaction
from .api import IdempotencyRecord
from .payment import Payment
from .preapproval import Preapproval
from .refund import Refund
from .transition import ChangeSource, StatusTransition
from .webhook import WebhookEvent, WebhookEventStatus

__all__ = [
    "ChangeSource",
    "IdempotencyRecord",
    "Payment",
    "Preapproval",
    "Refund",
    "SandboxTransaction",
    "StatusTransition",
    "WebhookEvent",
    "WebhookEventStatus",
]
