"""The house's shape: no import cycle (function-local imports included), and local imports only with a reason."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("forms", "ingest", "collector", "migrations")


def modules() -> dict[str, Path]:
    """Map every module of the project's packages to its file."""
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def imports_of(name: str, path: Path, known: dict[str, Path]) -> list[tuple[str, int, bool]]:
    """Return (imported module, line, is local) for every import of a module, resolved to project modules."""
    tree = ast.parse(path.read_text(), str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []

    def visit(node, local: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                continue  # imports for type checkers only never run
            inner = local or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef))
            if isinstance(child, ast.Import):
                for alias in child.names:
                    if alias.name in known:
                        found.append((alias.name, child.lineno, local))
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    anchor = package.split(".")
                    anchor = anchor[: len(anchor) - child.level + 1]
                    base = ".".join(anchor + ([base] if base else []))
                for alias in child.names:
                    target = f"{base}.{alias.name}"
                    if target in known:
                        found.append((target, child.lineno, local))
                    elif base in known:
                        found.append((base, child.lineno, local))
            visit(child, inner)

    visit(tree, False)
    return found


def graph() -> dict[str, list[tuple[str, int, bool]]]:
    known = modules()
    return {name: imports_of(name, path, known) for name, path in known.items()}


def cycles(edges: dict[str, list[tuple[str, int, bool]]]) -> list[list[str]]:
    """Return the strongly connected components of more than one module (Tarjan's algorithm)."""
    index, low, stack, on_stack, result, counter = {}, {}, [], set(), [], [0]

    def strong(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for target, _line, _local in edges.get(node, ()):
            if target == node:
                continue
            if target not in index:
                strong(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                result.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            strong(node)
    return result


def test_no_import_cycle_including_function_local_imports():
    assert cycles(graph()) == []


def test_cycle_finder_sees_a_cycle_through_a_local_import():
    edges = {"a": [("b", 1, False)], "b": [("c", 3, True)], "c": [("a", 2, False)], "d": [("a", 1, False)]}
    assert cycles(edges) == [["a", "b", "c"]]


def test_every_function_local_import_says_why():
    """A function-local import needs a reason beside it (a heavy optional dependency, a cycle being removed)."""
    silent = []
    for name, path in modules().items():
        if name.startswith("migrations.versions"):
            continue  # Alembic revisions are loaded one by one, never imported by the floors
        lines = path.read_text().splitlines()
        tree = ast.parse("\n".join(lines))
        for node in ast.walk(tree):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for inner in ast.walk(node):
                if isinstance(inner, (ast.Import, ast.ImportFrom)):
                    text = " ".join(lines[inner.lineno - 2 : inner.end_lineno])
                    if "#" not in text:
                        silent.append(f"{path.relative_to(ROOT)}:{inner.lineno}")
    assert silent == []


def test_every_package_says_what_it_is_for():
    missing = []
    for package in PACKAGES:
        for init in (ROOT / package).rglob("__init__.py"):
            doc = ast.get_docstring(ast.parse(init.read_text()))
            if not doc or "TODO" in doc:
                missing.append(str(init.relative_to(ROOT)))
    assert missing == []


def test_no_module_over_about_400_lines():
    """STYLE.md's "past about 400 lines, split by feature", on code as ruff formats it (a call whose arguments
    do not fit on one line takes a line each): 450 at most, so a module is split before it grows far past 400."""
    long = {
        str(p.relative_to(ROOT)): n
        for p in modules().values()
        if (n := len(p.read_text().splitlines())) > 450 and "versions" not in p.parts
    }
    assert long == {}
