"""PortOne in the webhook fuzz harness (``tests/fuzz_bodies.py``): signed hints, API answers.

PortOne's webhooks are Standard Webhooks (``webhook-id``, ``webhook-timestamp``,
``webhook-signature``) and only hints: the backend looks the payment up
(``GET /payments/{paymentId}``) or the billing key
(``GET /billing-keys/{billingKey}``) and applies PortOne's answer. So each
case carries a :class:`Lookup`, drawn from a stream of its own, saying how
PortOne answers whatever the case makes the backend ask; :class:`PortOneApi`
plays PortOne with ``responses`` for the whole run and records every call.

The contract for a genuine delivery, from its body (:func:`read_body`) and
the plan:

- a body that is not strict UTF-8 JSON, holds NUL or a lone surrogate, nests
  deeper than the backend's limit, is not an object, has no type, or names a
  ``Transaction.*``/``BillingKey.*`` event without a readable
  ``paymentId``/``billingKey`` (a non-empty printable string):
  400 and a ``malformed`` row, nothing asked, nothing changed;
- another store's event, a type that is neither ``Transaction.*`` nor
  ``BillingKey.*``, or an id longer than ours can be (a ``paymentId`` over 100
  characters, a ``billingKey`` over 128): 200, row ``ignored``, PortOne not
  asked;
- otherwise exactly one look-up of that id. When PortOne does not answer it
  (timeout, connection error, 5xx, 429, 401, a body that is not a JSON
  object): 503, row ``failed``, nothing changed. When it refuses for good
  (another 4xx than 404; a payment of another store, or on a live channel
  while ``ENVIRONMENT`` is ``test``): 400, row ``malformed``, nothing
  changed. Else 200, and the payment or agreement ends exactly in the state
  the answer means (:func:`payment_outcome`, :func:`agreement_outcome`); an
  answer whose amount or currency is not the payment's never pays it, and one
  that says PAID without a readable ``amount.total`` must not either;
- a delivery whose ``webhook-id`` was already processed or ignored, with a
  body that is JSON: 200 and nothing changes, whatever the look-up answers
  this time (one transition, one signal for an event delivered twice).

Forged deliveries (wrong, missing, rotated-out or truncated signatures,
expired or future timestamps, bodies changed after signing, captured
deliveries replayed late) answer 401, or 403 from an address outside the
allow-list, and never make the backend ask PortOne anything.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import unquote, urlsplit

from tests.fuzz_bodies import DUPLICATE, FINE, MALFORMED, TOO_LARGE, UNCONFIRMED, UNPROVEN

# The store and API of the backend tests (tests/test_portone_backend.py).
STORE = "store-4b1f6f8e-0000-4000-8000-000000000001"
OTHER_STORE = "store-4b1f6f8e-0000-4000-8000-00000000beef"
API = "https://api.portone.io"
# A secret this shop used before the last rotation; no longer configured.
RETIRED_SECRET = "whsec_" + base64.b64encode(b"retired-webhook-secret-000001").decode()
STRANGER_SECRET = "whsec_" + base64.b64encode(b"someone-elses-webhook-secret-1").decode()
TOLERANCE = 300
# The longest paymentId (our reference) and billingKey our columns hold: a
# longer one cannot be ours, so the event is ignored without a look-up.
MAX_IDENTIFIER = {"paymentId": 100, "billingKey": 128}
MAX_SIGNATURES = 10
ALLOWED = ["127.0.0.0/8", "::1/128", "52.78.5.241/32"]  # PortOne documents 52.78.5.241
PROXIES = ["10.0.0.0/8"]
EPOCH = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
STEP = 7  # seconds between two cases on the run's clock

PAYMENT_EVENTS = (
    "Transaction.Ready",
    "Transaction.Paid",
    "Transaction.Paid",
    "Transaction.Paid",
    "Transaction.Failed",
    "Transaction.PayPending",
    "Transaction.VirtualAccountIssued",
    "Transaction.PartialCancelled",
    "Transaction.Cancelled",
    "Transaction.CancelPending",
    "Transaction.DisputeCreated",
)
BILLING_KEY_EVENTS = (
    "BillingKey.Ready",
    "BillingKey.Issued",
    "BillingKey.Issued",
    "BillingKey.Failed",
    "BillingKey.Deleted",
    "BillingKey.Updated",
)
# Types the backend must acknowledge without asking PortOne anything.
OTHER_EVENTS = (
    "Unknown.Type",
    "Payment.Paid",
    "transaction.paid",
    "TransactionPaid",
    "Transaction",
    "BillingKey",
    "billingkey.issued",
    "Dispute.Created",
    " Transaction.Paid",
)

# What PortOne's payment and billing-key statuses mean, as its API reference lists them.
PORTONE_STATUS = {
    "READY": "pending",
    "PAY_PENDING": "pending",
    "VIRTUAL_ACCOUNT_ISSUED": "pending",
    "PAID": "paid",
    "FAILED": "failed",
    "PARTIAL_CANCELLED": "partially_refunded",
    "CANCELLED": "refunded",
}
BILLING_KEY_STATUS = {"ISSUED": "active", "DELETED": "canceled", "PENDING": "pending"}
PAID = frozenset({"paid", "partially_refunded", "refunded"})
MONEY_TAKEN = frozenset({"PAID", "PARTIAL_CANCELLED", "CANCELLED"})

# The expectations of a genuine delivery (fuzz_bodies' labels): FINE 200, MALFORMED
# 400 and a malformed row, UNCONFIRMED 503 and a failed row, UNPROVEN (PAID without
# a readable amount) 200 or 503 and never paid, DUPLICATE (the webhook-id was
# finished before) 200 and nothing changed.


# == what PortOne answers ==========================================================

PAYMENT_PLANS: list[tuple[float, str]] = [
    (24, "paid"),
    (6, "paid-wrong-amount"),
    (2, "paid-wrong-currency"),
    (3, "paid-unreadable-amount"),
    (4, "ready"),
    (2, "pay-pending"),
    (2, "virtual-account-issued"),
    (6, "failed"),
    (6, "partial-cancelled"),
    (4, "cancelled"),
    (2, "cancelled-wrong-amount"),
    (4, "unknown-status"),
    (4, "other-store"),
    (2, "other-channel"),
    (6, "not-found"),
    (4, "server-error"),
    (4, "timeout"),
    (1, "connection-error"),
    (3, "not-json"),
    (1, "rate-limited"),
    (1, "refused"),
    (1, "unauthorized"),
]
BILLING_KEY_PLANS: list[tuple[float, str]] = [
    (26, "issued"),
    (8, "deleted"),
    (4, "pending"),
    (2, "unknown-status"),
    (3, "other-customer"),
    (2, "no-customer"),
    (4, "other-store"),
    (6, "not-found"),
    (4, "server-error"),
    (4, "timeout"),
    (3, "not-json"),
    (1, "refused"),
]
# Answers that confirm nothing: the delivery must be asked for again (503).
UNAVAILABLE = {
    "payment": frozenset(
        {"server-error", "timeout", "connection-error", "not-json", "rate-limited", "unauthorized"}
    ),
    "billing-key": frozenset({"server-error", "timeout", "not-json"}),
}
# Definite refusals, which no retry changes: kept as malformed for a person (400).
REFUSED = {
    "payment": frozenset({"refused", "other-store", "other-channel"}),
    "billing-key": frozenset({"refused"}),
}


@dataclass(frozen=True)
class Lookup:
    """How PortOne answers the look-ups of one case."""

    payment: str
    billing_key: str
    variant: int  # picks among the values of a state (which wrong amount, which 5xx ...)
    stale: bool  # the answer's statusChangedAt lies before what was recorded

    def describe(self, kind: str) -> str:
        state = self.payment if kind == "payment" else self.billing_key
        return f"{state}{' (stale)' if self.stale else ''}"


def draw_lookup(seed: int | str, index: int) -> Lookup:
    """The plan of case ``index``: a stream of its own, so bodies stay as they were."""
    rng = random.Random(f"{seed}:portone-lookup:{index}")
    (payment,) = rng.choices([s for _, s in PAYMENT_PLANS], [w for w, _ in PAYMENT_PLANS])
    (billing,) = rng.choices([s for _, s in BILLING_KEY_PLANS], [w for w, _ in BILLING_KEY_PLANS])
    return Lookup(payment, billing, rng.randrange(10**6), rng.random() < 0.05)


def moment(index: int) -> datetime:
    """The run's clock when case ``index`` is sent."""
    return EPOCH + timedelta(seconds=index * STEP)


