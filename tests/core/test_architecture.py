"""The domain knows nothing of HTTP: importing every domain module loads no Starlette."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import importlib, pkgutil, sys
for package in ("richsms", "sender", "shortener", "landing_templates"):
    root = importlib.import_module(package)
    for module in pkgutil.walk_packages(root.__path__, package + "."):
        if ".migrations" not in module.name:
            importlib.import_module(module.name)
print(sorted(m for m in sys.modules if m.split(".")[0] in ("starlette", "web", "cli")))
"""


def test_domain_packages_never_import_starlette_web_or_cli() -> None:
    result = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
