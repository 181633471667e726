"""Generated notifications against the notification contract, for each backend.

Each backend gets at least 1,000 generated deliveries (half with valid
credentials, half forged) built by ``tests.fuzz_bodies`` from the documented
payloads and pointed at payments created first, so genuine ones move money.
Every answer and the database after it are checked against the contract
described there; all violations are collected and reported together, grouped
by kind with example cases. PortOne's notifications are signed hints that the
backend looks up at PortOne's API: for the whole run ``responses`` answers
those look-ups as each case says (paid, wrong amount, cancelled, 404, 5xx, a
timeout ...), see ``tests.fuzz_portone``.

    pytest tests/test_webhook_fuzz.py -rA
    KAKAOPAY_FUZZ_SEED=7 KAKAOPAY_FUZZ_CASES=3000 pytest tests/test_webhook_fuzz.py -rA

The seed is fixed by default, so every run sends the same cases; it is
printed with the counts of answers per status code, which are also recorded
as test properties (``--junitxml``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any

import pytest
from django.test import override_settings

from django_kakaopay.conf import backends

from .fuzz_bodies import ALIASES, Runner, fuzz_settings, quiet_logs

# The endpoint commits its own transactions (the inbox row first, on its own),
# and on PostgreSQL a failed statement must abort only itself, as in
# production, not a test-wide transaction that every later case would share.
pytestmark = pytest.mark.django_db(transaction=True)

SEED = os.environ.get("KAKAOPAY_FUZZ_SEED", "20261123")
CASES = int(os.environ.get("KAKAOPAY_FUZZ_CASES", "1000"))
# Non-default limits, so the test also shows that the settings are read.
MAX_BODY = 128 * 1024
REJECTED_KEEP = 30


@pytest.mark.parametrize("alias", ALIASES)
def test_generated_notifications_keep_the_contract(
    alias: str, record_property: Callable[[str, Any], None]
) -> None:
    limits = fuzz_settings(max_body=MAX_BODY, keep=REJECTED_KEEP)
    with override_settings(KAKAOPAY=limits), quiet_logs():
        backends.clear()
        report = Runner(alias, SEED).run(CASES)
    backends.clear()
    summary = report.summary()
    print(summary)
    for text in report.tracebacks[:2]:
        print(text)
    record_property("seed", SEED)
    record_property("status_codes", json.dumps(dict(sorted(report.codes.items()))))
    record_property("violations", len(report.violations))
    assert report.cases >= min(CASES, 1000)
    # A count, not the list: pytest would spell out every case of it.
    violations = len(report.violations)
    assert violations == 0, summary
