"""``PAYMENT_MODEL`` for django-payments, as its documentation tells a project to write it.

One addition: an index on ``token``. ``BasePayment`` does not index it, and
the static webhook view looks the payment up by it; without the index the
peer would pay for a table scan that a careful project would avoid.
No migrations: ``migrate --run-syncdb`` creates the table.
"""

from __future__ import annotations

from django.db import models
from payments.models import BasePayment


class PeerPayment(BasePayment):
    class Meta:
        indexes = [models.Index(fields=["token"], name="peerapp_payment_token_idx")]

    def get_failure_url(self) -> str:
        return "http://testserver/failure/"

    def get_success_url(self) -> str:
        return "http://testserver/success/"
