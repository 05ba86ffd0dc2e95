"""Keras 3's public names, namespace by namespace, against kgraph's: each missing name must be listed in
docs/compat.md with a reason, and the implemented fraction is reported."""

import importlib
import re
from pathlib import Path

import keras
import pytest

NAMESPACES = [
    "ops", "ops.nn", "ops.numpy", "ops.image", "ops.linalg", "random", "utils", "tree", "backend", "config", "layers", "losses", "metrics", "optimizers",
    "optimizers.schedules", "initializers", "regularizers", "constraints", "activations", "callbacks", "models",
    "saving", "applications", "mixed_precision", "dtype_policies", "distillation", "quantizers", "",
]
COMPAT = Path(__file__).resolve().parents[1] / "docs" / "compat.md"


def _public(module) -> set[str]:
    names = {n for n in dir(module) if not n.startswith("_")}
    return names | set(getattr(module, "__all__", ()))


def keras_names(namespace: str) -> set[str]:
    return {n for n in dir(importlib.import_module("keras" + (f".{namespace}" if namespace else "")))
            if not n.startswith("_")}


def kgraph_names(namespace: str) -> set[str]:
    try:
        module = importlib.import_module("kgraph" + (f".{namespace}" if namespace else ""))
    except ImportError:
        return set()
    return _public(module)


def allowed_missing() -> dict[str, dict[str, str]]:
    """`{namespace: {name: reason}}` from docs/compat.md: `## keras.<namespace>` headings over
    "- `name`: reason" lines (the heading `## keras` is the top level)."""
    sections: dict[str, dict[str, str]] = {}
    current = None
    for line in COMPAT.read_text().splitlines():
        heading = re.fullmatch(r"## keras(?:\.([\w.]+))?\s*", line)
        if heading:
            current = sections.setdefault(heading.group(1) or "", {})
            continue
        entry = re.fullmatch(r"- `(\w+)`: (.*)", line)
        if entry and current is not None:
            current[entry.group(1)] = entry.group(2).strip()
    return sections


@pytest.mark.parametrize("namespace", NAMESPACES, ids=[n or "keras" for n in NAMESPACES])
def test_every_keras_name_exists_or_is_listed(namespace):
    listed = allowed_missing().get(namespace, {})
    missing = keras_names(namespace) - kgraph_names(namespace)
    unlisted = sorted(missing - set(listed))
    assert not unlisted, (f"keras.{namespace or ''}: {len(unlisted)} names neither in kgraph nor in docs/compat.md: "
                          f"{unlisted}")
    no_reason = sorted(name for name in missing if not listed[name])
    assert not no_reason, f"docs/compat.md lists these without a reason: {no_reason}"


def test_compat_lists_only_missing_names():
    """A name implemented since it was listed must leave docs/compat.md, so the list stays honest."""
    stale = {ns: sorted(set(names) & kgraph_names(ns)) for ns, names in allowed_missing().items()}
    stale = {ns: names for ns, names in stale.items() if names}
    assert not stale, f"implemented but still listed as missing in docs/compat.md: {stale}"


def test_report_implemented_fraction(capsys):
    total = implemented = 0
    lines = []
    for namespace in NAMESPACES:
        wanted = keras_names(namespace)
        have = len(wanted & kgraph_names(namespace))
        total, implemented = total + len(wanted), implemented + have
        lines.append(f"keras{'.' + namespace if namespace else ''}: {have}/{len(wanted)}")
    with capsys.disabled():
        print(f"\nKeras public names implemented: {implemented}/{total} ({implemented / total:.1%}); "
              + ", ".join(lines))
    assert keras.__version__.startswith("3.")
