"""The cron commands: kakaopay_reconcile, kakaopay_replay_webhooks, kakaopay_charge_due."""

from __future__ import annotations

import importlib
import json
from datetime import date, timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command, get_commands, load_command_class
from django.core.management.base import CommandError
from django.utils import timezone, translation

from django_kakaopay import services
from django_kakaopay.models import Payment, WebhookEvent, WebhookEventStatus
from django_kakaopay.sandbox import provider
from django_kakaopay.services.schedule import local_today

from .helpers import (
    LossyBackend,
    active_preapproval,
    event_body,
    provider_side,
    started_payment,
)

pytestmark = pytest.mark.django_db


def run(name: str, *args: str, **options: Any) -> str:
    out = StringIO()
    call_command(name, *args, stdout=out, **options)
    return out.getvalue()


def timed_out_payment(fault: str) -> Payment:
    LossyBackend.faults["create_payment"] = fault
    payment = services.create_payment(amount=11000, backend="lossy")
    services.start_payment(payment)
    LossyBackend.faults.clear()
    return payment


# == kakaopay_reconcile ===============================================================


def test_reconcile_with_nothing_to_do_succeeds(lossy: type[LossyBackend]) -> None:
    assert "Checked 0: 0 settled" in run("kakaopay_reconcile")


def test_reconcile_settles_and_lists_rows_with_verbosity_2(lossy: type[LossyBackend]) -> None:
    payment = timed_out_payment("lost")
    out = run("kakaopay_reconcile", "--older-than", "0", "--expire-after", "0", verbosity=2)
    assert f"settled: payment {payment.reference} [created -> failed]" in out
    assert "Checked 1: 1 settled, 0 unchanged, 0 still unknown, 0 errors, 0 skipped." in out
    payment.refresh_from_db()
    assert payment.status == "failed"


def test_reconcile_exits_non_zero_when_something_stays_unknown(
    lossy: type[LossyBackend],
) -> None:
    payment = timed_out_payment("lost")
    LossyBackend.faults["fetch_payment"] = "lost"
    out = StringIO()
    with pytest.raises(CommandError, match="1 object") as excinfo:
        call_command("kakaopay_reconcile", "--older-than=0", stdout=out)
    assert excinfo.value.returncode == 1
    assert "1 still unknown" in out.getvalue()
    assert f"unknown: payment {payment.reference}" in out.getvalue()


def test_reconcile_expire_after_option(lossy: type[LossyBackend]) -> None:
    payment = timed_out_payment("late")
    run("kakaopay_reconcile", "--older-than=0", "--expire-after=0")
    payment.refresh_from_db()
    assert payment.status == "expired"


def test_reconcile_dry_run_calls_nothing(lossy: type[LossyBackend]) -> None:
    payment = timed_out_payment("late")
    out = run("kakaopay_reconcile", "--older-than=0", "--dry-run", "--backend=lossy", "--limit=5")
    assert f"planned: payment {payment.reference}" in out
    assert "1 object(s) would be checked" in out
    assert "fetch_payment" not in LossyBackend.calls
    payment.refresh_from_db()
    assert payment.status == "created"


def test_reconcile_rejects_bad_options() -> None:
    with pytest.raises(CommandError):
        call_command("kakaopay_reconcile", "--limit=0", stdout=StringIO())
    with pytest.raises(CommandError):
        call_command("kakaopay_reconcile", "--older-than=soon", stdout=StringIO())


# == kakaopay_replay_webhooks ===========================================================


def failed_event(body: bytes, key: str) -> WebhookEvent:
    return WebhookEvent.objects.create(
        backend="sandbox",
        event_key=key,
        body=body,
        status=WebhookEventStatus.FAILED,
        last_error="OperationalError: database is locked",
    )


def test_replay_reprocesses_failed_rows() -> None:
    payment = started_payment()
    provider.decide_payment(provider_side(payment), "approve")
    event = failed_event(event_body(payment), "evt_test_1")
    out = run("kakaopay_replay_webhooks", verbosity=2)
    assert "Replayed 1, failed 0, skipped 0, held back 0." in out
    event.refresh_from_db()
    assert event.status == WebhookEventStatus.PROCESSED
    payment.refresh_from_db()
    assert payment.status == "paid"


