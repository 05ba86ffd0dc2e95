"""Recurrent layers: Keras parity (XLA, ONNX Runtime, gradients), native ONNX operators, masks, stateful states,
config round trips and bad configurations."""

import functools

import jax
import keras
import numpy as np
import onnx
import onnxruntime as ort
import pytest

import kgraph
from kgraph import layers, ops
from kgraph.export import check_onnx, export_onnx
from kgraph.ir import TensorType, all_ops
from kgraph.lowering.jax import lower_to_jax
from kgraph.lowering.onnx import lower_to_onnx
from kgraph.runtime import OnnxModel
from kgraph.tracing import Trace
from tests.layers.parity import assert_close, check_layer, gradients

RTOL, ATOL = 1e-4, 1e-5
rng = np.random.default_rng(0)
X = rng.normal(size=(3, 6, 4)).astype("float32")
MASKED_X = X.copy()
MASKED_X[0, 4:] = 0.0  # right padding
MASKED_X[1, 1] = 0.0  # a hole in the middle
MASKED_X[2, 0] = 0.0  # masked first and last steps
MASKED_X[2, 5] = 0.0


def onnx_op_types(model) -> list[str]:
    """Op types of an ONNX model (or file), including those inside Scan bodies."""
    def walk(graph):
        for node in graph.node:
            yield node.op_type
            for attribute in node.attribute:
                if attribute.type == onnx.AttributeProto.GRAPH:
                    yield from walk(attribute.g)

    return list(walk((model if isinstance(model, onnx.ModelProto) else onnx.load(str(model))).graph))


@functools.cache
def minimal_cell(lib):
    """Keras' documented MinimalRNNCell, written for `lib`, with a tanh so the state stays bounded."""

    @(keras.saving.register_keras_serializable("kgraph_tests") if lib is keras else (lambda cls: cls))
    class MinimalRNNCell(lib.layers.Layer):
        def __init__(self, units, **kwargs):
            super().__init__(**kwargs)
            self.units = units
            self.state_size = units

        def build(self, input_shape):
            self.kernel = self.add_weight(shape=(input_shape[-1], self.units), name="kernel")
            self.recurrent_kernel = self.add_weight(shape=(self.units, self.units), name="recurrent_kernel")

        def call(self, inputs, states):
            pre_activation = lib.ops.matmul(inputs, self.kernel) + lib.ops.matmul(states[0], self.recurrent_kernel)
            output = lib.ops.tanh(pre_activation)
            return output, [output]

        def get_config(self):
            return {**super().get_config(), "units": self.units}

    return MinimalRNNCell


class MaskZero(kgraph.layers.Layer):
    """Keras' Masking(0.0): masks the steps whose features are all zero."""

    supports_masking = True

    def compute_mask(self, inputs, previous_mask):
        return ops.not_equal(ops.max(ops.abs(inputs), axis=-1), 0.0)

    def call(self, inputs):
        return inputs * ops.expand_dims(ops.cast(self.compute_mask(inputs, None), inputs.dtype), -1)


SEQ = rng.normal(size=(2, 5, 4)).astype("float32")
RNN_W = [rng.normal(size=s).astype("float32") * 0.5 for s in ((4, 3), (3, 3), (3,))]
LSTM_W = [rng.normal(size=s).astype("float32") * 0.5 for s in ((4, 12), (3, 12), (12,))]
GRU_W = [rng.normal(size=s).astype("float32") * 0.5 for s in ((4, 9), (3, 9), (2, 9))]


def _state(x):
    return ops.tanh(ops.matmul(ops.sum(x, axis=1), np.full((4, 3), 0.1, "float32")))


def _mask(x):
    return ops.greater(ops.sum(x, axis=-1), 0.0)


def _tanh_step(x_t, states):
    h = ops.tanh(x_t + states[0])
    return h, [h]


