"""Webhook throughput, side by side in one run: the floor, django-payments, ours.

    python benchmarks/bench_webhooks.py [--count N] [--blocks B] [--scale] [--json out.json]
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test python benchmarks/bench_webhooks.py

The django-payments peer needs the ``bench`` extra (``pip install -e ".[test,bench]"``);
without it that path is skipped and said so.

Every request goes through Django's production ``WSGIHandler``, URL resolver
and middleware, called in-process with a WSGI environ (no sockets). Paths:

floor
    A plain view (``benchmarks/floorapp``): constant-time HMAC-SHA256 of the
    body, then in one transaction INSERT the event id (unique), lock the
    payment by its indexed provider id, compare-and-set pending -> paid.
django-payments
    django-payments 4.1's ``StripeProviderV3`` behind its static callback
    ``payments/process/stripe/``: a ``checkout.session.completed`` event signed
    with ``Stripe-Signature``, verified by the stripe library, turning a
    waiting payment into a confirmed one.
ours: checkout
    ``kakaopay/webhooks/checkout/``, a ``payment_captured`` notification signed
    with ``Cko-Signature``, settling a pending payment.
ours: sandbox
    ``kakaopay/webhooks/sandbox/``, the sandbox's signed ``payment.updated``.
duplicates
    Ours (checkout) and the floor, redelivering an already-processed notification.

Each path gets ``--count`` requests, timed in ``--blocks`` blocks that
alternate between the paths, the order rotating by one path per block. Every
fresh request settles its own payment, created beforehand; after the run
every one of them is checked to have changed status.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import hmac
import json
import os
import platform
import random
import shutil
import socket
import statistics
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from importlib import metadata
from pathlib import Path
from typing import Any
from unittest import mock

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# This benchmark only makes sense with its own settings.
os.environ["DJANGO_SETTINGS_MODULE"] = "benchmarks.settings_webhooks"

from benchmarks.bench_pipeline import WsgiClient  # noqa: E402

# (path, body, headers) of one POST.
Request = tuple[str, bytes, dict[str, str]]

CONTROL_PREFIXES = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE SAVEPOINT")


# -- no network ----------------------------------------------------------------------


def _is_local(address: Any) -> bool:
    if isinstance(address, str | bytes):
        return True  # a Unix socket path
    host = str(address[0])
    return host in ("localhost", "::1") or host.startswith("127.")


def forbid_network() -> None:
    """Refuse every socket connection that is not to loopback or a Unix socket."""
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def connect(self: socket.socket, address: Any) -> None:
        if not _is_local(address):
            raise RuntimeError(f"the benchmark tried to reach {address!r}")
        real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        if not _is_local(address):
            raise RuntimeError(f"the benchmark tried to reach {address!r}")
        return real_connect_ex(self, address)

    socket.socket.connect = connect  # type: ignore[method-assign]
    socket.socket.connect_ex = connect_ex  # type: ignore[method-assign]


# -- database ------------------------------------------------------------------------


def setup_database() -> Callable[[], None]:
    """Create the schema; returns the clean-up (drop the database or the temp dir)."""
    import django
    from django.conf import settings

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    if connection.vendor == "postgresql":
        old_name = settings.DATABASES["default"]["NAME"]
        # Runs migrate with run_syncdb, which creates the bench apps' tables.
        connection.creation.create_test_db(verbosity=0, autoclobber=True)

        def drop() -> None:
            connection.creation.destroy_test_db(old_name, verbosity=0)

        return drop
    call_command("migrate", run_syncdb=True, verbosity=0)
    directory = Path(settings.DATABASES["default"]["NAME"]).parent

    def remove() -> None:
        connection.close()
        shutil.rmtree(directory, ignore_errors=True)

    return remove


def analyze() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


# -- statement counting --------------------------------------------------------------


@dataclass
class StatementCount:
    data: int = 0
    by_verb: dict[str, int] = field(default_factory=dict)
    control: list[str] = field(default_factory=list)
    transactions: int = 0
    savepoints: int = 0
    autocommit: int = 0
    sql: list[str] = field(default_factory=list)

    def summary(self) -> str:
        verbs = ", ".join(f"{n} {verb}" for verb, n in sorted(self.by_verb.items()))
        return (
            f"{self.data} statements ({verbs}); "
            f"{self.transactions} transaction(s), {self.savepoints} savepoint(s), "
            f"{self.autocommit} statement(s) in autocommit; "
            f"logged control: {', '.join(self.control) or 'none'}"
        )


def count_statements(client: WsgiClient, request: Request) -> StatementCount:
    """Run one request under CaptureQueriesContext and a transaction counter.

    Django logs BEGIN/COMMIT/SAVEPOINT as it issues them, but not the
    statements a database runs in autocommit as their own transaction, so
    transactions and savepoints are also counted where ``atomic`` opens them,
    and statements run outside any atomic block are counted as autocommit.
    """
    from django.db import connection, reset_queries
    from django.db.transaction import Atomic, get_connection
    from django.test.utils import CaptureQueriesContext

    result = StatementCount()
    original_enter = Atomic.__enter__

    def counting_enter(self: Atomic) -> None:
        conn = get_connection(self.using)
        outermost = not conn.in_atomic_block
        original_enter(self)
        if outermost:
            result.transactions += 1
        elif conn.savepoint_ids and conn.savepoint_ids[-1] is not None:
            result.savepoints += 1

    def autocommit_counter(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if not connection.in_atomic_block and not sql.lstrip().upper().startswith("BEGIN"):
            result.autocommit += 1
        return execute(sql, params, many, context)

    path, body, headers = request
    reset_queries()  # the handler's request_started resets the log: start it at 0 here too
    with (
        mock.patch.object(Atomic, "__enter__", counting_enter),
        connection.execute_wrapper(autocommit_counter),
        CaptureQueriesContext(connection) as captured,
    ):
        status = client.post(path, body, headers)
    assert status == 200, (path, status)
    verbs: Counter[str] = Counter()
    for query in captured.captured_queries:
        sql = query["sql"]
        result.sql.append(sql)
        head = sql.lstrip().upper()
        if head.startswith(CONTROL_PREFIXES):
            result.control.append(" ".join(head.split()[: 2 if head.startswith("RELEASE") else 1]))
        else:
            result.data += 1
            verbs[head.split()[0]] += 1
    result.by_verb = dict(verbs)
    return result


# -- the paths -----------------------------------------------------------------------


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def new_id(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:26]}"


def checkout_body(event_id: str, payment_id: str, reference: str, amount: int) -> bytes:
    """A Checkout.com ``payment_captured`` notification (the shape the tests use)."""
    event = {
        "id": event_id,
        "type": "payment_captured",
        "version": "1.0.43",
        "created_on": now_iso(),
        "data": {
            "id": payment_id,
            "action_id": new_id("act_"),
            "reference": reference,
            "amount": amount,
            "currency": "KRW",
            "response_code": "10000",
            "response_summary": "Approved",
        },
        "_links": {
            "self": {
                "href": f"https://benchpfx.api.sandbox.checkout.com/workflows/events/{event_id}"
            }
        },
    }
    return json.dumps(event).encode()


@dataclass
class BenchPath:
    name: str
    label: str
    # Makes n requests, creating what they need; called untimed, just before a block.
    make: Callable[[int], list[Request]]
    # (rows that should have changed, rows that did); None for duplicates.
    verify: Callable[[], tuple[int, int]] | None = None
    blocks_ms: list[float] = field(default_factory=list)
    statements: StatementCount | None = None


class Paths:
    """Builders for each path's requests and the rows they settle."""

    AMOUNT = 11000

    def __init__(self) -> None:
        from django.conf import settings

        self.settings = settings
        self.floor_ids: list[str] = []
        self.checkout_ids: list[str] = []
        self.sandbox_ids: list[str] = []
        self.peer_tokens: list[str] = []
        # Notifications already processed, redelivered by the duplicate paths.
        self.floor_done: list[Request] = []
        self.checkout_done: list[Request] = []

    # floor ---------------------------------------------------------------------

    def floor(self, n: int) -> list[Request]:
        from benchmarks.floorapp.models import FloorPayment

        ids = [new_id("pay_") for _ in range(n)]
        FloorPayment.objects.bulk_create(
            FloorPayment(provider_payment_id=pid, amount=self.AMOUNT, currency="KRW") for pid in ids
        )
        self.floor_ids += ids
        key = str(self.settings.FLOOR_WEBHOOK_KEY).encode()
        requests = []
        for pid in ids:
            body = checkout_body(new_id("evt_"), pid, f"FLOOR-{pid}", self.AMOUNT)
            signature = hmac.new(key, body, hashlib.sha256).hexdigest()
            requests.append(("/floor/webhook/", body, {"Cko-Signature": signature}))
        self.floor_done += requests
        return requests

    def floor_verify(self) -> tuple[int, int]:
        from benchmarks.floorapp.models import FloorPayment

        paid = FloorPayment.objects.filter(provider_payment_id__in=self.floor_ids, status="paid")
        return len(self.floor_ids), paid.count()

    # ours ----------------------------------------------------------------------

    def _pending_payments(self, backend: str, n: int, prefix: str) -> list[tuple[str, str]]:
        from django_kakaopay.models import Payment

        rows = [(new_id(prefix), f"BENCH-{uuid.uuid4().hex}") for _ in range(n)]
        Payment.objects.bulk_create(
            Payment(
                backend=backend,
                amount=self.AMOUNT,
                currency="KRW",
                status=Payment.Status.PENDING,
                provider_payment_id=pid,
                reference=reference,
            )
            for pid, reference in rows
        )
        return rows

    def checkout(self, n: int) -> list[Request]:
        from django_kakaopay.backends.checkout import sign_webhook

        key = str(self.settings.CHECKOUT_WEBHOOK_KEY)
        requests = []
        for pid, reference in self._pending_payments("checkout", n, "pay_"):
            self.checkout_ids.append(pid)
            body = checkout_body(new_id("evt_"), pid, reference, self.AMOUNT)
            headers = {"Cko-Signature": sign_webhook(key, body)}
            requests.append(("/kakaopay/webhooks/checkout/", body, headers))
        self.checkout_done += requests
        return requests

    def sandbox(self, n: int) -> list[Request]:
        from django_kakaopay.sandbox import provider
        from django_kakaopay.sandbox.signing import SIGNATURE_HEADER, sign, signing_secret

        options = self.settings.KAKAOPAY["BACKENDS"]["sandbox"]["OPTIONS"]
        secret = signing_secret("sandbox", options)
        requests = []
        for pid, reference in self._pending_payments("sandbox", n, "sbx_"):
            self.sandbox_ids.append(pid)
            event = {
                "id": new_id("evt_"),
                "type": "payment.updated",
                "created_at": now_iso(),
                "data": {
                    "id": pid,
                    "object": "payment",
                    "status": provider.SUCCESS_PAYMENT,
                    "reference": reference,
                    "amount": self.AMOUNT,
                    "currency": "KRW",
                    "refunded_amount": 0,
                },
            }
            body = json.dumps(event).encode()
            headers = {SIGNATURE_HEADER: sign(secret, body)}
            requests.append(("/kakaopay/webhooks/sandbox/", body, headers))
        return requests

    def ours_verify(self, backend: str, ids: list[str]) -> tuple[int, int]:
        from django_kakaopay.models import Payment

        paid = Payment.objects.filter(
            backend=backend, provider_payment_id__in=ids, status=Payment.Status.PAID
        )
        return len(ids), paid.count()

    # django-payments -----------------------------------------------------------

    def peer(self, n: int) -> list[Request]:
        from payments import PaymentStatus

        from benchmarks.peerapp.models import PeerPayment

        rows = [(str(uuid.uuid4()), new_id("cs_test_")) for _ in range(n)]
        PeerPayment.objects.bulk_create(
            PeerPayment(
                variant="stripe",
                status=PaymentStatus.WAITING,
                currency="KRW",
                total=Decimal(self.AMOUNT),
                description="Bench order",
                token=token,
                transaction_id=session_id,
            )
            for token, session_id in rows
        )
        self.peer_tokens += [token for token, _ in rows]
        secret = str(self.settings.STRIPE_ENDPOINT_SECRET)
        # Signed now, just before the block: stripe refuses signatures older than 300 s.
        stamp = int(time.time())
        requests = []
        for token, session_id in rows:
            event = {
                "id": new_id("evt_"),
                "object": "event",
                "api_version": "2024-06-20",
                "created": stamp,
                "livemode": False,
                "type": "checkout.session.completed",
                "data": {
                    "object": {
                        "id": session_id,
                        "object": "checkout.session",
                        "client_reference_id": token,
                        "mode": "payment",
                        "status": "complete",
                        "payment_status": "paid",
                        "amount_total": self.AMOUNT,
                        "currency": "krw",
                        "payment_intent": new_id("pi_"),
                    }
                },
            }
            body = json.dumps(event).encode()
            mac = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256)
            headers = {"Stripe-Signature": f"t={stamp},v1={mac.hexdigest()}"}
            requests.append(("/payments/process/stripe/", body, headers))
        return requests

    def peer_verify(self) -> tuple[int, int]:
        from payments import PaymentStatus

        from benchmarks.peerapp.models import PeerPayment

        confirmed = PeerPayment.objects.filter(
            token__in=self.peer_tokens, status=PaymentStatus.CONFIRMED
        )
        return len(self.peer_tokens), confirmed.count()

    # duplicates ----------------------------------------------------------------

    @staticmethod
    def redeliver(done: list[Request]) -> Callable[[int], list[Request]]:
        def make(n: int) -> list[Request]:
            # Only notifications processed before this block started.
            pool = list(done)
            return [pool[i % len(pool)] for i in range(n)]

        return make


