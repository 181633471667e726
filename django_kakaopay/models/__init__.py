from ..sandbox.models import SandboxTransaction
from .payment import Payment
from .preapproval import Preapproval
from .refund import Refund
from .transition import ChangeSource, StatusTransition
from .webhook import WebhookEvent, WebhookEventStatus

__all__ = [
    "ChangeSource",
    "Payment",
    "Preapproval",
    "Refund",
    "SandboxTransaction",
    "StatusTransition",
    "WebhookEvent",
    "WebhookEventStatus",
]
