"""Convolution and pooling ops: ONNX Runtime on each op's ONNX rule gives its JAX rule's numbers, and JAX gives
Keras' numbers; including spatial dims only known at run time."""

import jax
import keras
import numpy as np
import onnx
import onnxruntime as ort
import pytest

import kgraph
from kgraph import ops
from kgraph.export import check_onnx
from kgraph.ir import ShapeError, TensorType
from kgraph.lowering.jax import lower_to_jax
from kgraph.lowering.onnx import lower_to_onnx
from kgraph.tracing import Trace

rng = np.random.default_rng(0)
X1 = rng.normal(size=(2, 11, 4)).astype("float32")
X2 = rng.normal(size=(2, 9, 8, 4)).astype("float32")
X2_CF = np.ascontiguousarray(X2.transpose(0, 3, 1, 2))
X3 = rng.normal(size=(2, 5, 6, 7, 3)).astype("float32")
K1 = rng.normal(size=(3, 4, 6)).astype("float32")
K2 = rng.normal(size=(3, 3, 4, 6)).astype("float32")
K2_GROUPED = rng.normal(size=(3, 2, 2, 6)).astype("float32")
K3 = rng.normal(size=(2, 3, 2, 3, 4)).astype("float32")
KT1 = rng.normal(size=(3, 5, 4)).astype("float32")
KT2 = rng.normal(size=(3, 2, 5, 4)).astype("float32")
KT3 = rng.normal(size=(2, 2, 3, 4, 3)).astype("float32")
DEPTHWISE = rng.normal(size=(3, 3, 4, 2)).astype("float32")
POINTWISE = rng.normal(size=(1, 1, 8, 5)).astype("float32")


def conv(**kw):
    return lambda o: lambda x, k: o.conv(x, k, **kw)


def conv_t(**kw):
    return lambda o: lambda x, k: o.conv_transpose(x, k, **kw)


def pool(name, *args):
    return lambda o: lambda x: getattr(o, name)(x, *args)


def causal_conv(o):
    """Keras' ops.conv has no "causal"; its Conv1D layer pads the start of the sequence and convolves "valid"."""
    if o is ops:
        return lambda x, k: ops.conv(x, k, padding="causal", dilation_rate=2)
    return lambda x, k: o.conv(np.pad(x, ((0, 0), (2 * (k.shape[0] - 1), 0), (0, 0))), k, dilation_rate=2)


# (id, factory: ops module (kgraph.ops or keras.ops) -> function, inputs)
CASES = [
    ("conv1d_valid", conv(), (X1, K1)),
    ("conv1d_same_strided", conv(strides=2, padding="same"), (X1, K1)),
    ("conv1d_causal_dilated", causal_conv, (X1, K1)),
    ("conv2d_valid", conv(), (X2, K2)),
    ("conv2d_same", conv(padding="same"), (X2, K2)),
    ("conv2d_same_stride3", conv(strides=3, padding="same"), (X2, K2)),
    ("conv2d_strided", conv(strides=(2, 1)), (X2, K2)),
    ("conv2d_dilated_same", conv(padding="same", dilation_rate=2), (X2, K2)),
    ("conv2d_grouped", conv(padding="same"), (X2, K2_GROUPED)),
    ("conv2d_channels_first", conv(strides=2, padding="same", data_format="channels_first"), (X2_CF, K2)),
    ("conv3d_same", conv(padding="same", strides=(1, 2, 2)), (X3, K3)),
    ("conv_transpose1d_valid", conv_t(), (X1, KT1)),
    ("conv_transpose1d_same_strided", conv_t(strides=2, padding="same"), (X1, KT1)),
    ("conv_transpose2d_valid_stride_over_kernel", conv_t(strides=(4, 2)), (X2, KT2)),
    ("conv_transpose2d_same_stride3", conv_t(strides=3, padding="same"), (X2, KT2)),
    ("conv_transpose2d_output_padding", conv_t(strides=3, padding="same", output_padding=(2, 0)), (X2, KT2)),
    ("conv_transpose2d_valid_output_padding", conv_t(strides=2, output_padding=1), (X2, KT2)),
    ("conv_transpose2d_dilated", conv_t(padding="same", dilation_rate=2), (X2, KT2)),
    ("conv_transpose2d_channels_first", conv_t(strides=2, padding="same", data_format="channels_first"),
     (X2_CF, KT2)),
    ("conv_transpose3d", conv_t(strides=2), (X3, KT3)),
    ("depthwise_conv2d", lambda o: lambda x, k: o.depthwise_conv(x, k, 2, "same"), (X2, DEPTHWISE)),
    ("separable_conv2d", lambda o: lambda x, d, p: o.separable_conv(x, d, p, padding="same"),
     (X2, DEPTHWISE, POINTWISE)),
    ("max_pool1d", pool("max_pool", 3, 2), (X1,)),
    ("max_pool2d", pool("max_pool", 2, 2), (X2,)),
    ("max_pool2d_same", pool("max_pool", 3, 2, "same"), (X2,)),
    ("max_pool2d_channels_first", pool("max_pool", (2, 3), (2, 2), "same", "channels_first"), (X2_CF,)),
    ("max_pool3d", pool("max_pool", 2, 2, "same"), (X3,)),
    ("average_pool1d_same", pool("average_pool", 4, 3, "same"), (X1,)),
    ("average_pool2d", pool("average_pool", (2, 3), (2, 2)), (X2,)),
    ("average_pool2d_same", pool("average_pool", 3, 2, "same"), (X2,)),
    ("average_pool2d_same_stride1", pool("average_pool", (3, 2), (1, 1), "same"), (X2,)),
    ("average_pool3d_same", pool("average_pool", 3, 2, "same", "channels_first"), (X3,)),
]
OPSETS = (13, 17, 21)


