"""``kakaopay_sandbox_deliver`` sends held-back notifications through the real pipeline."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

from django_kakaopay import exceptions, services
from django_kakaopay.backends.base import BaseBackend
from django_kakaopay.backends.sandbox import SandboxBackend
from django_kakaopay.conf import get_backend
from django_kakaopay.models import Payment, SandboxTransaction, WebhookEvent
from django_kakaopay.sandbox import provider

from .conftest import SignalRecorder

LATE = {
    "DEFAULT_BACKEND": "late",
    "BACKENDS": {
        "late": {
            "BACKEND": "django_kakaopay.backends.sandbox.SandboxBackend",
            "OPTIONS": {"NOTIFICATIONS": "late", "ALLOW_WITHOUT_DEBUG": True},
        },
        "other": {"BACKEND": "tests.test_sandbox_command.NotASandbox", "OPTIONS": {}},
    },
    "SITE_URL": "http://testserver",
}


class NotASandbox(BaseBackend):
    """A backend that is not a sandbox."""


def approved_with_a_held_notification() -> Payment:
    """A payment the customer approved, whose notification the late sandbox holds."""
    payment = services.create_payment(amount=11000)
    services.start_payment(payment)
    tx = SandboxTransaction.objects.get(pk=payment.provider_payment_id)
    assert provider.decide_payment(tx, "approve")
    backend = get_backend("late")
    assert isinstance(backend, SandboxBackend)
    backend.notifier.notify(tx)
    return payment


@pytest.mark.django_db(transaction=True)  # signals are sent on commit
@override_settings(KAKAOPAY=LATE)
def test_late_notification_is_held_then_delivered(signal_log: SignalRecorder) -> None:
    payment = approved_with_a_held_notification()
    assert WebhookEvent.objects.count() == 0, "late mode holds the notification"
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PENDING

    out = StringIO()
    call_command("kakaopay_sandbox_deliver", stdout=out)
    assert "late: delivered 1 notification(s)" in out.getvalue()
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PAID
    assert WebhookEvent.objects.get().status == WebhookEvent.Status.PROCESSED
    assert signal_log.names().count("payment_paid") == 1

    call_command("kakaopay_sandbox_deliver", "late", stdout=StringIO())
    assert signal_log.names().count("payment_paid") == 1


@pytest.mark.django_db
@override_settings(KAKAOPAY=LATE)
def test_naming_a_non_sandbox_alias_fails() -> None:
    with pytest.raises(CommandError):
        call_command("kakaopay_sandbox_deliver", "other", stdout=StringIO())


@pytest.mark.django_db
@override_settings(KAKAOPAY=LATE)
def test_the_command_goes_through_the_service(monkeypatch: pytest.MonkeyPatch) -> None:
    """The face asks the services; it does not reach into a backend."""
    asked: list[list[str]] = []

    def deliver(aliases: list[str]) -> dict[str, int]:
        asked.append(list(aliases))
        return {"late": 2}

    monkeypatch.setattr(services, "deliver_held_notifications", deliver)
    out = StringIO()
    call_command("kakaopay_sandbox_deliver", "late", stdout=out)
    assert asked == [["late"]]
    assert "Delivered 2 in total." in out.getvalue()


@pytest.mark.django_db
@override_settings(KAKAOPAY=LATE)
def test_the_service_delivers_per_sandbox_and_skips_the_others() -> None:
    approved_with_a_held_notification()
    assert services.deliver_held_notifications() == {"late": 1}, "'other' is not a sandbox"
    assert services.deliver_held_notifications(["late"]) == {"late": 0}
    with pytest.raises(exceptions.NotASandbox, match="'other' is not a sandbox"):
        services.deliver_held_notifications(["other"])
