"""Queued notifications: what the acknowledgement costs, and how fast workers process them.

    python benchmarks/bench_tasks.py [--count N] [--blocks B] [--json out.json]
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test python benchmarks/bench_tasks.py

One process run, three parts:

acknowledgement
    ms until a signed sandbox "payment paid" notification is answered, through
    Django's production ``WSGIHandler`` (no sockets), on four paths timed in
    alternating blocks (the first path rotating by one each block), ms per
    request the median over the blocks:

    * floor: the plain receiver of ``bench_webhooks.py`` (HMAC, dedupe INSERT,
      lock, compare-and-set);
    * inline: ``kakaopay/webhooks/sandbox/``, processed in the request;
    * inline, no mode check: the same with ``notification_mode`` replaced by a
      constant, i.e. the inline path as it was before the queued mode existed;
    * queued: ``kakaopay/webhooks/sandbox_queued/``, stored, answered, and
      enqueued after the commit on django-tasks-db's ``DatabaseBackend``
      (no worker runs during this part, so nothing competes with the requests);
    * queued, in-memory task backend: the same with the framework's dummy
      backend, whose enqueue writes nothing: the queued path minus the task row.

workers (PostgreSQL only)
    notifications per second with one and with two ``db_worker`` processes
    (``--workers-interval`` between polls of an empty queue): end to end,
    from the first post to the last row processed, with the workers already
    running (and warmed up); and draining a backlog posted while the workers
    were paused (SIGSTOP), from resuming them to the last task finished. Each
    run starts on an emptied, vacuumed task table, and checks that every task
    succeeded and every payment notified was paid once.

inline unchanged
    inline / floor and inline / inline-no-mode-check from the first part, and
    the cost of one ``notification_mode()`` call.

SQLite uses a file in a new temporary directory; PostgreSQL a database of the
benchmark's own, ``bench_tasks_kakaopay``, created and dropped. No socket is
opened except to the database (loopback or a Unix socket); the workers are
given only that database's address. Every count and wait is bounded.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import timeit
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext, suppress
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any
from unittest import mock
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.bench_pipeline import WsgiClient  # noqa: E402
from benchmarks.bench_webhooks import (  # noqa: E402
    Paths,
    Request,
    StatementCount,
    block_sizes,
    count_statements,
    forbid_network,
    new_id,
    now_iso,
    quiet_gc,
    send_all,
    setup_database,
)

# bench_webhooks chose its own settings on import; this benchmark needs these.
os.environ["DJANGO_SETTINGS_MODULE"] = "benchmarks.settings_tasks"

QUEUED_ALIAS = "sandbox_queued"
MEMORY_ALIAS = "sandbox_queued_memory"
# What the last bench_webhooks.py run in benchmarks/README.md measured for
# "ours: sandbox" against the floor, as ms per request (1 / throughput ratio).
README_SANDBOX_OVER_FLOOR = {"sqlite": 1 / 0.95, "postgresql": 1 / 0.85}


# -- acknowledgement ---------------------------------------------------------------------


@dataclass
class AckPath:
    name: str
    label: str
    make: Callable[[int], list[Request]]
    # Entered around each timed block (and the warm-up) of this path.
    around: Callable[[], Any] = nullcontext
    blocks_ms: list[float] = field(default_factory=list)
    statements: StatementCount | None = None


class Builders(Paths):
    """bench_webhooks' floor, plus sandbox notifications for any alias."""

    def __init__(self) -> None:
        super().__init__()
        self.by_alias: dict[str, list[str]] = {}

    def sandbox_for(self, alias: str) -> Callable[[int], list[Request]]:
        def make(n: int) -> list[Request]:
            return self.sandbox_requests(alias, self._pending_payments(alias, n, "sbx_"))

        return make

    def sandbox_requests(self, alias: str, rows: list[tuple[str, str]]) -> list[Request]:
        from django_kakaopay.sandbox import provider
        from django_kakaopay.sandbox.signing import SIGNATURE_HEADER, sign, signing_secret

        kakaopay: dict[str, Any] = self.settings.KAKAOPAY
        secret = signing_secret(alias, kakaopay["BACKENDS"][alias]["OPTIONS"])
        requests = []
        for pid, reference in rows:
            self.by_alias.setdefault(alias, []).append(pid)
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
            requests.append((f"/kakaopay/webhooks/{alias}/", body, headers))
        return requests

    def paid(self, alias: str) -> tuple[int, int]:
        from django_kakaopay.models import Payment

        ids = self.by_alias.get(alias, [])
        done = Payment.objects.filter(
            backend=alias, provider_payment_id__in=ids, status=Payment.Status.PAID
        )
        return len(ids), done.count()