# (id, function of kgraph.ops on a (batch, 5, 4) input, the native ONNX operator or None for a Scan of the step)
OP_CASES = [
    ("simple_rnn_sequences", lambda x: ops.simple_rnn(x, _state(x), *RNN_W, return_sequences=True)[0], "RNN"),
    ("simple_rnn_relu_backwards_state", lambda x: ops.simple_rnn(x, _state(x), *RNN_W, activation="relu",
                                                                 go_backwards=True)[1], "RNN"),
    ("lstm_backwards_in_input_order", lambda x: ops.lstm(x, _state(x), _state(x), *LSTM_W, go_backwards=True,
                                                         return_sequences=True, outputs_in_input_order=True)[0],
     "LSTM"),
    ("lstm_masked_carry", lambda x: ops.lstm(x, _state(x), _state(x), *LSTM_W, mask=_mask(x))[2], "LSTM"),
    ("gru_no_bias_elu", lambda x: ops.gru(x, _state(x), GRU_W[0], GRU_W[1], activation="elu",
                                          return_sequences=True)[0], "GRU"),
    ("gru_reset_before_masked_zeros", lambda x: ops.gru(x, _state(x), GRU_W[0], GRU_W[1], GRU_W[2][0], mask=_mask(x),
                                                        reset_after=False, return_sequences=True,
                                                        zero_output_for_mask=True)[0], "GRU"),
    ("rnn_backwards", lambda x: ops.rnn(_tanh_step, x, [ops.sum(x, axis=1)], go_backwards=True,
                                        return_sequences=True)[0], None),
    ("rnn_masked_in_input_order", lambda x: ops.rnn(_tanh_step, x, [ops.sum(x, axis=1)], mask=_mask(x),
                                                    go_backwards=True, return_sequences=True,
                                                    outputs_in_input_order=True)[0], None),
]


def _trace_op(fn):
    with Trace("case") as trace:
        out = fn(trace.input(TensorType("float32", ("batch", 5, 4)), "in0"))
        trace.graph.outputs = [out.ir_value]
    trace.graph.verify()
    return trace.graph


@pytest.mark.parametrize("opset", [13, 17, 21])
@pytest.mark.parametrize("fn,native", [c[1:] for c in OP_CASES], ids=[c[0] for c in OP_CASES])
def test_onnx_rule_matches_jax_rule_with_the_native_operator(fn, native, opset):
    graph = _trace_op(fn)
    expected = np.asarray(lower_to_jax(graph)({}, [SEQ])[0][0])
    model = lower_to_onnx(graph, {}, opset=opset)
    check_onnx(model)
    got = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"in0": SEQ})[0]
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    types = onnx_op_types(model)
    assert [t for t in types if t in ("RNN", "LSTM", "GRU")] == ([native] if native else []), types
    assert types.count("Scan") == int(native is None or any(n.op == "lstm" or n.op == "gru" for n in graph.nodes
                                                             if n.attrs.get("masked"))), types


def test_every_recurrent_op_has_an_onnx_parity_case():
    covered = set()
    for _, fn, _ in OP_CASES:
        covered |= {n.op for n in _trace_op(fn).nodes}
    family = {name for name, op in all_ops().items() if op.family == "recurrent"}
    assert family == {"simple_rnn", "lstm", "gru", "rnn"} and family <= covered, sorted(family - covered)


def test_recurrent_ops_work_on_keras_tensors_and_inside_jit():
    expected = [np.asarray(ops.gru(SEQ, _state(SEQ), *GRU_W)[0]),
                np.asarray(ops.rnn(_tanh_step, SEQ, [ops.sum(SEQ, axis=1)])[0])]
    inputs = kgraph.Input((5, 4))
    model = kgraph.Model(inputs, [ops.gru(inputs, _state(inputs), *GRU_W)[0],
                                  ops.rnn(_tanh_step, inputs, [ops.sum(inputs, axis=1)])[0]])
    assert_close(model.predict(SEQ, verbose=0), expected, 1e-5, 1e-6, "KerasTensors")
    jitted = jax.jit(lambda x: [ops.gru(x, _state(x), *GRU_W)[0], ops.rnn(_tanh_step, x, [ops.sum(x, axis=1)])[0]])
    assert_close(jitted(SEQ), expected, 1e-5, 1e-6, "inside jit")


