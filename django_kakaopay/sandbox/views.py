"""The simulated KakaoPay approval pages (sandbox backends only)."""

from __future__ import annotations

import logging

from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from ..backends.sandbox import SandboxBackend
from ..conf import get_backend, sandbox_allowed
from ..exceptions import BackendNotFound
from . import provider
from .forms import AgreementForm
from .models import SandboxTransaction

logger = logging.getLogger("django_kakaopay")


def _sandbox(
    alias: str, transaction_id: str, kind: str
) -> tuple[SandboxBackend, SandboxTransaction]:
    try:
        backend = get_backend(alias)
    except BackendNotFound as exc:
        raise Http404(str(exc)) from exc
    if not isinstance(backend, SandboxBackend):
        raise Http404(_("This backend is not a sandbox."))
    if not sandbox_allowed(backend.options):
        # A free checkout is refused. Say why where the person who set it up looks.
        logger.warning(
            "Sandbox page of %r refused: DEBUG is off and the backend's options do not set "
            "ALLOW_WITHOUT_DEBUG (kakaopay.E008).",
            alias,
        )
        raise Http404(_("The sandbox is switched off on this site."))
    tx = SandboxTransaction.objects.filter(backend=alias, pk=transaction_id, kind=kind).first()
    if tx is None:
        raise Http404(_("Unknown sandbox transaction."))
    return backend, tx


@never_cache
@require_http_methods(["GET", "POST"])
@transaction.non_atomic_requests
def payment_page(request: HttpRequest, alias: str, transaction_id: str) -> HttpResponseBase:
    backend, tx = _sandbox(alias, transaction_id, SandboxTransaction.Kind.PAYMENT)
    if request.method == "POST":
        action = request.POST.get("action", "")
        if action not in ("approve", "decline", "cancel"):
            return render(
                request,
                "django_kakaopay/sandbox/payment.html",
                {"tx": tx, "merchant": backend.merchant_name, "error": _("Choose an action.")},
                status=400,
            )
        if provider.decide_payment(tx, action):
            backend.notifier.notify(tx)
        return redirect(tx.return_url)
    if tx.status != provider.READY:
        return redirect(tx.return_url)
    return render(
        request,
        "django_kakaopay/sandbox/payment.html",
        {"tx": tx, "merchant": backend.merchant_name},
    )


@never_cache
@require_http_methods(["GET", "POST"])
@transaction.non_atomic_requests
def preapproval_page(request: HttpRequest, alias: str, transaction_id: str) -> HttpResponseBase:
    backend, tx = _sandbox(alias, transaction_id, SandboxTransaction.Kind.PREAPPROVAL)
    if tx.status != provider.READY:
        return redirect(tx.return_url)
    form = AgreementForm()
    if request.method == "POST":
        action = request.POST.get("action", "")
        # Declining or canceling needs no completed form, as on KakaoPay's own page.
        if action in ("decline", "cancel"):
            if provider.decide_preapproval(tx, action):
                backend.notifier.notify(tx)
            return redirect(tx.return_url)
        form = AgreementForm(request.POST)
        if form.is_valid():
            if provider.decide_preapproval(tx, "approve"):
                backend.notifier.notify(tx)
            return redirect(tx.return_url)
    return render(
        request,
        "django_kakaopay/sandbox/preapproval.html",
        {"tx": tx, "form": form, "merchant": backend.merchant_name},
        status=400 if form.is_bound else 200,
    )