def test_replay_of_given_ids_skips_rows_that_are_not_failed() -> None:
    payment = started_payment()
    done = failed_event(event_body(payment), "evt_done")
    WebhookEvent.objects.filter(pk=done.pk).update(status=WebhookEventStatus.PROCESSED)
    out = run("kakaopay_replay_webhooks", str(done.pk))
    assert "skipped: sandbox" in out
    assert "[processed]" in out
    assert "Replayed 0, failed 0, skipped 1, held back 0." in out


def test_replay_fails_for_unknown_rejected_and_still_failing_rows() -> None:
    rejected = failed_event(b"{}", "evt_rejected")
    WebhookEvent.objects.filter(pk=rejected.pk).update(status=WebhookEventStatus.REJECTED)
    broken = failed_event(b"not json", "evt_broken")
    out = StringIO()
    with pytest.raises(CommandError) as excinfo:
        call_command(
            "kakaopay_replay_webhooks", str(rejected.pk), str(broken.pk), "999999", stdout=out
        )
    assert excinfo.value.returncode == 1
    assert "Replayed 0, failed 3, skipped 0, held back 0." in out.getvalue()
    broken.refresh_from_db()
    assert broken.status == WebhookEventStatus.MALFORMED, "unreadable for good: not retried again"


def test_replay_service_limit_and_backend() -> None:
    payment = started_payment()
    body = json.loads(event_body(payment))
    for index in range(3):
        body["id"] = f"evt_{index}"
        failed_event(json.dumps(body).encode(), f"evt_{index}")
    assert len(services.replay_failed_events(limit=2).lines) == 2
    assert services.replay_failed_events(backend="other").lines == []


def test_replay_holds_back_rows_that_failed_too_often() -> None:
    payment = started_payment()
    provider.decide_payment(provider_side(payment), "approve")
    stubborn = failed_event(b"not json", "evt_stubborn")
    WebhookEvent.objects.filter(pk=stubborn.pk).update(attempts=10)
    fresh = failed_event(event_body(payment), "evt_fresh")

    out = run("kakaopay_replay_webhooks")

    assert "Replayed 1, failed 0, skipped 0, held back 1." in out, "the job stays green"
    assert f"held back: sandbox #{stubborn.pk}" in out
    assert "replay it by id" in out
    fresh.refresh_from_db()
    assert fresh.status == WebhookEventStatus.PROCESSED
    stubborn.refresh_from_db()
    assert stubborn.attempts == 10, "not retried"

    with pytest.raises(CommandError):
        call_command("kakaopay_replay_webhooks", str(stubborn.pk), stdout=StringIO())
    stubborn.refresh_from_db()
    assert stubborn.attempts == 11, "an explicit id is always replayed"
    assert stubborn.status == WebhookEventStatus.MALFORMED

    WebhookEvent.objects.filter(pk=stubborn.pk).update(status=WebhookEventStatus.FAILED)
    everything = StringIO()
    with pytest.raises(CommandError):
        call_command("kakaopay_replay_webhooks", "--max-attempts=0", stdout=everything)
    assert "failed 1" in everything.getvalue(), "--max-attempts=0 retries every row"


@pytest.mark.parametrize(
    "command", ["kakaopay_reconcile", "kakaopay_replay_webhooks", "kakaopay_charge_due"]
)
def test_an_unknown_backend_alias_is_an_error_not_an_empty_success(command: str) -> None:
    with pytest.raises(CommandError, match="No backend 'sandbx' is configured"):
        call_command(command, "--backend=sandbx", stdout=StringIO())


# == kakaopay_charge_due ===================================================================


