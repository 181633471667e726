"""The ``KAKAOPAY`` setting, read lazily, and the per-process backend registry.

Nothing here reads ``django.conf.settings`` at import time, so tests and
projects may change ``KAKAOPAY`` with ``override_settings`` and see the
change on the next call.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.module_loading import import_string

from .exceptions import BackendNotFound

if TYPE_CHECKING:
    from .backends.base import BaseBackend

SANDBOX_BACKEND_PATH = "django_kakaopay.backends.sandbox.SandboxBackend"

DEFAULT_SETTINGS: dict[str, Any] = {
    "DEFAULT_BACKEND": "sandbox",
    "BACKENDS": {"sandbox": {"BACKEND": SANDBOX_BACKEND_PATH, "OPTIONS": {}}},
    # Absolute origin used to build return and notification URLs when no
    # request is at hand (management commands, tasks): "https://shop.example".
    "SITE_URL": "",
    # Seconds a checkout request's claim on calling the provider lasts. Only the
    # request holding it creates the payment at the provider; one that died
    # mid-call is taken over (same idempotency key) once it has expired.
    "START_CLAIM_SECONDS": 120,
    # Seconds a second checkout request for the same payment (a double click)
    # waits for the first one's provider call before showing "processing".
    "CHECKOUT_WAIT_SECONDS": 15,
    # Hosts that absolute success and failure URLs may point to, besides
    # ALLOWED_HOSTS (whose "*" does not count); paths on this site always may.
    "ALLOWED_REDIRECT_HOSTS": [],
    # Seconds between automatic refreshes of the "payment processing" page.
    "PROCESSING_REFRESH_SECONDS": 3,
    # The REST API (django_kakaopay.api), used only when its URLs are mounted.
    # Permission classes (dotted paths) of every API endpoint.
    "API_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # The permission class (dotted path) that refunds and charges also need.
    "API_STAFF_PERMISSION": "django_kakaopay.api.permissions.HasKakaoPayStaffPermission",
    # Rate of the create endpoints per caller ("30/minute"); None turns it off.
    "API_CREATE_RATE": "30/minute",
    # The former name of ALLOWED_REDIRECT_HOSTS, still honoured.
    "API_ALLOWED_REDIRECT_HOSTS": [],
    # Page size of the list endpoints (callers may ask for up to 100 with ?page_size=).
    "API_PAGE_SIZE": 20,
    # Seconds a request waits for a concurrent request with the same Idempotency-Key.
    "API_IDEMPOTENCY_WAIT": 10,
    # ``manage.py kakaopay_reconcile``: seconds an object must have existed
    # before its unknown or pending outcome is pulled from the provider.
    "RECONCILE_AFTER": 600,
    # Seconds after creation at which a payment or preapproval the provider
    # still reports pending is expired locally (a later success still wins).
    "EXPIRE_AFTER": 86400,
    # Notifications larger than this many bytes are refused with 413 and not stored.
    "WEBHOOK_MAX_BODY_BYTES": 256 * 1024,
    # Notifications that failed authentication kept per backend for diagnosis
    # (newest first, bodies cut to 4 KiB); 0 keeps none.
    "WEBHOOK_REJECTED_KEEP": 100,
    # Seconds after which ``kakaopay_replay_webhooks`` treats an inbox row
    # still ``received`` as stranded and settles it.
    "WEBHOOK_STALE_AFTER": 600,
    # "inline": a notification is processed in its request (the provider sees
    # a failure and delivers again). "queued": it is stored, acknowledged, and
    # processed by django_kakaopay.tasks.process_notification. A backend's
    # entry may say otherwise with its own "NOTIFICATION_PROCESSING".
    "NOTIFICATION_PROCESSING": "inline",
    # Queued mode: how many times a failing notification is processed in all,
    # and the seconds before the first retry (doubling after each).
    "NOTIFICATION_TASK_ATTEMPTS": 5,
    "NOTIFICATION_TASK_BACKOFF": 30,
}

NOTIFICATION_MODES = ("inline", "queued")


# The keys of one entry of ``KAKAOPAY["BACKENDS"]``.
BACKEND_ENTRY_KEYS = ("BACKEND", "OPTIONS", "NOTIFICATION_PROCESSING")


def sandbox_allowed(options: Mapping[str, Any]) -> bool:
    """Whether a sandbox backend with ``options`` may serve its approval pages.

    A sandbox lets anyone approve their own payment, so it serves only while
    ``DEBUG`` is on, or where its options opt in explicitly (a staging site).
    """
    return bool(settings.DEBUG) or options.get("ALLOW_WITHOUT_DEBUG") is True


@dataclass(frozen=True)
class BackendConfig:
    alias: str
    path: str
    options: Mapping[str, Any] = field(default_factory=dict)
    # The entry's own notification mode; empty: the global NOTIFICATION_PROCESSING.
    notifications: str = ""


def get_setting(name: str) -> Any:
    user = getattr(settings, "KAKAOPAY", None) or {}
    if not isinstance(user, Mapping):
        raise ImproperlyConfigured("The KAKAOPAY setting must be a dict.")
    return user.get(name, DEFAULT_SETTINGS[name])


def backend_configs() -> dict[str, BackendConfig]:
    raw = get_setting("BACKENDS")
    if not isinstance(raw, Mapping):
        raise ImproperlyConfigured('KAKAOPAY["BACKENDS"] must be a dict of aliases.')
    configs = {}
    for alias, entry in raw.items():
        if not isinstance(entry, Mapping) or "BACKEND" not in entry:
            raise ImproperlyConfigured(
                f'KAKAOPAY["BACKENDS"][{alias!r}] must be a dict with a "BACKEND" dotted path.'
            )
        options = entry.get("OPTIONS") or {}
        mode = entry.get("NOTIFICATION_PROCESSING") or ""
        configs[str(alias)] = BackendConfig(
            str(alias), str(entry["BACKEND"]), dict(options), str(mode)
        )
    return configs


def notification_mode(alias: str) -> str:
    """How notifications for ``alias`` are processed: ``"inline"`` or ``"queued"``."""
    config = backend_configs().get(alias)
    mode = (config.notifications if config is not None else "") or get_setting(
        "NOTIFICATION_PROCESSING"
    )
    return str(mode).strip().lower()


def default_backend_alias() -> str:
    return str(get_setting("DEFAULT_BACKEND"))


class BackendRegistry:
    """Instantiates each configured alias once per process, thread-safely."""

    def __init__(self) -> None:
        self._instances: dict[str, BaseBackend] = {}
        self._lock = threading.Lock()

    def get(self, alias: str | None = None) -> BaseBackend:
        alias = alias or default_backend_alias()
        instance = self._instances.get(alias)
        if instance is not None:
            return instance
        with self._lock:
            instance = self._instances.get(alias)
            if instance is None:
                instance = self._build(alias)
                self._instances[alias] = instance
            return instance

    def _build(self, alias: str) -> BaseBackend:
        from .backends.base import BaseBackend

        config = backend_configs().get(alias)
        if config is None:
            raise BackendNotFound(f"No KakaoPay backend is configured under the alias {alias!r}.")
        try:
            backend_class = import_string(config.path)
        except ImportError as exc:
            raise ImproperlyConfigured(
                f"KakaoPay backend {alias!r}: cannot import {config.path!r} ({exc})."
            ) from exc
        if not (isinstance(backend_class, type) and issubclass(backend_class, BaseBackend)):
            raise ImproperlyConfigured(
                f"KakaoPay backend {alias!r}: {config.path!r} is not a BaseBackend subclass."
            )
        return backend_class(alias=alias, options=config.options)

    def clear(self) -> None:
        with self._lock:
            self._instances.clear()


backends = BackendRegistry()


def get_backend(alias: str | None = None) -> BaseBackend:
    """The backend instance for ``alias`` (the default backend when ``None``)."""
    return backends.get(alias)


@receiver(setting_changed)
def _reset_backends(*, setting: str, **kwargs: object) -> None:
    if setting == "KAKAOPAY":
        backends.clear()