def _always_inline(alias: str) -> str:
    return "inline"


@contextmanager
def without_mode_check() -> Iterator[None]:
    # A plain function, not a Mock: a Mock's call would cost more than the check.
    with mock.patch("django_kakaopay.services.webhooks.notification_mode", new=_always_inline):
        yield


@contextmanager
def memory_queue() -> Iterator[None]:
    """The framework's dummy backend: enqueued results are kept in memory, nothing is written."""
    from django.conf import settings
    from django.test import override_settings

    from django_kakaopay import tasks

    module = settings.TASKS_MODULE
    with override_settings(TASKS={"default": {"BACKEND": f"{module}.backends.dummy.DummyBackend"}}):
        yield
        tasks.process_notification.get_backend().clear()


def ack_paths(builders: Builders) -> list[AckPath]:
    return [
        AckPath("floor", "floor (bench_webhooks' plain receiver)", builders.floor),
        AckPath("inline", "inline: processed in the request", builders.sandbox_for("sandbox")),
        AckPath(
            "inline_no_check",
            "inline, notification_mode() not called",
            builders.sandbox_for("sandbox"),
            around=without_mode_check,
        ),
        AckPath(
            "queued",
            "queued: stored, answered, enqueued",
            builders.sandbox_for(QUEUED_ALIAS),
        ),
        AckPath(
            "queued_memory",
            "queued, in-memory task backend",
            builders.sandbox_for(MEMORY_ALIAS),
            around=memory_queue,
        ),
    ]


