"""ONNX refuses `jax_call`: the node runs a Python JAX function."""

from kgraph.lowering.onnx.registry import onnx_refusal

onnx_refusal("jax_call", "it calls a Python JAX function (a JaxLayer or FlaxLayer), which ONNX cannot express; "
                         "export the model without that layer, or rewrite it with kgraph layers")
