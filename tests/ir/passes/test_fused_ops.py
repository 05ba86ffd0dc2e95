"""The fused ops the export passes form (`kgraph/ir/ops/fused.py`): each one's JAX rule gives the numbers of the ops
it replaces, its ONNX rule gives the JAX rule's at every opset, and bad inputs are ShapeErrors naming the shapes."""

import numpy as np
import pytest

from kgraph import ops
from kgraph.ir import ShapeError, TensorType, all_ops
from kgraph.tracing import Trace
from pass_checks import assert_close, jax_outputs, onnx_outputs

rng = np.random.default_rng(0)
A, B, C = (rng.standard_normal(s).astype("float32") for s in ((5, 4), (4, 3), (3,)))
X = rng.standard_normal((2, 6, 5, 3)).astype("float32")
K = rng.standard_normal((3, 3, 3, 4)).astype("float32")
BIAS = rng.standard_normal(4).astype("float32")
Q, KEY, V = (rng.standard_normal((2, s, 8)).astype("float32") for s in (5, 7, 7))


def _heads(x, h=2):
    return x.reshape(x.shape[0], x.shape[1], h, -1).transpose(0, 2, 1, 3)


def _attention_reference(q, k, v, h=2, scale=0.5):
    logits = _heads(q, h) @ _heads(k, h).transpose(0, 1, 3, 2) * scale
    p = np.exp(logits - logits.max(-1, keepdims=True))
    out = (p / p.sum(-1, keepdims=True)) @ _heads(v, h)
    return out.transpose(0, 2, 1, 3).reshape(q.shape[0], q.shape[1], -1)


# (op, attrs, inputs, NumPy reference of the ops it replaces)
CASES = [
    ("gemm", {}, (A, B, C), A @ B + C),
    ("conv_bias", {"strides": (1, 1), "padding": "same", "dilation_rate": (1, 1)}, (X, K, BIAS),
     np.asarray(ops.conv(X, K, padding="same")) + BIAS),
    ("conv_bias", {"strides": (2, 1), "padding": "valid", "dilation_rate": (1, 1), "data_format": "channels_first"},
     (X.transpose(0, 3, 1, 2).copy(), K, BIAS),
     np.asarray(ops.conv(X.transpose(0, 3, 1, 2), K, strides=(2, 1), data_format="channels_first"))
     + BIAS[:, None, None]),
    ("upsample_nearest", {"scales": (1, 2, 3, 1)}, (X,), X.repeat(2, axis=1).repeat(3, axis=2)),
    ("attention", {"num_heads": 2, "scale": 0.5}, (Q, KEY, V), _attention_reference(Q, KEY, V)),
]


def _graph(op, attrs, inputs):
    with Trace(op) as t:
        xs = [t.input(TensorType("float32", ("batch",) + a.shape[1:] if i == 0 and a.ndim > 2 else a.shape), f"in{i}")
              for i, a in enumerate(inputs)]
        t.graph.outputs = [t.emit(op, xs, attrs).ir_value]
    t.graph.verify()
    return t.graph


@pytest.mark.parametrize("opset", [13, 17, 23])
@pytest.mark.parametrize("case", range(len(CASES)), ids=[f"{c[0]}_{i}" for i, c in enumerate(CASES)])
def test_jax_and_onnx_rules_compute_the_ops_they_replace(case, opset):
    op, attrs, inputs, expected = CASES[case]
    graph = _graph(op, attrs, inputs)
    got = jax_outputs(graph, {}, list(inputs))
    assert_close(got, [expected.astype("float32")], f"{op} (JAX)")
    assert_close(onnx_outputs(graph, {}, list(inputs), opset=opset), got, f"{op} (ONNX opset {opset})")


def test_every_fused_op_has_a_case():
    family = {name for name, op in all_ops().items() if op.family == "fused"}
    assert family == {c[0] for c in CASES}


@pytest.mark.parametrize("op,attrs,shapes,match", [
    ("gemm", {}, [(5, 4), (3, 3), (3,)], "contracting dims differ"),
    ("gemm", {}, [(5, 4), (4, 3), (5, 2)], "does not broadcast"),
    ("conv_bias", {"strides": (1, 1), "dilation_rate": (1, 1)}, [(2, 6, 5, 3), (3, 3, 3, 4), (3,)],
     r"bias of shape \(4,\)"),
    ("upsample_nearest", {"scales": (1, 0, 2)}, [(2, 3, 4)], "positive int scale per axis"),
    ("attention", {"num_heads": 3, "scale": 1.0}, [(2, 5, 8), (2, 7, 8), (2, 7, 8)], "does not split into 3 heads"),
])
def test_bad_inputs_name_the_shapes(op, attrs, shapes, match):
    with Trace("bad") as t:
        xs = [t.input(TensorType("float32", s), f"in{i}") for i, s in enumerate(shapes)]
        with pytest.raises(ShapeError, match=match):
            t.emit(op, xs, attrs)
