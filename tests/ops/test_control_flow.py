"""cond, while_loop, fori_loop and scan: eager and jitted (jax.lax) and traced (IR sub-Graphs), against NumPy."""

import jax
import numpy as np
import pytest

import kgraph as keras
from kgraph import layers, ops
from kgraph.ir import TensorType
from kgraph.ir.registry import ShapeError
from kgraph.lowering.jax import lower_to_jax
from kgraph.ops.control_flow import cond, fori_loop, scan, while_loop
from kgraph.tracing import Trace


def run_traced(fn, *arrays):
    """Traces `fn` over inputs typed like `arrays` (first axis symbolic), lowers the graph to JAX and runs it."""
    with Trace("test") as trace:
        inputs = [trace.input(TensorType(str(a.dtype), ("batch",) + a.shape[1:]), f"x{i}")
                  for i, a in enumerate(arrays)]
        outputs = fn(*inputs)
        leaves, structure = jax.tree_util.tree_flatten(outputs)
        trace.graph.outputs = [leaf.ir_value for leaf in leaves]
    params = {name: variable.value for name, variable in trace.variables.items()}
    results = lower_to_jax(trace.graph)(params, list(arrays))[0]
    return trace.graph, jax.tree_util.tree_unflatten(structure, [np.asarray(r) for r in results])


X = np.arange(6, dtype="float32").reshape(2, 3)


# --- eager and jit: jax.lax ------------------------------------------------------------------------------------------

def test_eager_and_jit_match_numpy():
    for wrap in (lambda f: f, jax.jit):
        picked = wrap(lambda x: cond(ops.sum(x) > 0, lambda: x * 2, lambda: x - 1))
        np.testing.assert_array_equal(picked(X), X * 2)
        np.testing.assert_array_equal(picked(-X - 1), -X - 2)
        doubled = wrap(lambda x: while_loop(lambda i, v: i < 3, lambda i, v: (i + 1, v * 2), (0, x)))
        i, v = doubled(X)
        assert int(i) == 3
        np.testing.assert_array_equal(v, X * 8)
        np.testing.assert_array_equal(wrap(lambda x: fori_loop(0, 4, lambda i, v: v + i, x))(X), X + 6)
        carry, ys = wrap(lambda x: scan(lambda c, row: (c + row, c * row), np.zeros(3, "float32"), x))(X)
        np.testing.assert_array_equal(carry, X.sum(0))
        np.testing.assert_array_equal(ys, np.stack([np.zeros(3), X[0] * X[1]]))


def test_python_bool_picks_the_branch_and_single_loop_var_is_not_wrapped():
    assert cond(True, lambda: 1, lambda: 2) == 1
    assert int(while_loop(lambda v: v < 10, lambda v: v + 3, 0)) == 12
    assert int(while_loop(lambda v: v < 10, lambda v: v + 3, 0, maximum_iterations=2)) == 6


# --- traced: sub-Graphs ----------------------------------------------------------------------------------------------

def test_traced_cond_records_a_cond_node_with_branch_graphs():
    graph, out = run_traced(lambda x: cond(ops.sum(x) > 0, lambda: x * 2, lambda: x - 1), X)
    node = next(n for n in graph.nodes if n.op == "cond")
    assert node.attrs["true_branch"].inputs == [] and len(node.attrs["true_branch"].params) == 1
    np.testing.assert_array_equal(out, X * 2)
    _, out = run_traced(lambda x: cond(ops.sum(x) > 0, lambda: x * 2, lambda: x - 1), -X - 1)
    np.testing.assert_array_equal(out, -X - 2)


def test_traced_cond_returns_structures():
    _, (a, b) = run_traced(lambda x: cond(ops.sum(x) < 0, lambda: (x, x + 1), lambda: (x * 0, x * 3)), X)
    np.testing.assert_array_equal(a, X * 0)
    np.testing.assert_array_equal(b, X * 3)


