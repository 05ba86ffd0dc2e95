"""docs/contributing.md stays true: each excerpt it shows is in the file it names, and its checking block runs
and prints what it says."""

import contextlib
import io
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "contributing.md"


def _blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)


def test_every_excerpt_is_in_the_file_it_names():
    excerpts = [b for b in _blocks() if b.startswith("# kgraph/") or b.startswith("# tests/")]
    assert len(excerpts) >= 5
    for block in excerpts:
        path = ROOT / block.splitlines()[0][2:].split(",")[0].strip()
        text = path.read_text()
        for line in block.splitlines()[1:]:
            if line.strip() and not line.startswith(("from ", "import ")):
                assert line in text, f"{path.name}: {line!r}"


def test_the_checking_block_prints_where_the_rules_are():
    (block,) = [b for b in _blocks() if "rule_location" in b]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(block, str(DOC), "exec"), {})
    expected = [line.split("# ", 1)[1].rstrip(" .") for line in block.splitlines() if "print(" in line]
    for printed, comment in zip(out.getvalue().splitlines(), expected, strict=True):
        assert printed.startswith(comment.rstrip("."))