def test_charge_due_charges_once_and_reports() -> None:
    preapproval = active_preapproval()
    services.set_billing_plan(
        preapproval, amount=9900, interval="month", next_charge_on=date(2026, 11, 23)
    )
    out = run("kakaopay_charge_due", "--date", "2026-11-23", verbosity=2)
    assert "charged: " in out
    assert "2026-11-23: charged 1, pending 0, unknown 0, failed 0, skipped 0." in out
    again = run("kakaopay_charge_due", "--date", "2026-11-23")
    assert "charged 0" in again
    assert Payment.objects.filter(preapproval=preapproval).count() == 1


def test_charge_due_dry_run() -> None:
    preapproval = active_preapproval()
    services.set_billing_plan(
        preapproval, amount=9900, interval="week", next_charge_on=date(2026, 11, 23)
    )
    out = run("kakaopay_charge_due", "--date=2026-11-30", "--dry-run")
    assert "planned: " in out
    assert "2026-W49" in out
    assert "1 charge(s) would be made" in out
    assert not Payment.objects.exists()


def test_charge_due_exits_non_zero_on_an_unknown_charge(lossy: type[LossyBackend]) -> None:
    preapproval = services.create_preapproval(backend="lossy")
    services.start_preapproval(preapproval)
    provider.decide_preapproval(
        provider.find("lossy", "preapproval", preapproval.reference),  # type: ignore[arg-type]
        "approve",
    )
    services.sync_preapproval(preapproval)
    today = timezone.localdate()
    services.set_billing_plan(preapproval, amount=9900, interval="day", next_charge_on=today)
    LossyBackend.faults["charge_preapproval"] = "late"
    out = StringIO()
    with pytest.raises(CommandError) as excinfo:
        call_command("kakaopay_charge_due", stdout=out)
    assert excinfo.value.returncode == 1
    assert "unknown 1" in out.getvalue()

    # Reconciliation then makes it definite.
    LossyBackend.faults.clear()
    later = timezone.now() + timedelta(hours=1)
    assert services.reconcile(now=later).ok
    assert Payment.objects.get(preapproval=preapproval).status == "paid"


def test_charge_due_rejects_a_bad_date() -> None:
    with pytest.raises(CommandError):
        call_command("kakaopay_charge_due", "--date=23/11/2026", stdout=StringIO())


def test_charge_due_refuses_a_future_date_unless_dry_run() -> None:
    tomorrow = (local_today() + timedelta(days=1)).isoformat()
    with pytest.raises(CommandError, match="in the future"):
        call_command("kakaopay_charge_due", f"--date={tomorrow}", stdout=StringIO())
    assert "would be made" in run("kakaopay_charge_due", f"--date={tomorrow}", "--dry-run")


# == every command: --help, and progress while a run goes ==================================


def app_commands() -> list[tuple[str, str]]:
    """(app, name) of every command this package and the example shop define."""
    return sorted(
        (app, name)
        for name, app in get_commands().items()
        if app in ("django_kakaopay", "example_project.shop")
    )


def test_the_commands_are_found() -> None:
    names = {name for _app, name in app_commands()}
    assert {"kakaopay_reconcile", "kakaopay_replay_webhooks", "kakaopay_charge_due"} <= names


@pytest.mark.parametrize(("app", "name"), app_commands(), ids=lambda value: value)
def test_help_of_every_command(app: str, name: str) -> None:
    # A lazy translation handed to argparse crashed ``--help`` with a TypeError.
    command = load_command_class(app, name)
    text = command.create_parser("manage.py", name).format_help()
    assert f"usage: manage.py {name}" in text
    assert str(command.help).split()[0] in text


def test_help_is_translated_when_asked_not_at_import() -> None:
    command = load_command_class("django_kakaopay", "kakaopay_reconcile")
    english = command.create_parser("manage.py", "kakaopay_reconcile").format_help()
    with translation.override("ko"):
        korean = load_command_class("django_kakaopay", "kakaopay_reconcile")
        korean_help = korean.create_parser("manage.py", "kakaopay_reconcile").format_help()
    assert "Ask the providers" in english
    assert "Ask the providers" not in korean_help


class Stream(StringIO):
    """A command's stdout, a terminal or not."""

    def __init__(self, *, tty: bool) -> None:
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


