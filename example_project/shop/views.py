"""The shop's pages. Everything KakaoPay-related goes through django_kakaopay.services."""

from __future__ import annotations

import logging

from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from django_kakaopay import services
from django_kakaopay.dates import format_billing_period
from django_kakaopay.exceptions import KakaoPayError
from django_kakaopay.models import ChangeSource, Payment
from django_kakaopay.status import (
    OPEN_PAYMENT_STATUSES,
    OPEN_PREAPPROVAL_STATUSES,
    PaymentStatus,
    PreapprovalStatus,
)

from .models import CURRENCY, Order, Product, Subscription, new_subscription_reference

logger = logging.getLogger(__name__)

# The orders and subscriptions of this browser, newest first, so that an
# anonymous customer can find them again. A real shop would use accounts.
SESSION_ORDERS = "shop_orders"
SESSION_SUBSCRIPTIONS = "shop_subscriptions"
REMEMBERED = 20


def _remember(request: HttpRequest, key: str, reference: str) -> None:
    known = [ref for ref in request.session.get(key, []) if ref != reference]
    request.session[key] = [reference, *known][:REMEMBERED]


def _customer(request: HttpRequest) -> dict[str, str]:
    user = request.user
    if user.is_authenticated:
        return {
            "name": user.get_full_name() or user.get_username(),
            "email": user.email or "",
            "phone": "",
        }
    return {"name": "", "email": "", "phone": ""}


def current_period() -> str:
    """This month in the shop's time zone, as ``YYYY-MM``: one charge per period."""
    return timezone.localdate().strftime("%Y-%m")


@require_GET
def product_list(request: HttpRequest) -> HttpResponse:
    products = list(Product.objects.all())
    return render(
        request,
        "shop/product_list.html",
        {
            "products": [p for p in products if not p.is_subscription],
            "subscriptions": [p for p in products if p.is_subscription],
        },
    )


@require_POST
def buy(request: HttpRequest, pk: int) -> HttpResponseBase:
    product = get_object_or_404(Product, pk=pk, is_subscription=False)
    try:
        with transaction.atomic():
            order = Order.objects.create(product=product, amount=product.price)
            payment = services.create_payment(
                amount=product.price,
                currency=CURRENCY,
                reference=order.reference,
                description=product.name,
                items=[
                    {
                        "name": product.name,
                        "quantity": 1,
                        "unit_price": product.price,
                        "reference": f"product-{product.pk}",
                    }
                ],
                customer=_customer(request),
                success_url=reverse("shop:order-success", args=[order.reference]),
                failure_url=reverse("shop:order-failure", args=[order.reference]),
                user=request.user,
                metadata={"order": order.reference},
            )
            order.payment = payment
            order.save(update_fields=["payment"])
    except KakaoPayError:
        logger.exception("Could not create a payment for %s", product)
        messages.error(request, _("We could not start the payment. Please try again."))
        return redirect("shop:product-list")
    _remember(request, SESSION_ORDERS, order.reference)
    return redirect("kakaopay:checkout", token=payment.return_token)


def _order(reference: str) -> Order:
    return get_object_or_404(
        Order.objects.select_related("product", "payment"), reference=reference
    )


def _order_context(order: Order) -> dict[str, object]:
    payment = order.payment
    waiting = (
        order.status == Order.Status.PENDING
        and payment is not None
        and payment.status in OPEN_PAYMENT_STATUSES
    )
    return {"order": order, "payment": payment, "waiting": waiting}


@require_GET
def order_detail(request: HttpRequest, reference: str) -> HttpResponse:
    order = _order(reference)
    return render(request, "shop/order_detail.html", _order_context(order))


@require_GET
def order_success(request: HttpRequest, reference: str) -> HttpResponseBase:
    order = _order(reference)
    if order.status != Order.Status.PAID:
        return redirect(order)
    return render(request, "shop/order_success.html", _order_context(order))


@require_GET
def order_failure(request: HttpRequest, reference: str) -> HttpResponseBase:
    order = _order(reference)
    if order.status == Order.Status.PAID:
        return redirect(order)
    context = _order_context(order)
    context["canceled"] = order.payment is not None and order.payment.status == (
        PaymentStatus.CANCELED
    )
    return render(request, "shop/order_failure.html", context)