def _iso(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes | Exception
    document: Any = None  # the JSON PortOne answered, when it answered JSON


_NOT_JSON = [b"<html><body>502 Bad Gateway</body></html>", b"", b"[1, 2]", b'"PAID"', b"{"]


def _json(status: int, value: Any) -> Answer:
    return Answer(status, json.dumps(value).encode(), value)


def _error(status: int, kind: str) -> Answer:
    return _json(status, {"type": kind, "message": f"fuzzed {kind}"})


def _failure(state: str, variant: int, what: str) -> Answer | None:
    """The answers that are no usable object, shared by both look-ups."""
    import requests

    if state == "not-found":
        kind = "PAYMENT_NOT_FOUND" if what == "payment" else "BILLING_KEY_NOT_FOUND"
        return _error(404, kind)
    if state == "server-error":
        return _error([500, 502, 503, 504][variant % 4], "INTERNAL_SERVER_ERROR")
    if state == "timeout":
        return Answer(0, requests.exceptions.ReadTimeout("fuzzed read timeout"))
    if state == "connection-error":
        return Answer(0, requests.exceptions.ConnectionError("fuzzed connection reset"))
    if state == "not-json":
        body = _NOT_JSON[variant % len(_NOT_JSON)]
        return Answer(200, body, json.loads(body) if body[:1] in (b"[", b'"') else None)
    if state == "rate-limited":
        return _error(429, "TOO_MANY_REQUESTS")
    if state == "refused":
        return _error(400, "INVALID_REQUEST")
    if state == "unauthorized":
        return _error(401, "UNAUTHORIZED")
    return None


def payment_answer(plan: Lookup, payment_id: str, amount: int, when: datetime) -> Answer:
    """PortOne's answer to ``GET /payments/{payment_id}``; ``amount`` is the payment's own."""
    from tests.test_portone_backend import payment_object

    failed = _failure(plan.payment, plan.variant, "payment")
    if failed is not None:
        return failed
    state, variant = plan.payment, plan.variant
    changed = _iso(when - timedelta(days=30) if plan.stale else when)
    extra: dict[str, Any] = {
        "transactionId": "tx-" + hashlib.sha256(payment_id.encode()).hexdigest()[:32],
        "statusChangedAt": changed,
        "updatedAt": changed,
    }
    if state == "other-store":  # PAID, and the amount is right, but not for this store
        extra["storeId"] = OTHER_STORE
        state = "paid"
    elif state == "other-channel":  # PAID on a live channel; the site is ENVIRONMENT test
        extra["channel"] = {**payment_object(payment_id)["channel"], "type": "LIVE"}
        state = "paid"
    wrong = [amount + 1, max(0, amount - 1), amount // 2, 0, 1, amount * 10]
    if state in ("paid", "paid-wrong-amount", "paid-wrong-currency", "paid-unreadable-amount"):
        total = wrong[variant % len(wrong)] if state == "paid-wrong-amount" else amount
        document = payment_object(payment_id, "PAID", total=total, **extra)
        if state == "paid-wrong-currency":
            document["currency"] = ["USD", "JPY", "CURRENCY_USD"][variant % 3]
        elif state == "paid-unreadable-amount":
            unreadable: list[Any] = [
                str(amount),
                float(amount),
                None,
                True,
                {"value": amount},
                f"{amount:,}",
            ]
            choice = variant % (len(unreadable) + 2)
            if choice == len(unreadable):
                del document["amount"]["total"]
            elif choice == len(unreadable) + 1:
                document["amount"] = str(amount)
            else:
                document["amount"]["total"] = unreadable[choice]
        return _json(200, document)
    if state in ("ready", "pay-pending", "virtual-account-issued", "failed"):
        status = state.upper().replace("-", "_")
        return _json(200, payment_object(payment_id, status, total=amount, **extra))
    if state in ("partial-cancelled", "cancelled", "cancelled-wrong-amount"):
        if state == "cancelled":
            status, total, cancelled = "CANCELLED", amount, amount
        else:
            status = "PARTIAL_CANCELLED"
            total = amount if state == "partial-cancelled" else wrong[variant % len(wrong)]
            cancelled = 1 + variant % max(1, amount - 1)
        return _json(
            200, payment_object(payment_id, status, total=total, cancelled=cancelled, **extra)
        )
    # unknown-status: a status PortOne may add one day, now and then with money given back
    cancelled = amount // 2 if variant % 2 == 0 else 0
    return _json(
        200, payment_object(payment_id, "SOMETHING_NEW", total=amount, cancelled=cancelled, **extra)
    )


def billing_key_answer(plan: Lookup, billing_key: str, customer: str, when: datetime) -> Answer:
    """PortOne's answer to ``GET /billing-keys/{billing_key}``, issued for ``customer``."""
    from tests.test_portone_backend import billing_key_object

    failed = _failure(plan.billing_key, plan.variant, "billing-key")
    if failed is not None:
        return failed
    state = plan.billing_key
    changed = _iso(when - timedelta(days=30) if plan.stale else when)
    status = {
        "issued": "ISSUED",
        "deleted": "DELETED",
        "pending": "PENDING",
        "unknown-status": "SUSPENDED",
    }.get(state, "ISSUED")
    document = billing_key_object(
        customer, status, billingKey=billing_key, statusChangedAt=changed, issuedAt=changed
    )
    if state == "other-customer":
        document["customer"] = {"id": f"someone-else-{plan.variant}"}
    elif state == "no-customer":
        document["customer"] = [{}, {"id": ""}, {"name": "Kim"}, None][plan.variant % 4]
    elif state == "other-store":
        document["storeId"] = OTHER_STORE
    return _json(200, document)


# == the API double ==================================================================

_PAYMENT_URL = re.compile(re.escape(API) + r"/payments/([^/?#]*)$")
_BILLING_KEY_URL = re.compile(re.escape(API) + r"/billing-keys/([^/?#]*)$")
BILLING_KEY_PREFIX = "billing-key-fz-"


@dataclass(frozen=True)
class Call:
    kind: str  # "payment" or "billing-key"
    identifier: str
    answer: Answer


@dataclass
class PortOneApi:
    """PortOne's API for a run; set ``plan``, ``amounts`` and ``now`` before each case."""

    plan: Lookup | None = None
    now: datetime = EPOCH
    amounts: dict[str, int] = field(default_factory=dict)  # reference -> amount, ours
    calls: list[Call] = field(default_factory=list)
    _mock: Any = None

    @contextmanager
    def running(self) -> Iterator[PortOneApi]:
        import responses

        with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
            mock.add_callback(responses.GET, _PAYMENT_URL, callback=self._payment)
            mock.add_callback(responses.GET, _BILLING_KEY_URL, callback=self._billing_key)
            self._mock = mock
            try:
                yield self
            finally:
                self._mock = None

    def sent(self) -> int:
        """Requests sent so far, including any that matched no look-up."""
        return len(self._mock.calls) if self._mock is not None else 0

    def _reply(self, call: Call) -> tuple[int, dict[str, str], bytes | Exception]:
        self.calls.append(call)
        answer = call.answer
        if isinstance(answer.body, Exception):
            return 0, {}, answer.body
        return answer.status, {"Content-Type": "application/json"}, answer.body

    def _payment(self, request: Any) -> tuple[int, dict[str, str], bytes | Exception]:
        payment_id = unquote(urlsplit(request.url).path.rsplit("/", 1)[1])
        plan = self.plan or Lookup("not-found", "not-found", 0, False)
        amount = self.amounts.get(payment_id, 11000)
        answer = payment_answer(plan, payment_id, amount, self.now)
        return self._reply(Call("payment", payment_id, answer))

    def _billing_key(self, request: Any) -> tuple[int, dict[str, str], bytes | Exception]:
        billing_key = unquote(urlsplit(request.url).path.rsplit("/", 1)[1])
        plan = self.plan or Lookup("not-found", "not-found", 0, False)
        customer = (
            billing_key.removeprefix(BILLING_KEY_PREFIX)
            if billing_key.startswith(BILLING_KEY_PREFIX)
            else f"customer-of-{hashlib.sha256(billing_key.encode()).hexdigest()[:12]}"
        )
        answer = billing_key_answer(plan, billing_key, customer, self.now)
        return self._reply(Call("billing-key", billing_key, answer))


class FrozenClock:
    """Stands in for ``time`` in the signatures module: the run's clock, not the machine's."""

    def __init__(self) -> None:
        self.now = EPOCH.timestamp()

    def time(self) -> float:
        return self.now


@contextmanager
def frozen_signature_clock(clock: FrozenClock) -> Iterator[None]:
    """Timestamps are checked against ``clock``, so every run signs the same bytes."""
    from unittest import mock

    from django_kakaopay.backends.portone import signatures

    with mock.patch.object(signatures, "time", clock):
        yield


# == settings and bodies ================================================================


def backend_settings() -> dict[str, Any]:
    """The backend as the backend tests configure it, mid-rotation and behind an allow-list."""
    from tests.test_portone_backend import OLD_WEBHOOK_SECRET, OPTIONS, WEBHOOK_SECRET

    assert OPTIONS["STORE_ID"] == STORE
    assert OPTIONS["ENVIRONMENT"] == "test"
    return {
        "BACKEND": "django_kakaopay.backends.portone.PortOneBackend",
        "OPTIONS": {
            **OPTIONS,
            "WEBHOOK_SECRETS": [WEBHOOK_SECRET, OLD_WEBHOOK_SECRET],
            "NOTIFICATION_IP_ALLOWLIST": ALLOWED,
            "TRUSTED_PROXIES": PROXIES,
        },
    }


def billing_key_of(reference: str) -> str:
    return BILLING_KEY_PREFIX + reference


def event(index: int, rng: random.Random, target: Any, when: str) -> tuple[dict[str, Any], str]:
    """A documented PortOne event about ``target`` (a fuzz_bodies.Target)."""
    data: dict[str, Any] = {"storeId": STORE}
    if target.kind == "preapproval":
        kind = rng.choice(BILLING_KEY_EVENTS)
        data["billingKey"] = target.provider_id or billing_key_of(target.reference)
    else:
        kind = rng.choice(PAYMENT_EVENTS)
        data["paymentId"] = target.reference
        data["transactionId"] = f"0191a2b3-0000-7000-8000-{index:012d}"
        if kind in ("Transaction.PartialCancelled", "Transaction.Cancelled") or (
            kind == "Transaction.CancelPending"
        ):
            data["cancellationId"] = f"0191a2b3-0000-7000-9000-{index:012d}"
    roll = rng.random()
    if roll < 0.08:
        del data["storeId"]  # older webhook versions send none
    elif roll < 0.12:
        data["storeId"] = OTHER_STORE
    return {"type": kind, "timestamp": when, "data": data}, f"portone {kind}"


# == reading a body as the contract says the backend must ================================

MALFORMED_KIND = "malformed"
IGNORED_KIND = "ignored"


@dataclass(frozen=True)
class Reading:
    kind: str  # "malformed", "ignored", "payment" or "billing-key"
    keyed_by_id: bool  # whether the inbox row is keyed by webhook-id (else by a hash)
    identifier: str = ""
    why: str = ""


def _refuse(name: str) -> Any:
    raise ValueError(name)


def _finite(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise ValueError(text)
    return value


def _nesting_and_storable(value: Any) -> tuple[int, bool]:
    deepest, storable = 0, True
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, str):
            if "\x00" in node or any("\ud800" <= char <= "\udfff" for char in node):
                storable = False
        elif isinstance(node, dict | list):
            deepest = max(deepest, depth)
            if isinstance(node, dict):
                stack.extend((key, depth) for key in node)
                stack.extend((item, depth + 1) for item in node.values())
            else:
                stack.extend((item, depth + 1) for item in node)
    return deepest, storable


def read_body(body: bytes) -> Reading:
    """What an authenticated ``body`` is, by the contract in the module docstring."""
    from django_kakaopay.backends.payloads import MAX_JSON_DEPTH

    try:
        value = json.loads(body.decode("utf-8"), parse_constant=_refuse, parse_float=_finite)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        return Reading(MALFORMED_KIND, False, why="not strict UTF-8 JSON")
    deepest, storable = _nesting_and_storable(value)
    if deepest > MAX_JSON_DEPTH:
        return Reading(MALFORMED_KIND, False, why="nested too deep")
    if not storable:
        return Reading(MALFORMED_KIND, False, why="NUL or a lone surrogate")
    if not isinstance(value, dict):
        return Reading(MALFORMED_KIND, True, why="not an object")
    kind = value.get("type")
    if not isinstance(kind, str) or not kind:
        return Reading(MALFORMED_KIND, True, why="no type")
    data = value.get("data")
    data = data if isinstance(data, dict) else {}
    store = data.get("storeId")
    if isinstance(store, str) and store and store != STORE:
        return Reading(IGNORED_KIND, True, why="another store's event")
    if kind[:100].startswith("Transaction."):
        looked_up, name = "payment", "paymentId"
    elif kind[:100].startswith("BillingKey."):
        looked_up, name = "billing-key", "billingKey"
    else:
        return Reading(IGNORED_KIND, True, why="neither a Transaction nor a BillingKey event")
    identifier = data.get(name)
    if not isinstance(identifier, str) or not identifier or not identifier.isprintable():
        return Reading(MALFORMED_KIND, True, why=f"no readable {name}")
    if len(identifier) > MAX_IDENTIFIER[name]:
        return Reading(IGNORED_KIND, True, why=f"a {name} longer than any of ours")
    return Reading(looked_up, True, identifier)


def body_problem(payload: Any) -> str:
    """fuzz_bodies.hard_problem for PortOne: why a parsed payload is malformed, or ``""``."""
    if not isinstance(payload, dict):
        return "not a non-empty JSON object"
    reading = read_body(json.dumps(payload).encode())
    return reading.why if reading.kind == MALFORMED_KIND else ""


def expectation(reading: Reading, plan: Lookup) -> str:
    """The expectation label of a genuine delivery that is no duplicate."""
    if reading.kind == MALFORMED_KIND:
        return MALFORMED
    if reading.kind == IGNORED_KIND:
        return FINE
    state = plan.payment if reading.kind == "payment" else plan.billing_key
    if state in UNAVAILABLE[reading.kind]:
        return UNCONFIRMED
    if state in REFUSED[reading.kind]:
        return MALFORMED
    if reading.kind == "payment" and state == "paid-unreadable-amount":
        return UNPROVEN
    return FINE


# == credentials ==========================================================================


def signature(secret: str, msg_id: str, timestamp: int | str, body: bytes) -> str:
    """The ``v1,<base64>`` entry, written from the Standard Webhooks specification."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    digest = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def _headers(msg_id: str, timestamp: int | str, signatures: str) -> dict[str, str]:
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signatures,
    }


def genuine(
    body: bytes, msg_id: str, now: int, rng: random.Random
) -> tuple[dict[str, str], str, str]:
    """Headers, sender address and label of a delivery PortOne really signed."""
    from tests.test_portone_backend import OLD_WEBHOOK_SECRET, WEBHOOK_SECRET

    offset = rng.choice([0, 0, 0, rng.randint(-TOLERANCE, TOLERANCE), -TOLERANCE, TOLERANCE])
    timestamp = now + offset
    current = signature(WEBHOOK_SECRET, msg_id, timestamp, body)
    old = signature(OLD_WEBHOOK_SECRET, msg_id, timestamp, body)
    how = rng.choice(["current", "current", "current", "old", "both", "versions", "many"])
    if how == "current":
        value = current
    elif how == "old":  # the secret being rotated out still verifies
        value = old
    elif how == "both":
        value = " ".join(rng.sample([current, old], 2))
    elif how == "versions":  # other schemes' entries beside ours are skipped
        value = f"v1a,{base64.b64encode(b'x' * 32).decode()} {current}"
    else:
        spare = [signature(STRANGER_SECRET, msg_id, timestamp, body)] * rng.randint(1, 8)
        value = " ".join([*spare, current])
    headers = _headers(msg_id, timestamp, value)
    where = rng.random()
    label = f"signed ({how}, {offset:+d} s)"
    if where < 0.1:
        headers["X-Forwarded-For"] = "198.51.100.9, 52.78.5.241"
        return headers, "10.0.0.2", label + ", through a trusted proxy"
    if where < 0.15:
        return headers, "::ffff:127.0.0.1", label + ", mapped IPv6"
    if where < 0.2:
        return headers, "52.78.5.241", label + ", from PortOne's address"
    return headers, "127.0.0.1", label


# Eastern Arabic digits as a WSGI server hands UTF-8 header bytes over (latin-1).
_ARABIC_DIGITS = "\u0661\u0667\u0660\u0660".encode().decode("latin-1")


def forged(
    body: bytes,
    msg_id: str,
    now: int,
    rng: random.Random,
    earlier: Callable[[int], Any | None] | None = None,
    index: int = 0,
) -> tuple[bytes, dict[str, str], str, str, int]:
    """(body, headers, address, label, expected answer) of a delivery PortOne did not sign."""
    from tests.test_portone_backend import WEBHOOK_SECRET

    good = signature(WEBHOOK_SECRET, msg_id, now, body)
    digest = good.split(",", 1)[1]
    flipped = digest[:5] + ("A" if digest[5] != "A" else "B") + digest[6:]
    late = rng.randint(TOLERANCE + 1, 10**7)
    choices: dict[str, Any] = {
        "missing signature": {"webhook-id": msg_id, "webhook-timestamp": str(now)},
        "missing id": {"webhook-timestamp": str(now), "webhook-signature": good},
        "missing timestamp": {"webhook-id": msg_id, "webhook-signature": good},
        "no headers": {},
        "empty signature": _headers(msg_id, now, ""),
        "v1,AAAA": _headers(msg_id, now, "v1,AAAA"),
        "not base64": _headers(msg_id, now, "v1,!!not-base64!!"),
        "wrong version": _headers(msg_id, now, "v2," + digest),
        "no version": _headers(msg_id, now, digest),
        "one character changed": _headers(msg_id, now, "v1," + flipped),
        "truncated": _headers(msg_id, now, good[: rng.randrange(3, len(good) - 1)]),
        "stranger's secret": _headers(msg_id, now, signature(STRANGER_SECRET, msg_id, now, body)),
        "rotated-out secret": _headers(msg_id, now, signature(RETIRED_SECRET, msg_id, now, body)),
        "secret not base64-decoded": _headers(
            msg_id,
            now,
            "v1,"
            + base64.b64encode(
                hmac.new(
                    WEBHOOK_SECRET.encode(), f"{msg_id}.{now}.".encode() + body, hashlib.sha256
                ).digest()
            ).decode(),
        ),
        "signed for another id": _headers(
            msg_id, now, signature(WEBHOOK_SECRET, msg_id + "x", now, body)
        ),
        "signed for another time": _headers(
            msg_id, now, signature(WEBHOOK_SECRET, msg_id, now - 1, body)
        ),
        "expired": _headers(
            msg_id, now - late, signature(WEBHOOK_SECRET, msg_id, now - late, body)
        ),
        "expired by one second": _headers(
            msg_id,
            now - TOLERANCE - 1,
            signature(WEBHOOK_SECRET, msg_id, now - TOLERANCE - 1, body),
        ),
        "future": _headers(msg_id, now + late, signature(WEBHOOK_SECRET, msg_id, now + late, body)),
        "future by one second": _headers(
            msg_id,
            now + TOLERANCE + 1,
            signature(WEBHOOK_SECRET, msg_id, now + TOLERANCE + 1, body),
        ),
        "timestamp not digits": _headers(
            msg_id,
            rng.choice([f"{now}.0", f"+{now}", f"0x{now:x}", _ARABIC_DIGITS, "-1", f"{now}_0"]),
            good,
        ),
        "timestamp of 30 digits": _headers(msg_id, "9" * 30, good),
        "good signature past ten entries": _headers(
            msg_id, now, " ".join(["v1,AAAA"] * MAX_SIGNATURES + [good])
        ),
        "id too long": _headers("m" * 256, now, signature(WEBHOOK_SECRET, "m" * 256, now, body)),
        "id not ASCII": _headers(
            msg_id + "\xe9", now, signature(WEBHOOK_SECRET, msg_id + "\xe9", now, body)
        ),
        "10k signature": _headers(msg_id, now, "v1," + "A" * 10_000),
        "latin-1 signature": _headers(msg_id, now, "v1,\xe9\xe9\xe9"),
    }
    tampered = {
        "body changed after signing": body + b" " if body[-1:] != b" " else body[:-1],
        "body byte flipped after signing": (body[:-1] + bytes([body[-1] ^ 1]) if body else b"x"),
        "paymentId changed after signing": body.replace(b'"paymentId": "', b'"paymentId": "Z', 1)
        if b'"paymentId": "' in body
        else body + b"\n",
    }
    addresses = {
        "address not allowed": ("198.51.100.9", {}),
        "no address": ("", {}),
        "forged X-Forwarded-For": ("198.51.100.9", {"X-Forwarded-For": "52.78.5.241"}),
        "proxy, source not allowed": ("10.0.0.2", {"X-Forwarded-For": "52.78.5.241, 198.51.100.9"}),
        "proxy, garbage hop": ("10.0.0.2", {"X-Forwarded-For": "garbage"}),
    }
    roll = rng.random()
    if roll < 0.15:
        how = rng.choice(sorted(addresses))
        remote, extra = addresses[how]
        return body, {**_headers(msg_id, now, good), **extra}, remote, f"forged: {how}", 403
    if roll < 0.3:
        how = rng.choice(sorted(tampered))
        return tampered[how], _headers(msg_id, now, good), "127.0.0.1", f"forged: {how}", 401
    captured = None
    if roll < 0.38 and earlier is not None and index >= 100:
        # A genuine delivery captured and sent again once its timestamp is past the tolerance.
        captured = earlier(2 * rng.randrange(max(0, index - 400) // 2, (index - 90) // 2))
    if captured is not None:
        return (
            captured.body,
            dict(captured.headers),
            "127.0.0.1",
            f"forged: case {captured.index} replayed late",
            401,
        )
    how = rng.choice(sorted(choices))
    return body, choices[how], "127.0.0.1", f"forged: {how}", 401


# == what the database must look like after a genuine, answered look-up ==================


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _integer(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _time(value: Any) -> datetime | None:
    """An ISO time from PortOne, or a column as the database driver returns it."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _currency(value: Any) -> str:
    code = value.upper() if isinstance(value, str) else ""
    return code.removeprefix("CURRENCY_")


@dataclass(frozen=True)
class Outcome:
    """Where PortOne's answer must leave one payment or agreement."""

    pk: Any  # None: nothing of ours is concerned
    status: str = ""
    refunded: int = 0
    row: str = "ignored"  # the inbox row's status
    why: str = ""
    # (status, refunded) also accepted, where the contract leaves a choice
    also: tuple[tuple[str, int], ...] = ()


def payment_outcome(call: Call, payments: list[dict[str, Any]]) -> Outcome:
    """The payment a look-up answer is about and the state the answer means for it."""
    from django_kakaopay.status import can_transition

    answer = call.answer
    document = answer.document if isinstance(answer.document, dict) else None
    total: int | None = None
    cancelled: int | None = None
    currency, when = "", None
    portone_status: Any = "NOT_FOUND"
    if answer.status == 404:  # no payment with our id yet: still pending
        reference = call.identifier
        target: str | None = "pending"
    elif document is None:
        return Outcome(None, why="PortOne answered no payment object")
    else:
        found = document.get("id")
        reference = found if isinstance(found, str) and found else call.identifier
        portone_status = document.get("status")
        amounts = _object(document.get("amount"))
        total, cancelled = _integer(amounts.get("total")), _integer(amounts.get("cancelled"))
        currency = _currency(document.get("currency"))
        when = _time(document.get("statusChangedAt")) or _time(document.get("updatedAt"))
        target = PORTONE_STATUS.get(portone_status) if isinstance(portone_status, str) else None
        if target in ("partially_refunded", "refunded") and cancelled is None:
            target = "paid"
    row = next((p for p in payments if p["reference"] == reference), None)
    if row is None:
        return Outcome(None, why=f"no payment {reference[:40]!r}")
    same = Outcome(row["id"], row["status"], row["refunded_amount"], "processed")
    if total is not None and total != row["amount"]:
        return Outcome(row["id"], row["status"], row["refunded_amount"], "ignored", "amount")
    if total is not None and currency and currency != row["currency"]:
        return Outcome(row["id"], row["status"], row["refunded_amount"], "ignored", "currency")
    if portone_status in MONEY_TAKEN and total is None:
        # PAID without a readable amount proves no amount: the payment is not paid.
        return Outcome(row["id"], row["status"], row["refunded_amount"], "", "no amount")
    last = _time(row["provider_updated_at"])
    if when is not None and last is not None and when < last:
        return same
    status, refunded = row["status"], row["refunded_amount"]
    if target in ("pending", "paid", "failed"):
        if target != status and can_transition("payment", status, target):
            status = target
        return Outcome(row["id"], status, refunded, "processed")
    if target is None and (not cancelled or status not in PAID):
        return same  # an unknown status moves nothing; money never taken is never refunded
    if status not in PAID and can_transition("payment", status, "paid"):
        status = "paid"
    refunded = max(refunded, min(cancelled or 0, row["amount"]))
    if status in PAID and refunded:
        status = "refunded" if refunded == row["amount"] else "partially_refunded"
    # A paid payment in a status PortOne may add one day: what it says came back
    # may be recorded, or nothing until a known status says so.
    also = ((row["status"], row["refunded_amount"]),) if target is None else ()
    return Outcome(row["id"], status, refunded, "processed", also=also)


def agreement_outcome(call: Call, agreements: list[dict[str, Any]]) -> Outcome:
    from django_kakaopay.status import can_transition

    document = call.answer.document if isinstance(call.answer.document, dict) else None
    if call.answer.status == 404 or document is None:
        return Outcome(None, why="no billing key")
    if document.get("storeId") != STORE:
        return Outcome(None, why="another store's billing key")
    customer = document.get("customer")
    customer = customer.get("id") if isinstance(customer, dict) else None
    if not isinstance(customer, str) or not customer:
        return Outcome(None, why="no customer")
    key = document.get("billingKey") if isinstance(document.get("billingKey"), str) else ""
    row = next((a for a in agreements if key and a["provider_preapproval_id"] == key), None)
    row = row or next((a for a in agreements if a["reference"] == customer), None)
    if row is None:
        return Outcome(None, why=f"no agreement {customer[:40]!r}")
    status = row["status"]
    when = _time(document.get("statusChangedAt")) or _time(document.get("issuedAt"))
    last = _time(row["provider_updated_at"])
    if when is not None and last is not None and when < last:
        return Outcome(row["id"], status, 0, "processed")
    target = BILLING_KEY_STATUS.get(document.get("status"))  # type: ignore[arg-type]
    if target is not None and target != status and can_transition("preapproval", status, target):
        status = target
    return Outcome(row["id"], status, 0, "processed")


def claims_problem(calls: list[Call], payment: Mapping[str, Any]) -> str:
    """How PortOne's answers in this case fail to prove ``payment`` paid, or ``""``."""
    answers = [
        c.answer.document
        for c in calls
        if c.kind == "payment" and isinstance(c.answer.document, dict) and c.answer.status == 200
    ]
    mine = [a for a in answers if a.get("id") == payment["reference"]]
    if not mine:
        return "PortOne was not asked about it in this delivery"
    document = mine[-1]
    amounts = _object(document.get("amount"))
    total = _integer(amounts.get("total"))
    if document.get("status") not in MONEY_TAKEN:
        return f"PortOne said {document.get('status')!r}"
    if document.get("storeId") != STORE:
        return f"the payment is {document.get('storeId')!r}'s"
    if total is None:
        return f"PortOne stated no whole amount (amount {document.get('amount')!r:.60})"
    if total != payment["amount"]:
        return f"PortOne stated {total}"
    if _currency(document.get("currency")) not in ("", payment["currency"]):
        return f"PortOne stated {document.get('currency')!r}"
    return ""


# == the contract of one delivery ===========================================================


@dataclass
class Seen:
    """What PortOne was asked during one case, and the case's inbox row around it."""

    calls_before: int
    sent_before: int
    row_before: dict[str, Any] | None
    calls: list[Call] = field(default_factory=list)
    unexpected: int = 0
    row_after: dict[str, Any] | None = None


def describe(call: Call) -> str:
    document = call.answer.document
    if isinstance(document, dict) and call.kind == "billing-key":
        customer = document.get("customer")
        summary = f"{document.get('status')!r} customer {customer!r:.40}"
        if document.get("storeId") != STORE:
            summary += f" store {document.get('storeId')!r:.24}"
    elif isinstance(document, dict):
        amount = document.get("amount")
        if isinstance(amount, dict):
            amount = {k: amount.get(k) for k in ("total", "cancelled") if k in amount}
        summary = f"{document.get('status')!r} amount {amount!r}"
        if document.get("storeId") != STORE:
            summary += f" store {document.get('storeId')!r:.24}"
    elif isinstance(call.answer.body, Exception):
        summary = type(call.answer.body).__name__
    else:
        summary = repr(call.answer.body[:30])
    return f"{call.kind} {call.identifier[:40]!r} -> {call.answer.status} {summary}"


def _signature_kept(headers: Any) -> bool:
    return isinstance(headers, dict) and any(
        str(name).lower() == "webhook-signature" for name in headers
    )


_ANSWER = {FINE: 200, MALFORMED: 400, UNCONFIRMED: 503, DUPLICATE: 200}


def check_delivery(
    runner: Any,
    case: Any,
    status: int | str,
    before: dict[str, Any],
    after: dict[str, Any],
    started: datetime,
) -> None:
    """The PortOne contract (module docstring) for one case; violations go to ``runner``."""
    from django_kakaopay.models import WebhookEvent

    seen: Seen = runner.seen

    def violate(kind: str, detail: str = "") -> None:
        runner._violate(kind, case, status, detail)

    if seen.unexpected:
        violate("a request to PortOne that is no look-up", f"{seen.unexpected} request(s)")
    calls = "; ".join(describe(call) for call in seen.calls)
    if case.expect == TOO_LARGE or not case.authentic:
        if seen.calls:
            violate("PortOne asked about a delivery that was not accepted", calls)
        if not case.authentic:
            rejected = WebhookEvent.objects.filter(
                backend=case.alias, status="rejected", updated_at__gte=started
            ).values_list("headers", flat=True)
            if any(_signature_kept(headers) for headers in rejected):
                violate("a rejected row keeps the webhook-signature header")
        return
    if "[DISAGREE" in case.label:
        violate("harness: the body family and the PortOne reading disagree")
    if not isinstance(status, int):
        return  # an exception: reported already
    reading: Reading = case.reading
    expect = case.expect
    looked_up = reading.kind in ("payment", "billing-key")
    if expect == DUPLICATE:
        if len(seen.calls) > 1:
            violate("more than one look-up for one delivery", calls)
    elif looked_up:
        wanted = (reading.kind, reading.identifier)
        if [(call.kind, call.identifier) for call in seen.calls] != [wanted]:
            violate(
                "not exactly one look-up of the id the event names",
                f"wanted {reading.kind} {reading.identifier[:40]!r}; asked: {calls or 'nothing'}",
            )
    elif seen.calls:
        violate("PortOne asked about an event that names nothing to look up", calls)

    effective = expect
    if expect == UNPROVEN:
        effective = UNCONFIRMED if status == 503 else FINE
        if status not in (200, 503):
            violate("a PAID answer without an amount answered neither 200 nor 503", calls)
    elif status != _ANSWER[expect]:
        violate(f"{expect} delivery not answered {_ANSWER[expect]}", calls or reading.why)
    answered_right = status == _ANSWER.get(effective)
    row = seen.row_after
    if row is not None and _signature_kept(row["headers"]):
        violate("the inbox row keeps the webhook-signature header")
    money_changed = before["money"] != after["money"]
    difference = runner._difference(before["money"], after["money"]) if money_changed else ""
    if effective == DUPLICATE:
        if row != seen.row_before:
            violate("a duplicate delivery changed its inbox row", f"{seen.row_before} -> {row}")
        if money_changed:
            violate("a duplicate delivery changed payments or agreements", difference)
        return
    if effective == MALFORMED:
        if answered_right and not runner._malformed_row(case, started):
            violate("400 without a 'malformed' inbox row")
        if money_changed:
            violate("notification answered 400 changed payments", difference)
        return
    if effective == UNCONFIRMED:
        if answered_right and (row is None or row["status"] != "failed"):
            violate("an unconfirmed delivery not kept as failed", f"row {row and row['status']}")
        if money_changed:
            violate("an unconfirmed delivery changed payments or agreements", difference)
        return
    assert effective == FINE
    if looked_up and len(seen.calls) != 1:
        return  # reported above; there is no one answer to hold the state to
    outcome = Outcome(None, why=reading.why)
    if looked_up and reading.kind == "payment":
        outcome = payment_outcome(seen.calls[0], before["money"]["payments"])
    elif looked_up:
        outcome = agreement_outcome(seen.calls[0], before["money"]["preapprovals"])
    if answered_right and outcome.row and (row is None or row["status"] != outcome.row):
        violate(
            f"inbox row not {outcome.row}",
            f"row {row and row['status']}; {outcome.why or calls}",
        )
    _check_state(violate, reading.kind, outcome, before["money"], after["money"], calls)


def _check_state(
    violate: Callable[[str, str], None],
    kind: str,
    outcome: Outcome,
    before: dict[str, Any],
    after: dict[str, Any],
    calls: str,
) -> None:
    """Only the object the answer is about may change, and only into ``outcome``."""
    concerned = {"payment": "payments", "billing-key": "preapprovals"}.get(kind)
    for table in ("payments", "preapprovals"):
        old = {row["id"]: row for row in before[table]}
        for row in after[table]:
            previous = old.get(row["id"])
            name = row.get("reference", row["id"])
            if previous is None:
                violate(f"a notification created a {table[:-1]}", name)
            elif table == concerned and row["id"] == outcome.pk:
                got = (row["status"], row.get("refunded_amount", 0))
                wanted = (outcome.status, outcome.refunded if table == "payments" else 0)
                if got != wanted and got not in outcome.also:
                    violate(
                        f"{table[:-1]} not in the state PortOne's answer means",
                        f"{name}: {previous['status']}/{previous.get('refunded_amount', 0)} -> "
                        f"{got[0]}/{got[1]}, expected {wanted[0]}/{wanted[1]}; {calls}",
                    )
            elif row != previous:
                fields = sorted(k for k in row if row[k] != previous.get(k))
                violate(
                    f"a notification changed a {table[:-1]} it is not about", f"{name}: {fields}"
                )
    pk = outcome.pk if concerned == "payments" else None
    refunds = [r for r in before["refunds"] if r["payment_id"] != pk]
    if refunds != [r for r in after["refunds"] if r["payment_id"] != pk]:
        violate("a notification changed refunds of a payment it is not about", calls)
