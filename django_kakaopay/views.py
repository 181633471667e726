"""Customer-facing views: checkout, return and the provider notification endpoint.

None of them changes a status or calls a backend directly: they call
:mod:`django_kakaopay.services`.
"""

from __future__ import annotations

import logging

from django.core.exceptions import DisallowedRedirect
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from . import services
from .conf import get_backend, get_setting
from .exceptions import BackendNotFound, KakaoPayError
from .models import Payment, Preapproval
from .redirects import ProviderLinkRedirect, is_safe_redirect
from .status import (
    OPEN_PAYMENT_STATUSES,
    OPEN_PREAPPROVAL_STATUSES,
    PAID_STATUSES,
    PreapprovalStatus,
)

logger = logging.getLogger("django_kakaopay")


def _start_failed(request: HttpRequest, obj: Payment | Preapproval) -> HttpResponse:
    return render(
        request,
        "django_kakaopay/error.html",
        {"object": obj, "message": _("KakaoPay is not available right now. Please try again.")},
        status=502,
    )


@never_cache
@require_http_methods(["GET", "POST"])
@transaction.non_atomic_requests
def checkout(request: HttpRequest, token: str) -> HttpResponseBase:
    """Start the payment at the provider and send the customer there.

    Reloading is harmless: a started payment redirects to the same page, a
    finished one goes to its result.
    """
    payment = get_object_or_404(Payment, return_token=token)
    if payment.status in OPEN_PAYMENT_STATUSES and not payment.redirect_url:
        try:
            services.start_payment(payment, request=request)
        except KakaoPayError:
            logger.exception("Could not start payment %s", payment.pk)
            return _start_failed(request, payment)
    return _send_on(request, payment, OPEN_PAYMENT_STATUSES)


def _send_on(
    request: HttpRequest, obj: Payment | Preapproval, open_statuses: frozenset[str]
) -> HttpResponseBase:
    """Where a checkout request goes once the start was tried, here or by a racing request."""
    if obj.status in open_statuses and obj.redirect_url:
        return _to_provider(request, obj)
    if services.is_being_started(obj):
        # Another request is still waiting for the provider (a double click on
        # a slow provider): show "processing", which reloads this page.
        return _processing(request, obj)
    if obj.status in open_statuses:
        return _start_failed(request, obj)
    return redirect("kakaopay:return", token=obj.return_token)


def _to_provider(request: HttpRequest, obj: Payment | Preapproval) -> HttpResponseBase:
    """The provider's page, the app its link opens (a scheme the backend declares),
    or our page that starts it in the provider's browser SDK."""
    try:
        backend = get_backend(obj.backend)
    except BackendNotFound:
        return _start_failed(request, obj)
    if backend.starts_in_browser:
        return _browser_checkout(request, obj)
    schemes = backend.app_link_schemes
    try:
        return ProviderLinkRedirect(obj.redirect_url, schemes)
    except DisallowedRedirect:
        logger.error(
            "The provider's link for %s %s has a scheme not allowed", obj._meta.model_name, obj.pk
        )
        return _start_failed(request, obj)


def _browser_checkout(request: HttpRequest, obj: Payment | Preapproval) -> HttpResponse:
    try:
        page = services.browser_checkout(obj, request)
    except KakaoPayError:
        logger.exception("Could not build the checkout page of %s", obj.pk)
        page = None
    if page is None:
        return _start_failed(request, obj)
    context = {
        "object": obj,
        "sdk_url": page.sdk_url,
        "sdk_call": {"global": page.sdk_global, "method": page.method, "arguments": page.arguments},
        "return_url": reverse("kakaopay:return", args=[obj.return_token]),
    }
    return render(request, page.template, context)


@never_cache
@require_http_methods(["GET", "POST"])
@transaction.non_atomic_requests
def preapproval_checkout(request: HttpRequest, token: str) -> HttpResponseBase:
    preapproval = get_object_or_404(Preapproval, return_token=token)
    if preapproval.status in OPEN_PREAPPROVAL_STATUSES and not preapproval.redirect_url:
        try:
            services.start_preapproval(preapproval, request=request)
        except KakaoPayError:
            logger.exception("Could not start preapproval %s", preapproval.pk)
            return _start_failed(request, preapproval)
    return _send_on(request, preapproval, OPEN_PREAPPROVAL_STATUSES)


