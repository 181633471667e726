"""No module of the package is a thousand-line room: each holds one job a reader can find.

A module past 400 lines usually holds two jobs and is split along them (as
the provider backends are, one package each); past 500 lines it fails here.
Migrations are generated and exempt. The 400-line rule is enforced for
``backends/`` so far; elsewhere a module between 400 and 500 lines is
allowed until it is split, and the two already past 500 are listed in
:data:`LIMIT_EXCEPTIONS` until they are.
"""

from __future__ import annotations

from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "django_kakaopay"

LIMIT = 500
TARGET = 400
# Where the target is already the rule.
TARGET_ENFORCED_IN = ("backends",)
# Modules past the limit when the test was written, being split by work in
# progress (a name that no longer exists exempts nothing); remove each once split.
LIMIT_EXCEPTIONS = {"api/views.py", "services/billing.py"}


def line_count(path: Path) -> int:
    with path.open(encoding="utf-8") as source:
        return sum(1 for _line in source)


def modules() -> list[str]:
    return sorted(
        path.relative_to(PACKAGE).as_posix()
        for path in PACKAGE.rglob("*.py")
        if "migrations" not in path.relative_to(PACKAGE).parts
    )


def over(limit: int, names: list[str]) -> dict[str, int]:
    return {name: count for name in names if (count := line_count(PACKAGE / name)) > limit}


def test_the_package_is_found() -> None:
    assert "backends/base.py" in modules()


@pytest.mark.parametrize("folder", TARGET_ENFORCED_IN)
def test_no_module_of_an_enforced_folder_is_over_the_target(folder: str) -> None:
    names = [name for name in modules() if name.startswith(f"{folder}/")]
    assert names
    assert over(TARGET, names) == {}, f"split these along their jobs (at most {TARGET} lines)"


def test_no_module_is_over_the_limit() -> None:
    names = [name for name in modules() if name not in LIMIT_EXCEPTIONS]
    assert over(LIMIT, names) == {}, f"split these along their jobs (at most {LIMIT} lines)"
