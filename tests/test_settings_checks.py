"""The KAKAOPAY setting is read lazily, backends are built once, checks explain mistakes."""

from __future__ import annotations

from collections.abc import Mapping
from io import StringIO
from typing import Any, ClassVar

import pytest
import requests
import responses
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings

from django_kakaopay.backends.base import BaseBackend
from django_kakaopay.backends.http import HttpClient
from django_kakaopay.backends.sandbox import SandboxBackend
from django_kakaopay.checks import check_settings
from django_kakaopay.conf import get_backend, get_setting
from django_kakaopay.exceptions import BackendNotFound, OutcomeUnknown


class NeedsKey(BaseBackend):
    """A live backend with a required option and no webhook authentication."""

    required_options: ClassVar[tuple[str, ...]] = ("API_KEY",)


class NotABackend:
    pass


def config(**backends: dict[str, Any]) -> dict[str, Any]:
    return {"DEFAULT_BACKEND": next(iter(backends)), "BACKENDS": backends}


def ids(settings_value: Any) -> list[str]:
    with override_settings(KAKAOPAY=settings_value):
        return [message.id or "" for message in check_settings()]


def test_settings_are_read_when_used_not_at_import() -> None:
    assert get_setting("PROCESSING_REFRESH_SECONDS") == 3
    with override_settings(KAKAOPAY={"PROCESSING_REFRESH_SECONDS": 9}):
        assert get_setting("PROCESSING_REFRESH_SECONDS") == 9
        assert get_setting("DEFAULT_BACKEND") == "sandbox", "defaults fill the rest"
    assert get_setting("PROCESSING_REFRESH_SECONDS") == 3


def test_each_alias_is_built_once_and_rebuilt_when_settings_change() -> None:
    first = get_backend("sandbox")
    assert get_backend("sandbox") is first
    assert get_backend() is first, "the default alias"
    with override_settings(
        KAKAOPAY=config(sandbox={"BACKEND": "django_kakaopay.backends.sandbox.SandboxBackend"})
    ):
        rebuilt = get_backend("sandbox")
        assert rebuilt is not first
        assert isinstance(rebuilt, SandboxBackend)
    with pytest.raises(BackendNotFound):
        get_backend("missing")


def test_a_correct_configuration_has_no_errors() -> None:
    assert ids(config(sandbox={"BACKEND": "django_kakaopay.backends.sandbox.SandboxBackend"})) == []


def test_setting_must_be_a_dict() -> None:
    assert ids(["sandbox"]) == ["kakaopay.E001"]


def test_default_backend_must_be_configured() -> None:
    value = config(sandbox={"BACKEND": "django_kakaopay.backends.sandbox.SandboxBackend"})
    value["DEFAULT_BACKEND"] = "checkout"
    assert ids(value) == ["kakaopay.E002"]


def test_unknown_backend_path() -> None:
    assert ids(config(x={"BACKEND": "django_kakaopay.backends.nowhere.Backend"})) == [
        "kakaopay.E003"
    ]


def test_not_a_backend_class() -> None:
    assert ids(config(x={"BACKEND": "tests.test_settings_checks.NotABackend"})) == ["kakaopay.E004"]


def test_missing_required_option_and_live_without_webhook_credentials() -> None:
    found = ids(config(live={"BACKEND": "tests.test_settings_checks.NeedsKey", "OPTIONS": {}}))
    assert found == ["kakaopay.E005", "kakaopay.E007"]
    with override_settings(
        KAKAOPAY=config(live={"BACKEND": "tests.test_settings_checks.NeedsKey"})
    ):
        messages = check_settings()
    assert "API_KEY" in messages[0].msg
    assert "forged notifications" in messages[1].msg


def test_bad_sandbox_options_are_reported() -> None:
    found = ids(
        config(
            sandbox={
                "BACKEND": "django_kakaopay.backends.sandbox.SandboxBackend",
                "OPTIONS": {"NOTIFICATIONS": "sometimes"},
            }
        )
    )
    assert found == ["kakaopay.E005"]


@pytest.mark.django_db  # Django 6.1's check command also checks the database
def test_manage_py_check_runs_them() -> None:
    call_command("check", stdout=StringIO())
    with (
        override_settings(KAKAOPAY=config(x={"BACKEND": "nowhere.Backend"})),
        pytest.raises(SystemCheckError, match=r"kakaopay\.E003"),
    ):
        call_command("check", stdout=StringIO())


# -- outbound HTTP ------------------------------------------------------------------


@responses.activate
def test_every_call_has_a_connect_and_a_read_timeout() -> None:
    seen: list[Any] = []
    original = requests.Session.request

    def spy(self: requests.Session, *args: Any, **kwargs: Any) -> Any:
        seen.append(kwargs.get("timeout"))
        return original(self, *args, **kwargs)

    responses.add(responses.GET, "https://provider.example/ping", json={"ok": True})
    client = HttpClient("https://provider.example", connect_timeout=2, read_timeout=7)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(requests.Session, "request", spy)
        answer = client.request("GET", "/ping")
    assert seen == [(2.0, 7.0)]
    assert answer.status_code == 200
    assert answer.json() == {"ok": True}
    assert client.timeout == (2.0, 7.0)
    assert HttpClient("https://provider.example").timeout == (5.0, 30.0)


@pytest.mark.parametrize(
    "failure", [requests.ConnectTimeout(), requests.ReadTimeout(), requests.ConnectionError()]
)
@responses.activate
def test_transport_failures_mean_the_outcome_is_unknown(failure: Exception) -> None:
    responses.add(responses.POST, "https://provider.example/payments", body=failure)
    with pytest.raises(OutcomeUnknown):
        HttpClient("https://provider.example").request("POST", "/payments", json_body={})


@pytest.mark.parametrize(
    ("status", "unknown"),
    [(200, False), (400, False), (401, False), (409, True), (429, True), (500, True), (503, True)],
)
def test_which_answers_leave_the_outcome_unknown(status: int, unknown: bool) -> None:
    assert HttpClient.outcome_is_unknown(status) is unknown


def test_redacted_headers_keep_only_the_allow_list() -> None:
    backend = SandboxBackend("sandbox", {})
    headers: Mapping[str, str] = {
        "Content-Type": "application/json",
        "Authorization": "Basic xyz",
        "Cookie": "sessionid=1",
        "X-Sandbox-Signature": "sha256=abc",
        "User-Agent": "provider/1.0",
    }
    assert backend.redact_headers(headers) == {
        "Content-Type": "application/json",
        "User-Agent": "provider/1.0",
    }
