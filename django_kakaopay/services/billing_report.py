"""What a run of :func:`.billing.charge_due_preapprovals` reports: a line per charge."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from django.db import models
from django.utils.translation import pgettext_lazy

from ..money import format_money


class ChargeOutcome(models.TextChoices):
    # The label is what the commands print, translated; the value is stable.
    # the provider took the money
    CHARGED = "charged", pgettext_lazy("outcome", "charged")
    # accepted by the provider, the result arrives later
    PENDING = "pending", pgettext_lazy("outcome", "pending")
    # the call timed out: reconciliation will settle it
    UNKNOWN = "unknown", pgettext_lazy("outcome", "unknown")
    # refused, or could not be attempted
    FAILED = "failed", pgettext_lazy("outcome", "failed")
    # held by another runner, no longer due, or already charged
    SKIPPED = "skipped", pgettext_lazy("outcome", "skipped")
    # dry run: would be charged
    PLANNED = "planned", pgettext_lazy("outcome", "planned")


@dataclass(frozen=True)
class ChargeLine:
    preapproval: str
    reference: str
    billing_period: str
    amount: int | None
    currency: str
    outcome: ChargeOutcome
    payment: str = ""
    detail: str = ""

    def __str__(self) -> str:
        money = format_money(self.amount, self.currency) if self.amount is not None else "-"
        text = f"{self.outcome.label}: {self.reference} {self.billing_period} {money}"
        return f"{text} ({self.detail})" if self.detail else text


@dataclass
class ChargeReport:
    today: date
    lines: list[ChargeLine] = field(default_factory=list)

    def count(self, outcome: ChargeOutcome) -> int:
        return sum(1 for line in self.lines if line.outcome == outcome)

    @property
    def charged(self) -> int:
        return self.count(ChargeOutcome.CHARGED)

    @property
    def pending(self) -> int:
        return self.count(ChargeOutcome.PENDING)

    @property
    def unknown(self) -> int:
        return self.count(ChargeOutcome.UNKNOWN)

    @property
    def failed(self) -> int:
        return self.count(ChargeOutcome.FAILED)

    @property
    def skipped(self) -> int:
        return self.count(ChargeOutcome.SKIPPED)

    @property
    def planned(self) -> int:
        return self.count(ChargeOutcome.PLANNED)

    @property
    def ok(self) -> bool:
        """No charge failed and none is of unknown outcome."""
        return not (self.failed or self.unknown)
