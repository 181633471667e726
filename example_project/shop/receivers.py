"""Keep orders and subscriptions in step with KakaoPay.

django-kakaopay sends each business signal once, after the status change is
committed, whatever caused it (the customer's return, a provider
notification, a pull, the admin). Each receiver is still written as an
idempotent UPDATE, so running it twice could not do harm either.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from django_kakaopay import signals
from django_kakaopay.models import Payment, Preapproval
from django_kakaopay.status import PaymentStatus, PreapprovalStatus

from .models import Order, Subscription


def on_payment_paid(sender: type, *, instance: Payment, **kwargs: Any) -> None:
    # A failed payment can still succeed (the customer retries on the provider's
    # page), so a failed order may become paid; a paid one never goes back.
    Order.objects.filter(
        payment_id=instance.pk, status__in=[Order.Status.PENDING, Order.Status.FAILED]
    ).update(status=Order.Status.PAID, paid_at=instance.paid_at or timezone.now())
    # A paid monthly charge: remember the newest month paid. Periods are
    # "YYYY-MM", so comparing them as strings compares them as months.
    if instance.preapproval_id and instance.billing_period:
        Subscription.objects.filter(preapproval_id=instance.preapproval_id).exclude(
            last_charged_period__gte=instance.billing_period
        ).update(last_charged_period=instance.billing_period)


def on_payment_failed(
    sender: type, *, instance: Payment, new_status: str = "", **kwargs: Any
) -> None:
    # payment_failed covers every unsuccessful end; a customer who canceled is told so.
    outcome = Order.Status.CANCELED if new_status == PaymentStatus.CANCELED else Order.Status.FAILED
    Order.objects.filter(payment_id=instance.pk, status=Order.Status.PENDING).update(status=outcome)


def on_payment_refunded(sender: type, *, instance: Payment, **kwargs: Any) -> None:
    # A partial refund leaves the order paid; the order page shows the refunded amount.
    current = Payment.objects.filter(pk=instance.pk).values_list("status", flat=True).first()
    if current == PaymentStatus.REFUNDED:
        Order.objects.filter(payment_id=instance.pk).exclude(status=Order.Status.REFUNDED).update(
            status=Order.Status.REFUNDED
        )


def on_preapproval_activated(sender: type, *, instance: Preapproval, **kwargs: Any) -> None:
    # An agreement given up on (expired by reconciliation) can still be approved
    # by the customer afterwards; the subscription then starts after all.
    Subscription.objects.filter(
        preapproval_id=instance.pk,
        status__in=[Subscription.Status.PENDING, Subscription.Status.FAILED],
    ).update(status=Subscription.Status.ACTIVE)


def on_preapproval_canceled(sender: type, *, instance: Preapproval, **kwargs: Any) -> None:
    Subscription.objects.filter(preapproval_id=instance.pk).exclude(
        status=Subscription.Status.CANCELED
    ).update(status=Subscription.Status.CANCELED)


def on_status_changed(
    sender: type, *, instance: object, new_status: str = "", **kwargs: Any
) -> None:
    # There is no dedicated signal for an agreement that never became active.
    if isinstance(instance, Preapproval) and new_status in (
        PreapprovalStatus.FAILED,
        PreapprovalStatus.EXPIRED,
    ):
        Subscription.objects.filter(
            preapproval_id=instance.pk, status=Subscription.Status.PENDING
        ).update(status=Subscription.Status.FAILED)


def connect() -> None:
    """Called from ShopConfig.ready(); the dispatch_uids make it safe to call twice."""
    signals.payment_paid.connect(on_payment_paid, dispatch_uid="shop.payment_paid")
    signals.payment_failed.connect(on_payment_failed, dispatch_uid="shop.payment_failed")
    signals.payment_refunded.connect(on_payment_refunded, dispatch_uid="shop.payment_refunded")
    signals.preapproval_activated.connect(
        on_preapproval_activated, dispatch_uid="shop.preapproval_activated"
    )
    signals.preapproval_canceled.connect(
        on_preapproval_canceled, dispatch_uid="shop.preapproval_canceled"
    )
    signals.status_changed.connect(on_status_changed, dispatch_uid="shop.status_changed")
