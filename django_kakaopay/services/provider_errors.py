"""Recording what a provider call's failure means for our row.

A refusal fails the object; an unknown outcome (a timeout, a 5xx) flags it
for reconciliation and never fails it; other errors are kept for a person."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from django.db import transaction

from ..exceptions import (
    ProviderError,
)
from ..models import ChangeSource, Payment, Preapproval, Refund
from ..status import PaymentStatus
from .transitions import transition

logger = logging.getLogger("django_kakaopay")


def error_evidence(exc: ProviderError) -> dict[str, Any]:
    return {
        "error": str(exc),
        "status_code": exc.status_code,
        "request_id": exc.request_id,
        "codes": list(exc.codes),
    }


def fail_start(
    payment: Payment,
    exc: ProviderError,
    source: ChangeSource | str,
    *,
    evidence: Mapping[str, Any] | None = None,
) -> None:
    """Fail ``payment`` on the provider's refusal; ``evidence`` adds to the error's."""
    with transaction.atomic():
        locked = Payment.objects.select_for_update().get(pk=payment.pk)
        locked.last_error = str(exc)
        locked.failure_message = exc.customer_message
        locked.save(update_fields=["last_error", "failure_message", "updated_at"])
        transition(
            locked,
            PaymentStatus.FAILED,
            source=source,
            evidence={**error_evidence(exc), **(evidence or {})},
        )
    payment.refresh_from_db()


def mark_unknown(obj: Payment | Refund | Preapproval, exc: ProviderError) -> None:
    """The provider may or may not have acted: keep the status, flag it for reconciliation."""
    logger.warning("Outcome unknown for %s %s: %s", type(obj).__name__, obj.pk, exc)
    type(obj)._default_manager.filter(pk=obj.pk).update(
        needs_reconciliation=True, last_error=str(exc)
    )
    obj.needs_reconciliation = True
    obj.last_error = str(exc)


def record_error(obj: Payment | Refund, exc: ProviderError) -> None:
    type(obj)._default_manager.filter(pk=obj.pk).update(last_error=str(exc))
    obj.last_error = str(exc)
