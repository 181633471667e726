"""Cost of the safety pipeline, as ratios against baselines measured in the same run.

    python benchmarks/bench_pipeline.py [--count N]
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test python benchmarks/bench_pipeline.py

Webhook: the full path (store in the inbox, verify the HMAC, parse, lock the
payment, check the transition, compare-and-set, log, queue the signal) against
the cheapest receiver an app could have: one INSERT of the body and a 200.

Return: the full return view (pull the provider's state, apply it, redirect)
against a view that only looks the payment up by token and redirects.

Memory: peak traced allocation while processing the notifications, to show
that it does not grow with the count.
"""

from __future__ import annotations

import argparse
import gc
import io
import json
import os
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")


def setup_database() -> None:
    import django
    from django.conf import settings

    if not os.environ.get("DATABASE_URL"):
        # A file, not :memory:, so that timings include real I/O.
        path = Path(tempfile.mkdtemp()) / "bench.sqlite3"
        settings.DATABASES["default"]["NAME"] = str(path)
    django.setup()
    from django.core.management import call_command
    from django.test.utils import setup_test_environment

    setup_test_environment()
    if os.environ.get("DATABASE_URL"):
        from django.db import connection

        connection.creation.create_test_db(verbosity=0, autoclobber=True)
    else:
        call_command("migrate", verbosity=0)


def timed(label: str, runs: int, action: Callable[[int], Any]) -> float:
    samples = []
    for i in range(runs):
        start = time.perf_counter()
        action(i)
        samples.append(time.perf_counter() - start)
    per_op = statistics.median(samples)
    print(f"  {label:<44} median {per_op * 1e3:7.3f} ms  (n={runs})")
    return per_op


class WsgiClient:
    """Calls Django's production WSGI handler directly: no sockets, no test-client hooks."""

    def __init__(self, handler: Any) -> None:
        self.handler = handler

    def request(
        self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> int:
        environ = {
            "REQUEST_METHOD": method,
            "PATH_INFO": path,
            "SCRIPT_NAME": "",
            "QUERY_STRING": "",
            "SERVER_NAME": "testserver",
            "SERVER_PORT": "80",
            "REMOTE_ADDR": "127.0.0.1",
            "CONTENT_TYPE": "application/json",
            "CONTENT_LENGTH": str(len(body)),
            "wsgi.input": io.BytesIO(body),
            "wsgi.url_scheme": "http",
            "wsgi.errors": sys.stderr,
        }
        for name, value in (headers or {}).items():
            environ["HTTP_" + name.upper().replace("-", "_")] = value
        status = ""

        def start_response(line: str, _headers: list[tuple[str, str]]) -> None:
            nonlocal status
            status = line

        response = self.handler(environ, start_response)
        b"".join(response)
        response.close()
        return int(status.split()[0])

    def get(self, path: str) -> int:
        return self.request("GET", path)

    def post(self, path: str, body: bytes, headers: dict[str, str] | None = None) -> int:
        return self.request("POST", path, body, headers)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=300)
    count = parser.parse_args().count
    from django.conf import settings

    settings.ROOT_URLCONF = "benchmarks.urls"
    setup_database()

    from django.core.handlers.wsgi import WSGIHandler
    from django.db import connection

    from django_kakaopay import services
    from django_kakaopay.models import Payment, SandboxTransaction
    from django_kakaopay.sandbox import provider
    from django_kakaopay.sandbox.signing import SIGNATURE_HEADER, sign, signing_secret

    client = WsgiClient(WSGIHandler())
    secret = signing_secret("sandbox", {})
    print(f"database: {connection.vendor}; notifications per series: {count}")

    def started_payments(prefix: str) -> list[Payment]:
        payments = []
        for i in range(count):
            payment = services.create_payment(amount=11000, reference=f"{prefix}-{i}")
            services.start_payment(payment)
            payments.append(payment)
        return payments

    def notification(payment: Payment, i: int) -> bytes:
        event = {
            "id": f"evt_{payment.reference}_{i}",
            "type": "payment.updated",
            "created_at": "2026-11-23T10:00:00+09:00",
            "data": {
                "id": payment.provider_payment_id,
                "object": "payment",
                "status": provider.SUCCESS_PAYMENT,
                "reference": payment.reference,
                "amount": 11000,
                "currency": "KRW",
                "refunded_amount": 0,
            },
        }
        return json.dumps(event).encode()

    def deliver(body: bytes) -> None:
        status = client.post(
            "/kakaopay/webhooks/sandbox/", body, {SIGNATURE_HEADER: sign(secret, body)}
        )
        assert status == 200, status

    timed_payments = started_payments("TIME")
    bodies = [notification(p, i) for i, p in enumerate(timed_payments)]

    print("webhook (each side goes through the same WSGI handler, URL resolver and middleware)")
    base = timed(
        "baseline: INSERT the body, answer 200",
        count,
        lambda i: client.post("/baseline/webhook/", bodies[i]),
    )
    full = timed("django-kakaopay: inbox + verify + apply", count, lambda i: deliver(bodies[i]))
    assert Payment.objects.filter(reference__startswith="TIME", status="paid").count() == count
    print(f"  ratio pipeline / baseline: {full / base:.2f}x")
    duplicate = timed("duplicate delivery (already processed)", count, lambda i: deliver(bodies[i]))
    print(f"  ratio duplicate / baseline: {duplicate / base:.2f}x")

    print("memory (separate series, so tracing does not distort the timings)")
    tracemalloc.start()
    for size in (count // 4, count, count):
        payments = started_payments(f"MEM{size}-{time.perf_counter_ns()}")[:size]
        series = [notification(p, i) for i, p in enumerate(payments)]
        gc.collect()
        before, _peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        for body in series:
            deliver(body)
        gc.collect()
        after, peak = tracemalloc.get_traced_memory()
        print(
            f"  {size:>4} notifications: peak +{(peak - before) / 1024:6.0f} KiB, "
            f"retained afterwards {(after - before) / 1024:+6.0f} KiB"
        )
    tracemalloc.stop()

    print("return view (the provider already approved; the view must pull to find out)")
    returning = started_payments("RET")
    SandboxTransaction.objects.filter(pk__in=[p.provider_payment_id for p in returning]).update(
        status=provider.SUCCESS_PAYMENT
    )
    tokens = [p.return_token for p in returning]
    base_return = timed(
        "baseline: look up by token, redirect",
        count,
        lambda i: client.get(f"/baseline/return/{tokens[i]}/"),
    )
    full_return = timed(
        "django-kakaopay: pull + apply + redirect",
        count,
        lambda i: client.get(f"/kakaopay/return/{tokens[i]}/"),
    )
    assert Payment.objects.filter(reference__startswith="RET", status="paid").count() == count
    print(f"  ratio return / baseline: {full_return / base_return:.2f}x")


if __name__ == "__main__":
    main()
