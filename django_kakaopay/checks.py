"""System checks for the ``KAKAOPAY`` setting (``manage.py check``)."""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from .conf import (
    BACKEND_ENTRY_KEYS,
    DEFAULT_SETTINGS,
    NOTIFICATION_MODES,
    backend_configs,
    default_backend_alias,
    get_setting,
    notification_mode,
    sandbox_allowed,
)


def _did_you_mean(name: object, known: Sequence[str]) -> str:
    close = difflib.get_close_matches(str(name), known, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _unknown_keys() -> list[checks.CheckMessage]:
    """Misspelt setting names, which would otherwise be ignored without a word."""
    user = getattr(settings, "KAKAOPAY", None) or {}
    if not isinstance(user, Mapping):
        return []
    found: list[checks.CheckMessage] = []
    for name in user:
        if name not in DEFAULT_SETTINGS:
            found.append(
                checks.Warning(
                    f"KAKAOPAY[{name!r}] is not a django-kakaopay setting and is ignored"
                    f"{_did_you_mean(name, list(DEFAULT_SETTINGS))}.",
                    hint="See the settings reference in docs/configuration.md.",
                    id="kakaopay.W002",
                )
            )
    entries = user.get("BACKENDS")
    for alias, entry in entries.items() if isinstance(entries, Mapping) else ():
        for key in entry if isinstance(entry, Mapping) else ():
            if key not in BACKEND_ENTRY_KEYS:
                found.append(
                    checks.Warning(
                        f"KAKAOPAY['BACKENDS'][{alias!r}][{key!r}] is ignored: a backend "
                        f"takes only {', '.join(map(repr, BACKEND_ENTRY_KEYS))}"
                        f"{_did_you_mean(key, BACKEND_ENTRY_KEYS)}.",
                        hint="Put the backend's own options inside its 'OPTIONS' dict.",
                        id="kakaopay.W002",
                    )
                )
    return found


# Settings that are a number of seconds, bytes or rows; the smallest value that works.
NUMERIC_SETTINGS = {
    "START_CLAIM_SECONDS": 1,
    "CHECKOUT_WAIT_SECONDS": 0,
    "PROCESSING_REFRESH_SECONDS": 1,
    "RECONCILE_AFTER": 0,
    "EXPIRE_AFTER": 0,
    "WEBHOOK_MAX_BODY_BYTES": 1024,
    "WEBHOOK_REJECTED_KEEP": 0,
    "WEBHOOK_STALE_AFTER": 0,
    "API_PAGE_SIZE": 1,
    "API_IDEMPOTENCY_WAIT": 0,
    "NOTIFICATION_TASK_ATTEMPTS": 1,
    "NOTIFICATION_TASK_BACKOFF": 0,
}


def _numbers() -> list[checks.CheckMessage]:
    """A wrong number fails at the first checkout or notification; say so at start-up."""
    found: list[checks.CheckMessage] = []
    for name, least in NUMERIC_SETTINGS.items():
        value = get_setting(name)
        if isinstance(value, bool) or not isinstance(value, int | float) or value < least:
            found.append(
                checks.Error(
                    f"KAKAOPAY[{name!r}] is {value!r}; it must be a number of at least {least}.",
                    hint="See the settings reference in docs/configuration.md.",
                    id="kakaopay.E009",
                )
            )
    return found


def _notification_modes(configs: Mapping[str, Any]) -> list[checks.CheckMessage]:
    """A mode that is not one, or queued notifications without a task framework to run them."""
    from .task_framework import MISSING, framework

    found: list[checks.CheckMessage] = []
    places = {'KAKAOPAY["NOTIFICATION_PROCESSING"]': get_setting("NOTIFICATION_PROCESSING")}
    for alias, config in configs.items():
        if config.notifications:
            places[f'KAKAOPAY["BACKENDS"][{alias!r}]["NOTIFICATION_PROCESSING"]'] = (
                config.notifications
            )
    for place, mode in places.items():
        if str(mode).strip().lower() not in NOTIFICATION_MODES:
            found.append(
                checks.Error(
                    f"{place} is {mode!r}; it must be 'inline' or 'queued'.",
                    hint="See the notification modes in docs/operations.md.",
                    id="kakaopay.E010",
                )
            )
    queued = any(notification_mode(alias) == "queued" for alias in configs)
    if queued and framework() is None:
        found.append(
            checks.Error(
                f"Notifications are queued, but nothing can run the queue. {MISSING}",
                hint="Install the framework, or set the notifications back to 'inline'.",
                id="kakaopay.E010",
            )
        )
    return found


def _sandbox_in_production(alias: str) -> checks.CheckMessage:
    implicit = not (getattr(settings, "KAKAOPAY", None) or {}).get("BACKENDS")
    where = (
        "KAKAOPAY['BACKENDS'] is not set, so the sandbox is used"
        if implicit
        else f"KakaoPay backend {alias!r} is a sandbox"
    )
    return checks.Error(
        f"{where} while DEBUG is False: customers could approve their own payments on the "
        "sandbox's pages, and orders would be marked paid without any money moving. Its pages "
        "answer 404 until this is resolved.",
        hint=(
            "Configure a real backend for production. On a staging site that must take no real "
            f"orders, opt in with KAKAOPAY['BACKENDS'][{alias!r}]['OPTIONS']"
            "['ALLOW_WITHOUT_DEBUG'] = True."
        ),
        id="kakaopay.E008",
    )


@checks.register("kakaopay")
def check_settings(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    from .backends.base import BaseBackend

    try:
        configs = backend_configs()
    except ImproperlyConfigured as exc:
        return [checks.Error(str(exc), id="kakaopay.E001")]
    errors: list[checks.CheckMessage] = [
        *_unknown_keys(),
        *_numbers(),
        *_notification_modes(configs),
    ]
    default = default_backend_alias()
    if default not in configs:
        errors.append(
            checks.Error(
                f'KAKAOPAY["DEFAULT_BACKEND"] is {default!r}, which is not a key of '
                'KAKAOPAY["BACKENDS"].',
                hint=f"Use one of: {', '.join(sorted(configs)) or '(none configured)'}.",
                id="kakaopay.E002",
            )
        )
    for alias, config in configs.items():
        try:
            backend_class = import_string(config.path)
        except ImportError as exc:
            errors.append(
                checks.Error(
                    f"KakaoPay backend {alias!r}: cannot import {config.path!r}.",
                    hint=f"Check the dotted path in BACKENDS[{alias!r}]['BACKEND'] ({exc}).",
                    id="kakaopay.E003",
                )
            )
            continue
        if not (isinstance(backend_class, type) and issubclass(backend_class, BaseBackend)):
            errors.append(
                checks.Error(
                    f"KakaoPay backend {alias!r}: {config.path!r} is not a BaseBackend subclass.",
                    id="kakaopay.E004",
                )
            )
            continue
        if backend_class.is_sandbox_backend and not sandbox_allowed(config.options):
            errors.append(_sandbox_in_production(alias))
        for problem in backend_class.check_options(config.options):
            errors.append(
                checks.Error(
                    f"KakaoPay backend {alias!r}: {problem}.",
                    hint=f"Set it in KAKAOPAY['BACKENDS'][{alias!r}]['OPTIONS'].",
                    id="kakaopay.E005",
                )
            )
        for advice in backend_class.check_warnings(config.options):
            errors.append(
                checks.Warning(
                    f"KakaoPay backend {alias!r}: {advice}.",
                    hint=(
                        "Follow the advice above, or add 'kakaopay.W001' to "
                        "SILENCED_SYSTEM_CHECKS once you have."
                    ),
                    id="kakaopay.W001",
                )
            )
        try:
            backend = backend_class(alias=alias, options=config.options)
        except Exception as exc:  # a broken third-party backend must not crash `check`
            errors.append(
                checks.Error(
                    f"KakaoPay backend {alias!r} could not be created: {exc}", id="kakaopay.E006"
                )
            )
            continue
        if backend.is_live and not _notifications_safe(backend):
            errors.append(
                checks.Error(
                    f"KakaoPay backend {alias!r} takes real payments but has no webhook "
                    "credentials, so forged notifications could not be told apart.",
                    hint="Configure the backend's webhook signature key or credentials.",
                    id="kakaopay.E007",
                )
            )
    return errors


def _notifications_safe(backend: Any) -> bool:
    """Whether no forged notification can be accepted.

    A backend with webhook credentials authenticates them; one that declares
    ``WebhookAuth.NONE`` (its provider sends none, as KakaoPay's own API) has
    nothing to authenticate, and must refuse every delivery: probed here.
    """
    from .backends.types import WebhookAuth

    if getattr(backend, "webhook_auth", None) != WebhookAuth.NONE:
        return bool(backend.has_webhook_credentials())
    try:
        backend.verify_webhook(b"{}", {"Content-Type": "application/json"}, "127.0.0.1")
    except Exception:
        return True
    return False
