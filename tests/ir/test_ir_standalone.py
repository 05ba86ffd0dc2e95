"""The IR stands alone: importing it loads neither a lowering's framework nor any user-facing kgraph module, and no
module of `kgraph/ir` (or `kgraph/lowering`) imports upward."""

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# kgraph.config comes with the package (as Keras' config), and with it the global dtype policy it holds.
PROBE = ("import json, sys, kgraph.ir; "
         "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in ('jax', 'onnx', 'onnxruntime') "
         "or (m.startswith('kgraph.') and not m.startswith(('kgraph.ir', 'kgraph.version', 'kgraph.config', "
         "'kgraph.dtype_policies'))))))")


def test_importing_the_ir_loads_neither_jax_nor_onnx_nor_the_api():
    result = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, cwd=ROOT, timeout=120,
                            env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)})
    assert result.returncode == 0, result.stderr
    loaded = set(__import__("json").loads(result.stdout))
    assert {"jax", "onnx", "kgraph.layers"} & loaded == set(), sorted(loaded)
    assert loaded == set(), sorted(loaded)


def _imports(path: Path) -> set[str]:
    """Every module a file imports, at the top or inside a function."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def _offending(package: str, allowed) -> dict[str, list[str]]:
    found = {}
    for path in sorted((ROOT / "kgraph" / package).rglob("*.py")):
        bad = sorted(m for m in _imports(path) if not allowed(m))
        if bad:
            found[str(path.relative_to(ROOT))] = bad
    return found


def _external(module: str) -> bool:
    return module.split(".")[0] != "kgraph"


def test_the_ir_imports_nothing_of_kgraph_outside_it_nor_a_lowering_framework():
    def allowed(module):
        top = module.split(".")[0]
        return module.startswith("kgraph.ir") or (_external(module) and top not in ("jax", "jaxlib", "onnx",
                                                                                      "onnxruntime"))

    assert _offending("ir", allowed) == {}


def test_lowerings_import_only_the_ir_of_kgraph():
    assert _offending("lowering", lambda m: _external(m) or m.startswith(("kgraph.ir", "kgraph.lowering"))) == {}