@never_cache
@require_http_methods(["GET", "POST"])
@transaction.non_atomic_requests
def return_view(request: HttpRequest, token: str) -> HttpResponseBase:
    """Where the provider sends the customer back.

    Anyone can forge the query string and form data, so they are never taken
    as proof: the provider's real state is pulled (a backend that needs a
    return parameter to complete the payment, such as KakaoPay's
    ``pg_token``, is handed that one and asks the provider with it), then the
    customer is sent on.
    """
    payment = Payment.objects.filter(return_token=token).first()
    if payment is not None:
        return _payment_outcome(request, payment)
    preapproval = Preapproval.objects.filter(return_token=token).first()
    if preapproval is not None:
        return _preapproval_outcome(request, preapproval)
    raise Http404(_("No payment matches this link."))


def _payment_outcome(request: HttpRequest, payment: Payment) -> HttpResponseBase:
    if _never_started(payment):
        return redirect("kakaopay:checkout", token=payment.return_token)
    if payment.status in OPEN_PAYMENT_STATUSES:
        services.complete_return(payment, request.GET)
    if payment.status in PAID_STATUSES:
        if is_safe_redirect(payment.success_url):
            return redirect(payment.success_url)
        return render(request, "django_kakaopay/result.html", {"object": payment, "ok": True})
    if payment.status in OPEN_PAYMENT_STATUSES:
        return _processing(request, payment, _retry_url(request, payment, "kakaopay:checkout"))
    if is_safe_redirect(payment.failure_url):
        return redirect(payment.failure_url)
    return render(request, "django_kakaopay/result.html", {"object": payment, "ok": False})


def _preapproval_outcome(request: HttpRequest, preapproval: Preapproval) -> HttpResponseBase:
    if _never_started(preapproval):
        return redirect("kakaopay:preapproval-checkout", token=preapproval.return_token)
    if preapproval.status in OPEN_PREAPPROVAL_STATUSES:
        services.complete_preapproval_return(preapproval, request.GET)
    if preapproval.status == PreapprovalStatus.ACTIVE:
        if is_safe_redirect(preapproval.success_url):
            return redirect(preapproval.success_url)
        return render(request, "django_kakaopay/result.html", {"object": preapproval, "ok": True})
    if preapproval.status in OPEN_PREAPPROVAL_STATUSES:
        retry = _retry_url(request, preapproval, "kakaopay:preapproval-checkout")
        return _processing(request, preapproval, retry)
    if is_safe_redirect(preapproval.failure_url):
        return redirect(preapproval.failure_url)
    return render(request, "django_kakaopay/result.html", {"object": preapproval, "ok": False})


def _never_started(obj: Payment | Preapproval) -> bool:
    """Created here but never sent to the provider (and no call is in doubt)."""
    return obj.status == "created" and not obj.redirect_url and not obj.needs_reconciliation


def _retry_url(request: HttpRequest, obj: Payment | Preapproval, checkout: str) -> str:
    """The checkout again, when the provider's browser SDK came back with an error code.

    The code is not trusted: the status stays as the provider reports it.
    It only means the customer may have closed the window, so the page
    offers to open it again instead of waiting for a payment nobody makes.
    """
    if not request.GET.get("code"):
        return ""
    try:
        in_browser = get_backend(obj.backend).starts_in_browser
    except BackendNotFound:
        return ""
    return reverse(checkout, args=[obj.return_token]) if in_browser else ""


def _processing(
    request: HttpRequest, obj: Payment | Preapproval, retry_url: str = ""
) -> HttpResponse:
    seconds = int(get_setting("PROCESSING_REFRESH_SECONDS"))
    response = render(
        request,
        "django_kakaopay/processing.html",
        {"object": obj, "refresh_seconds": seconds, "retry_url": retry_url},
        status=202,
    )
    if not retry_url:
        response["Refresh"] = str(seconds)
    return response


@csrf_exempt
@require_POST
@transaction.non_atomic_requests
def webhook(request: HttpRequest, alias: str) -> HttpResponse:
    """The notification endpoint of one backend alias: ``webhooks/<alias>/``.

    The body is read up to the size limit and no further, so an oversized
    delivery costs neither memory nor a row.
    """
    limit = services.webhook_body_limit()
    declared = str(request.META.get("CONTENT_LENGTH") or "").strip()
    # An unreadable length is left to the bounded read below, as Django does.
    if declared.isdigit() and (len(declared) > 12 or int(declared) > limit):
        result = services.webhook_too_large()
    else:
        body = request.read(limit + 1)
        if len(body) > limit:
            result = services.webhook_too_large()
        else:
            try:
                result = services.receive_webhook(
                    alias, body, dict(request.headers), request.META.get("REMOTE_ADDR")
                )
            except BackendNotFound as exc:
                raise Http404(str(exc)) from exc
    return HttpResponse(result.body, status=result.status_code, content_type=result.content_type)
