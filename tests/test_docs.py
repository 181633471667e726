"""The documentation is tested: its Python examples run, and it covers every
public setting, backend option, signal, management command and system check.

How the examples are run (see ``run_block``):

- Every fenced ``python`` block of ``docs/*.md`` is one test, with an id such
  as ``signals.md:42`` (page and line of the opening fence). Blocks that are
  not meant to run use another fence language (``text``, ``console``, ...).
- A block runs in a fresh namespace, in a database test that really commits
  (``transaction=True``), so ``on_commit`` callbacks and signals fire, with the
  test settings (the sandbox backend; nothing reaches the internet).
- A block whose title is a module path (``title="shop/receivers.py"``) runs as
  that module, so relative imports work. The package ``shop`` is the example
  shop in ``example_project/shop``. Another block of the same page that names
  such a module (``from acme_kakaopay.backend import ...``) gets it.
- A block may use the free names ``payment`` (a paid sandbox payment of
  ₩11,000) and ``preapproval`` (an active sandbox agreement); every other name
  must be defined by the block itself.
- ``os.environ[...]`` names a block reads are set to placeholder values.
- After a block has run, the ``test_*`` functions it defines are called with
  pytest fixtures, the ``BackendConformance`` classes it defines run every
  check, and a ``KAKAOPAY`` dict it defines must pass the app's system checks.
- The example shop's own signal receivers are off during a block (the
  documented ones stand in for them); receivers a block connects are
  disconnected afterwards.
"""

from __future__ import annotations

import ast
import builtins
import importlib
import inspect
import os
import pkgutil
import re
import subprocess
import sys
import types
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.core import checks
from django.test import override_settings

from django_kakaopay import conf, services, signals
from django_kakaopay.testing import BackendConformance

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PACKAGE = ROOT / "django_kakaopay"

CONFIGURATION_PAGE = DOCS / "configuration.md"
COMMANDS_PAGE = DOCS / "operations.md"
QUICKSTART_PAGE = DOCS / "quickstart.md"
FRESH_PROJECT_SECTION = "## Take payments in your own shop"
SIGNALS_PAGE = DOCS / "signals.md"

# Placeholder values for the environment variables that settings examples
# read; shaped so that the backends' option checks accept them.
ENV_SAMPLES = {
    "CHECKOUT_SECRET_KEY": "sk_sbox_" + "0" * 32,
    "CHECKOUT_PROCESSING_CHANNEL_ID": "pc_" + "a" * 26,
    "CHECKOUT_ENVIRONMENT": "sandbox",
    "CHECKOUT_SUBDOMAIN_PREFIX": "a1b2c3d4",
    "CHECKOUT_WEBHOOK_SIGNATURE_KEY": "docs-webhook-signature-key",
    "CHECKOUT_WEBHOOK_AUTHORIZATION": "docs-webhook-authorization",
    "SMART2PAY_SITE_ID": "30201",
    "SMART2PAY_API_KEY": "docs-api-key",
    "KAKAOPAY_DIRECT_SECRET_KEY": "DEV" + "0" * 37,
    "PORTONE_API_SECRET": "docs-portone-api-secret",
    "PORTONE_STORE_ID": "store-00000000-0000-4000-8000-000000000000",
    "PORTONE_CHANNEL_KEY": "channel-key-00000000-0000-4000-8000-000000000001",
    "PORTONE_BILLING_CHANNEL_KEY": "channel-key-00000000-0000-4000-8000-000000000002",
    "PORTONE_WEBHOOK_SECRET": "whsec_ZG9jcy1wb3J0b25lLXdlYmhvb2stc2VjcmV0IQ==",
    "ACME_API_KEY": "docs-acme-api-key",
    "ACME_WEBHOOK_SECRET": "docs-acme-webhook-secret",
}

# Modules of the example shop that documentation blocks import as ``shop``.
SHOP_ALIAS = "shop"
SHOP_PACKAGE = "example_project.shop"


# -- reading the pages ------------------------------------------------------------


@dataclass(frozen=True)
class Block:
    page: str
    line: int
    language: str
    title: str
    code: str

    @property
    def id(self) -> str:
        return f"{self.page}:{self.line}"

    @property
    def module_name(self) -> str:
        """``shop.receivers`` for a block titled ``shop/receivers.py``; else ``""``."""
        if not re.fullmatch(r"[A-Za-z_][\w/]*\.py", self.title) or "/" not in self.title:
            return ""
        return self.title[: -len(".py")].replace("/", ".")


