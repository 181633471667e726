"""The example shop in the queued notification mode (``KAKAOPAY_NOTIFICATION_PROCESSING``)."""

from __future__ import annotations

import importlib
from types import ModuleType

import pytest


def example_settings(monkeypatch: pytest.MonkeyPatch, mode: str | None) -> ModuleType:
    monkeypatch.delenv("KAKAOPAY_NOTIFICATION_PROCESSING", raising=False)
    if mode is not None:
        monkeypatch.setenv("KAKAOPAY_NOTIFICATION_PROCESSING", mode)
    import example_project.config.settings as settings_module

    module = importlib.reload(settings_module)
    values = ModuleType("snapshot")
    values.__dict__.update({name: getattr(module, name) for name in ("KAKAOPAY", "INSTALLED_APPS")})
    values.TASKS = getattr(module, "TASKS", None)  # type: ignore[attr-defined]
    monkeypatch.undo()
    importlib.reload(settings_module)
    return values


def test_inline_by_default_with_no_queue(monkeypatch: pytest.MonkeyPatch) -> None:
    values = example_settings(monkeypatch, None)
    assert values.KAKAOPAY["NOTIFICATION_PROCESSING"] == "inline"
    assert "django_tasks_db" not in values.INSTALLED_APPS
    assert values.TASKS is None  # type: ignore[attr-defined]


def test_queued_brings_the_database_queue(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("django_tasks_db", reason="django-tasks-db is not installed")
    values = example_settings(monkeypatch, "queued")
    assert values.KAKAOPAY["NOTIFICATION_PROCESSING"] == "queued"
    assert "django_tasks_db" in values.INSTALLED_APPS
    assert values.TASKS == {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}  # type: ignore[attr-defined]
    if importlib.util.find_spec("django.tasks") is None:
        assert "django_tasks" in values.INSTALLED_APPS
