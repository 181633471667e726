"""``dev.py``: its arguments, and that ``dev.py shop`` stops when its PID is told to."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def dev() -> ModuleType:
    spec = importlib.util.spec_from_file_location("dev_script", ROOT / "dev.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    ("args", "addrport", "options"),
    [
        ([], "127.0.0.1:8000", []),
        (["8001"], "127.0.0.1:8001", []),
        (["0.0.0.0:8001"], "0.0.0.0:8001", []),
        (["localhost:8002"], "localhost:8002", []),
        (["[::1]:8003"], "[::1]:8003", []),
        (["8001", "--noreload"], "127.0.0.1:8001", ["--noreload"]),
        (["--noreload"], "127.0.0.1:8000", ["--noreload"]),
    ],
)
def test_shop_takes_a_port_or_an_address_and_port(
    dev: ModuleType, args: list[str], addrport: str, options: list[str]
) -> None:
    assert dev.shop_arguments(args) == (addrport, options)


@pytest.mark.parametrize("args", [["abc"], ["99999"], ["0"], ["8001", "8002"], ["host:"]])
def test_shop_refuses_what_runserver_would_not_take(dev: ModuleType, args: list[str]) -> None:
    with pytest.raises(dev.UsageError, match=r"8001 or 0\.0\.0\.0:8001"):
        dev.shop_arguments(args)


def test_a_bad_address_is_a_usage_error_before_anything_is_installed(
    dev: ModuleType, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def must_not_install() -> Path:
        raise AssertionError("the environment was set up for a command line that cannot run")

    monkeypatch.setattr(dev, "ensure_environment", must_not_install)
    assert dev.main(["shop", "80o1"]) == 2
    assert "'80o1' is not a port" in capsys.readouterr().err


def test_the_browser_url_of_a_wildcard_address(dev: ModuleType) -> None:
    assert dev.browser_url("0.0.0.0:8001") == "http://127.0.0.1:8001"
    assert dev.browser_url("127.0.0.1:8000") == "http://127.0.0.1:8000"


def test_the_install_says_what_it_does(
    dev: ModuleType,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The first run installs for about a minute: each step is announced, and
    # pip's own progress is not silenced.
    ran: list[list[str]] = []
    python = tmp_path / "bin" / "python"
    python.parent.mkdir()
    python.touch()
    monkeypatch.delenv("DJANGO_KAKAOPAY_DEV_PYTHON", raising=False)
    monkeypatch.setattr(dev, "VENV", tmp_path)
    monkeypatch.setattr(dev, "STAMP", tmp_path / "stamp")
    monkeypatch.setattr(dev, "venv_python", lambda: python)
    monkeypatch.setattr(dev.subprocess, "run", lambda argv, **kwargs: ran.append(argv))
    assert dev.ensure_environment() == python
    printed = capsys.readouterr().out
    assert "installing django-kakaopay" in printed
    assert "pip's progress follows" in printed
    install = ran[-1]
    assert "-e" in install
    assert "--quiet" not in install
    assert "-q" not in install


def free_loopback_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def accepts(port: int) -> bool:
    with socket.socket() as client:
        client.settimeout(0.5)
        return client.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture
def shop_process(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], int, Path]]:
    """``python dev.py shop 127.0.0.1:<free port>`` with a throwaway database,
    in a session of its own, so that whatever it leaves running is ended too."""
    port = free_loopback_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE",)}
    env.update(
        # This interpreter already has everything: nothing is installed.
        DJANGO_KAKAOPAY_DEV_PYTHON=sys.executable,
        DATABASE_URL=f"sqlite:///{(tmp_path / 'shop.sqlite3').as_posix()}",
        PYTHONUNBUFFERED="1",
    )
    log = tmp_path / "dev.log"
    with log.open("wb") as out:
        process = subprocess.Popen(  # noqa: S603 - our interpreter and our script
            [sys.executable, str(ROOT / "dev.py"), "shop", f"127.0.0.1:{port}"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield process, port, log
    finally:
        # By the process group id of the session started above: a server left
        # behind by a broken dev.py is in it too.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


@pytest.mark.skipif(os.name != "posix", reason="SIGTERM and os.execv are POSIX only")
def test_sigterm_to_the_shop_pid_stops_the_server(
    shop_process: tuple[subprocess.Popen[bytes], int, Path],
) -> None:
    process, port, log = shop_process
    deadline = time.monotonic() + 90
    while not accepts(port):
        assert process.poll() is None, log.read_text(errors="replace")
        assert time.monotonic() < deadline, "the shop did not start:\n" + log.read_text()
        time.sleep(0.2)
    printed = re.search(r"as process (\d+)", log.read_text(errors="replace"))
    assert printed, log.read_text(errors="replace")
    assert int(printed[1]) == process.pid, "the PID printed is the one started"

    os.kill(process.pid, signal.SIGTERM)
    process.wait(timeout=20)
    deadline = time.monotonic() + 10
    while accepts(port):
        assert time.monotonic() < deadline, "runserver is still serving after the SIGTERM"
        time.sleep(0.2)