FENCE_OPEN = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
TITLE = re.compile(r'title="([^"]*)"')


def read_blocks(path: Path) -> list[Block]:
    blocks = []
    lines = path.read_text(encoding="utf-8").splitlines()
    index = 0
    while index < len(lines):
        opened = FENCE_OPEN.match(lines[index])
        if not opened:
            index += 1
            continue
        indent, fence, info = opened["indent"], opened["fence"], opened["info"].strip()
        body = []
        end = index + 1
        while end < len(lines) and lines[end].strip() != fence:
            body.append(lines[end][len(indent) :] if lines[end].startswith(indent) else lines[end])
            end += 1
        language = info.split()[0].lower() if info else ""
        language = language.lstrip("{.").rstrip("}")
        title = TITLE.search(info)
        blocks.append(
            Block(
                page=path.name,
                line=index + 1,
                language=language,
                title=title[1] if title else "",
                code="\n".join(body) + "\n",
            )
        )
        index = end + 1
    return blocks


def pages() -> list[Path]:
    return sorted(DOCS.glob("*.md"))


def fresh_project_blocks() -> list[Block]:
    """The quick start's blocks that build a new project: its commands, files and
    snippets, in page order. They are run there, in a project of their own
    (``test_the_quick_start_builds_a_shop_that_takes_a_payment``), not in the example shop."""
    lines = QUICKSTART_PAGE.read_text(encoding="utf-8").splitlines()
    start = lines.index(FRESH_PROJECT_SECTION) + 1
    end = next(
        (n for n, line in enumerate(lines[start:], start=start + 1) if line.startswith("## ")),
        len(lines) + 1,
    )
    return [b for b in read_blocks(QUICKSTART_PAGE) if start < b.line < end]


def python_blocks() -> list[Block]:
    fresh = {b.id for b in fresh_project_blocks()}
    return [
        b
        for page in pages()
        for b in read_blocks(page)
        if b.language in ("python", "py") and b.id not in fresh
    ]


def docs_text(*paths: Path) -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in (paths or pages()))


# -- running a block ----------------------------------------------------------------


def free_names(code: str) -> set[str]:
    """Names a block reads but never binds itself (a rough, conservative view)."""
    tree = ast.parse(code)
    loaded, bound = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (loaded if isinstance(node.ctx, ast.Load) else bound).add(node.id)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            bound.add(node.name)
            if not isinstance(node, ast.ClassDef):
                args = node.args
                for arg in (*args.posonlyargs, *args.args, *args.kwonlyargs):
                    bound.add(arg.arg)
                for arg in (args.vararg, args.kwarg):
                    if arg is not None:
                        bound.add(arg.arg)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            for alias in node.names:
                bound.add((alias.asname or alias.name).split(".")[0])
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
    return loaded - bound - set(dir(builtins))


def paid_payment() -> Any:
    from django_kakaopay.models import Payment, SandboxTransaction
    from django_kakaopay.sandbox import provider

    payment = services.create_payment(
        amount=11000,
        currency="KRW",
        description="Wireless headphones",
        items=[{"name": "Wireless headphones", "quantity": 1, "unit_price": 11000}],
        customer={"name": "Kim Minsu", "email": "minsu@example.com"},
    )
    services.start_payment(payment)
    provider.decide_payment(
        SandboxTransaction.objects.get(pk=payment.provider_payment_id), "approve"
    )
    services.sync_payment(payment)
    assert payment.status == Payment.Status.PAID
    return payment


def active_preapproval() -> Any:
    from django_kakaopay.models import Preapproval, SandboxTransaction
    from django_kakaopay.sandbox import provider

    preapproval = services.create_preapproval(
        description="Coffee beans, monthly",
        customer={"name": "Kim Minsu", "email": "minsu@example.com"},
        metadata={"monthly_amount": 19900},
    )
    services.start_preapproval(preapproval)
    tx = SandboxTransaction.objects.get(pk=preapproval.provider_preapproval_id)
    provider.decide_preapproval(tx, "approve")
    services.sync_preapproval(preapproval)
    assert preapproval.status == Preapproval.Status.ACTIVE
    return preapproval


PROVIDED = {"payment": paid_payment, "preapproval": active_preapproval}


