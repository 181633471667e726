#!/usr/bin/env python
"""Django's command-line utility for the example shop.

Run it from anywhere, e.g. ``python example_project/manage.py setup_shop``.
The repository root is put on ``sys.path`` so that the project is imported as
the ``example_project`` package, exactly as the test suite imports it.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def main() -> None:
    project_dir = Path(__file__).resolve().parent
    root = str(project_dir.parent)
    # Python put this script's folder first on sys.path; import from the root instead,
    # so that "shop" is only ever imported as "example_project.shop".
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != project_dir]
    if root not in sys.path:
        sys.path.insert(0, root)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "example_project.config.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
