"""The Korean (ko) catalogue ships complete, compiled and actually used.

Keeping it honest after a string changes in ``django_kakaopay/``::

    cd django_kakaopay
    DJANGO_SETTINGS_MODULE=tests.settings PYTHONPATH=.. python -m django makemessages -l ko --no-obsolete
    # translate every entry with an empty msgstr or a "#, fuzzy" flag in
    # locale/ko/LC_MESSAGES/django.po (and drop the fuzzy flag), then:
    DJANGO_SETTINGS_MODULE=tests.settings PYTHONPATH=.. python -m django compilemessages -l ko

Both ``django.po`` and ``django.mo`` are committed and shipped. The check that
every source string is in the catalogue needs GNU gettext's ``xgettext``; without
it the check is skipped, unless ``DJANGO_KAKAOPAY_REQUIRE_XGETTEXT=1`` (set it in
CI) turns the skip into a failure.
"""

from __future__ import annotations

import argparse
import gettext
import os
import re
import shutil
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.template.loader import render_to_string
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import translation

import django_kakaopay
from django_kakaopay import services
from django_kakaopay.management.commands._options import iso_date, positive_int
from django_kakaopay.models import Payment
from django_kakaopay.money import validate_amount
from django_kakaopay.status import PaymentStatus, PreapprovalStatus, RefundStatus
from tests import helpers

PACKAGE_DIR = Path(django_kakaopay.__file__).resolve().parent
LC_MESSAGES = PACKAGE_DIR / "locale" / "ko" / "LC_MESSAGES"
PO_PATH = LC_MESSAGES / "django.po"
MO_PATH = LC_MESSAGES / "django.mo"

HOW_TO_FIX = (
    "Re-run the process in this module's docstring (makemessages -l ko --no-obsolete, "
    "translate, compilemessages -l ko) and commit django.po and django.mo."
)


@pytest.fixture(autouse=True)
def _keep_active_language() -> Iterator[None]:
    """LocaleMiddleware activates ko for the thread; do not leak it into other tests."""
    language = translation.get_language()
    yield
    if language:
        translation.activate(language)
    else:
        translation.deactivate_all()


# --- a small .po reader --------------------------------------------------------

_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "a": "\a", "b": "\b"}
_KEYWORD = re.compile(r"^(msgctxt|msgid_plural|msgid|msgstr(?:\[(\d+)\])?)\s+(\".*\")\s*$")


def _unquote(literal: str) -> str:
    assert len(literal) >= 2, literal
    assert literal[0] == literal[-1] == '"', literal
    return re.sub(r"\\(.)", lambda m: _ESCAPES[m.group(1)], literal[1:-1])


@dataclass
class Entry:
    msgid: str = ""
    msgctxt: str | None = None
    msgid_plural: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)
    references: list[str] = field(default_factory=list)
    obsolete: bool = False
    line: int = 0

    @property
    def key(self) -> tuple[str | None, str, str | None]:
        return (self.msgctxt, self.msgid, self.msgid_plural)

    @property
    def is_header(self) -> bool:
        return self.msgid == "" and self.msgctxt is None

    @property
    def fuzzy(self) -> bool:
        return "fuzzy" in self.flags

    def describe(self) -> str:
        ctx = f"[{self.msgctxt}] " if self.msgctxt is not None else ""
        where = f" ({', '.join(self.references)})" if self.references else ""
        return f"line {self.line}: {ctx}{self.msgid!r}{where}"


def parse_po(path: Path) -> list[Entry]:
    """Entries of a GNU gettext .po file, obsolete (``#~``) ones flagged as such."""
    entries: list[Entry] = []
    entry = Entry()
    started = False  # the current entry has seen a keyword line
    target: tuple[str, int] | None = None

    def finish() -> None:
        nonlocal entry, started, target
        if started:
            entries.append(entry)
        entry, started, target = Entry(), False, None

    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        obsolete = line.startswith("#~")
        if obsolete:
            line = line[2:].strip()
            if line.startswith("|"):  # previous msgid of an obsolete fuzzy entry
                continue
        if not line:
            finish()
            continue
        if line.startswith("#") and not obsolete:
            if started:  # a comment always opens a new entry
                finish()
            if line.startswith("#,"):
                entry.flags.update(flag.strip() for flag in line[2:].split(",") if flag.strip())
            elif line.startswith("#:"):
                entry.references.extend(line[2:].split())
            continue
        match = _KEYWORD.match(line)
        if match:
            keyword, index, literal = match.groups()
            if keyword in ("msgid", "msgctxt") and started and entry.msgstr:
                finish()  # entries not separated by a blank line
            if not started:
                entry.line = number
            started = True
            entry.obsolete = entry.obsolete or obsolete
            text = _unquote(literal)
            if keyword.startswith("msgstr"):
                target = ("msgstr", int(index or 0))
                entry.msgstr[target[1]] = text
            else:
                target = (keyword, 0)
                setattr(entry, keyword, text)
        elif line.startswith('"') and target is not None:
            text = _unquote(line)
            if target[0] == "msgstr":
                entry.msgstr[target[1]] += text
            else:
                setattr(entry, target[0], getattr(entry, target[0]) + text)
        else:
            raise AssertionError(f"{path.name}:{number}: cannot parse {raw!r}")
    finish()
    return entries


