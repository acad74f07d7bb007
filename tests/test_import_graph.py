"""The apps stand on each other in the flow's order, and no module imports itself in a circle.

Every import of the project's packages counts, at any depth (an import inside a function
is still an arrow), except inside `AppConfig.ready()` (Django loads the apps first, then
calls it) and in migrations and tests. The order: dealership at the bottom; the steps
appointments < reception < workorders < workshop < delivery < followup above it; reports
and demo on top.
"""

import ast
from collections.abc import Iterator
from functools import cache
from pathlib import Path

from django.conf import settings

ROOT = Path(settings.BASE_DIR)
LAYER = {
    "dealership": 0,
    "appointments": 1,
    "reception": 2,
    "workorders": 3,
    "workshop": 4,
    "delivery": 5,
    "followup": 6,
    "reports": 7,
    "demo": 7,
    "portal": 7,
}
STEPS = {app for app, layer in LAYER.items() if 0 < layer < 7}
ON_TOP = {"reports", "demo", "portal"}

# A step that reads or starts a later step's work, on purpose; every other arrow runs down.
UPWARD_ALLOWED = {
    ("reception", "workorders"): "the visit's page shows its work order and opens the draft",
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _source_files():
    for package in LAYER:
        for path in sorted((ROOT / package).rglob("*.py")):
            if not {"migrations", "tests"} & set(path.relative_to(ROOT).parts):
                yield path


def _import_statements(statements: list) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement at any depth (only statements can hold one), but those in a
    class's `ready()` (an AppConfig's: Django requires those)."""
    for node in statements:
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        elif isinstance(node, ast.ClassDef):
            yield from _import_statements(
                [item for item in node.body if getattr(item, "name", None) != "ready"]
            )
        else:
            for block in ("body", "orelse", "finalbody", "handlers", "cases"):
                inner = getattr(node, block, None)
                if isinstance(inner, list):
                    yield from _import_statements(inner)


def _imported(node: ast.Import | ast.ImportFrom, module: str, is_package: bool) -> list[str]:
    """The dotted names an import statement reaches (`from a import b`: a.b and a)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:
        package = module.split(".") if is_package else module.split(".")[:-1]
        package = package[: len(package) - (node.level - 1)]
        base = ".".join([*package, base] if base else package)
    return [base] + [f"{base}.{alias.name}" for alias in node.names]


def module_imports(source: str, module: str, *, is_package: bool, known: set[str]) -> set[str]:
    """The modules of `known` that `module` imports anywhere but in a `ready()`."""
    targets = set()
    for node in _import_statements(ast.parse(source).body):
        targets |= {name for name in _imported(node, module, is_package) if name in known}
    return targets - {module}


@cache  # parsed once per run (~0.5 s of CPU)
def import_graph() -> dict[str, set[str]]:
    """{module: the project modules it imports}, over every source file of the packages."""
    files = {_module_name(path): path for path in _source_files()}
    known = set(files)
    return {
        module: module_imports(
            path.read_text(), module, is_package=path.name == "__init__.py", known=known
        )
        for module, path in files.items()
    }


def circles(graph: dict[str, set[str]]) -> dict[frozenset[str], list[str]]:
    """{modules that reach each other: one concrete circle a → b → … → a through them}."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []

    def connect(node: str) -> None:  # Tarjan's algorithm
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                connect(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(component)

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return {frozenset(component): _circle(graph, component) for component in components}


def _circle(graph: dict[str, set[str]], component: set[str]) -> list[str]:
    """A shortest path from the component's first module back to itself, inside it."""
    start = min(component)
    paths = {start: [start]}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for nxt in sorted(graph[node] & component):
            if nxt == start:
                return [*paths[node], start]
            if nxt not in paths:
                paths[nxt] = [*paths[node], nxt]
                queue.append(nxt)
    raise AssertionError(f"no circle in {component}")


def layer_breaches(graph: dict[str, set[str]]) -> list[str]:
    """Arrows against the flow's order, each as 'a.module -> b.module (why it is wrong)'."""
    breaches = []
    for source, targets in sorted(graph.items()):
        low = source.split(".")[0]
        for target in sorted(targets):
            high = target.split(".")[0]
            if low == high:
                continue
            if low == "dealership":
                why = "dealership imports an app above it"
            elif low in STEPS and high in ON_TOP:
                why = "a step imports reports or demo"
            elif LAYER[high] > LAYER[low] and (low, high) not in UPWARD_ALLOWED:
                why = "an app imports a later app in the flow"
            else:
                continue
            breaches.append(f"{source} -> {target} ({why})")
    return breaches


def test_no_module_imports_itself_in_a_circle():
    found = circles(import_graph())
    assert found == {}, f"import cycles: {[' -> '.join(circle) for circle in found.values()]}"


def test_apps_import_only_the_apps_below_them():
    breaches = layer_breaches(import_graph())
    assert breaches == [], f"arrows against the flow: {breaches}"


def test_the_checks_catch_a_circle_and_an_upward_arrow():
    graph = {
        "dealership.due": {"dealership.tasks"},
        "dealership.tasks": {"dealership.due", "reports.services"},
        "reports.services": {"dealership.due"},
        "workshop.services": {"reception.services", "demo.scale"},
        "reception.services": {"workorders.services", "delivery.selectors"},
        "workorders.services": set(),
        "delivery.selectors": set(),
        "demo.scale": set(),
    }
    assert list(circles(graph).values()) == [
        ["dealership.due", "dealership.tasks", "dealership.due"]
    ]
    assert layer_breaches(graph) == [
        "dealership.tasks -> reports.services (dealership imports an app above it)",
        "reception.services -> delivery.selectors (an app imports a later app in the flow)",
        "workshop.services -> demo.scale (a step imports reports or demo)",
    ]


def test_an_import_inside_a_function_counts_and_one_in_ready_does_not():
    source = (
        "from django.apps import AppConfig\n"
        "class WorkshopConfig(AppConfig):\n"
        "    def ready(self):\n"
        "        from reports import services\n"
        "def board():\n"
        "    from .selectors import board_rows\n"
        "    import dealership.due\n"
    )
    known = {"reports.services", "workshop.selectors", "dealership.due", "workshop.views"}
    found = module_imports(source, "workshop.views", is_package=False, known=known)
    assert found == {"workshop.selectors", "dealership.due"}


def test_every_allowed_upward_arrow_is_still_drawn():
    graph = import_graph()
    drawn = {
        (source.split(".")[0], target.split(".")[0])
        for source, targets in graph.items()
        for target in targets
    }
    unused = sorted(pair for pair in UPWARD_ALLOWED if pair not in drawn)
    assert unused == [], f"remove from UPWARD_ALLOWED, nothing imports that way now: {unused}"