def ensure_package(name: str, added: list[str]) -> None:
    """Make ``name`` importable: the example shop for ``shop``, else a real
    package if there is one, else an empty stand-in."""
    if name in sys.modules:
        return
    parent, _, _ = name.rpartition(".")
    if parent:
        ensure_package(parent, added)
    if name == SHOP_ALIAS:
        # The example shop under the name the documentation uses, with its
        # already imported modules (so that its models are not loaded twice).
        importlib.import_module(SHOP_PACKAGE + ".models")
        for real in [
            m for m in sys.modules if m == SHOP_PACKAGE or m.startswith(SHOP_PACKAGE + ".")
        ]:
            alias = SHOP_ALIAS + real[len(SHOP_PACKAGE) :]
            if alias not in sys.modules:
                sys.modules[alias] = sys.modules[real]
                added.append(alias)
        return
    try:
        importlib.import_module(name)
        return
    except ImportError:
        pass
    module = types.ModuleType(name)
    module.__path__ = []
    sys.modules[name] = module
    added.append(name)


def execute(block: Block, added: list[str]) -> dict[str, Any]:
    """Run ``block`` as a module (when titled with a module path) or a script."""
    code = compile(block.code, f"docs/{block.page}:{block.line}", "exec")
    ensure_package(SHOP_ALIAS, added)
    name = block.module_name
    if name:
        parent = name.rpartition(".")[0]
        ensure_package(parent, added)
        # Run the shop's own modules under the shop package, others as given.
        if name.startswith(SHOP_ALIAS + "."):
            parent = SHOP_ALIAS
        module = types.ModuleType(name)
        module.__package__ = parent
        module.__file__ = f"docs/{block.page}"
        sys.modules[name] = module
        added.append(name)
        exec(code, module.__dict__)  # noqa: S102 - our own documentation
        return module.__dict__
    namespace: dict[str, Any] = {"__name__": "docs_example"}
    for free in sorted(free_names(block.code) & set(PROVIDED)):
        namespace[free] = PROVIDED[free]()
    exec(code, namespace)  # noqa: S102 - our own documentation
    return namespace


ALL_SIGNALS = [
    getattr(signals, name)
    for name in dir(signals)
    if isinstance(getattr(signals, name), type(signals.payment_paid))
]


@pytest.fixture
def isolated_signals() -> Iterator[None]:
    """The example shop's own receivers are off, so that the documented ones
    are what runs; receivers connected by a block are removed again."""
    saved = {signal: list(signal.receivers) for signal in ALL_SIGNALS}
    for signal in ALL_SIGNALS:
        with signal.lock:
            signal.receivers = [r for r in signal.receivers if not str(r[0][0]).startswith("shop.")]
            signal.sender_receivers_cache.clear()
    yield
    for signal, receivers in saved.items():
        with signal.lock:
            signal.receivers = receivers
            signal.sender_receivers_cache.clear()


@pytest.fixture
def placeholder_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in ENV_SAMPLES.items():
        monkeypatch.setenv(name, value)


def execute_dependencies(block: Block, added: list[str], seen: set[int]) -> None:
    """Run the modules that other blocks of the page define and ``block`` uses,
    theirs first (a backend package's modules import one another)."""
    for other in python_blocks():
        if (
            other.page == block.page
            and other.line not in seen
            and other.module_name
            and re.search(rf"\b{re.escape(other.module_name)}\b", block.code)
        ):
            seen.add(other.line)
            execute_dependencies(other, added, seen)
            execute(other, added)


def run_conformance(cls: type) -> None:
    for name in sorted(dir(cls)):
        if not name.startswith("test_"):
            continue
        instance = cls()
        setup = getattr(instance, "setup_method", None)
        teardown = getattr(instance, "teardown_method", None)
        method = getattr(instance, name)
        if setup:
            setup(method)
        try:
            method()
        finally:
            if teardown:
                teardown(method)


def check_settings_example(kakaopay: Any, debug: Any) -> None:
    """No check errors, with the example's own DEBUG, or else as in development.

    With DEBUG off, a sandbox that does not opt in must be the only error
    (kakaopay.E008): the docs must not teach a free checkout in production.
    """
    with override_settings(KAKAOPAY=kakaopay, DEBUG=True if debug is None else bool(debug)):
        messages = checks.run_checks(tags=["kakaopay"])
    errors = [m for m in messages if m.level >= checks.ERROR]
    assert not errors, errors
    with override_settings(KAKAOPAY=kakaopay, DEBUG=False):
        production = checks.run_checks(tags=["kakaopay"])
    assert {m.id for m in production if m.level >= checks.ERROR} <= {"kakaopay.E008"}


LOCMEM_MAILER = {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}


