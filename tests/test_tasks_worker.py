"""Queued notifications through a real database queue, with real workers, on PostgreSQL.

The test process receives the notifications as the site would (Django's test
client, queued mode, django-tasks-db's ``DatabaseBackend``); ``db_worker``
processes, started as the deployment would start them, do the processing.
300 sandbox payments are notified out of order, many events two or three
times, some followed by an older "pending" event. The first worker is
killed with SIGKILL in the middle of a notification (its payment moved, the
transition logged, nothing committed, rows locked), a second worker takes
over, and at the end every payment was paid exactly once, with one
``payment_paid`` signal, and no notification is left unfinished.

django-tasks-db 0.13 never runs a task again once a worker has claimed it:
the killed worker's task stays RUNNING for good, and its notification stays
``queued``. That is what ``WEBHOOK_STALE_AFTER`` and the replay are for:
the operator's scheduled ``replay_failed_notifications`` task (or
``kakaopay_replay_webhooks``) processes the row from its stored,
authenticated body.
The test runs that task through the same queue and asserts it settled exactly
the one row.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote
from uuid import UUID

import pytest
from django.conf import settings
from django.db import connection, connections
from django.db.models import Count
from django.test import Client, override_settings

from django_kakaopay.conf import notification_mode
from django_kakaopay.models import Payment, StatusTransition, WebhookEvent
from django_kakaopay.sandbox import provider

from . import settings as test_settings
from . import worker_signals
from .conftest import SignalRecorder
from .helpers import deliver, event_body, provider_side, started_payment

MODULE = getattr(settings, "TASKS_MODULE", "")
HAVE_QUEUE = bool(MODULE) and "django_tasks_db" in settings.INSTALLED_APPS

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not HAVE_QUEUE,
        reason="needs Django's Tasks framework and django-tasks-db: pip install django-tasks-db",
    ),
]

ROOT = Path(__file__).resolve().parent.parent
PAYMENTS = 300
SEED = 20261202
# Seconds after which a notification still ``queued`` counts as stranded.
STALE_AFTER = 2
# Seconds the worker waits between polls of an empty queue.
INTERVAL = "0.05"
# The whole run, from the first post to the last row settled.
DEADLINE = 90.0
QUEUED = worker_signals.queued_kakaopay(test_settings.KAKAOPAY, STALE_AFTER)
DATABASE_QUEUE = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


# -- the notifications -------------------------------------------------------------------


@dataclass
class Plan:
    """What is posted, in order, and what each payment's events are."""

    deliveries: list[bytes] = field(default_factory=list)
    paid_events: dict[str, UUID] = field(default_factory=dict)  # event id -> payment pk
    pending_events: dict[str, UUID] = field(default_factory=dict)
    # The paid event whose processing the first worker is killed in.
    victim: str = ""


def stamp(seconds: int) -> str:
    minutes, second = divmod(seconds, 60)
    hour, minute = divmod(minutes, 60)
    return f"2026-12-02T{10 + hour:02d}:{minute:02d}:{second:02d}+09:00"


def plan_notifications(payments: list[Payment]) -> Plan:
    """Every payment's "paid" event once, twice or three times, shuffled with a fixed seed.

    One in five payments also gets its earlier "pending" event, always posted
    after the first "paid" delivery (and stamped a minute before it). The
    victim is a payment notified exactly once, about a quarter of the way in,
    so that nothing but the operator's replay can finish it.
    """
    rng = random.Random(SEED)
    plan = Plan()
    paid: list[tuple[str, bytes]] = []
    copies: dict[str, int] = {}
    pending: dict[str, bytes] = {}
    for index, payment in enumerate(payments):
        event_id = f"evt_paid_{index:04d}"
        body = event_body(payment, event_id=event_id, created_at=stamp(120 + index))
        copies[event_id] = rng.choices((1, 2, 3), weights=(5, 3, 2))[0]
        paid += [(event_id, body)] * copies[event_id]
        plan.paid_events[event_id] = payment.pk
        if index % 5 == 2:
            stale_id = f"evt_pending_{index:04d}"
            pending[event_id] = event_body(
                payment, provider.READY, event_id=stale_id, created_at=stamp(60 + index)
            )
            plan.pending_events[stale_id] = payment.pk
    rng.shuffle(paid)
    order: list[tuple[str, bytes]] = []
    for event_id, body in paid:
        order.append((event_id, body))
    for event_id, body in pending.items():
        first = next(i for i, (key, _) in enumerate(order) if key == event_id)
        order.insert(rng.randint(first + 1, len(order)), (f"stale-of-{event_id}", body))
    plan.deliveries = [body for _, body in order]
    quarter = len(order) // 4
    plan.victim = next(
        key
        for key, _ in order[quarter:]
        if key in copies and copies[key] == 1 and key not in pending
    )
    return plan