@require_GET
def my_orders(request: HttpRequest) -> HttpResponse:
    order_refs = request.session.get(SESSION_ORDERS, [])
    subscription_refs = request.session.get(SESSION_SUBSCRIPTIONS, [])
    return render(
        request,
        "shop/my_orders.html",
        {
            "orders": Order.objects.filter(reference__in=order_refs).select_related("product"),
            "subscriptions": Subscription.objects.filter(
                reference__in=subscription_refs
            ).select_related("product"),
        },
    )


@require_POST
def subscribe(request: HttpRequest, pk: int) -> HttpResponseBase:
    product = get_object_or_404(Product, pk=pk, is_subscription=True)
    reference = new_subscription_reference()
    page = reverse("shop:subscription-detail", args=[reference])
    try:
        with transaction.atomic():
            preapproval = services.create_preapproval(
                currency=CURRENCY,
                reference=reference,
                description=product.name,
                customer=_customer(request),
                max_amount=product.price,
                success_url=page,
                failure_url=page,
                user=request.user,
                metadata={"subscription": reference},
            )
            Subscription.objects.create(
                reference=reference, product=product, preapproval=preapproval
            )
    except KakaoPayError:
        logger.exception("Could not create an agreement for %s", product)
        messages.error(request, _("We could not start the subscription. Please try again."))
        return redirect("shop:product-list")
    _remember(request, SESSION_SUBSCRIPTIONS, reference)
    return redirect("kakaopay:preapproval-checkout", token=preapproval.return_token)


def _subscription(reference: str) -> Subscription:
    return get_object_or_404(
        Subscription.objects.select_related("product", "preapproval"), reference=reference
    )


@require_GET
def subscription_detail(request: HttpRequest, reference: str) -> HttpResponse:
    subscription = _subscription(reference)
    preapproval = subscription.preapproval
    period = current_period()
    charges = list(Payment.objects.filter(preapproval=preapproval).order_by("-created_at"))
    return render(
        request,
        "shop/subscription_detail.html",
        {
            "subscription": subscription,
            "preapproval": preapproval,
            "charges": charges,
            "period": period,
            "period_label": format_billing_period(period),
            "this_period_charge": next((c for c in charges if c.billing_period == period), None),
            "awaiting_agreement": subscription.status == Subscription.Status.PENDING
            and preapproval.status in OPEN_PREAPPROVAL_STATUSES,
            "can_charge": preapproval.status == PreapprovalStatus.ACTIVE,
        },
    )


@require_POST
@transaction.non_atomic_requests  # the provider is called: hold no transaction meanwhile
def charge_subscription(request: HttpRequest, reference: str) -> HttpResponseBase:
    subscription = _subscription(reference)
    period = current_period()
    # The key stays "YYYY-MM"; people read the month as the page shows it.
    label = format_billing_period(period)
    existing = Payment.objects.filter(
        preapproval=subscription.preapproval, billing_period=period
    ).first()
    if existing is not None:
        messages.info(
            request,
            _("%(period)s was already charged (%(amount)s, %(status)s). No second charge was made.")
            % {
                "period": label,
                "amount": existing.amount_display,
                "status": existing.get_status_display(),
            },
        )
        return redirect(subscription)
    try:
        payment = services.charge_preapproval(
            subscription.preapproval,
            amount=subscription.product.price,
            billing_period=period,
            description=f"{subscription.product.name} {period}",
            source=ChangeSource.API,
        )
    except KakaoPayError as exc:
        logger.warning("Could not charge %s for %s: %s", subscription, period, exc)
        messages.error(request, _("The charge could not be made: %(error)s") % {"error": exc})
        return redirect(subscription)
    values = {"amount": payment.amount_display, "period": label}
    if payment.is_paid:
        messages.success(request, _("Charged %(amount)s for %(period)s.") % values)
    elif payment.status in OPEN_PAYMENT_STATUSES:
        messages.info(request, _("The charge for %(period)s is being processed.") % values)
    else:
        messages.error(request, _("KakaoPay declined the charge for %(period)s.") % values)
    return redirect(subscription)


@require_POST
@transaction.non_atomic_requests
def cancel_subscription(request: HttpRequest, reference: str) -> HttpResponseBase:
    subscription = _subscription(reference)
    try:
        services.cancel_preapproval(subscription.preapproval, source=ChangeSource.API)
    except KakaoPayError as exc:
        logger.warning("Could not cancel %s: %s", subscription, exc)
        messages.error(request, _("The subscription could not be canceled. Please try again."))
    else:
        messages.success(
            request, _("Your subscription is canceled. You will not be charged again.")
        )
    return redirect(subscription)