@pytest.mark.parametrize("fn,match", [
    (lambda x: ops.lstm(x, _state(x), _state(x), LSTM_W[0], LSTM_W[1], LSTM_W[2][:8]), r"bias must have shape \(12,\)"),
    (lambda x: ops.gru(x, _state(x), GRU_W[0], GRU_W[1], GRU_W[2][0]), r"bias must have shape \(2, 9\)"),
    (lambda x: ops.simple_rnn(ops.sum(x, axis=1), _state(x), *RNN_W), r"rank 3 .*, got float32\[batch, 4\]"),
    (lambda x: ops.simple_rnn(x, ops.sum(x, axis=1), *RNN_W), r"state must be \(batch, units\) = \('batch', 3\)"),
    (lambda x: ops.simple_rnn(x, _state(x), *RNN_W, mask=ops.sum(x, axis=1) > 0), r"mask must be bool of shape"),
    (lambda x: ops.rnn(lambda x_t, states: (x_t, [x_t]), x, [_state(x)]), r"returns a state typed float32\[batch, 4\]"),
    (lambda x: ops.lstm(x, _state(x), _state(x), *LSTM_W, activation="gelu"), "not supported"),
])
def test_bad_op_arguments_raise_value_errors_naming_the_shapes(fn, match):
    with pytest.raises(ValueError, match=match):
        _trace_op(fn)


# name: (factory, whether to compare gradients too; JAX differentiates the same forward code in every variant)
CONFIGS = {
    "simple_rnn_relu_sequences_backwards": (lambda lib: lib.layers.SimpleRNN(
        5, activation="relu", return_sequences=True, go_backwards=True), True),
    "simple_rnn_no_bias_state": (lambda lib: lib.layers.SimpleRNN(5, use_bias=False, return_state=True), False),
    "lstm": (lambda lib: lib.layers.LSTM(5), True),
    "lstm_sequences_backwards_state_no_bias": (lambda lib: lib.layers.LSTM(
        5, use_bias=False, return_sequences=True, go_backwards=True, return_state=True), False),
    "lstm_hard_sigmoid_linear": (lambda lib: lib.layers.LSTM(5, activation=None, recurrent_activation="hard_sigmoid"),
                                 False),
    "gru_reset_after_sequences": (lambda lib: lib.layers.GRU(5, return_sequences=True), True),
    "gru_reset_before_backwards_state": (lambda lib: lib.layers.GRU(5, reset_after=False, go_backwards=True,
                                                                    return_state=True), False),
    "gru_no_bias_softsign": (lambda lib: lib.layers.GRU(5, use_bias=False, activation="softsign"), False),
    "rnn_of_lstm_cell": (lambda lib: lib.layers.RNN(lib.layers.LSTMCell(3), return_sequences=True), False),
    "rnn_of_custom_cell_backwards_sequences_state": (lambda lib: lib.layers.RNN(
        minimal_cell(lib)(4), go_backwards=True, return_sequences=True, return_state=True), True),
    "bidirectional_lstm_concat": (lambda lib: lib.layers.Bidirectional(lib.layers.LSTM(4, return_sequences=True)),
                                  False),
    "bidirectional_gru_sum_state": (lambda lib: lib.layers.Bidirectional(lib.layers.GRU(4, return_state=True),
                                                                         merge_mode="sum"), False),
    "bidirectional_simple_rnn_none": (lambda lib: lib.layers.Bidirectional(
        lib.layers.SimpleRNN(4, return_sequences=True), merge_mode=None), False),
    "bidirectional_custom_cell_mul": (lambda lib: lib.layers.Bidirectional(
        lib.layers.RNN(minimal_cell(lib)(3), return_sequences=True), merge_mode="mul"), False),
}
NATIVE = {"simple_rnn": "RNN", "lstm": "LSTM", "gru": "GRU", "rnn_of_lstm_cell": "LSTM"}


