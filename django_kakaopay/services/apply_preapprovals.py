"""Applying a pull or a notification to an auto-debit agreement."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from ..backends.types import PreapprovalSnapshot
from ..models import ChangeSource, Preapproval
from ..status import PreapprovalStatus
from .apply_rules import (
    ApplyResult,
    Outcome,
    copy_state,
    fill_blank,
    is_stale,
    refresh_tracking,
    save_fields,
)
from .transitions import transition


def apply_preapproval_snapshot(
    preapproval: Preapproval,
    snapshot: PreapprovalSnapshot,
    *,
    source: ChangeSource | str,
    evidence: dict[str, Any] | None = None,
) -> ApplyResult:
    with transaction.atomic(savepoint=False):
        locked = Preapproval.objects.select_for_update().get(pk=preapproval.pk)
        return apply_preapproval_locked(locked, preapproval, snapshot, source, evidence)


def apply_preapproval_locked(
    locked: Preapproval,
    preapproval: Preapproval | None,
    snapshot: PreapprovalSnapshot,
    source: ChangeSource | str,
    evidence: dict[str, Any] | None,
) -> ApplyResult:
    """Apply to a locked agreement; copies the result onto ``preapproval`` when given."""
    if is_stale(snapshot.occurred_at, locked.provider_updated_at):
        return ApplyResult(Outcome.STALE, locked)
    fields = fill_blank(locked, "provider_preapproval_id", snapshot.provider_preapproval_id)
    fields += refresh_tracking(locked, snapshot)
    target = snapshot.status
    outcome = Outcome.UPDATED if fields else Outcome.UNCHANGED
    if target is not None and target != locked.status:
        extra: dict[str, Any] = {name: getattr(locked, name) for name in fields}
        if target == PreapprovalStatus.ACTIVE:
            extra["activated_at"] = timezone.now()
        elif target == PreapprovalStatus.CANCELED:
            extra["canceled_at"] = timezone.now()
        evidence = {**(evidence or {}), "provider_status": snapshot.provider_status}
        if transition(locked, target, source=source, evidence=evidence, **extra):
            outcome, fields = Outcome.APPLIED, []
        else:
            outcome = Outcome.NOT_ALLOWED
    save_fields(locked, fields)
    if preapproval is None:
        return ApplyResult(outcome, locked)
    copy_state(locked, preapproval)
    return ApplyResult(outcome, preapproval)
