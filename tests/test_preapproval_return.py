"""The return view completes an agreement through its backend's declared return parameters.

As for payments: a backend such as KakaoPay's own approves an agreement with
a token the browser brings back; the token may be used to ask the provider,
never as proof, and an agreement that is settled already asks nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

import pytest
from django.test import Client, override_settings

from django_kakaopay import services
from django_kakaopay.backends.sandbox import SandboxBackend
from django_kakaopay.backends.types import PreapprovalRef, PreapprovalSnapshot
from django_kakaopay.models import Preapproval
from django_kakaopay.services.payments import RETURN_PARAMETER_LIMIT
from django_kakaopay.status import PreapprovalStatus

from .helpers import sandbox_settings

pytestmark = pytest.mark.django_db


class TokenBackend(SandboxBackend):
    """The sandbox, completing agreements with a token from the return URL."""

    return_parameters: ClassVar[tuple[str, ...]] = ("pg_token",)
    seen: ClassVar[list[dict[str, str]]] = []
    genuine: ClassVar[set[str]] = set()

    def complete_preapproval_return(
        self, ref: PreapprovalRef, params: Mapping[str, str]
    ) -> PreapprovalSnapshot:
        self.seen.append(dict(params))
        if params.get("pg_token") in self.genuine:  # the provider approved it
            return PreapprovalSnapshot(
                status=PreapprovalStatus.ACTIVE,
                provider_status="ACTIVE",
                provider_preapproval_id=ref.provider_preapproval_id,
                reference=ref.reference,
            )
        return self.fetch_preapproval(ref)  # the provider's word, whatever the token says


SETTINGS = sandbox_settings(extra={"token": f"{__name__}.TokenBackend"})


@pytest.fixture(autouse=True)
def _token_backend() -> None:
    TokenBackend.seen.clear()
    TokenBackend.genuine.clear()


def started(backend: str = "token") -> Preapproval:
    preapproval = services.create_preapproval(backend=backend)
    services.start_preapproval(preapproval)
    preapproval.refresh_from_db()
    return preapproval


def back(preapproval: Preapproval, **query: str) -> int:
    response = Client().get(f"/kakaopay/return/{preapproval.return_token}/", query)
    return response.status_code


@override_settings(KAKAOPAY=SETTINGS)
def test_a_forged_token_activates_nothing() -> None:
    preapproval = started()
    long_token = "t" * (RETURN_PARAMETER_LIMIT + 10)
    assert back(preapproval, pg_token=long_token, status="ACTIVE", sid="S1") == 202
    assert TokenBackend.seen == [{"pg_token": "t" * RETURN_PARAMETER_LIMIT}]
    preapproval.refresh_from_db()
    assert preapproval.status == PreapprovalStatus.PENDING


@override_settings(KAKAOPAY=SETTINGS)
def test_the_providers_answer_activates_once_and_a_reload_asks_nothing() -> None:
    preapproval = started()
    TokenBackend.genuine.add("genuine-token")
    assert back(preapproval, pg_token="genuine-token") == 200
    preapproval.refresh_from_db()
    assert preapproval.status == PreapprovalStatus.ACTIVE
    activated = preapproval.transitions.get(to_status="active")
    assert activated.source == "return"
    assert activated.evidence["parameters"] == ["pg_token"]
    assert "genuine-token" not in str(activated.evidence)
    back(preapproval, pg_token="genuine-token")  # a reload
    back(preapproval, pg_token="another")
    assert len(TokenBackend.seen) == 1, "nothing is approved twice"
    assert preapproval.transitions.filter(to_status="active").count() == 1


@override_settings(KAKAOPAY=SETTINGS)
def test_without_the_parameter_the_agreement_is_pulled() -> None:
    preapproval = started()
    back(preapproval, status="ACTIVE")
    assert TokenBackend.seen == []


@override_settings(KAKAOPAY=SETTINGS)
def test_a_backend_that_declares_none_gets_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    preapproval = started("sandbox")
    calls: list[object] = []
    monkeypatch.setattr(
        SandboxBackend,
        "complete_preapproval_return",
        lambda self, ref, params: calls.append(params),
    )
    back(preapproval, pg_token="x")
    assert calls == []


def test_the_default_pulls_the_agreement() -> None:
    backend = SandboxBackend(alias="sandbox", options={})
    pulled: list[PreapprovalRef] = []
    backend.fetch_preapproval = lambda ref: pulled.append(ref) or PreapprovalSnapshot(None)  # type: ignore[method-assign]
    ref = PreapprovalRef(reference="AGR-1")
    assert backend.complete_preapproval_return(ref, {"pg_token": "x"}) == PreapprovalSnapshot(None)
    assert pulled == [ref]
