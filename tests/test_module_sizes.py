"""No module of the package is a thousand-line room: each holds one job a reader can find.

A module past 400 lines usually holds two jobs and is split along them (as
the provider backends are, one package each). Migrations are generated and
exempt.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "django_kakaopay"

LIMIT = 400


def line_count(path: Path) -> int:
    with path.open(encoding="utf-8") as source:
        return sum(1 for _line in source)


def modules() -> list[str]:
    return sorted(
        path.relative_to(PACKAGE).as_posix()
        for path in PACKAGE.rglob("*.py")
        if "migrations" not in path.relative_to(PACKAGE).parts
    )


def test_the_package_is_found() -> None:
    names = modules()
    assert "backends/base.py" in names
    assert "backends/checkout/notifications.py" in names, "sub-packages are counted"


def test_no_module_is_over_the_limit() -> None:
    over = {name: count for name in modules() if (count := line_count(PACKAGE / name)) > LIMIT}
    assert over == {}, f"split these along their jobs (at most {LIMIT} lines)"