@pytest.mark.parametrize("name", list(CONFIGS))
def test_layer_matches_keras_xla_onnx_and_gradients(name, tmp_path):
    factory, grad = CONFIGS[name]
    check_layer(factory, [X], rtol=RTOL, atol=ATOL, grad=grad, tmp_dir=str(tmp_path))
    types = onnx_op_types(tmp_path / "layer.onnx")
    native = [t for t in types if t in ("RNN", "LSTM", "GRU")]
    if "custom_cell" in name:
        assert native == [] and types.count("Scan") == (2 if name.startswith("bidirectional") else 1), types
    elif name.startswith("bidirectional"):
        assert len(native) == 2 and "Scan" not in types, types
    else:
        expected = next(op for prefix, op in NATIVE.items() if name.startswith(prefix))
        assert native == [expected] and "Scan" not in types and "Loop" not in types, types


def masked_pair(factory):
    """x → Masking → layer in Keras and x → MaskZero → layer in kgraph, with Keras' weights in both."""
    models = []
    for lib in (keras, kgraph):
        inputs = lib.Input(shape=MASKED_X.shape[1:])
        masked = keras.layers.Masking(0.0)(inputs) if lib is keras else MaskZero()(inputs)
        models.append(lib.Model(inputs, factory(lib)(masked)))
    theirs, ours = models
    ours.set_weights(theirs.get_weights())
    return ours, theirs


MASKED = {
    "lstm": (lambda lib: lib.layers.LSTM(5), True),
    "lstm_sequences_backwards": (lambda lib: lib.layers.LSTM(5, return_sequences=True, go_backwards=True), False),
    "gru_sequences_zero_output": (lambda lib: lib.layers.GRU(5, return_sequences=True, zero_output_for_mask=True),
                                  False),
    "simple_rnn_state_backwards": (lambda lib: lib.layers.SimpleRNN(5, return_state=True, go_backwards=True), False),
    "custom_cell_sequences": (lambda lib: lib.layers.RNN(minimal_cell(lib)(4), return_sequences=True), True),
    "bidirectional_lstm_sequences": (lambda lib: lib.layers.Bidirectional(lib.layers.LSTM(4, return_sequences=True)),
                                     False),
    "bidirectional_gru_last": (lambda lib: lib.layers.Bidirectional(lib.layers.GRU(4), merge_mode="ave"), False),
}


@pytest.mark.parametrize("name", list(MASKED))
def test_masked_layer_matches_keras_xla_onnx_and_gradients(name, tmp_path):
    factory, grad = MASKED[name]
    ours, theirs = masked_pair(factory)
    actual = ours.predict(MASKED_X, verbose=0)
    assert_close(actual, theirs.predict(MASKED_X, verbose=0), RTOL, ATOL, "inference: kgraph vs Keras")
    export_onnx(ours, tmp_path / "masked.onnx")
    assert_close(OnnxModel(tmp_path / "masked.onnx").predict(MASKED_X), actual, RTOL, ATOL, "ONNX Runtime vs XLA")
    if grad:
        assert_close(*gradients(ours, theirs, [MASKED_X]), RTOL, ATOL, "gradients: kgraph vs Keras")
    types = onnx_op_types(tmp_path / "masked.onnx")
    scans = 2 if name.startswith("bidirectional") else 1
    assert types.count("Scan") == scans, types
    if not name.startswith("custom"):
        assert sum(types.count(t) for t in ("RNN", "LSTM", "GRU")) == scans, types


def test_masked_steps_keep_the_previous_state():
    layer = layers.GRU(3, return_sequences=True)
    x = rng.normal(size=(1, 4, 2)).astype("float32")
    mask = np.array([[True, False, False, True]])
    out = np.asarray(layer(x, mask=mask))
    np.testing.assert_array_equal(out[0, 1], out[0, 0])
    np.testing.assert_array_equal(out[0, 2], out[0, 0])
    assert not np.allclose(out[0, 3], out[0, 0])


