from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.db import connection
from django.test import override_settings
from django.utils import translation

from django_kakaopay import signals
from django_kakaopay.conf import backends

from .helpers import LossyBackend, lossy_settings


@dataclass
class SignalRecorder:
    """Records every business signal sent during a test."""

    events: list[tuple[str, Any, str, str, str]] = field(default_factory=list)

    def names(self) -> list[str]:
        return [name for name, *_ in self.events]

    def of(self, name: str) -> list[tuple[str, Any, str, str, str]]:
        return [event for event in self.events if event[0] == name]


SIGNAL_NAMES = (
    "status_changed",
    "payment_paid",
    "payment_failed",
    "payment_refunded",
    "preapproval_activated",
    "preapproval_canceled",
)


@pytest.fixture
def signal_log() -> Iterator[SignalRecorder]:
    recorder = SignalRecorder()
    receivers = []
    for name in SIGNAL_NAMES:

        def receiver(sender: Any, name: str = name, **kwargs: Any) -> None:
            recorder.events.append(
                (
                    name,
                    kwargs["instance"],
                    kwargs.get("old_status", ""),
                    kwargs.get("new_status", ""),
                    kwargs.get("source", ""),
                )
            )

        getattr(signals, name).connect(receiver, weak=False)
        receivers.append((name, receiver))
    yield recorder
    for name, receiver in receivers:
        getattr(signals, name).disconnect(receiver)


@pytest.fixture(autouse=True)
def _reset_language() -> Iterator[None]:
    """A request with Accept-Language: ko must not leave Korean on for the next test."""
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _fresh_backends() -> Iterator[None]:
    backends.clear()
    yield
    backends.clear()


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


@pytest.fixture(autouse=True)
def _postgres_marker(request: pytest.FixtureRequest) -> None:
    """Tests marked ``postgres`` race real connections: elsewhere they are skipped, saying why."""
    if request.node.get_closest_marker("postgres") and not is_postgres():
        pytest.skip(
            "needs PostgreSQL, where row locks and concurrent requests are real; run with "
            "DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test"
        )


@pytest.fixture
def lossy() -> Iterator[type[LossyBackend]]:
    """The ``lossy`` backend alias (the sandbox with chosen calls timing out), with clean state."""
    LossyBackend.faults.clear()
    LossyBackend.calls.clear()
    LossyBackend.in_transaction.clear()
    with override_settings(KAKAOPAY=lossy_settings()):
        yield LossyBackend
    LossyBackend.faults.clear()
    LossyBackend.calls.clear()
    LossyBackend.in_transaction.clear()
