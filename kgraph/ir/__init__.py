"""kgraph's IR: typed Values, Nodes naming registered ops, Graphs, a verifier, a printer and passes.

This package imports nothing from kgraph's API; the API builds IR, lowerings consume it.
"""

from kgraph.ir import ops as _ops  # noqa: F401  (registers every op)
from kgraph.ir.graph import Graph, Node, Value
from kgraph.ir.passes import PassManager
from kgraph.ir.registry import OpDef, ShapeError, all_ops, get_op, register
from kgraph.ir.types import TensorType, canonical_dtype
from kgraph.ir.verifier import VerificationError, verify

__all__ = [
    "Graph", "Node", "OpDef", "PassManager", "ShapeError", "TensorType", "Value", "VerificationError",
    "all_ops", "canonical_dtype", "get_op", "register", "verify",
]
