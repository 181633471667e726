"""Bounded fuzz soak of the notification endpoint of every backend.

    python benchmarks/soak_webhooks.py [--count 10000] [--seed N] [--backend sandbox ...]
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test python benchmarks/soak_webhooks.py

Sends ``--count`` generated notifications per backend (sandbox, Checkout.com,
Smart2Pay) through Django's test client, half with valid credentials and
half forged, built by ``tests/fuzz_bodies.py`` (the generator of
``tests/test_webhook_fuzz.py``), and checks every answer and the database
after it against the notification contract described there. The app's own
limits apply (``WEBHOOK_MAX_BODY_BYTES``, ``WEBHOOK_REJECTED_KEEP``).

Prints per backend the answers per status code, unhandled exceptions (with
the first tracebacks), 5xx answers, state changes without valid credentials,
invariant violations, other contract violations, the rejected rows stored and
the longest body stored in them. Exits 1 when any of those is wrong.

The seed is random unless given, and printed: ``--seed`` repeats a run.
Runs on a fresh SQLite file, or on PostgreSQL with ``DATABASE_URL`` (a test
database is created beside the named one). It sends nothing over the network.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

UNAUTHENTICATED_CHANGES = (
    "forged notification changed payments/refunds/preapprovals/transitions",
    "forged notification created or changed a non-rejected inbox row",
)
INVARIANTS = (
    "refunded amount out of range",
    "a paid payment left the paid statuses",
    "transition not allowed",
    "paid although the notification claims other money",
)


def soak(alias: str, count: int, seed: str, examples: int, batch_every: int) -> bool:
    """Run one backend; print its report; whether it kept the contract."""
    from django_kakaopay.conf import backends
    from tests.fuzz_bodies import REJECTED_BODY_BYTES, Runner, limits, quiet_logs

    backends.clear()
    runner = Runner(alias, seed, batch_every=batch_every)

    def progress(index: int) -> None:
        if (index + 1) % 1000 == 0:
            print(f"  {alias}: {index + 1} of {count}", flush=True)

    with quiet_logs():
        report = runner.run(count, progress=progress)
    _max_body, keep = limits()
    groups = report.groups()

    def total(kinds: tuple[str, ...]) -> int:
        return sum(len(groups.get(kind, [])) for kind in kinds)

    exceptions = report.exceptions
    # Unplanned 5xx only: a hint-style backend answers 503 on purpose when the
    # provider's look-up fails (the contract expects it), and that is no error.
    server_errors = len(groups.get("5xx answer", []))
    unauthenticated = total(UNAUTHENTICATED_CHANGES)
    invariants = total(INVARIANTS)
    known = {"unhandled exception", "5xx answer", *UNAUTHENTICATED_CHANGES, *INVARIANTS}
    answers = sum(len(items) for kind, items in groups.items() if kind not in known)
    too_many = report.rejected_rows > keep
    too_long = report.longest_rejected_body > REJECTED_BODY_BYTES
    print(f"== {alias}: {report.cases} requests in {report.seconds:.1f} s (seed {seed})")
    print(f"  answers per status code: {dict(sorted(report.codes.items()))}")
    for expect, codes in sorted(report.by_expectation.items()):
        print(f"    expected {expect:<10} got {dict(sorted(codes.items()))}")
    print(f"  unhandled exceptions: {exceptions}")
    print(f"  unplanned 5xx answers: {server_errors}")
    print(f"  state changes without valid credentials: {unauthenticated}")
    print(f"  invariant violations: {invariants}")
    print(f"  other contract violations (wrong answer, missing malformed row, ...): {answers}")
    print(
        f"  rejected rows stored: {report.rejected_rows} (at most {keep})"
        f"{'  <-- TOO MANY' if too_many else ''}"
    )
    print(
        f"  longest rejected body stored: {report.longest_rejected_body} bytes "
        f"(at most {REJECTED_BODY_BYTES}){'  <-- TOO LONG' if too_long else ''}"
    )
    if report.violations:
        print("\n".join(report.summary(examples).splitlines()[len(report.by_expectation) + 2 :]))
    for text in report.tracebacks[:3]:
        print("  first tracebacks:" if text is report.tracebacks[0] else "")
        print("    " + text.rstrip().replace("\n", "\n    "))
    bad = exceptions + server_errors + unauthenticated + invariants + answers
    return not bad and not too_many and not too_long


def main(argv: list[str] | None = None) -> int:
    from tests.fuzz_bodies import ALIASES

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=10000, help="requests per backend")
    parser.add_argument("--seed", default=None, help="repeat a run (default: random)")
    parser.add_argument(
        "--backend", action="append", choices=ALIASES, help="only this backend (repeatable)"
    )
    parser.add_argument("--examples", type=int, default=2, help="example cases per violation")
    parser.add_argument(
        "--batch-every",
        type=int,
        default=250,
        help="create fresh payments to notify about every N requests",
    )
    options = parser.parse_args(argv)
    seed = options.seed if options.seed is not None else str(secrets.randbelow(10**9))

    from django.conf import settings

    if os.environ.get("DATABASE_URL"):
        # Its own test database, so that a soak never drops the test suite's.
        database: dict[str, Any] = settings.DATABASES["default"]
        database.setdefault("TEST", {})["NAME"] = "test_django_kakaopay_soak"
    from benchmarks.bench_pipeline import setup_database

    setup_database()
    from django.db import connection

    from tests.fuzz_bodies import fuzz_settings

    settings.KAKAOPAY = fuzz_settings()
    print(f"database: {connection.vendor}; {options.count} requests per backend; seed {seed}")
    results: dict[str, Any] = {}
    for alias in options.backend or ALIASES:
        results[alias] = soak(alias, options.count, seed, options.examples, options.batch_every)
    failed = [alias for alias, ok in results.items() if not ok]
    print(f"contract kept: {', '.join(a for a in results if results[a]) or 'none'}")
    if failed:
        print(f"contract broken: {', '.join(failed)} (repeat with --seed {seed})")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
