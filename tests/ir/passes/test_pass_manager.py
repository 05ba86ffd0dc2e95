"""The PassManager: options handed to the passes that take them, verification and IR dumps between passes, and the
named pipelines."""

import pytest

from kgraph.ir import Graph, TensorType, VerificationError
from kgraph.ir.passes import EXPORT_PIPELINE, TRAINING_PIPELINE, PassManager, all_passes, pipeline, register_pass
from kgraph.tracing import Trace
from kgraph import ops


def _graph():
    with Trace("g") as t:
        x = t.input(TensorType("float32", ("batch", 4)), "x")
        t.graph.outputs = [ops.add(ops.multiply(x, 1.0), ops.multiply(x, 1.0)).ir_value]
    return t.graph


def test_every_pass_of_the_issue_is_registered_and_pipelines_name_only_known_passes():
    names = set(all_passes())
    assert {"dce", "cse", "constant_folding", "algebraic", "inference", "layout", "patterns",
            "shape_specialization"} <= names
    assert set(TRAINING_PIPELINE) <= names and set(EXPORT_PIPELINE) <= names
    assert "inference" not in TRAINING_PIPELINE and "layout" not in TRAINING_PIPELINE
    with pytest.raises(ValueError, match="unknown pipeline 'fast'; pipelines: training, export"):
        pipeline("fast")


def test_options_reach_only_the_passes_that_take_them():
    seen = {}

    @register_pass("test_option_probe")
    def probe(graph: Graph, *, batch_size=None) -> Graph:
        seen["batch_size"] = batch_size
        return graph

    graph = PassManager(["test_option_probe", "cse", "dce"], batch_size=8, param_values={}).run(_graph())
    assert seen == {"batch_size": 8}
    assert [n.op for n in graph.nodes] == ["constant", "multiply", "add"]


def test_verify_between_passes_catches_a_broken_pass_and_names_it(monkeypatch):
    @register_pass("test_breaks_types")
    def breaks(graph: Graph) -> Graph:
        graph.nodes[-1].outputs[0].type = TensorType("float64", (1,))
        return graph

    with pytest.raises(VerificationError, match="node 'add'|outputs typed"):
        PassManager(["test_breaks_types"], verify=True).run(_graph())


def test_dump_ir_writes_each_pass_of_a_pipeline(tmp_path, monkeypatch):
    monkeypatch.setenv("KGRAPH_DUMP_IR", str(tmp_path))
    trace = []
    pipeline("training").run(_graph(), trace)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names[0] == "g.00.input.txt" and len(names) == len(TRAINING_PIPELINE) + 1
    assert [name for name, _ in trace] == list(TRAINING_PIPELINE)
    assert "multiply" in (tmp_path / "g.00.input.txt").read_text()


def test_passes_do_not_change_their_input_graph():
    graph = _graph()
    before = str(graph)
    for name in all_passes():
        if not name.startswith("test_"):
            all_passes()[name](graph)
            assert str(graph) == before, name
    graph.verify()


def test_inspect_passes_shows_node_counts_before_and_after_each_pass(monkeypatch):
    from pathlib import Path

    from click.testing import CliRunner

    from kgraph.cli import main

    monkeypatch.chdir(Path(__file__).parents[2] / "fixtures")
    result = CliRunner().invoke(main, ["inspect", "tiny_models:dropout_mlp", "--passes"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    start = lines.index("Export pipeline (9 nodes traced):")
    assert lines[start + 1].split() == ["pass", "before", "after"]
    rows = [line.split() for line in lines[start + 2:start + 2 + len(EXPORT_PIPELINE)]]
    assert [r[0] for r in rows] == list(EXPORT_PIPELINE)
    assert rows[0][1] == "9" and all(int(a[2]) == int(b[1]) for a, b in zip(rows, rows[1:]))
    assert "= matmul(" in result.output and "= dropout(" not in result.output
    assert "Parameters: 55,050" in result.output