@pytest.mark.parametrize("factory,num_states", [
    (lambda lib: lib.layers.LSTM(5, return_sequences=True, return_state=True), 2),
    (lambda lib: lib.layers.Bidirectional(lib.layers.GRU(5, return_state=True), merge_mode="concat"), 2),
])
def test_initial_state_matches_keras(factory, num_states, tmp_path):
    states = list(rng.normal(size=(num_states, 3, 5)).astype("float32"))
    models = []
    for lib in (keras, kgraph):
        x, initial = lib.Input(shape=(6, 4)), [lib.Input(shape=(5,)) for _ in states]
        models.append(lib.Model([x, *initial], factory(lib)(x, initial_state=initial)))
    theirs, ours = models
    ours.set_weights(theirs.get_weights())
    inputs = [X, *states]
    actual = ours.predict(inputs, verbose=0)
    assert_close(actual, theirs.predict(inputs, verbose=0), RTOL, ATOL, "inference: kgraph vs Keras")
    export_onnx(ours, tmp_path / "initial.onnx")
    assert_close(OnnxModel(tmp_path / "initial.onnx").predict(inputs), actual, RTOL, ATOL, "ONNX Runtime vs XLA")


@pytest.mark.parametrize("opset", [13, 21])
def test_native_and_scan_exports_pass_the_checker_at_every_opset(opset, tmp_path):
    inputs = kgraph.Input(shape=(6, 4))
    outputs = [layers.GRU(3, reset_after=False, go_backwards=True, return_sequences=True)(inputs),
               layers.LSTM(3)(MaskZero()(inputs)), layers.RNN(minimal_cell(kgraph)(2))(inputs)]
    model = kgraph.Model(inputs, outputs)
    export_onnx(model, tmp_path / "opset.onnx", opset=opset)
    assert_close(OnnxModel(tmp_path / "opset.onnx").predict(MASKED_X), model.predict(MASKED_X, verbose=0), RTOL, ATOL,
                 f"ONNX Runtime vs XLA at opset {opset}")


@pytest.mark.parametrize("cell", ["SimpleRNNCell", "LSTMCell", "GRUCell"])
def test_cell_called_on_one_step_matches_keras(cell):
    theirs, ours = getattr(keras.layers, cell)(3), getattr(layers, cell)(3)
    x = rng.normal(size=(2, 4)).astype("float32")
    states = [rng.normal(size=(2, 3)).astype("float32") for _ in range(2 if cell == "LSTMCell" else 1)]
    expected = theirs(x, states)
    ours.build((None, 4))
    ours.set_weights(theirs.get_weights())
    actual = ours(x, states)
    assert_close([actual[0], *actual[1]], [expected[0], *expected[1]], RTOL, ATOL, f"{cell} step")


def stateful_pair(batch, steps, features, units, outputs):
    """A stateful LSTM + Dense in kgraph, and Keras' non-stateful twin that takes the states as inputs."""
    x, h, c = (keras.Input(batch_shape=(batch, steps, features)), keras.Input(batch_shape=(batch, units)),
               keras.Input(batch_shape=(batch, units)))
    out, h1, c1 = keras.layers.LSTM(units, return_state=True)(x, initial_state=[h, c])
    theirs = keras.Model([x, h, c], keras.layers.Dense(outputs)(out))
    their_states = keras.Model([x, h, c], [h1, c1])
    ours = kgraph.Sequential([layers.LSTM(units, input_shape=(steps, features), batch_size=batch, stateful=True),
                              layers.Dense(outputs)])
    for mine, their in zip(ours.trainable_weights, theirs.trainable_weights):
        mine.assign(np.asarray(their.value))
    return ours, theirs, their_states