def _trace(fn, inputs, dynamic=()):
    """A one-op graph of data and kernels; the data's batch dim and its dims listed in `dynamic` are symbolic."""
    with Trace("case") as t:
        dims = ("batch",) + tuple(f"s{d}" if d in dynamic else n for d, n in enumerate(inputs[0].shape) if d)
        symbols = [t.input(TensorType(str(inputs[0].dtype), dims), "in0")]
        symbols += [t.input(TensorType(str(a.dtype), a.shape), f"in{i}") for i, a in enumerate(inputs) if i]
        t.graph.outputs = [fn(*symbols).ir_value]
    t.graph.verify()
    return t.graph


def _run_onnx(model: onnx.ModelProto, inputs) -> np.ndarray:
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {f"in{i}": a for i, a in enumerate(inputs)})[0]


def _parity(graph, inputs, opset=17):
    expected = np.asarray(lower_to_jax(graph)({}, list(inputs))[0][0])
    model = lower_to_onnx(graph, {}, opset=opset)
    check_onnx(model)
    got = _run_onnx(model, inputs)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
    return model, expected


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("case_id,factory,inputs", CASES, ids=[c[0] for c in CASES])
def test_rule_parity(case_id, factory, inputs, opset):
    graph = _trace(factory(ops), inputs)
    _, expected = _parity(graph, inputs, opset)
    assert graph.outputs[0].type.shape[1:] == expected.shape[1:]


