"""schemathesis against the REST API, as a customer and as staff.

The committed schema (docs/api/openapi.yaml, which tests/test_api.py keeps
identical to what ``kakaopay_api_schema`` prints) is what a new user reads,
so it is what schemathesis tests: every phase (examples, coverage, fuzzing,
stateful), every check, a fixed seed and a bounded number of examples, over
HTTP against a server on loopback that this test starts. Each role signs in
with basic authentication and finds a few paid payments and active
agreements to refund, charge and cancel besides those it creates.

The run must report no failure. What schemathesis may not count as one is
listed in ``ALSO_ACCEPTED`` and ``rules_the_schema_cannot_state``, each
with its reason; the one generator heuristic turned off says why where it
is. ``KAKAOPAY_FUZZ_CASES`` (250 in CI's compatibility runs) scales the
number of examples, as it does for the webhook fuzz.
"""

from __future__ import annotations

import os
import re
import socket
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import schemathesis
import yaml
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Permission, User
from django.core.servers.basehttp import WSGIServer
from django.db import connections
from django.test import override_settings
from django.test.testcases import LiveServerThread
from schemathesis.engine import events, from_schema

from tests.helpers import active_preapproval, paid_payment
from tests.test_api import SCHEMA_PATH

SEED = 20261123
# KAKAOPAY_FUZZ_CASES (1000) sizes the fuzz runs of the suite, as for the
# webhook fuzz: CI's compatibility runs use 250, and fewer examples here.
SCALE = int(os.environ.get("KAKAOPAY_FUZZ_CASES", "1000")) / 1000
MAX_EXAMPLES = max(5, round(25 * SCALE))
STATEFUL_STEPS = 12
PASSWORD = "schemathesis-pw"

# -- a server on loopback --------------------------------------------------------------


class _Server(WSGIServer):
    """One request at a time, each on its own connection (schemathesis sends them
    one by one), so that no request thread outlives the run; with Nagle's
    algorithm off, or every answer waits ~40 ms for a delayed ACK on loopback."""

    def __init__(self, *args: Any, connections_override: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)  # the thread has the overridden connections

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, address = super().get_request()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock, address


class _ServerThread(LiveServerThread):
    server_class = _Server


@contextmanager
def loopback_server() -> Iterator[str]:
    """Serve the test URLconf on a free loopback port, as ``LiveServerTestCase`` does
    (an in-memory SQLite database is shared with the server's thread)."""
    shared = {
        conn.alias: conn
        for conn in connections.all()
        if conn.vendor == "sqlite" and conn.is_in_memory_db()
    }
    thread = _ServerThread("localhost", lambda app: app, connections_override=shared, port=0)
    thread.daemon = True
    for conn in shared.values():
        conn.inc_thread_sharing()
    thread.start()
    thread.is_ready.wait()
    try:
        if thread.error:
            raise thread.error
        yield f"http://localhost:{thread.port}"
    finally:
        thread.terminate()
        for conn in shared.values():
            conn.dec_thread_sharing()


# -- what schemathesis may not count as a failure ----------------------------------------

POSITIVE_DEFAULT = ["2xx", "3xx", "401", "403", "404", "409", "429", "5xx"]

#: Per operation, the statuses schema-valid data may get besides schemathesis' own list.
ALSO_ACCEPTED: dict[str, list[str]] = {
    # An Idempotency-Key must be new for each request. A fuzzer sends one
    # generated key with different requests, which the server rightly refuses
    # with the documented 422; a schema cannot say "unique".
    "payments_refunds_create": ["422"],
    "preapprovals_cancel_create": ["422"],
    # The same, and these also check rules that OpenAPI 3.0 cannot state:
    # between fields, against stored rows, against the project's settings.
    # Their 400s are documented; ``rules_the_schema_cannot_state`` lets only
    # those through.
    "payments_create": ["400", "422"],
    "preapprovals_create": ["400", "422"],
    "preapprovals_charges_create": ["400", "422"],
}

ANY = re.compile("")
#: Operation → field → the messages of rules that a schema-valid request may break.
RULES: dict[str, dict[str, re.Pattern[str]]] = {
    "payments_create": {
        # ALLOWED_HOSTS and KAKAOPAY["ALLOWED_REDIRECT_HOSTS"] decide; no pattern can.
        "success_url": ANY,
        "failure_url": ANY,
        "items": re.compile(r"^The items add up to \d+, not to the amount \d+\.$"),
        "tax_free_amount": re.compile(r"^The tax-free amount cannot exceed the amount\.$"),
        "vat_amount": re.compile(r"^The VAT cannot exceed the taxable part of the amount\.$"),
        "os_type": re.compile(r"^ios or android is required when terminal_type is app\.$"),
        "currency": re.compile(r"^The backend '\w+' does not take KakaoPay payments in \w+\.$"),
        "reference": re.compile(r"^A payment with this reference already exists\.$"),
    },
    "preapprovals_create": {
        "success_url": ANY,
        "failure_url": ANY,
        "reference": re.compile(r"^A preapproval with this reference already exists\.$"),
        "non_field_errors": re.compile(r"does not take KakaoPay payments in|does not support"),
    },
    "preapprovals_charges_create": {
        "non_field_errors": re.compile(
            r"^(The charge exceeds the agreed maximum amount\."
            r"|Period .* was already charged with a different amount\.)$"
        ),
    },
}