def documented_settings(page: str) -> dict[str, Any]:
    """The settings a page's ``settings.py`` blocks tell the reader to set, that its
    other blocks need in order to run without a warning: ``MAILERS`` (Django 6.1+).

    Its mailers are in memory, as Django's test runner makes a project's.
    """
    found: dict[str, Any] = {}
    for block in read_blocks(DOCS / page):
        if block.language in ("python", "py") and block.title == "settings.py":
            namespace: dict[str, Any] = {}
            exec(compile(block.code, f"docs/{page}:{block.line}", "exec"), namespace)  # noqa: S102
            if isinstance(namespace.get("MAILERS"), dict):
                found["MAILERS"] = {alias: dict(LOCMEM_MAILER) for alias in namespace["MAILERS"]}
    return found


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("block", python_blocks(), ids=lambda b: b.id)
def test_python_example_runs(
    block: Block,
    request: pytest.FixtureRequest,
    isolated_signals: None,
    placeholder_environment: None,
) -> None:
    """Every example runs, and uses nothing the Django under test deprecates."""
    with (
        override_settings(**documented_settings(block.page)),
        warnings.catch_warnings(record=True) as caught,
    ):
        warnings.simplefilter("always")
        run_example(block, request)
    deprecated = []
    for warning in caught:
        if warning.category.__name__.startswith("RemovedInDjango"):
            deprecated.append(f"{warning.filename}:{warning.lineno}: {warning.message}")
        else:  # not ours to judge here: back to pytest's summary
            warnings.warn_explicit(
                warning.message, warning.category, warning.filename, warning.lineno
            )
    assert not deprecated, "\n".join(deprecated)


def run_example(block: Block, request: pytest.FixtureRequest) -> None:
    for name in re.findall(r"os\.environ\[\"(\w+)\"\]", block.code):
        assert name in os.environ, f"add {name} to ENV_SAMPLES in tests/test_docs.py"
    added: list[str] = []
    try:
        execute_dependencies(block, added, {block.line})
        namespace = execute(block, added)
        for name, value in list(namespace.items()):
            if name.startswith("test_") and inspect.isfunction(value):
                params = inspect.signature(value).parameters
                value(**{p: request.getfixturevalue(p) for p in params})
            elif (
                isinstance(value, type)
                and issubclass(value, BackendConformance)
                and value is not BackendConformance
                and name.startswith("Test")
            ):
                run_conformance(value)
        if isinstance(namespace.get("KAKAOPAY"), dict) and "BACKENDS" in namespace["KAKAOPAY"]:
            check_settings_example(namespace["KAKAOPAY"], namespace.get("DEBUG"))
    finally:
        for name in reversed(added):
            sys.modules.pop(name, None)
        conf.backends.clear()


def test_the_pages_have_examples() -> None:
    assert len(python_blocks()) > 20


# -- coverage ------------------------------------------------------------------------


def backend_classes() -> list[type]:
    from django_kakaopay import backends
    from django_kakaopay.backends.base import BaseBackend
    from django_kakaopay.backends.configuration import ProviderBackend

    # The contract and the base the provider backends share are no backends.
    bases = (BaseBackend, ProviderBackend)
    found = []
    # Every module, also inside a provider's package (backends/checkout/backend.py).
    for info in pkgutil.walk_packages(backends.__path__, f"{backends.__name__}."):
        module = importlib.import_module(info.name)
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, BaseBackend)
                and value not in bases
                and value.__module__ == module.__name__
            ):
                found.append(value)
    return found


BACKEND_PAGES = {
    "SandboxBackend": "sandbox.md",
    "CheckoutBackend": "checkout.md",
    "Smart2PayBackend": "smart2pay.md",
    "KakaoPayBackend": "kakaopay.md",
    "PortOneBackend": "portone.md",
}


@pytest.mark.parametrize("key", sorted(conf.DEFAULT_SETTINGS))
def test_every_setting_is_documented(key: str) -> None:
    assert f"`{key}`" in docs_text(CONFIGURATION_PAGE)


@pytest.mark.parametrize(
    ("backend", "option"),
    [(cls, option) for cls in backend_classes() for option in cls.known_options],
    ids=lambda value: value.__name__ if isinstance(value, type) else value,
)
def test_every_backend_option_is_documented(backend: type, option: str) -> None:
    paths = [CONFIGURATION_PAGE]
    if backend.__name__ in BACKEND_PAGES:
        paths.append(DOCS / BACKEND_PAGES[backend.__name__])
    assert f"`{option}`" in docs_text(*paths), f"{backend.__name__}: {option}"


