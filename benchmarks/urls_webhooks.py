"""URLs for ``bench_webhooks.py``: the floor receiver, django-kakaopay and django-payments."""

from __future__ import annotations

from django.conf import settings
from django.urls import include, path

from benchmarks.floorapp import views as floor

urlpatterns = [
    path("floor/webhook/", floor.webhook),
    path("kakaopay/", include("django_kakaopay.urls")),
]

if getattr(settings, "HAVE_DJANGO_PAYMENTS", False):
    # Its static callback is payments/process/<variant>/.
    urlpatterns.append(path("payments/", include("payments.urls")))