def test_traced_cond_rejects_branches_of_different_types():
    with pytest.raises(ShapeError, match="same types"):
        run_traced(lambda x: cond(ops.sum(x) > 0, lambda: x, lambda: ops.sum(x)), X)


def test_traced_while_loop_and_maximum_iterations():
    graph, (i, v) = run_traced(lambda x: while_loop(lambda i, v: ops.sum(v) < 100.0,
                                                     lambda i, v: (i + 1, v * 2), (0, x)), X + 1)
    assert any(n.op == "while_loop" for n in graph.nodes)
    expected, n = X + 1, 0
    while expected.sum() < 100:
        expected, n = expected * 2, n + 1
    assert int(i) == n
    np.testing.assert_array_equal(v, expected)
    _, (i, v) = run_traced(lambda x: while_loop(lambda i, v: ops.sum(v) < 100.0, lambda i, v: (i + 1, v * 2),
                                                (0, x), maximum_iterations=1), X + 1)
    assert int(i) == 1
    np.testing.assert_array_equal(v, (X + 1) * 2)


def test_traced_while_loop_rejects_a_body_that_changes_a_type():
    with pytest.raises(ShapeError, match="keeps its type"):
        run_traced(lambda x: while_loop(lambda v: ops.sum(v) < 10.0, lambda v: ops.sum(v, axis=0), x), X)


def test_traced_fori_loop():
    _, out = run_traced(lambda x: fori_loop(0, 4, lambda i, v: v + ops.cast(i, "float32"), x), X)
    np.testing.assert_array_equal(out, X + 6)


def test_traced_scan_with_xs_reverse_and_without_xs():
    seq = np.arange(12, dtype="float32").reshape(2, 3, 2)  # (batch, time, features)

    def cumulative(x, reverse=False):
        xs = ops.transpose(x, (1, 0, 2))  # time-major
        carry, ys = scan(lambda c, x_t: (c + x_t, c + x_t), ops.zeros_like(xs[0]), xs, reverse=reverse)
        return carry, ys

    graph, (carry, ys) = run_traced(cumulative, seq)
    assert any(n.op == "scan" for n in graph.nodes)
    time_major = seq.transpose(1, 0, 2)
    np.testing.assert_allclose(carry, time_major.sum(0))
    np.testing.assert_allclose(ys, np.cumsum(time_major, axis=0))
    _, (carry, ys) = run_traced(lambda x: cumulative(x, reverse=True), seq)
    np.testing.assert_allclose(ys, np.cumsum(time_major[::-1], axis=0)[::-1])

    _, (carry, ys) = run_traced(lambda x: scan(lambda c, _: (c * 2, None), x, length=3), X)
    np.testing.assert_array_equal(carry, X * 8)
    assert ys is None


# --- a subclassed Model using them trains with fit -------------------------------------------------------------------

