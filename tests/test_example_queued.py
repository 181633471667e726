"""The example shop in the queued notification mode (``KAKAOPAY_NOTIFICATION_PROCESSING``)."""

from __future__ import annotations

import importlib.util
from typing import Any

import pytest

from .example_env import example_settings

MODE = "KAKAOPAY_NOTIFICATION_PROCESSING"


def settings_for(monkeypatch: pytest.MonkeyPatch, mode: str | None) -> dict[str, Any]:
    return example_settings(monkeypatch, {MODE: mode} if mode else {}, cleared=[MODE])


def test_inline_by_default_with_no_queue(monkeypatch: pytest.MonkeyPatch) -> None:
    values = settings_for(monkeypatch, None)
    assert values["KAKAOPAY"]["NOTIFICATION_PROCESSING"] == "inline"
    assert "django_tasks_db" not in values["INSTALLED_APPS"]
    assert "TASKS" not in values


def test_queued_brings_the_database_queue(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("django_tasks_db", reason="django-tasks-db is not installed")
    values = settings_for(monkeypatch, "queued")
    assert values["KAKAOPAY"]["NOTIFICATION_PROCESSING"] == "queued"
    assert "django_tasks_db" in values["INSTALLED_APPS"]
    assert values["TASKS"] == {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    if importlib.util.find_spec("django.tasks") is None:
        assert "django_tasks" in values["INSTALLED_APPS"]