def test_every_backend_has_a_page() -> None:
    for cls in backend_classes():
        assert cls.__name__ in BACKEND_PAGES, f"add a page for {cls.__name__}"
        assert (DOCS / BACKEND_PAGES[cls.__name__]).exists()


SIGNAL_NAMES = sorted(
    name for name in dir(signals) if isinstance(getattr(signals, name), type(signals.payment_paid))
)


@pytest.mark.parametrize("name", SIGNAL_NAMES)
def test_every_signal_is_documented(name: str) -> None:
    assert f"`{name}`" in docs_text(SIGNALS_PAGE)


COMMANDS = sorted(
    path.stem
    for path in (PACKAGE / "management" / "commands").glob("*.py")
    if not path.name.startswith("_")
)


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_is_documented(command: str) -> None:
    assert f"`{command}`" in docs_text(COMMANDS_PAGE) or f"## {command}" in docs_text(COMMANDS_PAGE)


CHECK_IDS = sorted(
    set(re.findall(r"kakaopay\.[EW]\d{3}", (PACKAGE / "checks.py").read_text(encoding="utf-8")))
)


@pytest.mark.parametrize("check_id", CHECK_IDS)
def test_every_check_is_documented(check_id: str) -> None:
    assert f"`{check_id}`" in docs_text(CONFIGURATION_PAGE)


def test_every_page_is_in_the_navigation() -> None:
    nav = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    for page in pages():
        assert page.name in nav, f"{page.name} is not in the mkdocs.yml nav"


def state_diagrams() -> list[tuple[Block, str]]:
    found = []
    for page in pages():
        for block in read_blocks(page):
            marker = re.search(r"%% transitions: (\w+)", block.code)
            if block.language == "mermaid" and marker:
                found.append((block, marker[1]))
    return found


@pytest.mark.parametrize(("block", "kind"), state_diagrams(), ids=lambda v: getattr(v, "id", v))
def test_state_diagrams_match_the_transition_tables(block: Block, kind: str) -> None:
    from django_kakaopay.status import TRANSITIONS

    drawn = set(re.findall(r"^\s*(\w+) --> (\w+)\s*$", block.code, re.M))
    expected = {(str(a), str(b)) for a, targets in TRANSITIONS[kind].items() for b in targets}
    assert drawn == expected


def test_every_transition_table_has_a_diagram() -> None:
    from django_kakaopay.status import TRANSITIONS

    assert {kind for _block, kind in state_diagrams()} == set(TRANSITIONS)


# -- the quick start, followed literally in a new project ---------------------------

# Commands of the quick start that this test does not run, and why.
NOT_RUN = {
    "python -m venv .venv": "this interpreter's environment stands in for it",
    ". .venv/bin/activate": "this interpreter's environment stands in for it",
    "git clone https://github.com/django-kakaopay/django-kakaopay.git": "this is the checkout",
    "pip install -e ./django-kakaopay": "this checkout is installed in this interpreter",
    "python manage.py runserver": "Django's test client plays the customer's browser",
}

# The customer of section 5: the product list, Buy, Pay with KakaoPay, the
# sandbox page, and back on the order page.
CUSTOMER = r"""
import re

import django

django.setup()
from django.test import Client
from django.test.utils import setup_test_environment

setup_test_environment()
from shop.models import Order


def form_action(response):
    assert response.status_code == 200, response.status_code
    return re.search(r'<form method="post" action="([^"]+)"', response.content.decode())[1]


client = Client()
products = client.get("/shop/")
assert "Wireless headphones" in products.content.decode()
order_page = client.post(form_action(products), follow=True)
assert "Awaiting payment" in order_page.content.decode()
checkout = client.post(form_action(order_page))
to_sandbox = client.get(checkout["Location"])
sandbox_page = client.get(to_sandbox["Location"])
assert "Pay ₩11,000" in sandbox_page.content.decode()
back = client.post(to_sandbox["Location"], {"action": "approve"}, follow=True)
assert back.redirect_chain[-1][0].endswith(Order.objects.get().get_absolute_url())
assert ": Paid" in back.content.decode(), back.content.decode()
order = Order.objects.get()
assert order.status == Order.Status.PAID
assert order.payment.is_paid
assert order.paid_at is not None
print("paid", order.reference)
"""


def shell_environment(bin_dir: Path) -> dict[str, str]:
    """The reader's shell: ``python`` and ``django-admin`` are this interpreter's,
    and nothing of the test suite's own settings leaks in."""
    bin_dir.mkdir()
    # Scripts, not symlinks: a virtual environment's python finds its packages
    # only when started through its own path.
    for name, runs in (("python", ""), ("django-admin", " -m django")):
        script = bin_dir / name
        script.write_text(f'#!/bin/sh\nexec "{sys.executable}"{runs} "$@"\n')
        script.chmod(0o755)
    env = {
        k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL")
    }
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    return env


