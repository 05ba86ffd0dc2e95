"""The named pass pipelines: `training` runs on every traced graph before JAX lowering (fit, predict), `export` on
the inference graph before ONNX lowering.

The training pipeline only makes the graph smaller without changing what it computes or its parameters; XLA
would find most of it too, so it is there to keep the traced graph and its compile small. The export pipeline
freezes the weights (`param_values`), specializes for inference and for ONNX's operators and layout. Each lists a
pass once: the PassManager runs the pipeline again while a round changes the graph (what layout and patterns
leave behind gets folded and simplified in the next round).
"""

from __future__ import annotations

from typing import Any

from kgraph.ir.graph import Graph
from kgraph.ir.passes.manager import PassManager

TRAINING_PIPELINE = ("cse", "constant_folding", "algebraic", "dce")
EXPORT_PIPELINE = (
    "shape_specialization",  # a fixed batch size, when asked, before anything folds shapes
    "constant_folding",      # weight reshapes and the like, with the parameters frozen
    "algebraic",
    "inference",             # dropout out, BatchNormalization into the kernels before it
    "cse",
    "layout",                # channels-first inside, transposes sunk and cancelled
    "patterns",              # Gemm, Conv with bias, Resize, Attention
    "dce",                   # parameters nothing reads any more
)
PIPELINES = {"training": TRAINING_PIPELINE, "export": EXPORT_PIPELINE}


def pipeline(name: str, **options: Any) -> PassManager:
    """The PassManager of a named pipeline.

    Args:
        name: "training" or "export".
        **options: pass options: `param_values` (parameter name → array, export only), `batch_size` and `opset`
            (the ONNX opset the export targets).
    """
    if name not in PIPELINES:
        raise ValueError(f"unknown pipeline {name!r}; pipelines: {', '.join(PIPELINES)}")
    return PassManager(PIPELINES[name], **options)


def run_pipeline(name: str, graph: Graph, trace: list[tuple[str, Graph]] | None = None, **options: Any) -> Graph:
    """Runs the named pipeline over `graph` (see `pipeline`); `trace` receives (pass name, graph after it)."""
    return pipeline(name, **options).run(graph, trace)
