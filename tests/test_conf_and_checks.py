"""The KAKAOPAY setting is read lazily, backends are built once, checks explain mistakes."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from io import StringIO
from pathlib import Path
from typing import Any, ClassVar

import pytest
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings

from django_kakaopay.backends.base import BaseBackend
from django_kakaopay.backends.sandbox import SandboxBackend
from django_kakaopay.checks import check_settings
from django_kakaopay.conf import DEFAULT_SETTINGS, backends, get_backend, get_setting
from django_kakaopay.exceptions import BackendNotFound

SANDBOX = "django_kakaopay.backends.sandbox.SandboxBackend"
HERE = "tests.test_conf_and_checks"


class NeedsKey(BaseBackend):
    """A live backend with a required option and no webhook authentication."""

    required_options: ClassVar[tuple[str, ...]] = ("API_KEY",)


class LiveWithoutWebhookKey(BaseBackend):
    """Configured completely, but cannot tell a forged notification from a real one."""

    required_options: ClassVar[tuple[str, ...]] = ("API_KEY",)


class LiveAndSigned(NeedsKey):
    def has_webhook_credentials(self) -> bool:
        return bool(self.options.get("WEBHOOK_KEY"))


class BrokenInit(BaseBackend):
    def __init__(self, alias: str, options: Mapping[str, Any]) -> None:
        raise RuntimeError("cannot start")


class NotABackend:
    pass


# tests/settings.py's sandbox: tests run with DEBUG off, so it opts in.
TEST_SANDBOX_OPTIONS = {"MERCHANT_NAME": "Test shop", "ALLOW_WITHOUT_DEBUG": True}
STAGING = {"ALLOW_WITHOUT_DEBUG": True}


def config(**backend_entries: dict[str, Any]) -> dict[str, Any]:
    return {"DEFAULT_BACKEND": next(iter(backend_entries)), "BACKENDS": backend_entries}


def check_ids(settings_value: Any) -> list[str]:
    with override_settings(KAKAOPAY=settings_value):
        return [message.id or "" for message in check_settings()]


# -- lazy settings and the registry ----------------------------------------------------


def test_settings_are_read_when_used() -> None:
    assert get_setting("PROCESSING_REFRESH_SECONDS") == 3
    with override_settings(KAKAOPAY={"PROCESSING_REFRESH_SECONDS": 9}):
        assert get_setting("PROCESSING_REFRESH_SECONDS") == 9
        assert get_setting("DEFAULT_BACKEND") == "sandbox", "defaults fill the rest"
    assert get_setting("PROCESSING_REFRESH_SECONDS") == 3


def test_override_settings_changes_the_backend_options() -> None:
    assert get_backend("sandbox").options == TEST_SANDBOX_OPTIONS
    with override_settings(
        KAKAOPAY=config(sandbox={"BACKEND": SANDBOX, "OPTIONS": {"MERCHANT_NAME": "Other"}})
    ):
        backend = get_backend("sandbox")
        assert isinstance(backend, SandboxBackend)
        assert backend.merchant_name == "Other"
    assert get_backend("sandbox").options == TEST_SANDBOX_OPTIONS


def test_no_setting_at_all_means_the_sandbox() -> None:
    with override_settings(KAKAOPAY=None):
        assert get_setting("DEFAULT_BACKEND") == "sandbox"
        assert isinstance(get_backend(), SandboxBackend)


def test_importing_the_package_reads_no_settings() -> None:
    """Importing must work before settings exist (``import`` in settings.py, tooling)."""
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    code = (
        "import django_kakaopay, django_kakaopay.conf, django_kakaopay.checks, "
        "django_kakaopay.money, django_kakaopay.status, django_kakaopay.exceptions, "
        "django_kakaopay.backends.base, django_kakaopay.backends.http\n"
        "from django.conf import settings\n"
        "assert not settings.configured\n"
        "print('ok')"
    )
    result = subprocess.run(  # noqa: S603 (our own interpreter and a constant script)
        [sys.executable, "-c", code],
        cwd=Path(__file__).resolve().parent.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_each_alias_is_built_once() -> None:
    first = get_backend("sandbox")
    assert get_backend("sandbox") is first
    assert get_backend() is first, "the default alias"
    assert backends.get("sandbox") is first


def test_the_registry_is_cleared_when_the_setting_changes() -> None:
    first = get_backend("sandbox")
    with override_settings(KAKAOPAY=config(sandbox={"BACKEND": SANDBOX})):
        rebuilt = get_backend("sandbox")
        assert rebuilt is not first
        assert get_backend("sandbox") is rebuilt
    after = get_backend("sandbox")
    assert after is not rebuilt, "leaving the override clears it again"
    assert after.options == TEST_SANDBOX_OPTIONS


def test_other_settings_do_not_clear_the_registry() -> None:
    first = get_backend("sandbox")
    with override_settings(LANGUAGE_CODE="ko"):
        assert get_backend("sandbox") is first


def test_unknown_alias_is_backend_not_found() -> None:
    with pytest.raises(BackendNotFound, match="missing"):
        get_backend("missing")
    assert issubclass(BackendNotFound, ImproperlyConfigured)
    with override_settings(KAKAOPAY={"DEFAULT_BACKEND": "gone"}), pytest.raises(BackendNotFound):
        get_backend()


def test_a_bad_path_or_class_is_improperly_configured_when_used() -> None:
    with (
        override_settings(KAKAOPAY=config(x={"BACKEND": "nowhere.Backend"})),
        pytest.raises(ImproperlyConfigured, match="cannot import"),
    ):
        get_backend("x")
    with (
        override_settings(KAKAOPAY=config(x={"BACKEND": f"{HERE}.NotABackend"})),
        pytest.raises(ImproperlyConfigured, match="not a BaseBackend"),
    ):
        get_backend("x")


# -- system checks ------------------------------------------------------------------------


@override_settings(DEBUG=True)
def test_a_correct_development_configuration_has_no_errors() -> None:
    assert check_ids(config(sandbox={"BACKEND": SANDBOX})) == []
    assert check_ids(None) == [], "no setting at all is the sandbox"


def test_a_sandbox_with_debug_off_is_an_error_unless_it_opts_in() -> None:
    """In production the sandbox is a free checkout: anyone approves their own payment."""
    assert check_ids(None) == ["kakaopay.E008"], "the implicit sandbox too"
    assert check_ids(config(sandbox={"BACKEND": SANDBOX})) == ["kakaopay.E008"]
    assert check_ids(config(sandbox={"BACKEND": SANDBOX, "OPTIONS": STAGING})) == []
    with override_settings(KAKAOPAY=None):
        (message,) = check_settings()
    assert message.level == checks.ERROR
    assert "KAKAOPAY['BACKENDS'] is not set" in message.msg
    assert "ALLOW_WITHOUT_DEBUG" in (message.hint or "")
    # Only a real True opts in: a string from an environment variable does not.
    assert check_ids(
        config(sandbox={"BACKEND": SANDBOX, "OPTIONS": {"ALLOW_WITHOUT_DEBUG": "false"}})
    ) == ["kakaopay.E008", "kakaopay.E005"]


def test_check_deploy_reports_the_sandbox() -> None:
    with (
        override_settings(KAKAOPAY=config(sandbox={"BACKEND": SANDBOX})),
        pytest.raises(SystemCheckError, match=r"kakaopay\.E008"),
    ):
        call_command("check", "--deploy", stdout=StringIO())


def test_misspelt_settings_are_reported_with_a_suggestion() -> None:
    value = config(sandbox={"BACKEND": SANDBOX, "OPTIONS": STAGING})
    value["SITE_ULR"] = "https://shop.example"
    value["BACKENDS"]["sandbox"]["OPTION"] = {"MERCHANT_NAME": "Shop"}
    with override_settings(KAKAOPAY=value):
        messages = check_settings()
    assert [(m.id, m.level) for m in messages] == [
        ("kakaopay.W002", checks.WARNING),
        ("kakaopay.W002", checks.WARNING),
    ]
    assert "KAKAOPAY['SITE_ULR']" in messages[0].msg
    assert "did you mean 'SITE_URL'?" in messages[0].msg
    assert "['OPTION']" in messages[1].msg
    assert "did you mean 'OPTIONS'?" in messages[1].msg


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("START_CLAIM_SECONDS", "120"),
        ("START_CLAIM_SECONDS", 0),
        ("CHECKOUT_WAIT_SECONDS", -1),
        ("CHECKOUT_WAIT_SECONDS", True),
        ("WEBHOOK_MAX_BODY_BYTES", 10),
        ("API_PAGE_SIZE", None),
    ],
)
def test_a_setting_that_is_not_a_usable_number_is_an_error(name: str, value: Any) -> None:
    value_setting = config(sandbox={"BACKEND": SANDBOX, "OPTIONS": STAGING})
    value_setting[name] = value
    with override_settings(KAKAOPAY=value_setting):
        (message,) = check_settings()
    assert message.id == "kakaopay.E009"
    assert name in message.msg


def test_fractional_seconds_are_fine() -> None:
    value = config(sandbox={"BACKEND": SANDBOX, "OPTIONS": STAGING})
    value["CHECKOUT_WAIT_SECONDS"] = 2.5
    assert check_ids(value) == []


def test_a_misspelt_sandbox_option_is_reported() -> None:
    found = config(sandbox={"BACKEND": SANDBOX, "OPTIONS": {**STAGING, "MERCHANT_NAM": "S"}})
    with override_settings(KAKAOPAY=found):
        (message,) = check_settings()
    assert message.id == "kakaopay.E005"
    assert "did you mean 'MERCHANT_NAME'?" in message.msg


def test_every_setting_name_is_known_to_the_check() -> None:
    value = {name: DEFAULT_SETTINGS[name] for name in DEFAULT_SETTINGS}
    value["BACKENDS"] = {"sandbox": {"BACKEND": SANDBOX, "OPTIONS": STAGING}}
    assert check_ids(value) == []


def test_setting_must_be_a_dict() -> None:
    assert check_ids(["sandbox"]) == ["kakaopay.E001"]
    assert check_ids({"BACKENDS": {"x": "a.path"}}) == ["kakaopay.E001"]


def test_default_backend_must_be_configured() -> None:
    value = config(sandbox={"BACKEND": SANDBOX, "OPTIONS": STAGING})
    value["DEFAULT_BACKEND"] = "checkout"
    with override_settings(KAKAOPAY=value):
        messages = check_settings()
    assert [m.id for m in messages] == ["kakaopay.E002"]
    assert messages[0].level == checks.ERROR
    assert "'checkout'" in messages[0].msg
    assert "sandbox" in (messages[0].hint or "")


def test_unknown_backend_path() -> None:
    assert check_ids(config(x={"BACKEND": "django_kakaopay.backends.nowhere.Backend"})) == [
        "kakaopay.E003"
    ]


def test_not_a_backend_class() -> None:
    assert check_ids(config(x={"BACKEND": f"{HERE}.NotABackend"})) == ["kakaopay.E004"]


def test_missing_required_option() -> None:
    value = config(live={"BACKEND": f"{HERE}.LiveAndSigned", "OPTIONS": {"WEBHOOK_KEY": "w"}})
    with override_settings(KAKAOPAY=value):
        messages = check_settings()
    assert [m.id for m in messages] == ["kakaopay.E005"]
    assert "'API_KEY'" in messages[0].msg
    assert "OPTIONS" in (messages[0].hint or "")
    settings_value = config(
        live={
            "BACKEND": f"{HERE}.LiveAndSigned",
            "OPTIONS": {"API_KEY": "k", "WEBHOOK_KEY": "w"},
        }
    )
    assert check_ids(settings_value) == []


def test_a_live_backend_without_webhook_credentials() -> None:
    value = config(live={"BACKEND": f"{HERE}.LiveWithoutWebhookKey", "OPTIONS": {"API_KEY": "k"}})
    with override_settings(KAKAOPAY=value):
        messages = check_settings()
    assert [m.id for m in messages] == ["kakaopay.E007"]
    assert "forged notifications" in messages[0].msg


def test_both_problems_of_one_backend_are_reported() -> None:
    assert check_ids(config(live={"BACKEND": f"{HERE}.NeedsKey"})) == [
        "kakaopay.E005",
        "kakaopay.E007",
    ]


def test_sandbox_needs_no_webhook_credentials_option() -> None:
    assert check_ids(config(sandbox={"BACKEND": SANDBOX, "OPTIONS": STAGING})) == []


def test_a_backend_that_cannot_be_created_is_reported_not_raised() -> None:
    assert check_ids(config(x={"BACKEND": f"{HERE}.BrokenInit"})) == ["kakaopay.E006"]


def test_bad_sandbox_options_are_reported() -> None:
    found = check_ids(
        config(sandbox={"BACKEND": SANDBOX, "OPTIONS": {**STAGING, "NOTIFICATIONS": "sometimes"}})
    )
    assert found == ["kakaopay.E005"]
    found = check_ids(
        config(
            sandbox={"BACKEND": SANDBOX, "OPTIONS": {**STAGING, "NOTIFICATION_TRANSPORT": "pigeon"}}
        )
    )
    assert found == ["kakaopay.E005"]


def test_every_backend_is_checked() -> None:
    value = config(
        sandbox={"BACKEND": SANDBOX, "OPTIONS": STAGING},
        a={"BACKEND": "nowhere.Backend"},
        b={"BACKEND": f"{HERE}.NotABackend"},
    )
    assert check_ids(value) == ["kakaopay.E003", "kakaopay.E004"]


@pytest.mark.django_db  # Django 6.1's check command also checks the database
def test_manage_py_check_runs_them() -> None:
    out = StringIO()
    call_command("check", stdout=out)
    assert "no issues" in out.getvalue()
    with (
        override_settings(KAKAOPAY=config(x={"BACKEND": "nowhere.Backend"})),
        pytest.raises(SystemCheckError, match=r"kakaopay\.E003"),
    ):
        call_command("check", stdout=StringIO())