def test_stateful_train_on_batch_carries_states_as_keras_does_with_explicit_states():
    batch, units = 4, 3
    ours, theirs, their_states = stateful_pair(batch, 5, 2, units, 2)
    x1, x2 = rng.normal(size=(2, batch, 5, 2)).astype("float32")
    y1, y2 = rng.normal(size=(2, batch, 2)).astype("float32")
    for model in (ours, theirs):
        model.compile(optimizer=keras.optimizers.SGD(0.1) if model is theirs else kgraph.optimizers.SGD(0.1),
                      loss="mse")
    zeros = np.zeros((batch, units), "float32")
    h1, c1 = their_states.predict([x1, zeros, zeros], verbose=0)
    np.testing.assert_allclose(ours.train_on_batch(x1, y1), theirs.train_on_batch([x1, zeros, zeros], y1), rtol=RTOL)
    lstm = ours.layers[0]
    assert_close([s.numpy() for s in lstm.states], [h1, c1], RTOL, ATOL, "states after the first batch")
    ours.reset_metrics()
    theirs.reset_metrics()
    np.testing.assert_allclose(ours.train_on_batch(x2, y2), theirs.train_on_batch([x2, h1, c1], y2), rtol=RTOL)
    assert_close(ours.trainable_weights, [w.value for w in theirs.trainable_weights], RTOL, ATOL, "weights")
    lstm.reset_states()
    assert all(not np.any(s.numpy()) for s in lstm.states)


def test_faq_stateful_example_runs_and_resets():
    x = rng.random((32, 21, 16)).astype("float32")
    model = kgraph.Sequential()
    model.add(layers.LSTM(32, input_shape=(10, 16), batch_size=32, stateful=True))
    model.add(layers.Dense(16, activation="softmax"))
    model.compile(optimizer="rmsprop", loss="categorical_crossentropy")
    model.train_on_batch(x[:, :10, :], np.reshape(x[:, 10, :], (32, 16)))
    first = [s.numpy() for s in model.layers[0].states]
    model.train_on_batch(x[:, 10:20, :], np.reshape(x[:, 20, :], (32, 16)))
    assert all(np.any(s) for s in first)
    assert not np.allclose(model.layers[0].states[0].numpy(), first[0])
    model.layers[0].reset_states()
    assert all(not np.any(s.numpy()) for s in model.layers[0].states)
    model.fit(x[:, :10], x[:, 10], batch_size=32, epochs=1, shuffle=False, verbose=0)
    assert np.any(model.layers[0].states[0].numpy())


def test_model_reset_states_resets_every_stateful_layer():
    model = kgraph.Sequential([layers.LSTM(2, input_shape=(3, 2), batch_size=2, stateful=True)])
    model.layers[0].reset_state([np.ones((2, 2)), np.ones((2, 2))])
    model.reset_states()
    assert all(not np.any(s.numpy()) for s in model.layers[0].states)


def test_stateful_predict_on_batch_carries_states_as_keras_eager_calls():
    theirs = keras.Sequential([keras.Input(batch_shape=(2, 3, 4)), keras.layers.LSTM(5, stateful=True)])
    ours = kgraph.Sequential([kgraph.Input(batch_shape=(2, 3, 4)), layers.LSTM(5, stateful=True)])
    for mine, their in zip(ours.trainable_weights, theirs.trainable_weights):
        mine.assign(np.asarray(their.value))
    x1, x2 = rng.normal(size=(2, 2, 3, 4)).astype("float32")
    for x in (x1, x2):
        assert_close(ours.predict_on_batch(x), theirs(x), RTOL, ATOL, "stateful predict_on_batch")
    ours.layers[0].reset_states()
    theirs.layers[0].reset_states()
    expected = np.concatenate([theirs(x1), theirs(x2)])
    assert_close(ours.predict(np.concatenate([x1, x2]), batch_size=2, verbose=0), expected, RTOL, ATOL,
                 "one predict over two batches after reset_states")


@pytest.mark.parametrize("factory", [lambda: layers.SimpleRNN(3, stateful=True),
                                     lambda: layers.Bidirectional(layers.GRU(3, stateful=True))])
