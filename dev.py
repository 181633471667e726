#!/usr/bin/env python3
"""Developer entry point that needs nothing but Python 3.11+.

    python dev.py shop             # set up and serve the example shop at http://127.0.0.1:8000
    python dev.py shop 8001        # ... on another port
    python dev.py shop 0.0.0.0:8001  # ... on another address and port, as runserver takes them
    python dev.py test             # run the whole test suite (pytest's options pass through)

The first run creates ``.venv`` and installs the package with its test and
example extras (about a minute, with pip's progress shown); later runs reuse
it and reinstall only when pyproject.toml changed. Set
``DJANGO_KAKAOPAY_DEV_PYTHON`` to the interpreter of an environment you manage
yourself to use it instead, with nothing installed.

``shop`` becomes the development server: on Linux and macOS the server runs
in this very process, so stopping the process it prints (Ctrl+C, or ``kill``
with that PID) stops the server.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
STAMP = VENV / ".django-kakaopay-installed"
DEFAULT_ADDRESS = "127.0.0.1"
DEFAULT_PORT = "8000"
# runserver's own forms: "8001", "0.0.0.0:8001", "localhost:8001", "[::1]:8001".
ADDRPORT = re.compile(r"(?:(?P<addr>\[[0-9A-Fa-f:.]+\]|[\w.-]+):)?(?P<port>\d{1,5})")


class UsageError(Exception):
    """A command line dev.py cannot run; the message says why."""


def step(message: str) -> None:
    print(f"dev.py: {message}", flush=True)


def venv_python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def ensure_environment() -> Path:
    if sys.version_info < (3, 11):
        sys.exit("django-kakaopay needs Python 3.11 or newer.")
    chosen = os.environ.get("DJANGO_KAKAOPAY_DEV_PYTHON")
    if chosen:
        return Path(chosen)
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    python = venv_python()
    if not python.exists():
        step("creating the virtual environment .venv ...")
        venv.EnvBuilder(with_pip=True).create(VENV)
    if not STAMP.exists() or STAMP.read_text() != wanted:
        # pip's own lines are the progress: a silent minute looks like a hang.
        step("updating pip in .venv ...")
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", "--upgrade", "pip"], check=True
        )
        step(
            "installing django-kakaopay with its test and example extras into .venv "
            "(about a minute the first time; pip's progress follows) ..."
        )
        subprocess.run(
            [
                str(python),
                "-m",
                "pip",
                "install",
                "--progress-bar",
                "on",
                "-e",
                f"{ROOT}[test,example]",
            ],
            check=True,
        )
        STAMP.write_text(wanted)
        step("installed.")
    return python


def run(python: Path, *args: str) -> int:
    return subprocess.call([str(python), *args], cwd=ROOT)


def hand_over(python: Path, *args: str) -> int:
    """Run ``python args`` in place of this process where the system allows it.

    Then the PID the user started (or read) is the program's own: a signal to
    it reaches the program, instead of killing only a parent and leaving the
    program running, and its exit status is the program's.
    """
    if os.name != "posix":
        return run(python, *args)
    sys.stdout.flush()
    sys.stderr.flush()
    os.chdir(ROOT)
    os.execv(str(python), [str(python), *args])  # noqa: S606 - our venv's python, fixed args
    raise AssertionError("os.execv returned")  # pragma: no cover - it never returns


def shop_arguments(args: list[str]) -> tuple[str, list[str]]:
    """runserver's ``addrport`` and the other arguments of ``dev.py shop``.

    ``8001`` serves on 127.0.0.1:8001, ``0.0.0.0:8001`` on every address;
    options (``--noreload``, ...) pass through to runserver.
    """
    positional = [arg for arg in args if not arg.startswith("-")]
    options = [arg for arg in args if arg.startswith("-")]
    if len(positional) > 1:
        raise UsageError(
            f"dev.py shop takes one address, not {len(positional)}: "
            f"{' '.join(positional)} (for example 8001 or 0.0.0.0:8001)"
        )
    if not positional:
        return f"{DEFAULT_ADDRESS}:{DEFAULT_PORT}", options
    given = positional[0]
    matched = ADDRPORT.fullmatch(given)
    if not matched or not 1 <= int(matched["port"]) <= 65535:
        raise UsageError(
            f"{given!r} is not a port or an address:port (for example 8001 or 0.0.0.0:8001)"
        )
    return f"{matched['addr'] or DEFAULT_ADDRESS}:{matched['port']}", options


def browser_url(addrport: str) -> str:
    """Where to open the shop: an "every address" bind is reached at 127.0.0.1."""
    addr, _, port = addrport.rpartition(":")
    if addr in ("0.0.0.0", "0", "[::]"):  # noqa: S104 - naming the wildcard, not binding it
        addr = DEFAULT_ADDRESS
    return f"http://{addr}:{port}"


def shop(args: list[str]) -> int:
    try:
        addrport, options = shop_arguments(args)
    except UsageError as exc:
        print(f"dev.py: {exc}", file=sys.stderr)
        return 2
    python = ensure_environment()
    manage = str(ROOT / "example_project" / "manage.py")
    url = browser_url(addrport)
    step("setting up the example shop (migrations, products, admin login) ...")
    # The printed links follow an address given here; otherwise setup_shop uses
    # KAKAOPAY_SITE_URL (which may be a public tunnel for a real provider's notifications).
    chosen = addrport != f"{DEFAULT_ADDRESS}:{DEFAULT_PORT}"
    status = run(python, manage, "setup_shop", *([f"--site-url={url}"] if chosen else []))
    if status:
        return status
    step(
        f"serving the example shop at {url}/ as process {os.getpid()}; "
        f"stop it with Ctrl+C or: kill {os.getpid()}"
    )
    return hand_over(python, manage, "runserver", addrport, *options)


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "help"
    if command == "shop":
        return shop(argv[1:])
    if command == "test":
        python = ensure_environment()
        return hand_over(python, "-m", "pytest", *argv[1:])
    print(__doc__)
    return 0 if command in ("help", "-h", "--help") else 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
