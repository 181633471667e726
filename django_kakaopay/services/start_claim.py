"""One provider call per checkout: a short lease on starting a payment or agreement.

A customer who double-clicks "Pay", or reloads the checkout page while it is
loading, sends two requests for the same row. Whichever request stamps
``start_claimed_until`` first (one conditional UPDATE, committed before any
provider call) is the only one that asks the provider; the others wait for
its outcome and then send the customer where it did. The stamp is a lease,
not a lock: a worker that dies mid-call holds it until it expires, then the
next request takes over and calls again with the same idempotency key, which
the provider deduplicates.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from django.db.models import Q
from django.utils import timezone

from ..conf import get_setting
from ..models import Payment, Preapproval

Startable = Payment | Preapproval

# Polling starts fast (a sandbox or a quick provider answers in milliseconds)
# and backs off so that a slow provider costs a few queries a second at most.
_FIRST_POLL = 0.02
_LONGEST_POLL = 0.25


# The statuses in which each lease may be taken.
_STARTABLE = ("created",)
_OPEN = ("created", "pending")


def _claim(obj: Startable, statuses: tuple[str, ...]) -> datetime | None:
    now = timezone.now()
    until = now + timedelta(seconds=float(get_setting("START_CLAIM_SECONDS")))
    claimed = (
        type(obj)
        ._default_manager.filter(pk=obj.pk, status__in=statuses)
        .filter(Q(start_claimed_until__isnull=True) | Q(start_claimed_until__lt=now))
        .update(start_claimed_until=until)
    )
    if not claimed:
        return None
    obj.start_claimed_until = until
    return until


def _is_held(obj: Startable, statuses: tuple[str, ...]) -> bool:
    until = obj.start_claimed_until
    return obj.status in statuses and until is not None and until > timezone.now()


def _await(obj: Startable, statuses: tuple[str, ...], fields: list[str]) -> None:
    deadline = time.monotonic() + float(get_setting("CHECKOUT_WAIT_SECONDS"))
    pause = _FIRST_POLL
    while True:
        obj.refresh_from_db(fields=fields)
        if not _is_held(obj, statuses):
            break
        left = deadline - time.monotonic()
        if left <= 0:
            break
        time.sleep(min(pause, left))
        pause = min(pause * 2, _LONGEST_POLL)
    obj.refresh_from_db()


def _release(obj: Startable, until: datetime) -> None:
    type(obj)._default_manager.filter(pk=obj.pk, start_claimed_until=until).update(
        start_claimed_until=None
    )
    obj.start_claimed_until = None


# -- starting at the provider ------------------------------------------------------------


def claim_start(obj: Startable) -> datetime | None:
    """Stamp the lease on ``obj`` if it is still ``created`` and unclaimed.

    Returns the lease's end (pass it to :func:`release_start`), or ``None``
    when another request holds the lease or the row is no longer ``created``.
    """
    return _claim(obj, _STARTABLE)


def release_start(obj: Startable, until: datetime) -> None:
    """End this request's lease, unless it has expired and been taken over.

    Nothing is written when the lease already ended in the UPDATE that
    recorded the provider's answer.
    """
    if obj.start_claimed_until == until:
        _release(obj, until)


def is_being_started(obj: Startable) -> bool:
    """Whether another request holds a live lease on starting ``obj``."""
    return _is_held(obj, _STARTABLE)


def await_start(obj: Startable) -> None:
    """Wait, boundedly, for the request holding the lease on ``obj`` to finish.

    Returns with ``obj`` refreshed from the database: started (a redirect URL
    or a later status), failed, or still being started when the wait ran out.
    """
    fields = ["status", "redirect_url", "start_claimed_until", "needs_reconciliation"]
    _await(obj, _STARTABLE, fields)


# -- completing on return ----------------------------------------------------------------
#
# The same lease, on a row that is open (``created`` or ``pending``), guards the
# completion of a return (KakaoPay's approve with ``pg_token``): a reload, or
# the return hit many times at once, asks the provider once. The others wait
# for the outcome and ask nothing.


def claim_completion(obj: Startable) -> datetime | None:
    """Stamp the lease on ``obj`` if it is still open and unclaimed; else ``None``."""
    return _claim(obj, _OPEN)


def await_completion(obj: Startable) -> None:
    """Wait, boundedly, for the request completing ``obj`` to finish; then refresh it."""
    _await(obj, _OPEN, ["status", "start_claimed_until"])


def release_completion(obj: Startable, until: datetime) -> None:
    """End this request's completion lease, unless it expired and was taken over."""
    _release(obj, until)


@contextmanager
def completion_lease(obj: Startable) -> Iterator[bool]:
    """Hold the completion lease on ``obj`` for the block; ``False`` when another
    request holds it (then its outcome has been awaited and ``obj`` refreshed)."""
    claim = claim_completion(obj)
    if claim is None:
        await_completion(obj)
        yield False
        return
    try:
        yield True
    finally:
        release_completion(obj, claim)
