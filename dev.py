#!/usr/bin/env python3
"""Developer entry point that needs nothing but Python 3.11+.

    python dev.py shop   # set up and serve the example shop at http://127.0.0.1:8000
    python dev.py test   # run the whole test suite

The first run creates ``.venv`` and installs the package with its test and
example extras; later runs reuse it and reinstall only when pyproject.toml
changed.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
STAMP = VENV / ".django-kakaopay-installed"


def venv_python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def ensure_environment() -> Path:
    if sys.version_info < (3, 11):
        sys.exit("django-kakaopay needs Python 3.11 or newer.")
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    python = venv_python()
    if not python.exists():
        print("Creating .venv ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    if not STAMP.exists() or STAMP.read_text() != wanted:
        print("Installing django-kakaopay with its test and example extras ...", flush=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", "--upgrade", "pip"], check=True
        )
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", "-e", f"{ROOT}[test,example]"],
            check=True,
        )
        STAMP.write_text(wanted)
    return python


def run(python: Path, *args: str) -> int:
    return subprocess.call([str(python), *args], cwd=ROOT)


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "help"
    if command == "shop":
        python = ensure_environment()
        manage = str(ROOT / "example_project" / "manage.py")
        status = run(python, manage, "setup_shop")
        if status:
            return status
        return run(python, manage, "runserver", "127.0.0.1:8000", *argv[1:])
    if command == "test":
        python = ensure_environment()
        return run(python, "-m", "pytest", *argv[1:])
    print(__doc__)
    return 0 if command in ("help", "-h", "--help") else 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
