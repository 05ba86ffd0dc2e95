"""ONNX rules for decompositions and solvers: Det exists; the standard has no decomposition or solver."""

from kgraph.lowering.onnx.refusal import refusing
from kgraph.lowering.onnx.registry import onnx_rule

onnx_rule("cholesky", "inv", "slogdet", "solve", "solve_triangular", "qr", "svd", "eigh", "lu_factor", "lstsq",
          "pinv")(refusing("the ONNX standard has no matrix decomposition or linear solver"))


@onnx_rule("det")
def _det(ctx, x):
    return ctx.op("Det", x)
