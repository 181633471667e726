"""Two tables: processed event ids (the dedupe) and payments looked up by the provider's id.

No migrations: ``migrate --run-syncdb`` creates the tables (the benchmark's
settings are the only ones that install this app).
"""

from __future__ import annotations

from django.db import models


class FloorEvent(models.Model):
    event_id = models.CharField(max_length=255, unique=True)

    def __str__(self) -> str:
        return self.event_id


class FloorPayment(models.Model):
    PENDING = "pending"
    PAID = "paid"

    provider_payment_id = models.CharField(max_length=128, unique=True)
    status = models.CharField(max_length=20, default=PENDING)
    amount = models.PositiveBigIntegerField()
    currency = models.CharField(max_length=3)
    paid_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.provider_payment_id} ({self.status})"
