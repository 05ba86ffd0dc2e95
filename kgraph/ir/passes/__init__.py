"""Named passes (graph → PassResult), the manager that runs them to a fixed point, and the training and export
pipelines.

One module per pass; `pipelines` names the two pipelines. `rewrite` holds what passes share, `pattern` the pattern
tables rewrites are written as, `dce` the one dead-code walk.
"""

from kgraph.ir.passes.algebraic import algebraic_simplification
from kgraph.ir.passes.constant_folding import constant_folding
from kgraph.ir.passes.cse import common_subexpression_elimination
from kgraph.ir.passes.dce import dead_code_elimination, eliminate_dead_code, live_nodes
from kgraph.ir.passes.inference import inference_specialization
from kgraph.ir.passes.layout import layout_transposes
from kgraph.ir.passes.manager import PassManager, PassResult, all_passes, get_pass, register_pass
from kgraph.ir.passes.pattern import PatternTable, Rule, apply_patterns, on
from kgraph.ir.passes.patterns import pattern_lowering
from kgraph.ir.passes.pipelines import EXPORT_PIPELINE, PIPELINES, TRAINING_PIPELINE, pipeline, run_pipeline
from kgraph.ir.passes.shape_specialization import shape_specialization

__all__ = [
    "EXPORT_PIPELINE", "PIPELINES", "PassManager", "PassResult", "PatternTable", "Rule", "TRAINING_PIPELINE",
    "algebraic_simplification", "all_passes", "apply_patterns", "common_subexpression_elimination",
    "constant_folding", "dead_code_elimination", "eliminate_dead_code", "get_pass", "inference_specialization",
    "layout_transposes", "live_nodes", "on", "pattern_lowering", "pipeline", "register_pass", "run_pipeline",
    "shape_specialization",
]
