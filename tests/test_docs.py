"""Every ```python block of the user docs runs: a page's blocks run in order in one fresh process."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def _pages_with_code():
    return sorted(p for p in DOCS.glob("*.md") if BLOCK.search(p.read_text()))


@pytest.mark.parametrize("page", _pages_with_code(), ids=lambda p: p.name)
def test_code_blocks_run(page, tmp_path):
    code = "\n\n".join(block for block in BLOCK.findall(page.read_text()))
    env = {**os.environ, "PYTHONPATH": str(DOCS.parent) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, f"{page.name}:\n{result.stderr[-3000:]}"
