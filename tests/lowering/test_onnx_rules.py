"""The forms ONNX rules take per opset (axes as inputs or attributes, native operators from their opset) and
numerics a parity row alone would not pin down; the per-op parity table is `test_op_table.py`."""

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from kgraph import ops
from kgraph.export import check_onnx
from kgraph.ir import TensorType
from kgraph.lowering.onnx import lower_to_onnx
from kgraph.tracing import Trace

rng = np.random.default_rng(0)
A = rng.normal(size=(3, 4)).astype("float32")
K = rng.integers(-1, 6, size=(6,)).astype("int32")
EDGES = np.array([[7.0, -7.0, 7.5, -7.5], [0.3, -0.3, 6.0, -6.0]], "float32")
DIVISORS = np.array([[2.0, 2.0, -2.5, 2.5], [-0.1, 0.1, 3.0, -3.0]], "float32")


def _trace(fn, inputs):
    with Trace("case") as t:
        symbols = [t.input(TensorType(str(a.dtype), ("batch",) + a.shape[1:]), f"in{i}") for i, a in enumerate(inputs)]
        out = fn(*symbols)
        t.graph.outputs = [out.ir_value]
    t.graph.verify()
    return t.graph


def _run_onnx(model: onnx.ModelProto, inputs) -> np.ndarray:
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {f"in{i}": a for i, a in enumerate(inputs)})[0]


def _node(model: onnx.ModelProto, op_type: str) -> onnx.NodeProto:
    (node,) = [n for n in model.graph.node if n.op_type == op_type]
    return node


@pytest.mark.parametrize("opset,axes_as_input", [(13, False), (17, False), (18, True)])
def test_reduce_mean_axes_follow_the_opset(opset, axes_as_input):
    model = lower_to_onnx(_trace(lambda x: ops.mean(x, axis=1), (A,)), {}, opset=opset)
    node = _node(model, "ReduceMean")
    assert (len(node.input) == 2) == axes_as_input
    assert any(a.name == "axes" for a in node.attribute) != axes_as_input
    check_onnx(model)


def test_reduce_sum_squeeze_and_unsqueeze_take_axes_as_inputs_from_13():
    for fn, op_type in ((lambda x: ops.sum(x, axis=1), "ReduceSum"), (lambda x: ops.squeeze(x, 1), "Squeeze"),
                        (lambda x: ops.expand_dims(x, 0), "Unsqueeze")):
        node = _node(lower_to_onnx(_trace(fn, (A[:, :1],)), {}, opset=13), op_type)
        assert len(node.input) == 2 and not any(a.name == "axes" for a in node.attribute)


@pytest.mark.parametrize("approximate", [False, True])
def test_gelu_is_the_onnx_op_from_opset_20(approximate):
    graph = _trace(lambda x: ops.gelu(x, approximate=approximate), (A,))
    below_20 = {n.op_type for n in lower_to_onnx(graph, {}, opset=19).graph.node}
    assert ("Tanh" if approximate else "Erf") in below_20 and "Gelu" not in below_20
    node = _node(lower_to_onnx(graph, {}, opset=20), "Gelu")
    assert onnx.helper.get_attribute_value(node.attribute[0]) == (b"tanh" if approximate else b"none")


def test_one_hot_uses_onnx_one_hot_with_initializer_depth_and_values():
    model = lower_to_onnx(_trace(lambda x: ops.one_hot(x, 5), (K,)), {}, opset=17)
    node = _node(model, "OneHot")
    initializers = {t.name: onnx.numpy_helper.to_array(t) for t in model.graph.initializer}
    assert initializers[node.input[1]].shape == () and int(initializers[node.input[1]]) == 5
    assert initializers[node.input[2]].tolist() == [0.0, 1.0]


def test_clip_bounds_and_full_like_forms():
    clip = _node(lower_to_onnx(_trace(lambda x: ops.clip(x, -1.0, 2.0), (A,)), {}), "Clip")
    assert len(clip.input) == 3
    full = lower_to_onnx(_trace(lambda x: ops.full_like(x, 2.5), (A,)), {})
    assert [n.op_type for n in full.graph.node] == ["Shape", "ConstantOfShape"]


def test_mod_of_floats_is_floor_mod_not_fmod():
    graph = _trace(ops.mod, (EDGES, DIVISORS))
    got = _run_onnx(lower_to_onnx(graph, {}), (EDGES, DIVISORS))
    np.testing.assert_allclose(got, np.mod(EDGES, DIVISORS), rtol=1e-6)
    assert np.any(np.sign(np.fmod(EDGES, DIVISORS)) != np.sign(got))
