"""The package import graph has no cycles (imports inside functions count); function-level imports are few.

That the IR and the lowerings import nothing above them is tested in tests/ir/test_ir_standalone.py.
"""

from __future__ import annotations

import ast
import graphlib
import sys
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "kgraph"
MAX_FUNCTION_LEVEL_IMPORTS = 20


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path):
    """(imported module, line, inside a function) for every import of a kgraph module in `path`."""
    tree = ast.parse(path.read_text(), str(path))
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    in_function = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            in_function.update(id(n) for n in ast.walk(node) if n is not node)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            targets = [f"{base}.{alias.name}" for alias in node.names] if base == "kgraph" else [base]
        else:
            continue
        for target in targets:
            yield target, node.lineno, id(node) in in_function


def _package(module: str) -> str:
    """The unit of layering: `kgraph.X` for a top-level module or subpackage X."""
    return ".".join(module.split(".")[:2])


def _edges():
    edges = defaultdict(list)
    for path in sorted(ROOT.rglob("*.py")):
        source = _package(_module_name(path))
        for target, line, _ in _imports(path):
            if target.startswith("kgraph.") and _package(target) not in (source, "kgraph.version"):
                edges[(source, _package(target))].append(f"{path.relative_to(ROOT.parent)}:{line}")
    return edges


def test_packages_import_each_other_without_cycles():
    edges = _edges()
    graph = defaultdict(set)
    for source, target in edges:
        graph[source].add(target)
    try:
        tuple(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as error:
        cycle = error.args[1]
        where = [f"{a} -> {b}: {', '.join(edges[(a, b)][:3])}" for a, b in zip(cycle, cycle[1:])]
        pytest.fail("import cycle between packages:\n" + "\n".join(where))


def test_function_level_imports_are_few_and_explained():
    late = []
    for path in sorted(ROOT.rglob("*.py")):
        lines = path.read_text().splitlines()
        for target, line, inside in _imports(path):
            if inside:
                late.append((f"{path.relative_to(ROOT.parent)}:{line}", target, "#" in lines[line - 1]))
    unexplained = [f"{where} ({target})" for where, target, explained in late if not explained]
    assert not unexplained, "function-level imports need a one-line reason comment:\n" + "\n".join(unexplained)
    assert len(late) <= MAX_FUNCTION_LEVEL_IMPORTS, f"{len(late)} function-level imports: {[w for w, _, _ in late]}"


def test_graph_detects_a_cycle(tmp_path, monkeypatch):
    """The cycle check itself fails on a cycle held apart by a function-level import."""
    pkg = tmp_path / "kgraph"
    (pkg / "a").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "a" / "__init__.py").write_text("from kgraph.b import thing\n")
    (pkg / "b.py").write_text("def thing():\n    from kgraph.a import other  # late\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", pkg)
    with pytest.raises(pytest.fail.Exception, match="kgraph.a -> kgraph.b|kgraph.b -> kgraph.a"):
        test_packages_import_each_other_without_cycles()
