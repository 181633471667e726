"""The example shop's settings as the environment makes them, for the example tests."""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Mapping
from typing import Any

import pytest


def example_settings(
    monkeypatch: pytest.MonkeyPatch,
    environment: Mapping[str, str],
    *,
    cleared: Iterable[str] = (),
) -> dict[str, Any]:
    """The settings module's values with ``environment`` set and ``cleared`` unset.

    The module is loaded again afterwards without them, so that no other test
    sees this environment's settings.
    """
    for name in cleared:
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    import example_project.config.settings as module

    reloaded = importlib.reload(module)
    values = {name: getattr(reloaded, name) for name in dir(reloaded) if name.isupper()}
    monkeypatch.undo()
    importlib.reload(module)
    return values