def measure_acks(client: WsgiClient, paths: list[AckPath], count: int, blocks: int) -> list[int]:
    warmup = max(20, min(200, count // 10))
    print(f"acknowledgement: warm-up of {warmup} untimed requests per path")
    for path in paths:
        with path.around():
            send_all(client, path.make(warmup))
    sizes = block_sizes(count, blocks)
    for b, size in enumerate(sizes):
        order = paths[b % len(paths) :] + paths[: b % len(paths)]
        for path in order:
            requests = path.make(size)
            with path.around(), quiet_gc():
                elapsed = send_all(client, requests)
            path.blocks_ms.append(elapsed * 1e3)
    print(f"  {len(sizes)} blocks of {sizes[0]} requests per path done")
    for path in paths:
        with path.around():
            path.statements = count_statements(client, path.make(1)[0])
    return sizes


def median_ms(path: AckPath, sizes: list[int]) -> float:
    return statistics.median(ms / n for ms, n in zip(path.blocks_ms, sizes, strict=True))


def verify_acks(builders: Builders) -> list[str]:
    """Inline and floor payments all paid; every queued one stored, enqueued, untouched."""
    from django_tasks_db.models import DBTaskResult

    from django_kakaopay.models import Payment, WebhookEvent

    problems = []
    expected, paid = builders.floor_verify()
    if paid != expected:
        problems.append(f"floor: {paid} of {expected} paid")
    expected, paid = builders.paid("sandbox")
    if paid != expected:
        problems.append(f"inline: {paid} of {expected} paid")
    for alias in (QUEUED_ALIAS, MEMORY_ALIAS):
        queued = len(builders.by_alias.get(alias, []))
        received = WebhookEvent.objects.filter(backend=alias, status="queued").count()
        moved = Payment.objects.filter(backend=alias).exclude(status="pending").count()
        if not (received == queued and moved == 0):
            problems.append(f"{alias}: {queued} requests, {received} rows received, {moved} moved")
    tasks = DBTaskResult.objects.filter(status="READY").count()
    if tasks != len(builders.by_alias.get(QUEUED_ALIAS, [])):
        problems.append(f"{QUEUED_ALIAS}: {tasks} task rows")
    return problems


# -- workers -----------------------------------------------------------------------------


@dataclass
class WorkerRun:
    workers: int
    kind: str  # "end to end" or "backlog"
    count: int
    seconds: float
    post_seconds: float
    span_seconds: float

    @property
    def rate(self) -> float:
        return self.count / self.seconds


class WorkerPool:
    """``db_worker`` processes on the benchmark's database; all stopped in ``stop``."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.directory = Path(tempfile.mkdtemp(prefix="kakaopay-bench-workers-"))
        self.processes: list[subprocess.Popen[bytes]] = []
        self.started = 0

    def environment(self) -> dict[str, str]:
        from django.db import connection

        db = connection.settings_dict
        host = str(db["HOST"] or "")
        if host and not (host in ("localhost", "::1") or host.startswith(("127.", "/"))):
            raise SystemExit(f"the workers would connect to {host}: loopback only")
        user = quote(str(db["USER"]))
        password = f":{quote(str(db['PASSWORD']))}" if db["PASSWORD"] else ""
        url = f"postgresql://{user}{password}@{host}:{db['PORT']}/{quote(str(db['NAME']))}"
        return {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "benchmarks.settings_tasks",
            "PYTHONPATH": str(ROOT),
            "DATABASE_URL": url,
            "KAKAOPAY_BENCH_WORKER": "1",
        }

    def start(self, n: int) -> None:
        env = self.environment()
        for _ in range(n):
            self.started += 1
            log = self.directory / f"worker-{self.started}.log"
            command = [
                sys.executable,
                "-m",
                "django",
                "db_worker",
                "--interval",
                str(self.interval),
                "--no-startup-delay",
                "--no-reload",
                "--verbosity",
                "0",
                "--worker-id",
                f"bench-{self.started}",
            ]
            with open(log, "wb") as out:
                self.processes.append(
                    subprocess.Popen(  # noqa: S603 (our interpreter, our arguments)
                        command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
                    )
                )

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGCONT)
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        self.processes = []

    def pause(self) -> None:
        for process in self.processes:
            process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        for process in self.processes:
            process.send_signal(signal.SIGCONT)

    def check_alive(self) -> None:
        for process in self.processes:
            if process.poll() is not None:
                logs = "\n".join(
                    p.read_text(errors="replace")[-2000:] for p in self.directory.glob("*.log")
                )
                raise SystemExit(f"a worker exited with {process.returncode}:\n{logs}")

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)


def wait_until_drained(pool: WorkerPool, timeout: float) -> None:
    from django_tasks_db.models import DBTaskResult

    busy = DBTaskResult.objects.filter(status__in=("READY", "RUNNING"))
    deadline = time.monotonic() + timeout
    while busy.all().exists():
        pool.check_alive()
        if time.monotonic() > deadline:
            raise SystemExit(f"the queue did not drain within {timeout:.0f} s; stopping")
        time.sleep(0.01)


def task_span() -> float:
    from django.db.models import Max, Min
    from django_tasks_db.models import DBTaskResult

    span = DBTaskResult.objects.aggregate(first=Min("started_at"), last=Max("finished_at"))
    return float((span["last"] - span["first"]).total_seconds())


def check_worker_results(builders: Builders, requests: list[Request]) -> None:
    """Every task succeeded and processed its row; every payment notified is paid, once."""
    from django_tasks_db.models import DBTaskResult

    from django_kakaopay.models import Payment, StatusTransition

    outcomes = {
        (status, value)
        for status, value in DBTaskResult.objects.values_list("status", "return_value")
    }
    if outcomes != {("SUCCESSFUL", "processed")}:
        raise SystemExit(f"worker tasks ended otherwise: {outcomes}")
    ids = [json.loads(body)["data"]["id"] for _, body, _ in requests]
    payments = Payment.objects.filter(backend=QUEUED_ALIAS, provider_payment_id__in=ids)
    paid = payments.filter(status=Payment.Status.PAID).count()
    moves = StatusTransition.objects.filter(payment__in=payments, to_status="paid").count()
    if not paid == moves == len(ids):
        raise SystemExit(f"{len(ids)} notified, {paid} paid, {moves} paid transitions")


def empty_queue() -> None:
    """Delete every task row and VACUUM ANALYZE the table: each run starts on the same table."""
    from django.db import connection
    from django_tasks_db.models import DBTaskResult

    DBTaskResult.objects.all().delete()
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM ANALYZE {connection.ops.quote_name(DBTaskResult._meta.db_table)}")


def one_worker_run(
    client: WsgiClient, builders: Builders, pool: WorkerPool, workers: int, kind: str, count: int
) -> WorkerRun:
    """One timed run; ``kind`` is "end to end" or "backlog".

    The workers are started and warmed up (they have processed a few
    notifications) before anything is timed. End to end: the clock runs from
    the first post to the last task finished, the workers processing as the
    posts arrive. Backlog: the workers are paused (SIGSTOP) while the
    notifications are posted, and the clock runs from resuming them (SIGCONT)
    to the last task finished.
    """
    empty_queue()
    make = builders.sandbox_for(QUEUED_ALIAS)
    pool.start(workers)
    send_all(client, make(10 * workers))
    wait_until_drained(pool, 60)
    empty_queue()
    requests = make(count)
    if kind == "backlog":
        pool.pause()
    start = time.perf_counter()
    post_seconds = send_all(client, requests)
    if kind == "backlog":
        start = time.perf_counter()
        pool.resume()
    wait_until_drained(pool, 300)
    seconds = time.perf_counter() - start
    span = task_span()
    pool.stop()
    check_worker_results(builders, requests)
    return WorkerRun(workers, kind, count, seconds, post_seconds, span)


def measure_workers(
    client: WsgiClient, builders: Builders, pool: WorkerPool, count: int, rounds: int
) -> list[WorkerRun]:
    runs = []
    for r in range(rounds):
        order = (1, 2) if r % 2 == 0 else (2, 1)
        for kind in ("end to end", "backlog"):
            for workers in order:
                run = one_worker_run(client, builders, pool, workers, kind, count)
                runs.append(run)
                print(
                    f"  round {r + 1}: {kind}, {workers} worker(s): {run.rate:6.0f} notifications/s "
                    f"({count} in {run.seconds:.2f} s; tasks' own span {run.span_seconds:.2f} s; "
                    f"posting took {run.post_seconds:.2f} s)"
                )
    return runs


# -- report ------------------------------------------------------------------------------


def versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for name in ("Django", "django-tasks", "django-tasks-db", "psycopg"):
        with suppress(metadata.PackageNotFoundError):
            found[name] = metadata.version(name)
    return found


def mode_check_us() -> float:
    from django_kakaopay.conf import notification_mode

    number = 100_000
    best = min(timeit.repeat(lambda: notification_mode("sandbox"), number=number, repeat=5))
    return best / number * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=2000, help="requests per path (2000)")
    parser.add_argument("--blocks", type=int, default=10, help="alternating blocks (10)")
    parser.add_argument(
        "--workers-count", type=int, default=1000, help="notifications per worker run (1000)"
    )
    parser.add_argument("--workers-rounds", type=int, default=3, help="rounds of worker runs (3)")
    parser.add_argument(
        "--workers-interval", type=float, default=0.1, help="db_worker --interval (0.1)"
    )
    parser.add_argument("--json", metavar="FILE", help="write the figures as JSON")
    args = parser.parse_args()
    if args.count < args.blocks or args.blocks < 1:
        parser.error("--count must be at least --blocks, and --blocks at least 1")
    if not 1 <= args.workers_count <= 20000 or not 1 <= args.workers_rounds <= 10:
        parser.error("--workers-count is 1 to 20000, --workers-rounds 1 to 10")

    forbid_network()
    cleanup = setup_database()
    pool: WorkerPool | None = None
    try:
        from django.db import connection

        if connection.vendor == "postgresql":
            pool = WorkerPool(args.workers_interval)
        run(args, pool)
    finally:
        if pool is not None:
            pool.remove()
        cleanup()


def run(args: argparse.Namespace, pool: WorkerPool | None) -> None:
    from django.conf import settings
    from django.core.handlers.wsgi import WSGIHandler
    from django.db import connection

    from django_kakaopay.conf import notification_mode

    assert notification_mode(QUEUED_ALIAS) == "queued"
    assert notification_mode("sandbox") == "inline"
    client = WsgiClient(WSGIHandler())
    builders = Builders()
    db = settings.DATABASES["default"]
    found = versions()
    vendor = connection.vendor
    print(
        f"database: {vendor} ({connection.display_name}); CONN_MAX_AGE={db['CONN_MAX_AGE']}, "
        f"ATOMIC_REQUESTS={db['ATOMIC_REQUESTS']}; task backend: "
        f"{settings.TASKS['default']['BACKEND']}; {os.cpu_count()} CPUs"
    )
    print("versions: " + ", ".join(f"{k} {v}" for k, v in found.items()))
    print(f"acknowledgement: {args.count} requests per path in {args.blocks} alternating blocks")

    paths = ack_paths(builders)
    sizes = measure_acks(client, paths, args.count, args.blocks)
    problems = verify_acks(builders)
    print(
        "verified: inline and floor payments paid; queued ones stored and enqueued, not applied"
        if not problems
        else "VERIFY FAILED: " + "; ".join(problems)
    )
    ms = {path.name: median_ms(path, sizes) for path in paths}
    print()
    print(f"{'path':<42} {'ms/req':>8} {'req/s':>7} {'spread':>13}  statements")
    for path in paths:
        per_block = [t / n for t, n in zip(path.blocks_ms, sizes, strict=True)]
        assert path.statements is not None
        print(
            f"{path.label:<42} {ms[path.name]:8.3f} {1e3 / ms[path.name]:7.0f} "
            f"{min(per_block):6.2f}-{max(per_block):<6.2f}  {path.statements.data}"
        )
    print()
    print("statements per request (one representative request each)")
    for path in paths:
        assert path.statements is not None
        print(f"  {path.label}: {path.statements.summary()}")

    ratios = {
        "queued/inline": ms["queued"] / ms["inline"],
        "queued/floor": ms["queued"] / ms["floor"],
        "queued_memory/inline": ms["queued_memory"] / ms["inline"],
        "inline/floor": ms["inline"] / ms["floor"],
        "inline/inline_no_check": ms["inline"] / ms["inline_no_check"],
    }
    check_us = mode_check_us()
    print()
    print("ratios of ms per request (below 1: the first is faster)")
    for name, value in ratios.items():
        print(f"  {name}: {value:.2f}x")
    reference = README_SANDBOX_OVER_FLOOR.get(vendor)
    if reference is not None:
        print(
            f"  inline/floor in bench_webhooks' last recorded run (README): {reference:.2f}x "
            f"(ours sandbox throughput {1 / reference:.2f}x the floor's)"
        )
    print(
        f"  one notification_mode() call: {check_us:.2f} us "
        f"({check_us / (ms['inline'] * 1e3) * 100:.2f} % of an inline acknowledgement)"
    )

    worker_runs: list[WorkerRun] = []
    if pool is None:
        print()
        print("workers: SKIPPED on SQLite (db_worker processes need PostgreSQL: set DATABASE_URL)")
    else:
        from django_tasks_db.models import DBTaskResult

        print()
        print(
            f"workers: {args.workers_count} notifications per run, {args.workers_rounds} "
            f"round(s), db_worker --interval {args.workers_interval}"
        )
        DBTaskResult.objects.all().delete()
        worker_runs = measure_workers(
            client, builders, pool, args.workers_count, args.workers_rounds
        )
        print()
        print(f"{'workers':<28} {'notifications/s (median)':>26}")
        for kind in ("end to end", "backlog"):
            for workers in (1, 2):
                rates = [r.rate for r in worker_runs if r.kind == kind and r.workers == workers]
                print(f"{kind + f', {workers} worker(s)':<28} {statistics.median(rates):26.0f}")
        posts = [r.count / r.post_seconds for r in worker_runs if r.kind == "backlog"]
        print(f"{'posting alone (queued acks)':<28} {statistics.median(posts):26.0f}")
        for kind in ("end to end", "backlog"):
            one = statistics.median(
                r.rate for r in worker_runs if r.kind == kind and r.workers == 1
            )
            two = statistics.median(
                r.rate for r in worker_runs if r.kind == kind and r.workers == 2
            )
            ratios[f"{kind}: 2 workers/1"] = two / one
            print(f"  {kind}: two workers / one: {two / one:.2f}x")

    if args.json:
        report = {
            "database": vendor,
            "versions": found,
            "count": args.count,
            "block_sizes": sizes,
            "verified": not problems,
            "ack_ms": ms,
            "ack_block_ms": {path.name: path.blocks_ms for path in paths},
            "statements": {
                path.name: path.statements.by_verb if path.statements else None for path in paths
            },
            "ratios": ratios,
            "notification_mode_us": check_us,
            "worker_runs": [{**run.__dict__, "rate": run.rate} for run in worker_runs],
        }
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
        print(f"\nwrote {args.json}")
    if problems:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
