"""Tests mirror the code and share through tests/support and conftest.py: no test module imports another.

A test module that imports another runs the other's fixtures and module-level set-up where nobody looks for them,
and breaks when the other moves. Helpers live in `tests/support/`, shared fixtures in the nearest `conftest.py`.
"""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]


def is_test_module(name: str) -> bool:
    """`tests.x.test_y` (or `tests.x.test_y.z`): a module pytest collects tests from."""
    return name.startswith("tests.") and any(part.startswith("test_") for part in name.split(".")[1:])


def imported_test_modules(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every import of a test module in `path`, function-local imports included."""
    tree = ast.parse(path.read_text(), str(path))
    package = ".".join(path.relative_to(TESTS.parent).parent.parts)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names if is_test_module(alias.name)]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            if is_test_module(base):
                found.append((node.lineno, base))
            else:  # `from tests.collector import test_cases`
                found += [
                    (node.lineno, f"{base}.{alias.name}")
                    for alias in node.names
                    if is_test_module(f"{base}.{alias.name}")
                ]
    return sorted(found)


def test_no_test_module_imports_another_test_module():
    offenders = [
        f"{path.relative_to(TESTS.parent)}:{line} imports {module}"
        for path in sorted(TESTS.rglob("*.py"))
        if "node_modules" not in path.parts
        for line, module in imported_test_modules(path)
    ]
    assert not offenders, "move the helper to tests/support/ or the fixture to a conftest.py:\n" + "\n".join(offenders)


def test_the_check_finds_each_form_of_import(tmp_path, monkeypatch):
    """The check itself: absolute, from-package, relative and function-local imports of a test module."""
    monkeypatch.setitem(globals(), "TESTS", tmp_path / "tests")
    module = tmp_path / "tests" / "collector" / "test_new.py"
    module.parent.mkdir(parents=True)
    module.write_text(
        "from tests.collector.test_openrosa import post\n"
        "from tests.collector import test_cases\n"
        "from .test_scope import basic\n"
        "def helper():\n    import tests.ingest.test_tasks\n"
        "from tests.support.openrosa import post\n"
        "from tests.conftest import make_instance\n"
    )
    assert imported_test_modules(module) == [
        (1, "tests.collector.test_openrosa"),
        (2, "tests.collector.test_cases"),
        (3, "tests.collector.test_scope"),
        (5, "tests.ingest.test_tasks"),
    ]