def test_eager_stateful_calls_carry_and_reset_state(factory):
    layer = factory()
    x = rng.normal(size=(2, 4, 2)).astype("float32")
    first, second = np.asarray(layer(x)), np.asarray(layer(x))
    assert not np.allclose(first, second)
    layer.reset_states()
    np.testing.assert_allclose(np.asarray(layer(x)), first, rtol=1e-6)


def test_stateful_graph_updates_the_state_variables():
    model = kgraph.Sequential([kgraph.Input(batch_shape=(2, 3, 4)), layers.GRU(5, stateful=True, name="carry")])
    program = kgraph.export.trace_inference(model)
    program.graph.verify()
    assert sorted(program.graph.updates) == [f"{model.name}/carry/rnn_state_0"]
    assert program.graph.op_counts()["gru"] == 1


CONFIG_LAYERS = {
    "SimpleRNN": lambda lib: lib.layers.SimpleRNN(3, activation="relu", dropout=0.1, return_sequences=True),
    "LSTM": lambda lib: lib.layers.LSTM(3, unit_forget_bias=False, go_backwards=True, stateful=True),
    "GRU": lambda lib: lib.layers.GRU(3, reset_after=False, recurrent_activation="hard_sigmoid", return_state=True),
    "SimpleRNNCell": lambda lib: lib.layers.SimpleRNNCell(3, use_bias=False),
    "LSTMCell": lambda lib: lib.layers.LSTMCell(3, kernel_initializer="he_normal"),
    "GRUCell": lambda lib: lib.layers.GRUCell(3, seed=4),
    "RNN": lambda lib: lib.layers.RNN(lib.layers.GRUCell(2), return_sequences=True, zero_output_for_mask=True),
    "Bidirectional": lambda lib: lib.layers.Bidirectional(lib.layers.LSTM(2, return_sequences=True), merge_mode="sum"),
}


@pytest.mark.parametrize("name", list(CONFIG_LAYERS))
def test_config_round_trip_and_keras_keys(name):
    ours, theirs = CONFIG_LAYERS[name](kgraph), CONFIG_LAYERS[name](keras)
    config = ours.get_config()
    clone = type(ours).from_config(config)
    assert clone.get_config() == config
    assert set(theirs.get_config()) <= set(config) <= set(theirs.get_config()) | {"seed"}
    for key, value in theirs.get_config().items():
        if isinstance(value, (bool, int, float, str)) and key != "name":
            assert config[key] == value, key


def test_custom_cell_config_round_trip_needs_custom_objects():
    cell_class = minimal_cell(kgraph)
    config = layers.RNN(cell_class(3), go_backwards=True).get_config()
    with pytest.raises(ValueError, match="MinimalRNNCell"):
        layers.RNN.from_config(config)
    clone = layers.RNN.from_config(config, custom_objects={"MinimalRNNCell": cell_class})
    assert clone.cell.units == 3 and clone.go_backwards


def test_weights_names_order_and_unit_forget_bias():
    layer = layers.LSTM(2)
    layer(np.zeros((1, 3, 4), "float32"))
    theirs = keras.layers.LSTM(2)
    theirs(np.zeros((1, 3, 4), "float32"))
    assert [(w.name, w.shape) for w in layer.weights] == [(w.name, tuple(w.shape)) for w in theirs.weights]
    np.testing.assert_array_equal(layer.cell.bias.numpy(), [0, 0, 1, 1, 0, 0, 0, 0])
    q = layer.cell.recurrent_kernel.numpy()
    np.testing.assert_allclose(q @ q.T, np.eye(2), atol=1e-5)


