"""The example shop's settings pass ``manage.py check --deploy`` when the
environment says it is deployed: HTTPS redirect, HSTS and secure cookies
come from environment variables, and the sandbox must be asked for by name
once ``DEBUG`` is off."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MANAGE = ROOT / "example_project" / "manage.py"

HTTPS = {
    "SECURE_SSL_REDIRECT": "True",
    "SESSION_COOKIE_SECURE": "True",
    "CSRF_COOKIE_SECURE": "True",
    "SECURE_HSTS_SECONDS": "31536000",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": "True",
    "SECURE_HSTS_PRELOAD": "True",
    "SECURE_PROXY_SSL_HEADER": "HTTP_X_FORWARDED_PROTO",
}
STAGING = {"KAKAOPAY_SANDBOX_ALLOW_WITHOUT_DEBUG": "True"}


def check_deploy(tmp_path: Path, **variables: str) -> subprocess.CompletedProcess[str]:
    env = {
        key: value
        for key, value in os.environ.items()
        # The test's own settings and database must not leak into the shop's.
        if key not in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL")
    }
    env.update(
        DEBUG="False",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="shop.example",
        KAKAOPAY_SITE_URL="https://shop.example",
        DATABASE_URL=f"sqlite:///{(tmp_path / 'db.sqlite3').as_posix()}",
        **variables,
    )
    return subprocess.run(  # noqa: S603 (our own interpreter and manage.py)
        [sys.executable, str(MANAGE), "check", "--deploy"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def security_ids(output: str) -> set[str]:
    return {word.strip(":()") for word in output.split() if word.startswith("(security.")}


def test_a_production_like_configuration_is_clean(tmp_path: Path) -> None:
    result = check_deploy(tmp_path, **HTTPS, **STAGING)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert security_ids(output) == set(), output
    assert "security." not in output, output


def test_without_the_variables_django_asks_for_https(tmp_path: Path) -> None:
    result = check_deploy(tmp_path, **STAGING)
    output = result.stdout + result.stderr
    assert {"security.W004", "security.W008", "security.W012", "security.W016"} <= security_ids(
        output
    ), output


@pytest.mark.parametrize("value", ["", "False"])
def test_the_sandbox_without_debug_needs_the_staging_variable(tmp_path: Path, value: str) -> None:
    result = check_deploy(tmp_path, **HTTPS, KAKAOPAY_SANDBOX_ALLOW_WITHOUT_DEBUG=value)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "kakaopay.E008" in output, output
