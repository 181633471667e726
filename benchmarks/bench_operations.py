"""Cost of the operations layer, as ratios against baselines measured in the same run.

    python benchmarks/bench_operations.py [--count N]
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test python benchmarks/bench_operations.py

Reconcile: ``services.reconcile()`` over N pending sandbox payments (claim each
row under a skip-locked lock, stamp it, pull, apply) against the plainest
loop that pulls the same payments with ``services.sync_payment``.

Charge due: ``services.charge_due_preapprovals()`` over N due billing plans
(claim, compute the period, move the date, create the row, then charge)
against a loop calling ``services.charge_preapproval`` with a period key.

Admin: the payment list page with this package's columns, badges, filters and
date hierarchy against Django's admin with nothing configured, at the same
number of rows; and the query count of the list page at 10 and 100 rows.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.bench_pipeline import setup_database

T = TypeVar("T")


def total(label: str, action: Callable[[], T], count: int) -> tuple[float, T]:
    """Run ``action`` once over ``count`` objects; its time and what it returned."""
    start = time.perf_counter()
    result = action()
    elapsed = time.perf_counter() - start
    print(f"  {label:<48} {elapsed * 1e3 / count:7.3f} ms per object  (n={count})")
    return elapsed, result


def median_page(label: str, action: Callable[[], object], runs: int) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        samples.append(time.perf_counter() - start)
    per_page = statistics.median(samples)
    print(f"  {label:<48} median {per_page * 1e3:7.2f} ms per page  (n={runs})")
    return per_page


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=200)
    count = parser.parse_args().count
    from django.conf import settings

    settings.ROOT_URLCONF = "benchmarks.urls"
    settings.KAKAOPAY = {
        "SITE_URL": "http://testserver",
        "BACKENDS": {
            "sandbox": {
                "BACKEND": "django_kakaopay.backends.sandbox.SandboxBackend",
                # Notifications would add the same cost to both sides; leave them out.
                "OPTIONS": {"NOTIFICATIONS": "none", "ALLOW_WITHOUT_DEBUG": True},
            }
        },
    }
    setup_database()

    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from django_kakaopay import services
    from django_kakaopay.models import Payment
    from tests.helpers import active_preapproval

    print(f"database: {connection.vendor}; objects per series: {count}")

    def pending_payments(prefix: str) -> list[Payment]:
        payments = []
        for i in range(count):
            payment = services.create_payment(amount=11000, reference=f"{prefix}-{i}")
            services.start_payment(payment)
            payments.append(payment)
        return payments

    print("reconcile (every payment still pending at the provider)")
    baseline_rows = pending_payments("SYNC")
    base, _ = total(
        "baseline: sync_payment in a loop",
        lambda: [services.sync_payment(p) for p in baseline_rows],
        count,
    )
    Payment.objects.filter(reference__startswith="SYNC").update(status="expired")
    pending_payments("REC")
    later = timezone.now() + timedelta(hours=1)
    full, report = total(
        "django-kakaopay: reconcile()", lambda: services.reconcile(now=later), count
    )
    assert report.checked == count, report
    print(f"  ratio reconcile / baseline: {full / base:.2f}x")

    print("charge due billing plans")
    today = date(2026, 11, 23)
    direct = [active_preapproval(reference=f"DIRECT-{i}") for i in range(count)]
    base_charge, _ = total(
        "baseline: charge_preapproval in a loop",
        lambda: [
            services.charge_preapproval(p, amount=9900, billing_period="2026-11") for p in direct
        ],
        count,
    )
    for i in range(count):
        plan = active_preapproval(reference=f"PLAN-{i}")
        services.set_billing_plan(plan, amount=9900, interval="month", next_charge_on=today)
    full_charge, charged = total(
        "django-kakaopay: charge_due_preapprovals()",
        lambda: services.charge_due_preapprovals(today=today),
        count,
    )
    assert charged.charged == count, charged
    print(f"  ratio charge_due / baseline: {full_charge / base_charge:.2f}x")

    print("admin payment list (100 rows per page)")
    user = get_user_model().objects.create_superuser("bench", "bench@example.com", "x")
    client = Client()
    client.force_login(user)
    ours = "/admin/django_kakaopay/payment/"
    bare = "/bare-admin/django_kakaopay/payment/"
    assert client.get(ours).status_code == 200
    assert client.get(bare).status_code == 200
    bare_page = median_page(
        "baseline: Django admin, nothing configured", lambda: client.get(bare), 20
    )
    our_page = median_page("django-kakaopay: PaymentAdmin", lambda: client.get(ours), 20)
    print(f"  ratio list page / baseline: {our_page / bare_page:.2f}x")
    for rows in (10, 100):
        with CaptureQueriesContext(connection) as queries:
            client.get(ours, {"reference__startswith": "REC-1"} if rows == 10 else {})
        print(f"  queries for the list page with {rows:>3} rows: {len(queries)}")


if __name__ == "__main__":
    main()