# -- the workers -------------------------------------------------------------------------


@dataclass
class Workers:
    """The ``db_worker`` processes of one test; every one is killed in ``stop_all``."""

    directory: Path
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    logs: list[Path] = field(default_factory=list)

    def environment(self, *, stall: str = "") -> dict[str, str]:
        db = connection.settings_dict
        user = quote(str(db["USER"]))
        password = f":{quote(str(db['PASSWORD']))}" if db["PASSWORD"] else ""
        url = f"postgresql://{user}{password}@{db['HOST']}:{db['PORT']}/{quote(str(db['NAME']))}"
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.settings",
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
            "DATABASE_URL": url,
            "KAKAOPAY_TEST_TASKS": "database",
            worker_signals.STALE_AFTER: str(STALE_AFTER),
            worker_signals.SIGNAL_LOG: str(self.signal_log),
        }
        env.pop(worker_signals.STALL_EVENT, None)
        if stall:
            env[worker_signals.STALL_EVENT] = stall
            env[worker_signals.STALL_MARKER] = str(self.marker)
        return env

    @property
    def signal_log(self) -> Path:
        return self.directory / "payment_paid.log"

    @property
    def marker(self) -> Path:
        return self.directory / "stalled"

    def start(self, worker_id: str, *, stall: str = "") -> subprocess.Popen[bytes]:
        log = self.directory / f"{worker_id}.log"
        command = [
            sys.executable,
            "-m",
            "django",
            "db_worker",
            "--interval",
            INTERVAL,
            "--no-startup-delay",
            "--no-reload",
            "--worker-id",
            worker_id,
        ]
        with open(log, "wb") as out:
            process = subprocess.Popen(  # noqa: S603 (our own interpreter and arguments)
                command,
                cwd=ROOT,
                env=self.environment(stall=stall),
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self.processes.append(process)
        self.logs.append(log)
        return process

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.kill()
        for process in self.processes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=10)

    def tails(self) -> str:
        parts = []
        for log in self.logs:
            text = log.read_text(errors="replace") if log.exists() else ""
            parts.append(f"--- {log.name} (last 3000 characters)\n{text[-3000:]}")
        return "\n".join(parts)


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[Workers]:
    pool = Workers(tmp_path)
    try:
        yield pool
    finally:
        pool.stop_all()


def wait_for(condition: Callable[[], bool], timeout: float, what: str, pool: Workers) -> float:
    """Poll ``condition`` until it holds; seconds it took. Fails, with the workers' logs, after ``timeout``."""
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > timeout:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}\n{pool.tails()}")
        time.sleep(0.05)
    return time.monotonic() - start


# -- the test ----------------------------------------------------------------------------