def live_entries(path: Path = PO_PATH) -> list[Entry]:
    return [e for e in parse_po(path) if not e.obsolete]


def header(entries: list[Entry]) -> dict[str, str]:
    [head] = [e for e in entries if e.is_header]
    pairs = (line.split(":", 1) for line in head.msgstr[0].splitlines() if ":" in line)
    return {name.strip(): value.strip() for name, value in pairs}


# --- a small .mo reader --------------------------------------------------------


def read_mo(path: Path) -> dict[str, str]:
    """The raw catalogue of a compiled .mo: ``ctx\\x04msgid[\\x00plural]`` -> msgstr."""
    data = path.read_bytes()
    magic = struct.unpack("<I", data[:4])[0]
    order = {0x950412DE: "<", 0xDE120495: ">"}.get(magic)
    assert order, f"{path.name} is not a GNU .mo file"
    _revision, count, originals, translations = struct.unpack(order + "4I", data[4:20])
    catalogue = {}
    for i in range(count):
        olen, ooff = struct.unpack(order + "2I", data[originals + 8 * i : originals + 8 * i + 8])
        tlen, toff = struct.unpack(
            order + "2I", data[translations + 8 * i : translations + 8 * i + 8]
        )
        key = data[ooff : ooff + olen].decode("utf-8")
        catalogue[key] = data[toff : toff + tlen].decode("utf-8")
    return catalogue


def mo_key(entry: Entry) -> str:
    key = entry.msgid if entry.msgctxt is None else f"{entry.msgctxt}\x04{entry.msgid}"
    return key if entry.msgid_plural is None else f"{key}\x00{entry.msgid_plural}"


def mo_value(entry: Entry) -> str:
    text = "\x00".join(entry.msgstr[i] for i in sorted(entry.msgstr))
    if entry.is_header:  # msgfmt leaves POT-Creation-Date out of the compiled header
        text = _without_pot_date(text)
    return text


def _without_pot_date(header_text: str) -> str:
    return "".join(
        line
        for line in header_text.splitlines(keepends=True)
        if not line.startswith("POT-Creation-Date:")
    )


# --- (a) the catalogue is complete ---------------------------------------------


def test_po_header_is_korean() -> None:
    entries = live_entries()
    meta = header(entries)
    [head] = [e for e in entries if e.is_header]
    assert not head.fuzzy, "the header is still marked fuzzy"
    assert meta.get("Language") == "ko"
    assert meta.get("Plural-Forms") == "nplurals=1; plural=0;"
    assert meta.get("Content-Type") == "text/plain; charset=UTF-8"


def test_every_entry_is_translated_and_none_is_fuzzy() -> None:
    entries = [e for e in live_entries() if not e.is_header]
    assert entries, "the Korean catalogue is empty"
    plural_count = int(re.search(r"nplurals=(\d+)", header(live_entries())["Plural-Forms"])[1])
    fuzzy = [e.describe() for e in entries if e.fuzzy]
    empty = [
        e.describe()
        for e in entries
        if not e.msgstr
        or any(not text.strip() for text in e.msgstr.values())
        or (e.msgid_plural is not None and len(e.msgstr) != plural_count)
    ]
    problems = [f"fuzzy: {e}" for e in fuzzy] + [f"untranslated: {e}" for e in empty]
    assert not problems, (
        "the ko catalogue is incomplete:\n" + "\n".join(problems) + "\n" + HOW_TO_FIX
    )


_PLACEHOLDER = re.compile(r"%(?:\((\w+)\))?[#0\- +]*(?:\d+|\*)?(?:\.\d+)?[diouxXeEfFgGcrsa%]")


