"""The floor receiver: a plain Django view, everything it needs and nothing more.

1. Constant-time HMAC-SHA256 check of the raw body against ``Cko-Signature``.
2. In one transaction: INSERT the event id (unique), lock the payment row by
   its indexed provider id, compare-and-set ``pending`` -> ``paid``.
3. A repeated event id fails the INSERT, which rolls the transaction back:
   answer 200 without doing anything else.

It reads the same Checkout.com-shaped notification as django-kakaopay's
``checkout`` alias, signed the same way, so both parse the same bytes.
"""

from __future__ import annotations

import hashlib
import hmac
import json

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from .models import FloorEvent, FloorPayment

PAID_EVENTS = frozenset({"payment_captured", "payment_paid"})


@csrf_exempt
def webhook(request: HttpRequest) -> HttpResponse:
    body = request.body
    key = str(settings.FLOOR_WEBHOOK_KEY).encode()
    expected = hmac.new(key, body, hashlib.sha256).hexdigest().encode()
    received = request.headers.get("Cko-Signature", "").strip().lower().encode()
    if not hmac.compare_digest(received, expected):
        return HttpResponse(b"authentication failed", status=401)
    try:
        event = json.loads(body)
        event_id = str(event["id"])
        event_type = str(event["type"])
        data = event["data"]
        payment_id = str(data["id"])
    except (ValueError, KeyError, TypeError):
        return HttpResponse(b"malformed notification", status=400)
    try:
        with transaction.atomic():
            FloorEvent.objects.create(event_id=event_id)
            if event_type in PAID_EVENTS:
                payment = (
                    FloorPayment.objects.select_for_update()
                    .filter(provider_payment_id=payment_id)
                    .first()
                )
                if (
                    payment is not None
                    and payment.amount == data.get("amount")
                    and payment.currency == data.get("currency")
                ):
                    FloorPayment.objects.filter(pk=payment.pk, status=FloorPayment.PENDING).update(
                        status=FloorPayment.PAID, paid_at=timezone.now()
                    )
    except IntegrityError:
        # Only the INSERT of the event id can fail this way: a repeated delivery.
        return HttpResponse(b"OK")
    return HttpResponse(b"OK")