class ControlFlowModel(keras.Model):
    """Reads its weights inside a cond branch, a while_loop body and a scan body, so gradients must flow through."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.dense = layers.Dense(3)
        self.scale = None

    def build(self, input_shape):
        self.dense.build(input_shape)
        self.scale = self.add_weight(shape=(3,), initializer="ones", name="scale")
        self.step = self.add_weight(shape=(3, 3), initializer="glorot_uniform", name="step")

    def call(self, x):
        h = self.dense(x)
        h = cond(ops.mean(h) > 1e6, lambda: h, lambda: self.scale * h)  # the branch's own tensor first: see below
        h = fori_loop(0, 2, lambda i, v: ops.tanh(ops.matmul(v, self.step)), h)
        _, ys = scan(lambda c, row: (c, ops.matmul(row, self.step) + c), np.zeros(3, "float32"), h)
        return ops.sum(ys, axis=-1, keepdims=True)


def reference(model, x):
    kernel, bias = np.asarray(model.dense.kernel.numpy()), np.asarray(model.dense.bias.numpy())
    scale, step = np.asarray(model.scale.numpy()), np.asarray(model.step.numpy())
    h = (x @ kernel + bias) * scale
    for _ in range(2):
        h = np.tanh(h @ step)
    return (h @ step).sum(-1, keepdims=True)


def test_subclassed_model_with_control_flow_trains_with_fit():
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 4)).astype("float32")
    y = rng.normal(size=(64, 1)).astype("float32")
    model = ControlFlowModel()
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.05), loss="mse")
    predicted = model.predict(x, batch_size=64, verbose=0)  # builds the model
    np.testing.assert_allclose(predicted, reference(model, x), rtol=1e-4, atol=1e-5)
    before = {id(v): np.array(v.numpy()) for v in model.weights}
    history = model.fit(x, y, batch_size=64, epochs=5, verbose=0).history
    assert history["loss"][-1] < history["loss"][0]
    for v in model.weights:  # every weight, read inside cond, fori_loop and scan, was trained
        assert not np.array_equal(before[id(v)], np.asarray(v.numpy())), v.path
    np.testing.assert_allclose(model.predict(x, batch_size=64, verbose=0), reference(model, x), rtol=1e-4, atol=1e-5)


def test_traced_branch_mixing_an_enclosing_tensor_first_with_its_own():
    variable = keras.Variable(np.full((3,), 2.0, "float32"))
    _, out = run_traced(lambda x: cond(ops.sum(x) > 0, lambda: x * variable.value, lambda: x), X)
    np.testing.assert_array_equal(out, X * 2.0)


def _onnx_cases():
    """One small traced function per control-flow op, each reading a weight inside its body."""
    weight = keras.Variable(np.full((3,), 0.5, "float32"))
    return {
        "cond": lambda x: cond(ops.sum(x) > 0, lambda: x * weight.value, lambda: x - 1.0),
        "while_loop": lambda x: while_loop(lambda v: ops.sum(ops.abs(v)) < 100.0, lambda v: v * 2.0 + weight.value, x),
        "fori_loop": lambda x: fori_loop(0, 3, lambda i, v: v + weight.value, x),
        "scan": lambda x: scan(lambda c, row: (c + row, c * weight.value), ops.zeros_like(x[0]), x)[1],
    }


@pytest.mark.parametrize("name", ["cond", "while_loop", "fori_loop", "scan"])
@pytest.mark.parametrize("sign", [1, -1])
def test_onnx_export_matches_jax(name, sign):
    import onnxruntime as ort

    from kgraph.lowering.onnx import lower_to_onnx

    fn = _onnx_cases()[name]
    x = sign * (X + 1) if name != "scan" else np.arange(9, dtype="float32").reshape(3, 3) / 9
    with Trace("case") as trace:
        symbol = trace.input(TensorType("float32", ("batch", 3)), "in0")
        trace.graph.outputs = [fn(symbol).ir_value]
    params = {n: np.asarray(v.numpy()) for n, v in trace.variables.items()}
    expected = np.asarray(lower_to_jax(trace.graph)(params, [x])[0][0])
    model = lower_to_onnx(trace.graph, params)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    np.testing.assert_allclose(session.run(None, {"in0": x})[0], expected, rtol=1e-5, atol=1e-6)


def test_subclassed_model_with_control_flow_exports_to_onnx(tmp_path):
    import onnx
    import onnxruntime as ort

    model = ControlFlowModel()
    x = np.random.default_rng(1).normal(size=(5, 4)).astype("float32")
    expected = model.predict(x, verbose=0)
    path = tmp_path / "control_flow.onnx"
    model.export(str(path), format="onnx", input_signature=[keras.Input(shape=(4,), name="x")])
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert {"If", "Loop", "Scan"} <= {n.op_type for n in onnx.load(str(path)).graph.node}
    (out,) = session.run(None, {session.get_inputs()[0].name: x})
    assert out.shape == (5, 1)
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)