def build_paths(have_peer: bool) -> tuple[Paths, list[BenchPath]]:
    builders = Paths()
    paths = [
        BenchPath("floor", "floor: HMAC + dedupe INSERT + lock + CAS", builders.floor),
        BenchPath("checkout", "ours: checkout (Cko-Signature)", builders.checkout),
        BenchPath("sandbox", "ours: sandbox (X-Sandbox-Signature)", builders.sandbox),
        BenchPath(
            "floor_duplicate", "floor: duplicate delivery", builders.redeliver(builders.floor_done)
        ),
        BenchPath(
            "checkout_duplicate",
            "ours: checkout duplicate delivery",
            builders.redeliver(builders.checkout_done),
        ),
    ]
    paths[0].verify = builders.floor_verify
    paths[1].verify = lambda: builders.ours_verify("checkout", builders.checkout_ids)
    paths[2].verify = lambda: builders.ours_verify("sandbox", builders.sandbox_ids)
    if have_peer:
        peer = BenchPath("django_payments", "django-payments 4.1: Stripe signed", builders.peer)
        peer.verify = builders.peer_verify
        paths.insert(1, peer)
    return builders, paths


# -- running -------------------------------------------------------------------------


def send_all(client: WsgiClient, requests: list[Request]) -> float:
    """Seconds to send ``requests`` one after the other; every answer must be 200."""
    post = client.post
    start = time.perf_counter()
    for path, body, headers in requests:
        status = post(path, body, headers)
        if status != 200:
            raise SystemExit(f"{path} answered {status}; the benchmark stops here.")
    return time.perf_counter() - start


