"""URLs for the benchmarks: the app plus baseline views measured beside it."""

from __future__ import annotations

import itertools

from django.contrib import admin
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt

from django_kakaopay.models import Payment, WebhookEvent

_sequence = itertools.count()

# Django's admin with nothing configured: the baseline of the payment list page.
bare_admin = admin.AdminSite(name="bare_admin")
bare_admin.register(Payment)


@csrf_exempt
@transaction.non_atomic_requests
def store_only(request: HttpRequest) -> HttpResponse:
    """The cheapest receiver an app could have: one INSERT of the body, then 200."""
    WebhookEvent.objects.create(
        backend="baseline", event_key=f"b{next(_sequence)}", body=request.body
    )
    return HttpResponse("OK")


@transaction.non_atomic_requests
def lookup_only(request: HttpRequest, token: str) -> HttpResponseBase:
    """A return view that trusts nothing and checks nothing: look up, redirect."""
    payment = Payment.objects.get(return_token=token)
    return redirect(payment.success_url or "/")


urlpatterns = [
    path("baseline/webhook/", store_only),
    path("baseline/return/<str:token>/", lookup_only),
    path("kakaopay/", include("django_kakaopay.urls")),
    path("admin/", admin.site.urls),
    path("bare-admin/", bare_admin.urls),
]