@pytest.mark.parametrize("case_id,factory,inputs", CASES, ids=[c[0] for c in CASES])
def test_jax_rules_match_keras_ops(case_id, factory, inputs):
    ours = np.asarray(factory(ops)(*inputs))
    np.testing.assert_allclose(ours, np.asarray(factory(keras.ops)(*inputs)), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("factory,inputs,lengths", [
    (conv(padding="same", strides=2), (X1, K1), (11, 4, 16)),
    (conv(padding="causal"), (X1, K1), (11, 3)),
    (conv(), (X1, K1), (11, 5)),
    (conv_t(padding="same", strides=2), (X1, KT1), (11, 3)),
    (pool("average_pool", 3, 2, "same"), (X1,), (11, 4, 7)),
    (pool("max_pool", 2, 1, "same"), (X1,), (11, 2)),
], ids=["conv_same", "conv_causal", "conv_valid", "conv_transpose", "average_pool_same", "max_pool_same"])
def test_dynamic_spatial_dims_run_at_every_length(factory, inputs, lengths):
    """A symbolic time dim: "same" becomes auto_pad SAME_UPPER, and every length matches XLA."""
    graph = _trace(factory(ops), inputs, dynamic=(1,))
    model = lower_to_onnx(graph, {})
    check_onnx(model)
    assert model.graph.input[0].type.tensor_type.shape.dim[1].dim_param == "s1"
    for length in lengths:
        x = np.ascontiguousarray(np.resize(inputs[0], (3, length, inputs[0].shape[2])))
        feeds = (x, *inputs[1:])
        expected = np.asarray(lower_to_jax(graph)({}, list(feeds))[0][0])
        np.testing.assert_allclose(_run_onnx(model, feeds), expected, rtol=1e-5, atol=1e-5)


def test_symbolic_output_dims_name_their_arithmetic():
    def out_shape(factory, inputs):
        return _trace(factory(ops), inputs, dynamic=(1,)).outputs[0].type.shape

    assert out_shape(conv(padding="same"), (X1, K1)) == ("batch", "s1", 6)
    assert out_shape(conv(padding="same", strides=2), (X1, K1)) == ("batch", "ceil(s1/2)", 6)
    assert out_shape(conv(), (X1, K1)) == ("batch", "s1-2", 6)
    assert out_shape(conv(strides=3), (X1, K1)) == ("batch", "(s1-3)//3+1", 6)
    assert out_shape(conv(padding="causal"), (X1, K1)) == ("batch", "s1", 6)
    assert out_shape(conv_t(padding="same", strides=2), (X1, KT1)) == ("batch", "s1*2", 5)
    assert out_shape(conv_t(), (X1, KT1)) == ("batch", "(s1-1)*1+3", 5)


def _ops(model):
    return [n.op_type for n in model.graph.node]


def test_channels_last_conv_is_one_conv_between_transposes_with_explicit_pads():
    model, _ = _parity(_trace(conv(padding="same", strides=2)(ops), (X2, K2)), (X2, K2))
    assert _ops(model) == ["Transpose", "Transpose", "Conv", "Transpose"]
    node = model.graph.node[2]
    attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
    assert attrs["pads"] == [1, 0, 1, 1] and attrs["strides"] == [2, 2] and "auto_pad" not in attrs


def test_channels_first_needs_no_transposes_of_the_data():
    model, _ = _parity(_trace(pool("max_pool", 2, 2, "valid", "channels_first")(ops), (X2_CF,)), (X2_CF,))
    assert _ops(model) == ["MaxPool"]


def test_causal_padding_is_the_convs_own_pads_and_average_pool_excludes_padding():
    model, _ = _parity(_trace(conv(padding="causal", dilation_rate=2)(ops), (X1, K1)), (X1, K1))
    (node,) = [n for n in model.graph.node if n.op_type == "Conv"]
    attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
    assert attrs["pads"] == [4, 0]
    model, _ = _parity(_trace(pool("average_pool", 3, 2, "same")(ops), (X2,)), (X2,))
    (node,) = [n for n in model.graph.node if n.op_type == "AveragePool"]
    assert {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}["count_include_pad"] == 0


def test_grouped_and_depthwise_convs_are_single_grouped_onnx_convs():
    for fn, inputs, groups in ((conv()(ops), (X2, K2_GROUPED), 2),
                               (lambda x, k: ops.depthwise_conv(x, k), (X2, DEPTHWISE), 4)):
        model, _ = _parity(_trace(fn, inputs), inputs)
        (node,) = [n for n in model.graph.node if n.op_type == "Conv"]
        assert {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}["group"] == groups


@pytest.mark.parametrize("factory,inputs,match", [
    (conv(), (X1[:, :2], K1), r"does not fit spatial dim 0 of an input of shape \('batch', 2, 4\)"),
    (conv(), (X2, rng.normal(size=(3, 3, 3, 6)).astype("float32")), "multiple of the kernel's in_channels"),
    (conv(), (X2, rng.normal(size=(3, 3, 2, 5)).astype("float32")), "groups=2 must be a positive int dividing"),
    (conv_t(), (X2, rng.normal(size=(3, 3, 5, 3)).astype("float32")), "has 4 channels"),
    (conv_t(strides=2, output_padding=2), (X2, KT2), "below its stride"),
    (pool("max_pool", 12, 1), (X1,), "does not fit"),
    (conv(padding="full"), (X2, K2), "padding"),
    (conv(padding="causal"), (X2, K2), "padding"),
    (conv(strides=(1, 2, 3)), (X2, K2), "strides"),
])
def test_bad_arguments_raise_value_errors_naming_the_shapes(factory, inputs, match):
    with pytest.raises(ValueError, match=match):
        _trace(factory(ops), inputs)


def test_shape_errors_are_value_errors_naming_the_shapes():
    """The IR's shape rule raises a ShapeError a caller catches as ValueError, and the public op raises one, eager
    and symbolic, naming both shapes; neither reaches JAX."""
    kernel = rng.normal(size=(3, 3, 3, 6)).astype("float32")
    with Trace("g") as t:
        x = t.input(TensorType("float32", ("batch", 9, 8, 4)), "x")
        with pytest.raises(ValueError, match=r"4 channels.*\(3, 3, 3, 6\)") as info:
            t.emit("conv", [x, t.constant(kernel)], {"strides": (1, 1), "dilation_rate": (1, 1)})
    assert type(info.value) is ShapeError
    for x in (X2, kgraph.Input((9, 8, 4))):
        with pytest.raises(ValueError, match=r"input shape \((2|None), 9, 8, 4\), kernel shape \(3, 3, 3, 6\)"):
            ops.conv(x, kernel)


def test_ops_work_on_keras_tensors_and_inside_jit():
    inputs = kgraph.Input((9, 8, 4))
    model = kgraph.Model(inputs, ops.max_pool(ops.conv(inputs, K2, padding="same"), 2, 2))
    expected = keras.ops.max_pool(keras.ops.conv(X2, K2, padding="same"), 2, 2)
    np.testing.assert_allclose(model.predict(X2, verbose=0), np.asarray(expected), rtol=1e-5, atol=1e-5)
    jitted = jax.jit(lambda x, k: ops.conv_transpose(x, k, 2, "same"))
    np.testing.assert_allclose(np.asarray(jitted(X2, KT2)), np.asarray(keras.ops.conv_transpose(X2, KT2, 2, "same")),
                               rtol=1e-5, atol=1e-5)


def test_every_convolution_op_has_a_parity_case():
    from kgraph.ir import all_ops

    covered = set()
    for _, factory, inputs in CASES:
        covered |= {n.op for n in _trace(factory(ops), inputs).nodes}
    family = {name for name, op in all_ops().items() if op.family == "convolution"}
    assert family and family <= covered, sorted(family - covered)