def _placeholders(text: str) -> tuple[list[str], set[str]]:
    positional, named = [], set()
    for match in _PLACEHOLDER.finditer(text):
        token = match.group(0)
        if token == "%%":
            continue
        if match.group(1):
            named.add(token)
        else:
            positional.append(token)
    return positional, named


def test_translations_keep_their_placeholders() -> None:
    wrong = []
    for entry in live_entries():
        if entry.is_header or "python-format" not in entry.flags:
            continue
        for text in entry.msgstr.values():
            if _placeholders(text) != _placeholders(entry.msgid):
                wrong.append(f"{entry.describe()} -> {text!r}")
    assert not wrong, "placeholders differ between msgid and msgstr:\n" + "\n".join(wrong)


# --- (b) the .mo is compiled from the current .po ------------------------------


def test_mo_matches_po() -> None:
    assert MO_PATH.exists(), f"{MO_PATH.name} is missing. {HOW_TO_FIX}"
    # What msgfmt would compile: fuzzy and untranslated entries are left out.
    expected = {
        mo_key(e): mo_value(e)
        for e in live_entries()
        if not e.fuzzy and (e.is_header or all(e.msgstr.values()))
    }
    compiled = read_mo(MO_PATH)
    compiled[""] = _without_pot_date(compiled.get("", ""))
    missing = sorted(k for k in expected if k not in compiled)
    extra = sorted(k for k in compiled if k not in expected)
    changed = sorted(k for k in expected if k in compiled and compiled[k] != expected[k])
    problems = (
        [f"not in .mo: {k!r}" for k in missing]
        + [f"only in .mo: {k!r}" for k in extra]
        + [f"different: {k!r}" for k in changed]
    )
    assert not problems, (
        "django.mo is out of date with django.po:\n"
        + "\n".join(problems[:20])
        + "\nRun compilemessages -l ko in django_kakaopay/ and commit django.mo."
    )


def test_gettext_reads_the_compiled_catalogue() -> None:
    with MO_PATH.open("rb") as fh:
        catalogue = gettext.GNUTranslations(fh)
    assert catalogue.info()["language"] == "ko"
    assert catalogue.pgettext("payment status", "Paid") == "결제 완료"
    assert catalogue.gettext("Cancel") == "취소"


# --- (c) nothing in the source is missing from the catalogue -------------------


def _extract_source_strings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[Entry]:
    """Run makemessages on a copy of the package; the repository tree is not touched."""
    if shutil.which("xgettext") is None:
        reason = (
            "GNU gettext (xgettext) is not installed, so the source strings were not "
            "extracted; install it with `apt-get install gettext`"
        )
        if os.environ.get("DJANGO_KAKAOPAY_REQUIRE_XGETTEXT") == "1":
            pytest.fail(reason + " (DJANGO_KAKAOPAY_REQUIRE_XGETTEXT=1 forbids skipping)")
        print(f"SKIPPED: {reason}")
        pytest.skip(reason)
    copy = tmp_path / "django_kakaopay"
    shutil.copytree(
        PACKAGE_DIR, copy, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "locale")
    )
    (copy / "locale").mkdir()
    monkeypatch.chdir(copy)
    call_command("makemessages", locale=["ko"], verbosity=0)
    return live_entries(copy / "locale" / "ko" / "LC_MESSAGES" / "django.po")