@schemathesis.check
def rules_the_schema_cannot_state(
    ctx: schemathesis.CheckContext, response: schemathesis.Response, case: schemathesis.Case
) -> bool | None:
    """A schema-valid request refused with 400 broke only a rule of ``RULES``."""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code != 400:
        return None
    rules = RULES.get(str(case.operation.definition.raw.get("operationId")), {})
    body = response.json()
    broken = {
        field: messages
        for field, messages in body.items()
        if field not in rules
        or not all(isinstance(m, str) and rules[field].search(m) for m in messages)
    }
    if broken:
        raise AssertionError(
            f"Schema-valid data refused for a reason the schema could state: {broken}"
        )
    return None


# -- the run ---------------------------------------------------------------------------


#: The operations that take an id, and the seeded objects they are given half the time.
SEEDED_IDS = {
    "payments_retrieve": "payments",
    "payments_refunds_list": "payments",
    "payments_refunds_create": "payments",
    "preapprovals_retrieve": "preapprovals",
    "preapprovals_cancel_create": "preapprovals",
    "preapprovals_charges_create": "preapprovals",
}


def config(username: str, base_url: str, seeded: dict[str, list[str]]) -> schemathesis.Config:
    operations: dict[str, dict[str, Any]] = {}
    for operation, extra in ALSO_ACCEPTED.items():
        statuses = [*POSITIVE_DEFAULT, *extra]
        operations.setdefault(operation, {})["checks"] = {
            "positive_data_acceptance": {"expected-statuses": statuses}
        }
    for operation, objects in SEEDED_IDS.items():
        operations.setdefault(operation, {})["parameters"] = {
            "path.id": {"dictionary": objects, "probability": 0.5}
        }
    return schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "base-url": base_url,
            "workers": 1,
            "generation": {
                "deterministic": True,
                "max-examples": MAX_EXAMPLES,
                "database": "none",
            },
            # Nothing is kept between runs: each one starts from the seed alone.
            "cache": {"enabled": False},
            "checks": {"enabled": True},
            "auth": {"basic": {"username": username, "password": PASSWORD}},
            "dictionaries": {name: {"values": ids} for name, ids in seeded.items()},
            "phases": {
                "fuzzing": {
                    # Its reading of DRF's errors takes "This field may not be
                    # blank." for "required" (``currency`` defaults to KRW: blank
                    # is refused, absent is not), and then counts a valid request
                    # without ``currency`` as invalid. A heuristic of the
                    # generator, not a check: no failure is hidden.
                    "error-feedback": {"enabled": False}
                },
                "stateful": {"max-steps": STATEFUL_STEPS},
            },
            "operations": [
                {"include-operation-id": operation, **values}
                for operation, values in sorted(operations.items())
            ],
        }
    )


def run(schema: Any) -> tuple[list[str], Counter[str]]:
    failures: list[str] = []
    seen: Counter[str] = Counter()
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            recorder = event.recorder
            for interaction in recorder.interactions.values():
                if interaction.response is not None:
                    seen[f"{event.phase.value} {interaction.response.status_code}"] += 1
                    seen["requests"] += 1
            for case_id, checks in recorder.checks.items():
                for check in checks:
                    if check.status.name == "FAILURE" and check.failure_info is not None:
                        case = recorder.cases[case_id].value if case_id in recorder.cases else None
                        failures.append(
                            f"[{event.phase.value}] {recorder.label}: {check.name}: "
                            f"{check.failure_info.failure.title}\n"
                            f"{check.failure_info.failure.message}\n"
                            f"{case.as_curl_command() if case is not None else ''}"
                        )
        elif isinstance(event, events.NonFatalError | events.FatalError):
            failures.append(f"{type(event).__name__}: {event}")
    return failures, seen


def seed_objects(customer: User) -> dict[str, list[str]]:
    payments = [str(paid_payment(user=customer).pk) for _ in range(4)]
    preapprovals = [str(active_preapproval(user=customer, max_amount=50000).pk) for _ in range(3)]
    return {"payments": payments, "preapprovals": preapprovals}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("role", ["customer", "staff"])
def test_schemathesis_finds_nothing(role: str) -> None:
    customer = User.objects.create_user("customer")
    staff = User.objects.create_user("staff", is_staff=True)
    codenames = ["refund_payment", "charge_preapproval", "view_payment", "view_preapproval"]
    staff.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    raw = yaml.safe_load(SCHEMA_PATH.read_text(encoding="utf-8"))
    # Fast hashing: every request checks the password. No create limit: the
    # limit's 429 is tested in tests/test_api_schema_answers.py.
    fast = {
        "PASSWORD_HASHERS": ["django.contrib.auth.hashers.MD5PasswordHasher"],
        "KAKAOPAY": {**settings.KAKAOPAY, "API_CREATE_RATE": None},
    }
    with override_settings(**fast), loopback_server() as base_url:
        User.objects.update(password=make_password(PASSWORD))
        seeded = seed_objects(customer)
        schema = schemathesis.openapi.from_dict(raw, config=config(role, base_url, seeded))
        started = time.monotonic()
        failures, seen = run(schema)
        elapsed = time.monotonic() - started
    print(f"\n{role}: {seen['requests']} requests in {elapsed:.1f}s; {dict(sorted(seen.items()))}")
    assert not failures, "\n\n".join(failures[:20])
    # The run still is one: every phase sent requests, and many were answered 2xx.
    for phase in ("examples", "coverage", "fuzzing", "stateful"):
        assert any(key.startswith(f"{phase} ") for key in seen), phase
    assert seen["requests"] >= 500
    assert sum(count for key, count in seen.items() if key.endswith((" 200", " 201"))) >= 100