@pytest.mark.parametrize("factory,shape,match", [
    (lambda: layers.LSTM(3, name="seq"), (None, 5), r"'seq' \(LSTM\) expects sequences of rank 3 .* \(None, 5\)"),
    (lambda: layers.GRU(3, name="seq"), (None, 4, 5, 2), r"'seq' \(GRU\) expects .* \(None, 4, 5, 2\)"),
    (lambda: layers.SimpleRNN(3, name="seq"), (None, 4, None), r"'seq' \(SimpleRNN\)(.|\n)*known features"),
    (lambda: layers.RNN(layers.LSTMCell(3), name="seq"), (None, 5), r"'seq' \(RNN\) expects sequences of rank 3 or"),
    (lambda: layers.Bidirectional(layers.GRU(3, name="seq")), (None, 5), r"'forward_seq' \(GRU\) expects sequences"),
])
def test_wrong_input_rank_fails_at_build_naming_layer_and_shape(factory, shape, match):
    layer = factory()
    with pytest.raises(ValueError, match=match):
        layer(kgraph.Input(batch_shape=shape))


@pytest.mark.parametrize("make,match", [
    (lambda: layers.LSTM(0), "positive integer"),
    (lambda: layers.GRU(3, activation="gelu"), "not supported"),
    (lambda: layers.LSTM(3, recurrent_activation="softmax"), "not supported"),
    (lambda: layers.RNN(object()), "call"),
    (lambda: layers.Bidirectional(layers.LSTM(3), merge_mode="max"), "merge mode"),
    (lambda: layers.Bidirectional(layers.Dense(3)), "recurrent layer"),
    (lambda: layers.Bidirectional(layers.LSTM(3), backward_layer=layers.GRU(3, go_backwards=True, stateful=True)),
     "stateful"),
    (lambda: layers.LSTM(3, use_cudnn="yes"), "use_cudnn"),
    (lambda: layers.LSTM(3, not_an_argument=1), "not_an_argument"),
])
def test_bad_configs_fail_at_construction(make, match):
    with pytest.raises((ValueError, TypeError), match=match):
        make()


def test_stateful_needs_a_static_batch_and_matching_initial_states():
    with pytest.raises(ValueError, match="batch size must be static"):
        layers.LSTM(3, stateful=True)(kgraph.Input(shape=(4, 2)))
    x, h = kgraph.Input(shape=(4, 2)), kgraph.Input(shape=(3,))
    with pytest.raises(ValueError, match="expects 2 initial state"):
        layers.LSTM(3)(x, initial_state=[h])


def test_dropout_trains_and_recurrent_dropout_says_it_is_unsupported():
    x = rng.normal(size=(2, 5, 3)).astype("float32")
    layer = layers.GRU(4, dropout=0.5, seed=1)
    np.testing.assert_allclose(np.asarray(layer(x)), np.asarray(layer(x, training=False)))
    assert not np.allclose(np.asarray(layer(x, training=True)), np.asarray(layer(x)))
    with pytest.raises(NotImplementedError, match="recurrent_dropout"):
        layers.LSTM(4, recurrent_dropout=0.2)(x, training=True)


def test_rnn_op_runs_eagerly_and_exports_only_when_every_step_op_has_an_onnx_rule(tmp_path, monkeypatch):
    def step(x_t, states):
        h = ops.tanh(x_t + states[0])
        return h, [h]

    x, h0 = rng.normal(size=(2, 3, 4)).astype("float32"), np.zeros((2, 4), "float32")
    output, (final,) = ops.rnn(step, x, [h0], return_sequences=True)
    expected, h = [], h0
    for t in range(3):
        h = np.tanh(x[:, t] + h)
        expected.append(h)
    np.testing.assert_allclose(np.asarray(output), np.stack(expected, 1), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.asarray(final), h, rtol=1e-5, atol=1e-6)
    model = kgraph.Sequential([kgraph.Input(shape=(3, 4)), layers.RNN(minimal_cell(kgraph)(2))])
    from kgraph.lowering.onnx import recurrent

    monkeypatch.setattr(recurrent, "has_rule", lambda op: op != "tanh")
    with pytest.raises(NotImplementedError, match=r"op 'tanh'\) has no ONNX rule"):
        export_onnx(model, tmp_path / "custom.onnx")
