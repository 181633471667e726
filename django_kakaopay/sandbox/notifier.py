"""Delivery of signed notifications from the simulated provider to the app.

Modes (backend option ``NOTIFICATIONS``) let tests and the example shop
exercise what real providers do: ``immediate`` (default), ``late`` (held
until :func:`deliver_outbox` or ``NOTIFICATION_DELAY`` seconds), ``twice``,
``out_of_order`` (the final event, then a stale earlier one) and ``none``.
"""

from __future__ import annotations

import io
import json
import logging
import secrets
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import requests
from django.core.handlers.wsgi import WSGIRequest
from django.db import close_old_connections, transaction
from django.urls import resolve
from django.utils import timezone

from . import provider
from .models import SandboxTransaction
from .signing import SIGNATURE_HEADER, sign, signing_secret

logger = logging.getLogger("django_kakaopay.sandbox")

MODES = ("immediate", "late", "twice", "out_of_order", "none")


def build_event(data: Mapping[str, Any], created_at: datetime) -> dict[str, Any]:
    return {
        "id": "evt_" + secrets.token_hex(12),
        "type": f"{data['object']}.updated",
        "created_at": created_at.isoformat(),
        "data": dict(data),
    }


# Notifications raised inside ``hold()``: who sends each, where, and what.
_held: ContextVar[list[tuple[Notifier, str, Mapping[str, Any]]] | None] = ContextVar(
    "django_kakaopay_sandbox_held_notifications", default=None
)


@contextmanager
def hold() -> Iterator[None]:
    """Deliver the notifications raised in the block only once it has ended.

    The services call the provider and apply its answer inside this block
    (``SandboxBackend.hold_notifications``). Delivered during the call, the
    notification would be applied first and take the credit for a change the
    caller made; a real provider's notification arrives after its answer.
    Nested blocks deliver once, when the outermost ends. They are delivered
    even if the block failed: the provider acted all the same.
    """
    if _held.get() is not None:
        yield
        return
    held: list[tuple[Notifier, str, Mapping[str, Any]]] = []
    token = _held.set(held)
    try:
        yield
    finally:
        _held.reset(token)
        for notifier, url, event in held:
            try:
                notifier.deliver(url, event)
            except Exception:
                # As for a real provider, a notification that cannot be
                # delivered never fails the call it is about.
                logger.exception("Sandbox notification to %s could not be delivered", url)


class Notifier:
    def __init__(self, alias: str, options: Mapping[str, Any]) -> None:
        self.alias = alias
        self.mode = str(options.get("NOTIFICATIONS", "immediate"))
        self.delay = float(options.get("NOTIFICATION_DELAY", 0) or 0)
        self.transport = str(options.get("NOTIFICATION_TRANSPORT", "inprocess"))
        self.secret = signing_secret(alias, options)

    def notify(self, tx: SandboxTransaction) -> None:
        """Tell the app about ``tx``'s current state, according to the mode."""
        if self.mode == "none" or not tx.notification_url:
            return
        current = build_event(provider.as_json(tx), timezone.now())
        events = [current]
        if self.mode == "twice":
            events = [current, current]
        elif self.mode == "out_of_order":
            stale_data = {**current["data"], "status": provider.READY}
            stale_data["updated_at"] = tx.created_at.isoformat()
            events = [current, build_event(stale_data, tx.created_at)]
        if self.mode == "late":
            tx.outbox = [*tx.outbox, current]
            tx.save(update_fields=["outbox", "updated_at"])
            if self.delay > 0:
                timer = threading.Timer(self.delay, self._deliver_outbox_in_thread, [tx.pk])
                timer.daemon = True
                timer.start()
            return
        held = _held.get()
        for event in events:
            if held is not None:
                held.append((self, tx.notification_url, event))
            else:
                self.deliver(tx.notification_url, event)

    def deliver_outbox(self, tx: SandboxTransaction) -> int:
        with transaction.atomic():
            locked = SandboxTransaction.objects.select_for_update().get(pk=tx.pk)
            pending, locked.outbox = list(locked.outbox), []
            locked.save(update_fields=["outbox", "updated_at"])
        for event in pending:
            self.deliver(locked.notification_url, event)
        return len(pending)

    def _deliver_outbox_in_thread(self, pk: str) -> None:
        try:
            self.deliver_outbox(SandboxTransaction.objects.get(pk=pk))
        finally:
            close_old_connections()

    def deliver(self, url: str, event: Mapping[str, Any]) -> int:
        body = json.dumps(event, separators=(",", ":")).encode()
        signature = sign(self.secret, body)
        if self.transport == "http":
            response = requests.post(
                url,
                data=body,
                headers={"Content-Type": "application/json", SIGNATURE_HEADER: signature},
                timeout=(5, 30),
            )
            status = response.status_code
        else:
            status = _deliver_in_process(url, body, signature)
        if status >= 300:
            logger.warning("Sandbox notification to %s answered %s", url, status)
        return status


def _deliver_in_process(url: str, body: bytes, signature: str) -> int:
    """POST ``body`` through the app's own URLconf and view, without a socket."""
    path = urlsplit(url).path
    match = resolve(path)
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": path,
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(body)),
        "SERVER_NAME": "sandbox.kakaopay.invalid",
        "SERVER_PORT": "443",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_USER_AGENT": "django-kakaopay-sandbox",
        "HTTP_" + SIGNATURE_HEADER.upper().replace("-", "_"): signature,
        "wsgi.input": io.BytesIO(body),
        "wsgi.url_scheme": "https",
    }
    response = match.func(WSGIRequest(environ), *match.args, **match.kwargs)
    return int(response.status_code)


def deliver_all_outboxes(alias: str, options: Mapping[str, Any]) -> int:
    """Deliver every held notification of one sandbox backend; returns the count."""
    notifier = Notifier(alias, options)
    delivered = 0
    for tx in SandboxTransaction.objects.filter(backend=alias).exclude(outbox=[]):
        delivered += notifier.deliver_outbox(tx)
    return delivered