def test_every_source_string_is_in_the_shipped_catalogue(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    extracted = [e for e in _extract_source_strings(tmp_path, monkeypatch) if not e.is_header]
    assert extracted, "makemessages found no strings at all"
    shipped = {e.key for e in live_entries()}
    new = [e.describe() for e in extracted if e.key not in shipped]
    assert not new, (
        "strings in django_kakaopay/ with no Korean translation shipped:\n"
        + "\n".join(new)
        + "\n"
        + HOW_TO_FIX
    )


def test_shipped_catalogue_has_no_stale_entries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    extracted = {e.key for e in _extract_source_strings(tmp_path, monkeypatch)}
    stale = [e.describe() for e in live_entries() if e.key not in extracted]
    obsolete = [e.describe() for e in parse_po(PO_PATH) if e.obsolete]
    unused = stale + [f"obsolete #~ {e}" for e in obsolete]
    assert not unused, (
        "entries in django.po that django_kakaopay/ no longer uses:\n"
        + "\n".join(unused)
        + "\n"
        + HOW_TO_FIX
    )


# --- (d) pages and labels render in Korean -------------------------------------

ITEMS = [{"name": "Wireless headphones", "quantity": 1, "unit_price": 11000}]


def korean_client() -> Client:
    return Client(headers={"accept-language": "ko"})


def _open_sandbox_page(client: Client) -> tuple[Payment, str, str]:
    payment = services.create_payment(amount=11000, currency="KRW", items=ITEMS)
    response = client.get(reverse("kakaopay:checkout", args=[payment.return_token]), follow=True)
    assert response.status_code == 200
    assert response.redirect_chain, "checkout did not redirect to the sandbox page"
    sandbox_url = response.redirect_chain[-1][0]
    assert "/sandbox/" in sandbox_url
    return payment, sandbox_url, response.content.decode()


@pytest.mark.django_db
def test_sandbox_payment_page_in_korean() -> None:
    _payment, _url, html = _open_sandbox_page(korean_client())
    assert '<html lang="ko">' in html
    assert "<title>카카오페이로 결제</title>" in html
    assert "₩11,000 결제하기" in html  # the pay button, amount as formatted
    assert "₩11,000" in html
    assert "Wireless headphones" in html  # merchant data is not translated
    assert 'aria-label="주문 상품"' in html
    assert "결제 거절 시뮬레이션" in html
    assert "취소" in html
    assert "샌드박스" in html
    assert "Pay ₩11,000" not in html
    assert "Simulate a declined payment" not in html


@pytest.mark.django_db
def test_sandbox_payment_page_stays_english_for_english_browsers() -> None:
    _payment, _url, html = _open_sandbox_page(Client(headers={"accept-language": "en"}))
    assert "Pay ₩11,000" in html
    assert "결제하기" not in html


@pytest.mark.django_db
def test_processing_page_in_korean() -> None:
    client = korean_client()
    payment, _url, _html = _open_sandbox_page(client)
    response = client.get(reverse("kakaopay:return", args=[payment.return_token]))
    assert response.status_code == 202
    html = response.content.decode()
    assert "<title>결제 처리 중</title>" in html
    assert "카카오페이의 결제 승인을 기다리고 있습니다." in html
    assert "다시 확인" in html
    assert 'aria-label="불러오는 중"' in html
    assert "₩11,000" in html


@pytest.mark.django_db
def test_paid_result_page_in_korean() -> None:
    client = korean_client()
    payment, url, _html = _open_sandbox_page(client)
    response = client.post(url, {"action": "approve"}, follow=True)
    assert response.status_code == 200
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PAID
    html = response.content.decode()
    assert "<title>결제 완료</title>" in html
    assert f"{payment.reference} 건 ₩11,000 결제가 완료되었습니다." in html


@pytest.mark.django_db
def test_declined_result_page_in_korean() -> None:
    client = korean_client()
    payment, url, _html = _open_sandbox_page(client)
    response = client.post(url, {"action": "decline"}, follow=True)
    assert response.status_code == 200
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.FAILED
    html = response.content.decode()
    assert "결제가 완료되지 않았습니다" in html
    assert "상태: 결제 실패. 청구된 금액은 없습니다." in html


@pytest.mark.django_db
def test_sandbox_agreement_page_and_form_errors_in_korean() -> None:
    client = korean_client()
    preapproval = services.create_preapproval(currency="KRW", max_amount=30000)
    response = client.get(
        reverse("kakaopay:preapproval-checkout", args=[preapproval.return_token]), follow=True
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "<title>카카오페이 자동결제</title>" in html
    assert "1회 결제 시 최대 ₩30,000까지 청구됩니다." in html
    assert "3단계 · 자동결제(정기결제) 동의" in html
    assert "자동결제(정기결제) 이용에 동의합니다." in html
    assert "인증번호 6자리" in html
    assert "동의하고 등록하기" in html

    url = response.redirect_chain[-1][0]
    response = client.post(url, {"action": "approve", "verification_code": "12ab56"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "받으신 인증번호 6자리를 입력해 주세요." in html


def test_error_page_in_korean() -> None:
    request = RequestFactory().get("/kakaopay/checkout/x/")
    with translation.override("ko"):
        html = render_to_string("django_kakaopay/error.html", {"message": "…"}, request=request)
    assert "<title>카카오페이를 이용할 수 없습니다</title>" in html
    assert "다시 시도" in html


def test_status_labels_in_korean() -> None:
    with translation.override("ko"):
        assert str(PaymentStatus.PAID.label) == "결제 완료"
        assert str(PaymentStatus.REFUNDED.label) == "환불 완료"
        assert str(PaymentStatus.FAILED.label) == "결제 실패"
        assert str(PreapprovalStatus.CANCELED.label) == "해지됨"
        assert str(RefundStatus.FAILED.label) == "환불 실패"
        # The same English word in another context keeps its own translation.
        assert str(PreapprovalStatus.FAILED.label) == "등록 실패"
    with translation.override("en"):
        assert str(PaymentStatus.PAID.label) == "Paid"


def test_money_errors_in_korean() -> None:
    with translation.override("ko"), pytest.raises(ValueError, match="금액은 0보다 커야 합니다"):
        validate_amount(0)


# --- (e) the admin and the commands speak Korean --------------------------------

PAYMENTS_ADMIN = "admin:django_kakaopay_payment_changelist"
PREAPPROVALS_ADMIN = "admin:django_kakaopay_preapproval_changelist"


@pytest.fixture
def korean_admin() -> Client:
    user = get_user_model().objects.create_superuser("ko-ops", "ops@example.com", "pw")
    client = korean_client()
    client.force_login(user)
    return client


def _run_action(client: Client, url_name: str, action: str, objects: list[Any], **data: Any) -> Any:
    return client.post(
        reverse(url_name),
        {"action": action, "_selected_action": [str(o.pk) for o in objects], **data},
    )


def _assert_korean(html: str, korean: list[str], english: list[str]) -> None:
    missing = [text for text in korean if text not in html]
    assert not missing, f"Korean text not on the page: {missing}"
    leftover = [text for text in english if text in html]
    assert not leftover, f"English text left on the Korean page: {leftover}"


@pytest.mark.django_db
def test_admin_payment_changelist_in_korean(korean_admin: Client) -> None:
    payment = helpers.paid_payment(reference="ORD-KO-LIST")
    services.request_refund(payment, 1000, reason="damaged box")
    response = korean_admin.get(reverse(PAYMENTS_ADMIN))
    assert response.status_code == 200
    _assert_korean(
        response.content.decode(),
        korean=[
            "ORD-KO-LIST",
            "결제대행사에서 최신 상태 가져오기",  # the refresh action
            "선택한 결제 환불…",  # the refund action
            ">부분 환불</span>",  # the status badge
            "환불된 금액",
        ],
        english=["Refresh from the provider", "Refund selected payments", "Partially refunded"],
    )


@pytest.mark.django_db
def test_admin_payment_change_page_in_korean(korean_admin: Client) -> None:
    payment = helpers.paid_payment(reference="ORD-KO-PAGE")
    services.request_refund(payment, 1000, reason="damaged box")
    response = korean_admin.get(reverse("admin:django_kakaopay_payment_change", args=[payment.pk]))
    assert response.status_code == 200
    _assert_korean(
        response.content.decode(),
        korean=[
            "기술 정보",  # fieldsets
            "결제대행사",
            "일시",
            "환불 가능 금액",
            "결제대행사 대시보드",
            "이 건을 변경한 알림",
            "상태 변경 내역",  # the transitions inline
            ">부분 환불</span>",
            "₩10,000",  # what remains refundable
        ],
        english=[
            "Technical details",
            "Refundable",
            "Provider&#x27;s dashboard",
            "Notifications that changed it",
            "Status history",
        ],
    )


@pytest.mark.django_db
def test_admin_refund_form_page_and_messages_in_korean(korean_admin: Client) -> None:
    payment = helpers.paid_payment(reference="ORD-KO-REFUND")
    page = _run_action(korean_admin, PAYMENTS_ADMIN, "refund_payments", [payment])
    assert page.status_code == 200
    # The page's signed snapshot of the payment's refunds, which every POST returns.
    found = re.search(r'name="refund_totals" value="([^"]+)"', page.content.decode())
    assert found is not None
    token = found.group(1)

    def submit(amount: str, reason: str = "x") -> Any:
        return _run_action(
            korean_admin,
            PAYMENTS_ADMIN,
            "refund_payments",
            [payment],
            apply="1",
            refund_totals=token,
            amount=amount,
            reason=reason,
        )

    _assert_korean(
        page.content.decode(),
        korean=[
            "<title>결제 1건 환불",
            "환불 금액은 결제대행사를 통해 고객에게 돌아갑니다.",
            "환불 대기 금액",  # table headers
            "비고",
            ">금액:</label>",  # form labels
            ">사유:</label>",
            "고객에게 보이는 KRW 금액 그대로 입력하세요. 예: 11000 = ₩11,000.",
            "남은 환불 가능 금액 전체가 입력되어 있습니다. 부분 환불하려면 더 적은 금액을 입력하세요.",
            "환불 기록에 저장되며 결제대행사에도 전송됩니다.",
            'value="환불"',
        ],
        english=[
            "Refund 1 payment",
            "The money goes back",
            "Pending refunds",
            ">Amount:</label>",
            ">Reason:</label>",
            "Leave empty to refund",
            "Kept with the refund",
            "as the customer sees it",
        ],
    )

    unreadable = submit("abc")
    assert unreadable.status_code == 200
    _assert_korean(
        unreadable.content.decode(),
        korean=["금액을 입력하세요(예: 11000)."],
        english=["Enter an amount such as"],
    )

    too_much = submit("12000")
    assert too_much.status_code == 200
    _assert_korean(
        too_much.content.decode(),
        korean=[
            "최대 ₩11,000까지만 환불할 수 있음(결제 ₩11,000, 환불 완료 ₩0, 결제대행사 확인 대기 ₩0)"
        ],
        english=["can still be refunded"],
    )
    assert not payment.refunds.exists()

    done = submit("3,000", reason="one item returned")
    assert done.status_code == 302, done.content.decode()[:2000]
    messages = [str(m) for m in korean_admin.get(done["Location"]).context["messages"]]
    assert messages == ["결제 1건을 환불했습니다: ORD-KO-REFUND (₩3,000)"]


@pytest.mark.django_db
def test_admin_preapproval_charge_form_page_in_korean(korean_admin: Client) -> None:
    agreement = helpers.active_preapproval(reference="AGR-KO", max_amount=20000)
    changelist = korean_admin.get(reverse(PREAPPROVALS_ADMIN)).content.decode()
    _assert_korean(
        changelist,
        korean=["선택한 자동결제 동의로 청구…", "선택한 자동결제 동의 해지…", ">사용 중</span>"],
        english=["Charge selected agreements", "Cancel selected agreements"],
    )

    page = _run_action(korean_admin, PREAPPROVALS_ADMIN, "charge_preapprovals", [agreement])
    assert page.status_code == 200
    _assert_korean(
        page.content.decode(),
        korean=[
            "<title>자동결제 동의 1건으로 청구",
            "선택한 각 자동결제 동의로 고객의 별도 결제 절차 없이 아래 금액을 청구합니다.",
            "1회 최대 결제 금액",  # table header
            "사용 중",  # the agreement's status
            ">금액:</label>",
            ">청구 기간:</label>",
            ">설명:</label>",
            "동의 1건과 기간마다 청구는 한 번입니다.",
            "비워 두면 자동결제 동의에 저장된 설명을 사용합니다.",
            'value="청구하기"',
        ],
        english=[
            "Charge 1 agreement",
            "Each selected agreement",
            ">Billing period:</label>",
            ">Description:</label>",
            "One charge per agreement",
            'value="Charge"',
        ],
    )

    too_much = _run_action(
        korean_admin,
        PREAPPROVALS_ADMIN,
        "charge_preapprovals",
        [agreement],
        apply="1",
        amount="25000",
        billing_period="2026-11",
    )
    assert too_much.status_code == 200
    _assert_korean(
        too_much.content.decode(),
        korean=["동의한 1회 최대 결제 금액은 ₩20,000입니다."],
        english=["The agreed maximum per charge"],
    )
    assert not Payment.objects.filter(preapproval=agreement).exists()


@pytest.mark.django_db
def test_command_summaries_in_korean() -> None:
    out = StringIO()
    with translation.override("ko"):
        call_command("kakaopay_reconcile", stdout=out)
    assert (
        "0건 확인: 확정 0건, 변경 없음 0건, 여전히 결과 불명 0건, 오류 0건, 건너뜀 0건."
        in out.getvalue()
    )
    assert "Checked" not in out.getvalue()

    out = StringIO()
    with translation.override("ko"):
        call_command("kakaopay_charge_due", "--dry-run", "--date", "2026-11-30", stdout=out)
    assert "2026-11-30 시험 실행(dry run): 0건이 청구될 예정입니다." in out.getvalue()
    assert "would be made" not in out.getvalue()


def test_command_argument_errors_in_korean() -> None:
    with translation.override("ko"):
        with pytest.raises(
            argparse.ArgumentTypeError, match=re.escape("'0'은(는) 1 이상의 정수가 아닙니다.")
        ):
            positive_int("0")
        with pytest.raises(argparse.ArgumentTypeError, match="YYYY-MM-DD 형식의 날짜가 아닙니다"):
            iso_date("30/11/2026")
