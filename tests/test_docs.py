"""Every ```python block of the docs runs: a page's blocks run in order in one fresh process.

A block whose first line is a path comment (`# kgraph/ir/ops/array.py`) is an excerpt of that file, not a program.
Pages whose code needs more than a fresh process (a running server, a sandboxed registry) have a test of their own.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"
OWN_TESTS = {
    "contributing.md": "tests/lowering/test_contributing_doc.py",
    "serving.md": "tests/serving/test_docs.py",
}
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def _programs(page: Path) -> list[str]:
    return [b for b in BLOCK.findall(page.read_text()) if not re.match(r"# (kgraph|tests|tools)/\S+\.py\n", b)]


def _pages_with_code():
    return sorted(p for p in DOCS.glob("*.md") if p.name not in OWN_TESTS and _programs(p))


@pytest.mark.parametrize("page, test", sorted(OWN_TESTS.items()))
def test_pages_with_their_own_test_have_it(page, test):
    assert (DOCS / page).exists() and (DOCS.parent / test).exists()


@pytest.mark.parametrize("page", _pages_with_code(), ids=lambda p: p.name)
def test_code_blocks_run(page, tmp_path):
    code = "\n\n".join(_programs(page))
    env = {**os.environ, "PYTHONPATH": str(DOCS.parent) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, f"{page.name}:\n{result.stderr[-3000:]}"
