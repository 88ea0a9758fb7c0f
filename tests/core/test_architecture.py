"""Dependencies flow one way: the edges (web, cli) over the domain packages over the core.

Two checks: importing every domain module loads no Starlette, web or cli (what a module
does at import time), and no module names a package above its own layer in an import
statement, wherever the statement sits (a function-level import counts too).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Lower numbers sit lower. A package may import its own layer's package and anything
# below; sender uses short links and page links, landing pages use short links.
LAYERS = {
    "richsms": 0,
    "shortener": 1,
    "landing_templates": 2,
    "sender": 3,
    "web": 4,
    "cli": 5,
}
# Alembic needs every table in one registry, which the core provides.
ALLOWED = {("richsms/models.py", "sender"), ("richsms/models.py", "shortener")}

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
    result = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def imported_packages(source: str) -> set[str]:
    """The top-level packages an import statement of `source` names."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def upward_imports(root: Path) -> list[str]:
    wrong = []
    for package, layer in LAYERS.items():
        for path in sorted((root / package).rglob("*.py")):
            relative = path.relative_to(root).as_posix()
            if "/migrations/" in relative:
                continue
            for name in imported_packages(path.read_text(encoding="utf-8")):
                above = LAYERS.get(name, -1) > layer
                if above and (relative, name) not in ALLOWED:
                    wrong.append(f"{relative} imports {name}")
    return wrong


def test_no_package_imports_one_above_it() -> None:
    assert upward_imports(ROOT) == []


@pytest.mark.parametrize(
    ("path", "source"),
    [
        ("richsms/clock.py", "from sender.delivery.models import Contact\n"),
        ("shortener/links.py", "def f():\n    import sender.campaigns.planner\n"),
        ("landing_templates/blocks.py", "from web.app import create_app\n"),
        ("sender/x.py", "import cli.main\n"),
    ],
)
def test_the_check_catches_an_upward_import(tmp_path: Path, path: str, source: str) -> None:
    for package in LAYERS:
        (tmp_path / package).mkdir()
    (tmp_path / path).write_text(source)
    assert upward_imports(tmp_path) == [f"{path} imports {imported_packages(source).pop()}"]
