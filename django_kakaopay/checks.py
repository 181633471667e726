"""System checks for the ``KAKAOPAY`` setting (``manage.py check``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from .conf import backend_configs, default_backend_alias


@checks.register("kakaopay")
def check_settings(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    from .backends.base import BaseBackend

    try:
        configs = backend_configs()
    except ImproperlyConfigured as exc:
        return [checks.Error(str(exc), id="kakaopay.E001")]
    errors: list[checks.CheckMessage] = []
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
        if backend.is_live and not backend.has_webhook_credentials():
            errors.append(
                checks.Error(
                    f"KakaoPay backend {alias!r} takes real payments but has no webhook "
                    "credentials, so forged notifications could not be told apart.",
                    hint="Configure the backend's webhook signature key or credentials.",
                    id="kakaopay.E007",
                )
            )
    return errors