@override_settings(KAKAOPAY=QUEUED, TASKS=DATABASE_QUEUE)
def test_a_real_queue_survives_a_worker_killed_mid_task(
    workers: Workers, signal_log: SignalRecorder
) -> None:
    from django_tasks_db.models import DBTaskResult

    from django_kakaopay import tasks

    assert type(tasks.process_notification.get_backend()).__name__ == "DatabaseBackend"
    assert notification_mode("sandbox") == "queued"
    timings: dict[str, float] = {}
    started = time.monotonic()
    payments = [started_payment() for _ in range(PAYMENTS)]
    for payment in payments:
        # The customer approved at the provider; the notifications say so.
        provider.decide_payment(provider_side(payment), "approve")
    plan = plan_notifications(payments)
    victim_payment = plan.paid_events[plan.victim]
    timings["create payments"] = time.monotonic() - started

    first = workers.start("worker-1", stall=plan.victim)
    killed = threading.Event()
    at_kill: dict[str, int] = {}

    def kill_when_stalled() -> None:
        # Waits for the first worker to stop inside the victim's transaction, then SIGKILLs it.
        try:
            deadline = time.monotonic() + DEADLINE
            while not workers.marker.exists() and time.monotonic() < deadline:
                if first.poll() is not None:
                    return
                time.sleep(0.005)
            if not workers.marker.exists():
                return
            os.kill(first.pid, signal.SIGKILL)
            first.wait(timeout=10)
            at_kill["finished rows"] = WebhookEvent.objects.filter(
                status__in=("processed", "ignored")
            ).count()
            at_kill["ready tasks"] = DBTaskResult.objects.filter(status="READY").count()
            at_kill["tasks"] = DBTaskResult.objects.count()
            killed.set()
            # A moment with no worker at all: the queue only grows.
            time.sleep(0.5)
            workers.start("worker-2")
        finally:
            connections.close_all()

    watcher = threading.Thread(target=kill_when_stalled, daemon=True)
    watcher.start()

    client = Client()
    posting = time.monotonic()
    answers = Counter(deliver(client, body).status_code for body in plan.deliveries)
    timings["post notifications"] = time.monotonic() - posting
    assert answers == Counter({200: len(plan.deliveries)}), answers

    wait_for(
        lambda: killed.is_set() or not watcher.is_alive(),
        DEADLINE,
        "the first worker to stop in the victim's task",
        workers,
    )
    watcher.join(timeout=10)
    assert killed.is_set(), (
        f"the first worker never stopped in the victim's task\n{workers.tails()}"
    )
    assert first.returncode == -signal.SIGKILL
    assert at_kill["finished rows"] < len(plan.paid_events) + len(plan.pending_events)
    assert at_kill["ready tasks"] > 0 or at_kill["tasks"] < len(plan.deliveries), (
        "killed mid-run",
        at_kill,
    )

    # The second worker drains the queue; only the victim's row is left behind.
    unfinished = WebhookEvent.objects.filter(status__in=("received", "queued", "failed"))
    ready = DBTaskResult.objects.filter(status="READY")

    def drained() -> bool:
        running_live = DBTaskResult.objects.filter(status="RUNNING").exclude(
            worker_ids__contains=["worker-1"]
        )
        return (
            not ready.all().exists() and not running_live.exists() and unfinished.all().count() <= 1
        )

    timings["drain after the kill"] = wait_for(drained, DEADLINE, "the queue to drain", workers)
    stranded = list(unfinished.all())
    assert [(row.event_key, row.status) for row in stranded] == [(plan.victim, "queued")], (
        "the killed task's row stays queued: its transaction was rolled back"
    )
    [orphan] = DBTaskResult.objects.filter(status="RUNNING")
    assert orphan.worker_ids == ["worker-1"]
    assert orphan.args_kwargs["args"] == [stranded[0].pk]
    assert Payment.objects.get(pk=victim_payment).status == Payment.Status.PENDING
    assert not StatusTransition.objects.filter(
        payment_id=victim_payment, to_status="paid"
    ).exists(), "the half-done transition was rolled back with the worker"

    # The operator's recovery: the scheduled replay task, through the same queue,
    # once the row is older than WEBHOOK_STALE_AFTER.
    recovery = time.monotonic()
    time.sleep(STALE_AFTER + 0.2)
    replay = tasks.replay_failed_notifications.enqueue()
    replay_row = DBTaskResult.objects.filter(pk=replay.id)
    wait_for(
        lambda: replay_row.filter(status__in=("SUCCESSFUL", "FAILED")).exists(),
        DEADLINE,
        "the replay task",
        workers,
    )
    result = replay_row.get()
    assert result.status == "SUCCESSFUL", result.traceback
    assert result.return_value["replayed"] == 1
    assert result.return_value["failed"] == 0
    timings["recovery"] = time.monotonic() - recovery

    # Every payment paid once, one signal each (sent in the workers), nothing unfinished.
    assert not unfinished.all().exists()
    assert not ready.all().exists()
    assert not DBTaskResult.objects.filter(status="FAILED").exists()
    statuses = Counter(Payment.objects.values_list("status", flat=True))
    assert statuses == Counter({Payment.Status.PAID: PAYMENTS})
    paid_transitions = Counter(
        dict(
            StatusTransition.objects.filter(to_status="paid")
            .values_list("payment_id")
            .annotate(n=Count("id"))
        )
    )
    assert paid_transitions == Counter({payment.pk: 1 for payment in payments})
    recorded = [line.split() for line in workers.signal_log.read_text().splitlines()]
    assert Counter(pk for pk, _pid, _source in recorded) == Counter(
        {str(payment.pk): 1 for payment in payments}
    )
    assert {pid for _pk, pid, _source in recorded} <= {
        str(process.pid) for process in workers.processes
    }
    assert Counter(source for *_, source in recorded) == Counter(
        {"webhook": PAYMENTS - 1, "command": 1}
    ), "the victim was settled by the replay, everything else by its notification"
    assert signal_log.of("payment_paid") == [], "nothing was processed in the request"

    rows = {row.event_key: row for row in WebhookEvent.objects.all()}
    assert set(rows) == set(plan.paid_events) | set(plan.pending_events)
    assert {rows[key].status for key in plan.paid_events} == {"processed"}
    assert {rows[key].status for key in plan.pending_events} <= {"processed", "ignored"}
    assert rows[plan.victim].last_error == "", "applied from its body, as its task would have"
    timings["total"] = time.monotonic() - started
    copies = Counter(Counter(plan.deliveries).values())
    pending = Counter(rows[key].status for key in plan.pending_events)
    print(
        f"\n{PAYMENTS} payments, {len(plan.deliveries)} deliveries (events delivered once, "
        f"twice, three times: {copies[1]}, {copies[2]}, {copies[3]}), "
        f"{len(plan.pending_events)} older pending events after the paid one ({dict(pending)}); "
        f"at the kill: {at_kill}; recovered by the replay task: {result.return_value}; "
        + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in timings.items())
    )
