"""What a reconciliation run did, object by object: the outcomes and the report."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import models
from django.utils.translation import pgettext_lazy

from ..status import (
    ObjectKind,
)
from .transitions import Tracked


class ReconcileOutcome(models.TextChoices):
    # The label is what the commands print, translated; the value is stable.
    # a definite answer: the status moved or the unknown was cleared
    SETTLED = "settled", pgettext_lazy("outcome", "settled")
    # the provider confirms what we have (e.g. still pending)
    UNCHANGED = "unchanged", pgettext_lazy("outcome", "unchanged")
    # still cannot tell (provider unreachable, mismatch, refusal)
    UNKNOWN = "unknown", pgettext_lazy("outcome", "unknown")
    # an unexpected failure (a bug, a database error): see the log
    ERROR = "error", pgettext_lazy("outcome", "error")
    # held, settled or checked by another runner in the meantime
    SKIPPED = "skipped", pgettext_lazy("outcome", "skipped")
    # dry run: would be checked
    PLANNED = "planned", pgettext_lazy("outcome", "planned")


@dataclass(frozen=True)
class ReconcileResult:
    kind: ObjectKind
    pk: str
    reference: str
    outcome: ReconcileOutcome
    old_status: str = ""
    new_status: str = ""
    detail: str = ""

    def __str__(self) -> str:
        status = self.old_status
        if self.new_status and self.new_status != self.old_status:
            status = f"{self.old_status} -> {self.new_status}"
        text = f"{self.outcome.label}: {self.kind} {self.reference or self.pk} [{status}]"
        return f"{text} {self.detail}" if self.detail else text


@dataclass
class ReconcileReport:
    results: list[ReconcileResult] = field(default_factory=list)

    def count(self, outcome: ReconcileOutcome) -> int:
        return sum(1 for result in self.results if result.outcome == outcome)

    @property
    def checked(self) -> int:
        """Objects asked about (everything not skipped and not a dry run)."""
        ignored = (ReconcileOutcome.SKIPPED, ReconcileOutcome.PLANNED)
        return sum(1 for result in self.results if result.outcome not in ignored)

    @property
    def settled(self) -> int:
        return self.count(ReconcileOutcome.SETTLED)

    @property
    def unchanged(self) -> int:
        return self.count(ReconcileOutcome.UNCHANGED)

    @property
    def still_unknown(self) -> int:
        return self.count(ReconcileOutcome.UNKNOWN)

    @property
    def errors(self) -> int:
        return self.count(ReconcileOutcome.ERROR)

    @property
    def skipped(self) -> int:
        return self.count(ReconcileOutcome.SKIPPED)

    @property
    def planned(self) -> int:
        return self.count(ReconcileOutcome.PLANNED)

    @property
    def ok(self) -> bool:
        """Nothing failed and nothing remains unknown."""
        return not (self.errors or self.still_unknown)


def result_of(
    obj: Tracked,
    kind: ObjectKind,
    old_status: str,
    was_unknown: bool,
    detail: str = "",
    *,
    unknown: bool = False,
) -> ReconcileResult:
    if unknown or (obj.needs_reconciliation and obj.status == old_status):
        outcome = ReconcileOutcome.UNKNOWN
    elif obj.status != old_status or (was_unknown and not obj.needs_reconciliation):
        outcome = ReconcileOutcome.SETTLED
    else:
        outcome = ReconcileOutcome.UNCHANGED
    if outcome == ReconcileOutcome.UNKNOWN and not detail:
        detail = obj.last_error
    return ReconcileResult(
        kind=kind,
        pk=str(obj.pk),
        reference=obj.reference,
        outcome=outcome,
        old_status=old_status,
        new_status=obj.status,
        detail=detail,
    )