def two_of_each(command: str) -> tuple[list[str], str]:
    """Two objects ``command`` works on, the lines that name them at -v 2, and the
    service function called once per object."""
    if command == "kakaopay_reconcile":
        payments = [timed_out_payment("lost"), timed_out_payment("lost")]
        return [f"payment {p.reference}" for p in payments], "reconcile_run._claim_and_reconcile"
    if command == "kakaopay_replay_webhooks":
        names = []
        for index in range(2):
            payment = started_payment()
            provider.decide_payment(provider_side(payment), "approve")
            key = f"evt_{payment.pk}_{index}"
            names.append(f"#{failed_event(event_body(payment, event_id=key), key).pk} ")
        return names, "replay._replay_one"
    names = []
    for _index in range(2):
        preapproval = active_preapproval()
        services.set_billing_plan(
            preapproval, amount=9900, interval="month", next_charge_on=local_today()
        )
        names.append(preapproval.reference)
    return names, "billing._guarded"


COMMAND_ARGS = {
    "kakaopay_reconcile": ["--older-than=0", "--expire-after=0"],
    "kakaopay_replay_webhooks": [],
    "kakaopay_charge_due": [],
}


@pytest.mark.parametrize("command", sorted(COMMAND_ARGS))
def test_each_object_is_printed_when_it_is_done_at_verbosity_2(
    command: str, lossy: type[LossyBackend], monkeypatch: pytest.MonkeyPatch
) -> None:
    names, per_object = two_of_each(command)
    module_name, function_name = per_object.split(".")
    module = importlib.import_module(f"django_kakaopay.services.{module_name}")
    original = getattr(module, function_name)
    out = Stream(tty=False)
    seen_before: list[str] = []

    def recording(*args: Any, **kwargs: Any) -> Any:
        seen_before.append(out.getvalue())
        return original(*args, **kwargs)

    monkeypatch.setattr(module, function_name, recording)
    call_command(command, *COMMAND_ARGS[command], stdout=out, verbosity=2)

    assert len(seen_before) == 2
    assert names[0] in seen_before[1], "the first object was reported before the second began"
    assert names[1] not in seen_before[1]
    assert "\r" not in out.getvalue(), "no progress line outside a terminal"
    assert " of 2 done" not in out.getvalue()


@pytest.mark.parametrize("command", sorted(COMMAND_ARGS))
def test_a_progress_line_only_on_a_terminal(command: str, lossy: type[LossyBackend]) -> None:
    two_of_each(command)
    terminal, pipe = Stream(tty=True), Stream(tty=False)
    call_command(command, *COMMAND_ARGS[command], stdout=pipe)
    two_of_each(command)
    call_command(command, *COMMAND_ARGS[command], stdout=terminal)

    shown = terminal.getvalue()
    assert "\r0 of 2 done" in shown
    assert "\r1 of 2 done" in shown
    assert "\r2 of 2 done" in shown
    # The progress line is erased before the summary, which then starts a clean line.
    after_last_redraw = shown.rsplit("\r", 1)[-1]
    assert after_last_redraw.startswith("\x1b[K")
    assert " done" not in after_last_redraw
    assert "2" in after_last_redraw, "the summary follows"
    assert "\r" not in pipe.getvalue()
    assert "done" not in pipe.getvalue()


def test_no_progress_line_at_verbosity_0(lossy: type[LossyBackend]) -> None:
    timed_out_payment("lost")
    terminal = Stream(tty=True)
    call_command("kakaopay_reconcile", "--older-than=0", stdout=terminal, verbosity=0)
    assert "\r" not in terminal.getvalue()


def test_services_report_progress() -> None:
    payment = started_payment()
    provider.decide_payment(provider_side(payment), "approve")
    failed_event(event_body(payment), "evt_progress")
    calls: list[tuple[int, int, bool]] = []
    services.replay_failed_events(
        progress=lambda done, total, line: calls.append((done, total, line is not None))
    )
    assert calls == [(0, 1, False), (1, 1, True)]