def run_in(project: Path, env: dict[str, str], command: str | list[str]) -> str:
    result = subprocess.run(  # noqa: S603 - commands from our own documentation
        command,
        shell=isinstance(command, str),  # the page's console lines, as typed
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, f"{command}\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.mark.skipif(os.name != "posix", reason="the quick start's commands are POSIX shell lines")
def test_the_quick_start_builds_a_shop_that_takes_a_payment(tmp_path: Path) -> None:
    """A reader who copies every block of the quick start, in order, into a new
    project reaches a paid order without reading any other source."""
    project = tmp_path / "project"
    project.mkdir()
    env = shell_environment(tmp_path / "bin")
    not_run, snippets, files = [], [], []
    for block in fresh_project_blocks():
        if block.language == "console":
            for line in filter(None, map(str.strip, block.code.splitlines())):
                if line in NOT_RUN:
                    not_run.append(line)
                else:
                    run_in(project, env, line)
        elif block.title:
            path, _, how = block.title.partition(" ")
            target = project / path
            if how == "(add at the end)":
                assert target.is_file(), f"{path} should exist by now"
                target.write_text(target.read_text(encoding="utf-8") + "\n" + block.code)
            else:
                assert not how, f"unknown instruction in the title {block.title!r}"
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(block.code, encoding="utf-8")
            files.append(path)
        else:
            assert block.language == "python", block.id
            snippets.append(block.code)
    assert not_run == list(NOT_RUN), "the page's commands changed: update NOT_RUN"
    assert "shop/models.py" in files
    assert "shop/views.py" in files

    env["DJANGO_SETTINGS_MODULE"] = "mysite.settings"
    assert "paid ORD-" in run_in(project, env, [sys.executable, "-c", CUSTOMER])
    for snippet in snippets:
        printed = run_in(project, env, [sys.executable, "manage.py", "shell", "-c", snippet])
        assert "paid True" in printed, printed


# -- README.md outside the repository ----------------------------------------------

README = ROOT / "README.md"
# [text](target) and <https://...>
LINK = re.compile(r"\[[^\]]+\]\(([^)\s]+)\)|<(https?://[^>\s]+)>")


def project_urls() -> dict[str, str]:
    import tomllib

    with (ROOT / "pyproject.toml").open("rb") as file:
        urls: dict[str, str] = tomllib.load(file)["project"]["urls"]
    return urls


def heading_anchors(page: Path) -> set[str]:
    """The ids Python-Markdown's ``toc`` gives a page's headings."""
    anchors = set()
    for line in page.read_text(encoding="utf-8").splitlines():
        heading = re.match(r"#{1,6} (.+)", line)
        if heading:
            text = re.sub(r"[^\w\s-]", "", heading[1].replace("`", "")).strip().lower()
            anchors.add(re.sub(r"[-\s]+", "-", text))
    return anchors


def test_readme_links_work_outside_the_repository() -> None:
    # PyPI shows README.md on its own, where a relative link leads nowhere.
    urls = project_urls()
    docs_site = urls["Documentation"] + "en/latest/"
    files = urls["Repository"] + "/blob/main/"
    links = [a or b for a, b in LINK.findall(README.read_text(encoding="utf-8"))]
    assert len(links) > 15
    for link in links:
        if link.startswith("http://127.0.0.1:"):
            continue  # where the reader's own shop is served
        assert link.startswith("https://"), f"README.md links to {link!r}: not absolute"
        target, _, anchor = link.partition("#")
        if target.startswith(docs_site):
            name = target[len(docs_site) :].strip("/") or "index"
            page = DOCS / f"{name}.md"
            assert page.is_file(), f"{link}: no docs/{name}.md"
            assert not anchor or anchor in heading_anchors(page), f"{link}: no such heading"
        elif target.startswith(files):
            assert (ROOT / target[len(files) :]).is_file(), f"{link}: no such file"
        else:
            assert target.startswith(urls["Repository"]) or target == "https://pypi.org/", link


def test_every_clone_command_names_the_repository() -> None:
    clone = f"git clone {project_urls()['Repository']}.git"
    for path in [README, *pages()]:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip().startswith("git clone"):
                assert line.strip() == clone, f"{path.name}: {line.strip()}"