@contextmanager
def quiet_gc() -> Iterator[None]:
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def block_sizes(count: int, blocks: int) -> list[int]:
    return [count // blocks + (1 if b < count % blocks else 0) for b in range(blocks)]


def median_ms(path: BenchPath, sizes: list[int]) -> float:
    return statistics.median(ms / size for ms, size in zip(path.blocks_ms, sizes, strict=True))


def measure(client: WsgiClient, paths: list[BenchPath], count: int, blocks: int) -> list[int]:
    warmup = max(20, min(200, count // 10))
    print(f"warm-up: {warmup} untimed requests per path")
    for path in paths:
        send_all(client, path.make(warmup))
    sizes = block_sizes(count, blocks)
    for b, size in enumerate(sizes):
        order = paths[b % len(paths) :] + paths[: b % len(paths)]
        for path in order:
            requests = path.make(size)
            with quiet_gc():
                elapsed = send_all(client, requests)
            path.blocks_ms.append(elapsed * 1e3)
        print(
            f"  block {b + 1}/{len(sizes)} done ({size} requests per path, {order[0].name} first)"
        )
    return sizes


def scale_check(client: WsgiClient, builders: Paths, rows: int, samples: int) -> dict[str, Any]:
    """ms per checkout notification with 1,000 payments in the table, then with ``rows``."""
    from django.core.management import call_command
    from django.db import connection

    from django_kakaopay.models import Payment

    call_command("flush", interactive=False, verbosity=0)
    small = 1000
    samples = min(samples, small // 2)

    def timed_requests(requests: list[Request]) -> float:
        per_request = []
        with quiet_gc():
            for request in requests:
                per_request.append(send_all(client, [request]))
        return statistics.median(per_request) * 1e3

    def fill_to(total: int) -> None:
        have = Payment.objects.count()
        batch = 5000
        while have < total:
            n = min(batch, total - have)
            builders._pending_payments("checkout", n, "pay_")
            have += n
        if connection.vendor == "postgresql":
            analyze()

    def checkout_requests(ids: list[tuple[str, str]]) -> list[Request]:
        from django_kakaopay.backends.checkout import sign_webhook

        key = str(builders.settings.CHECKOUT_WEBHOOK_KEY)
        requests = []
        for pid, reference in ids:
            body = checkout_body(new_id("evt_"), pid, reference, Paths.AMOUNT)
            requests.append(
                ("/kakaopay/webhooks/checkout/", body, {"Cko-Signature": sign_webhook(key, body)})
            )
        return requests

    def pending_targets(n: int) -> list[tuple[str, str]]:
        candidates = list(
            Payment.objects.filter(backend="checkout", status=Payment.Status.PENDING).values_list(
                "provider_payment_id", "reference"
            )
        )
        return random.Random(n).sample(candidates, n)  # noqa: S311 (not security)

    print(f"scale check: {small:,} payments, then {rows:,}; {samples} notifications at each size")
    fill_to(small)
    targets = pending_targets(2 * samples)
    warm, timed = targets[:samples], targets[samples:]
    send_all(client, checkout_requests(warm[: samples // 5]))
    small_ms = timed_requests(checkout_requests(timed))
    start = time.perf_counter()
    fill_to(rows)
    filled_s = time.perf_counter() - start
    targets = pending_targets(2 * samples)
    warm, timed = targets[:samples], targets[samples:]
    send_all(client, checkout_requests(warm[: samples // 5]))
    large_ms = timed_requests(checkout_requests(timed))
    paid = Payment.objects.filter(status=Payment.Status.PAID).count()
    expected = 2 * (samples + samples // 5)
    assert paid == expected, (paid, expected)
    ratio = large_ms / small_ms
    verdict = "within" if ratio <= 1.15 else "OVER"
    print(
        f"  {small:>7,} payments: {small_ms:7.3f} ms per notification (median of {samples})\n"
        f"  {rows:>7,} payments: {large_ms:7.3f} ms per notification "
        f"(median of {samples}; {rows - small:,} rows inserted in {filled_s:.1f} s)\n"
        f"  ratio {ratio:.2f}x ({verdict} the 1.15x target)"
    )
    return {
        "small_rows": small,
        "large_rows": rows,
        "samples": samples,
        "small_ms": small_ms,
        "large_ms": large_ms,
        "ratio": ratio,
    }


def versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for name in ("Django", "django-payments", "stripe", "psycopg"):
        with suppress(metadata.PackageNotFoundError):
            found[name] = metadata.version(name)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=2000, help="requests per path (2000)")
    parser.add_argument("--blocks", type=int, default=10, help="alternating blocks (10)")
    parser.add_argument(
        "--scale", action="store_true", help="also time checkout at 1,000 and --scale-rows payments"
    )
    parser.add_argument("--scale-rows", type=int, default=100_000, help="(100000)")
    parser.add_argument("--scale-samples", type=int, default=500, help="(500)")
    parser.add_argument("--show-sql", action="store_true", help="print each path's SQL")
    parser.add_argument("--json", metavar="FILE", help="write the figures as JSON")
    args = parser.parse_args()
    if args.count < args.blocks or args.blocks < 1:
        parser.error("--count must be at least --blocks, and --blocks at least 1")
    if args.scale and args.scale_rows < 2000:
        parser.error("--scale-rows must be at least 2000")

    forbid_network()
    cleanup = setup_database()
    try:
        run(args)
    finally:
        cleanup()


def run(args: argparse.Namespace) -> None:
    from django.conf import settings
    from django.core.handlers.wsgi import WSGIHandler
    from django.db import connection

    have_peer = bool(settings.HAVE_DJANGO_PAYMENTS)
    if have_peer:
        import stripe

        stripe.max_network_retries = 0
    client = WsgiClient(WSGIHandler())
    builders, paths = build_paths(have_peer)
    db = settings.DATABASES["default"]
    found = versions()
    print(
        f"database: {connection.vendor} ({connection.display_name}); "
        f"CONN_MAX_AGE={db['CONN_MAX_AGE']}, ATOMIC_REQUESTS={db['ATOMIC_REQUESTS']}"
    )
    print("versions: " + ", ".join(f"{k} {v}" for k, v in found.items()))
    if not have_peer:
        print('django-payments path SKIPPED: install the extra: pip install -e ".[test,bench]"')
    print(f"requests per path: {args.count} in {args.blocks} alternating blocks")

    sizes = measure(client, paths, args.count, args.blocks)

    # One representative request per path, counted outside the timings.
    for path in paths:
        path.statements = count_statements(client, path.make(1)[0])

    problems = []
    for path in paths:
        if path.verify is not None:
            expected, changed = path.verify()
            if changed != expected:
                problems.append(f"{path.name}: {changed} of {expected} rows changed status")
    ok = not problems
    print(
        "verified: every payment notified changed status"
        if ok
        else "VERIFY FAILED: " + "; ".join(problems)
    )

    ms = {path.name: median_ms(path, sizes) for path in paths}
    print()
    print(f"{'path':<42} {'req/s':>8} {'ms/req':>8} {'spread':>15}  statements")
    for path in paths:
        per_block = [t / n for t, n in zip(path.blocks_ms, sizes, strict=True)]
        spread = f"{min(per_block):.2f}-{max(per_block):.2f}"
        statements = path.statements
        assert statements is not None
        print(
            f"{path.label:<42} {1e3 / ms[path.name]:8.0f} {ms[path.name]:8.3f} "
            f"{spread:>15}  {statements.data}"
        )
    print()
    print("statements per request (one representative request each)")
    for path in paths:
        assert path.statements is not None
        print(f"  {path.label}: {path.statements.summary()}")
        if args.show_sql:
            for sql in path.statements.sql:
                print(f"      {sql[:160]}{'...' if len(sql) > 160 else ''}")

    ratios: dict[str, float] = {}
    pairs = [
        ("checkout", "floor"),
        ("sandbox", "floor"),
        ("checkout_duplicate", "floor_duplicate"),
        ("checkout", "django_payments"),
        ("sandbox", "django_payments"),
        ("django_payments", "floor"),
    ]
    print()
    print("ratios of ms per request (above 1: the first is slower)")
    for ours, other in pairs:
        if ours in ms and other in ms:
            ratios[f"{ours}/{other}"] = ms[ours] / ms[other]
            print(f"  {ours} / {other}: {ms[ours] / ms[other]:.2f}x")

    scale = None
    if args.scale:
        print()
        scale = scale_check(client, builders, args.scale_rows, args.scale_samples)

    if args.json:
        report = {
            "database": connection.vendor,
            "conn_max_age": db["CONN_MAX_AGE"],
            "atomic_requests": db["ATOMIC_REQUESTS"],
            "versions": found,
            "count": args.count,
            "block_sizes": sizes,
            "verified": ok,
            "paths": {
                path.name: {
                    "label": path.label,
                    "ms_per_request": ms[path.name],
                    "requests_per_second": 1e3 / ms[path.name],
                    "block_ms": path.blocks_ms,
                    "statements": {
                        "data": path.statements.data if path.statements else None,
                        "by_verb": path.statements.by_verb if path.statements else None,
                        "control_logged": path.statements.control if path.statements else None,
                        "transactions": path.statements.transactions if path.statements else None,
                        "savepoints": path.statements.savepoints if path.statements else None,
                        "autocommit": path.statements.autocommit if path.statements else None,
                        "sql": path.statements.sql if path.statements else None,
                    },
                }
                for path in paths
            },
            "ratios": ratios,
            "scale": scale,
        }
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
        print(f"\nwrote {args.json}")
    if not ok:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
