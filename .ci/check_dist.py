"""Build the sdist and wheel and check that they ship everything the app needs."""

from __future__ import annotations

import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

REQUIRED = (
    "django_kakaopay/py.typed",
    # Each provider is a package of its own (one module per concern).
    "django_kakaopay/backends/checkout/__init__.py",
    "django_kakaopay/backends/checkout/backend.py",
    "django_kakaopay/backends/smart2pay/__init__.py",
    "django_kakaopay/backends/smart2pay/backend.py",
    "django_kakaopay/migrations/0001_initial.py",
    "django_kakaopay/migrations/0003_billing_plan_cancel_request_reconciled_at.py",
    "django_kakaopay/templates/admin/django_kakaopay/payment/refund.html",
    "django_kakaopay/templates/admin/django_kakaopay/preapproval/charge.html",
    "django_kakaopay/templates/django_kakaopay/base.html",
    "django_kakaopay/templates/django_kakaopay/sandbox/payment.html",
    "django_kakaopay/templates/django_kakaopay/sandbox/preapproval.html",
    "django_kakaopay/locale/ko/LC_MESSAGES/django.po",
    "django_kakaopay/locale/ko/LC_MESSAGES/django.mo",
)


def main() -> int:
    root = Path(__file__).resolve().parent.parent
    with tempfile.TemporaryDirectory() as out:
        built = subprocess.run(
            [sys.executable, "-m", "build", "--sdist", "--wheel", "--outdir", out, str(root)],
            capture_output=True,
            text=True,
        )
        if built.returncode:
            print(built.stdout, built.stderr, sep="\n", file=sys.stderr)
            return built.returncode
        wheel = next(Path(out).glob("*.whl"))
        sdist = next(Path(out).glob("*.tar.gz"))
        wheel_names = set(zipfile.ZipFile(wheel).namelist())
        with tarfile.open(sdist) as archive:
            sdist_names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
        problems = [f"wheel lacks {p}" for p in REQUIRED if p not in wheel_names]
        problems += [f"sdist lacks {p}" for p in REQUIRED if p not in sdist_names]
        leaked = [n for n in wheel_names if n.startswith(("tests/", "example_project/"))]
        problems += [f"wheel ships {n}" for n in leaked]
    for problem in problems:
        print(problem, file=sys.stderr)
    print(f"{wheel.name}: {len(wheel_names)} files; {sdist.name}: {len(sdist_names)} files")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
