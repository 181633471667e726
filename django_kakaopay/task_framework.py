"""Django's Tasks framework, wherever this Django has it.

Django 6.0 ships it as ``django.tasks``; on Django 5.2 the ``django-tasks``
backport provides the same API as ``django_tasks``
(``pip install "django-kakaopay[tasks]"``). Nothing imports this module
unless tasks are used: without either, inline notifications and the
management commands work as before.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

from django.core.exceptions import ImproperlyConfigured

MODULES = ("django.tasks", "django_tasks")
MISSING = (
    "django-kakaopay's tasks need Django's Tasks framework: Django 6.0 or later, or on "
    'Django 5.2 the django-tasks backport (pip install "django-kakaopay[tasks]").'
)


def framework() -> ModuleType | None:
    """``django.tasks`` or the backport, or ``None`` when this Django has neither."""
    for name in MODULES:
        try:
            return importlib.import_module(name)
        except ImportError:
            continue
    return None


def require() -> ModuleType:
    found = framework()
    if found is None:
        raise ImproperlyConfigured(MISSING)
    return found


def task_decorator() -> Any:
    """The framework's ``task`` decorator (typed loosely: its module depends on the Django)."""
    return require().task


def supports_defer(task: Any) -> bool:
    """Whether the task's backend can run it later (``run_after``), as a retry needs."""
    try:
        return bool(task.get_backend().supports_defer)
    except Exception:
        return False
