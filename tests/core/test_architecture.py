"""Dependencies flow one way: the edges (web, cli) over the domain packages over the core,
and inside `sender/`, each business area over the areas its contract names.

The checks read every production module's import statements, wherever they sit (a
function-level import counts too), and the modules it names in strings (a module loaded
through `import_module` is an import all the same):
- importing every domain module loads no Starlette, web or cli (what a module does when
  imported);
- no module names a package above its own layer;
- a `sender` area imports another area's services only if its contract allows it (any
  area may read any area's tables: the schema is shared);
- no two modules import each other, directly or through others.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from collections.abc import Iterator
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
# The core modules that compose the domain packages above them: Alembic needs every table
# in one registry; the runtime owns every thread and loop of a process, the shortener's
# and the sender's.
ALLOWED = {
    "richsms.models": {"sender", "shortener", "landing_templates"},
    "richsms.runtime": {"sender", "shortener"},
}

# Each area of `sender/` and the areas whose services it may import (every area may read
# every area's `models`). Each area's `__init__` docstring says the same in words.
AREAS: dict[str, set[str]] = {
    "audience": set(),
    "compose": {"audience"},
    "webhooks": set(),
    "delivery": {"audience", "compose", "webhooks"},
    "campaigns": {"audience", "compose", "delivery", "webhooks"},
    "results": {"audience", "compose", "delivery", "campaigns", "webhooks"},
}
# The sender's own top: the loop that runs planning, reports and webhooks, and the demo,
# which compose every area.
SENDER_TOP = {"sender.chores", "sender.demo"}

_PACKAGES = "|".join(LAYERS)
_MODULE_NAME = re.compile(rf"^({_PACKAGES})(\.[A-Za-z_][A-Za-z0-9_]*)+$")

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


def production_modules(root: Path) -> dict[str, Path]:
    """Every module of the packages in LAYERS, by dotted name (migrations left out)."""
    modules = {}
    for package in LAYERS:
        for path in sorted((root / package).rglob("*.py")):
            relative = path.relative_to(root)
            if "migrations" in relative.parts:
                continue
            parts = list(relative.with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join(parts)] = path
    return modules


def imported_names(source: str, module: str) -> Iterator[str]:
    """The dotted names `source` imports: statements (absolute and relative), each
    `from X import y` as both `X` and `X.y` (y may be a module), and string constants that
    name a module of ours."""
    package = module.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            if _MODULE_NAME.match(node.value):
                yield node.value


def import_graph(root: Path) -> dict[str, set[str]]:
    """Each module and the modules of ours it imports (a name resolved to the longest
    module it names: `sender.delivery.outbox.enqueue` is `sender.delivery.outbox`)."""
    modules = production_modules(root)
    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        targets = set()
        for name in imported_names(path.read_text(encoding="utf-8"), module):
            parts = name.split(".")
            while parts and ".".join(parts) not in modules:
                parts.pop()
            if parts and ".".join(parts) != module:
                targets.add(".".join(parts))
        graph[module] = targets
    return graph


def _area(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == "sender" and len(parts) > 2 else None


def wrong_imports(root: Path) -> list[str]:
    wrong = []
    for module, targets in sorted(import_graph(root).items()):
        for target in sorted(targets):
            top, above = target.split(".")[0], module.split(".")[0]
            if LAYERS[top] > LAYERS[above] and top not in ALLOWED.get(module, ()):
                wrong.append(f"{module} imports {target}")
                continue
            area, target_area = _area(module), _area(target)
            if top != "sender" or above != "sender" or module in SENDER_TOP:
                continue
            if target in SENDER_TOP or target == "sender":
                wrong.append(f"{module} imports {target}")
            elif area is None or target_area is None or area == target_area:
                continue
            elif target.split(".")[2] != "models" and target_area not in AREAS[area]:
                wrong.append(f"{module} imports {target}")
    return wrong


def cycles(root: Path) -> list[list[str]]:
    """The strongly connected groups of two or more modules (Tarjan's algorithm)."""
    graph = import_graph(root)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def test_no_module_imports_above_its_layer_or_outside_its_area_contract() -> None:
    assert wrong_imports(ROOT) == []


def test_no_import_cycles() -> None:
    """A type-only import counts too: two modules that need each other are one concept
    cut in two, or a shared piece that belongs in a third module."""
    assert cycles(ROOT) == []


def test_every_area_is_in_the_contract_and_says_what_it_owns() -> None:
    areas = {p.parent.name for p in (ROOT / "sender").glob("*/__init__.py")}
    assert areas == set(AREAS)
    for area in areas:
        doc = ast.get_docstring(ast.parse((ROOT / "sender" / area / "__init__.py").read_text()))
        assert doc and "May import" in doc, area


def test_the_table_registry_is_explicit_and_complete() -> None:
    """Alembic sees the tables `richsms.models` imports, by name: every module that defines
    a table is among them."""
    graph = import_graph(ROOT)
    tables = {
        module
        for module, path in production_modules(ROOT).items()
        if "table=True" in path.read_text(encoding="utf-8")
    }
    assert tables <= graph["richsms.models"]


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for package in LAYERS:
        (tmp_path / package).mkdir(exist_ok=True)
        (tmp_path / package / "__init__.py").touch()
    for area in AREAS:
        (tmp_path / "sender" / area).mkdir(exist_ok=True)
        (tmp_path / "sender" / area / "__init__.py").touch()
        (tmp_path / "sender" / area / "models.py").touch()
    (tmp_path / "sender" / "campaigns" / "planner.py").touch()
    (tmp_path / "sender" / "delivery" / "outbox.py").touch()
    for path, source in files.items():
        (tmp_path / path).write_text(source)
    return tmp_path


@pytest.mark.parametrize(
    ("path", "source", "wrong"),
    [
        ("richsms/clock.py", "from sender.delivery.models import X\n", "sender.delivery.models"),
        (
            "shortener/links.py",
            "def f():\n    import sender.campaigns.planner\n",
            "sender.campaigns.planner",
        ),
        ("landing_templates/blocks.py", "from web import app\n", "web"),
        ("sender/x.py", "import cli\n", "cli"),
        # areas: contacts may not call the planner, nor the outbox call campaigns
        (
            "sender/audience/contacts.py",
            "from sender.campaigns.planner import plan\n",
            "sender.campaigns.planner",
        ),
        (
            "sender/delivery/x.py",
            "from sender.campaigns import planner\n",
            "sender.campaigns.planner",
        ),
        # a module named in a string is imported all the same
        (
            "sender/compose/x.py",
            "import importlib\nimportlib.import_module('sender.delivery.outbox')\n",
            "sender.delivery.outbox",
        ),
    ],
)
def test_the_check_catches_a_forbidden_import(
    tmp_path: Path, path: str, source: str, wrong: str
) -> None:
    root = _tree(tmp_path, {path: source})
    module = path.removesuffix(".py").replace("/", ".")
    assert wrong_imports(root) == [f"{module} imports {wrong}"]


def test_the_check_lets_an_area_read_any_table_and_call_what_its_contract_names(
    tmp_path: Path,
) -> None:
    root = _tree(
        tmp_path,
        {
            "sender/audience/segments.py": "from sender.delivery.models import Message\n",
            "sender/campaigns/x.py": "from sender.delivery import outbox\n",
        },
    )
    assert wrong_imports(root) == []


def test_the_check_catches_a_cycle(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "cli/main.py": "from cli import contacts\n",
            "cli/contacts.py": "def f():\n    from cli.main import app\n",
        },
    )
    assert cycles(root) == [["cli.contacts", "cli.main"]]
