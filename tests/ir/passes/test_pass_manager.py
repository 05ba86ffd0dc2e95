"""The PassManager: options handed to the passes that take them, verification and IR dumps between passes, and the
named pipelines."""

import pytest

from kgraph.ir import Graph, TensorType, VerificationError
from kgraph.ir.passes import (EXPORT_PIPELINE, TRAINING_PIPELINE, PassManager, PassResult, all_passes, pipeline,
                              register_pass)
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
    def probe(graph: Graph, *, batch_size=None) -> PassResult:
        seen["batch_size"] = batch_size
        return PassResult(graph, False)

    graph = PassManager(["test_option_probe", "cse", "dce"], batch_size=8, param_values={}).run(_graph())
    assert seen == {"batch_size": 8}
    assert [n.op for n in graph.nodes] == ["constant", "multiply", "add"]


def test_verify_between_passes_catches_a_broken_pass_and_names_it(monkeypatch):
    @register_pass("test_breaks_types")
    def breaks(graph: Graph) -> PassResult:
        graph.nodes[-1].outputs[0].type = TensorType("float64", (1,))
        return PassResult(graph, True)

    with pytest.raises(VerificationError, match="node 'add'|outputs typed"):
        PassManager(["test_breaks_types"], verify=True).run(_graph())


def test_dump_ir_writes_each_pass_of_a_pipeline(tmp_path, monkeypatch):
    monkeypatch.setenv("KGRAPH_DUMP_IR", str(tmp_path))
    trace = []
    pipeline("training").run(_graph(), trace)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names[0] == "g.00.input.txt" and len(names) == len(trace) + 1
    assert [name for name, _ in trace] == list(TRAINING_PIPELINE) * 2  # the second round changes nothing
    assert names[-1] == f"g.{len(trace):02d}.{TRAINING_PIPELINE[-1]}.txt"
    assert "multiply" in (tmp_path / "g.00.input.txt").read_text()


def test_the_manager_runs_rounds_until_one_modifies_nothing_and_at_most_max_rounds():
    runs = []

    @register_pass("test_counts_down")
    def counts_down(graph: Graph) -> PassResult:
        runs.append(graph)
        return PassResult(graph, len(runs) < 3)

    PassManager(["test_counts_down"]).run(_graph())
    assert len(runs) == 3
    runs.clear()
    PassManager(["test_counts_down"], max_rounds=2).run(_graph())
    assert len(runs) == 2
    with pytest.raises(ValueError, match="max_rounds must be a positive integer, got 0"):
        PassManager(["dce"], max_rounds=0)


def test_every_pass_reports_no_change_on_a_graph_it_already_rewrote():
    graph = _graph()
    for name, fn in all_passes().items():
        if name.startswith("test_"):
            continue
        first = fn(graph)
        assert first.modified == (name in ("cse", "algebraic")), name  # two x * 1.0: one, then x itself
        assert not fn(first.graph).modified, name


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
    end = lines.index("", start)
    rows = [line.split() for line in lines[start + 2:end]]
    rounds = len(rows) // len(EXPORT_PIPELINE)
    assert rounds >= 2 and [r[0] for r in rows] == list(EXPORT_PIPELINE) * rounds
    assert rows[0][1] == "9" and all(int(a[2]) == int(b[1]) for a, b in zip(rows, rows[1:]))
    assert all(r[1] == r[2] for r in rows[-len(EXPORT_PIPELINE):])  # the last round changed nothing
    assert "= matmul(" in result.output and "= dropout(" not in result.output
    assert "Parameters: 55,050" in result.output
