"""`.keras` files cross between kgraph and the real Keras 3 with identical predictions, in both directions.

Each case builds the same model with `lib.layers`/`lib.ops` (lib = keras or kgraph); layer families kgraph
does not have (yet) are skipped by name.
"""

import os

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "jax")
keras = pytest.importorskip("keras")

import kgraph  # noqa: E402
from kgraph import saving  # noqa: E402


@pytest.fixture(scope="module", autouse=True)
def numpy_drawn_keras_weights():
    """Keras draws initial weights with jitted `jax.random`, compiling once per shape (most of these tests' time);
    every weight is overwritten or loaded here, so Keras draws them with NumPy instead."""
    import jax.numpy as jnp
    from keras.src import backend

    rng = np.random.default_rng(0)

    def draw(sample):
        def fn(shape, *args, dtype=None, seed=None, **kwargs):
            return jnp.asarray(sample(tuple(shape)), dtype=dtype or keras.config.floatx())
        return fn

    patch = pytest.MonkeyPatch()
    patch.setattr(backend.random, "uniform", draw(lambda shape: rng.uniform(-0.1, 0.1, shape)))
    patch.setattr(backend.random, "normal", draw(lambda shape: rng.normal(0.0, 0.1, shape)))
    patch.setattr(backend.random, "truncated_normal", draw(lambda shape: rng.normal(0.0, 0.1, shape)))
    yield
    patch.undo()


def _single(fn):
    return lambda lib, xs: fn(lib.layers, xs[0])


# (id, kgraph.layers names the case needs, input shapes without batch, input dtype, build(lib, inputs) -> outputs)
CASES = [
    ("dense", ["Dense"], [(5,)], "float32", _single(lambda L, x: L.Dense(3, activation="relu")(L.Dense(4)(x)))),
    ("dropout_flatten_activation", ["Dropout", "Flatten", "Activation"], [(2, 3)], "float32",
     _single(lambda L, x: L.Activation("tanh")(L.Flatten()(L.Dropout(0.5)(x))))),
    ("conv1d", ["Conv1D"], [(9, 3)], "float32", _single(lambda L, x: L.Conv1D(4, 3, strides=2, activation="relu")(x))),
    ("conv2d", ["Conv2D"], [(7, 7, 3)], "float32", _single(lambda L, x: L.Conv2D(4, 3, padding="same")(x))),
    ("conv2d_transpose", ["Conv2DTranspose"], [(5, 5, 3)], "float32",
     _single(lambda L, x: L.Conv2DTranspose(2, 3, strides=2)(x))),
    ("depthwise_conv2d", ["DepthwiseConv2D"], [(6, 6, 3)], "float32",
     _single(lambda L, x: L.DepthwiseConv2D(3, depth_multiplier=2)(x))),
    ("separable_conv2d", ["SeparableConv2D"], [(6, 6, 3)], "float32", _single(lambda L, x: L.SeparableConv2D(4, 3)(x))),
    ("pooling", ["MaxPooling2D", "AveragePooling2D", "GlobalAveragePooling2D"], [(8, 8, 2)], "float32",
     _single(lambda L, x: L.GlobalAveragePooling2D()(L.AveragePooling2D(2)(L.MaxPooling2D(2)(x))))),
    ("batch_normalization", ["BatchNormalization", "Dense"], [(6,)], "float32",
     _single(lambda L, x: L.BatchNormalization()(L.Dense(4)(x)))),
    ("layer_group_normalization", ["LayerNormalization", "GroupNormalization"], [(5, 4)], "float32",
     _single(lambda L, x: L.GroupNormalization(groups=2)(L.LayerNormalization()(x)))),
    ("embedding", ["Embedding", "GlobalAveragePooling1D"], [(6,)], "int32",
     _single(lambda L, x: L.GlobalAveragePooling1D()(L.Embedding(10, 4)(x)))),
    ("einsum_dense", ["EinsumDense"], [(3, 4)], "float32",
     _single(lambda L, x: L.EinsumDense("abc,cd->abd", output_shape=(None, 5), bias_axes="d")(x))),
    ("simple_rnn", ["SimpleRNN"], [(5, 3)], "float32", _single(lambda L, x: L.SimpleRNN(4)(x))),
    ("lstm", ["LSTM"], [(5, 3)], "float32", _single(lambda L, x: L.LSTM(4, return_sequences=True)(x))),
    ("gru", ["GRU"], [(5, 3)], "float32", _single(lambda L, x: L.GRU(4)(x))),
    ("bidirectional", ["Bidirectional", "LSTM"], [(5, 3)], "float32",
     _single(lambda L, x: L.Bidirectional(L.LSTM(3))(x))),
    ("multi_head_attention", ["MultiHeadAttention"], [(4, 8), (6, 8)], "float32",
     lambda lib, xs: lib.layers.MultiHeadAttention(num_heads=2, key_dim=4)(xs[0], xs[1])),
    ("merging", ["Add", "Concatenate", "Multiply", "Dense"], [(4,), (4,)], "float32",
     lambda lib, xs: lib.layers.Concatenate()([lib.layers.Add()(xs),
                                               lib.layers.Multiply()([xs[0], lib.layers.Dense(4)(xs[1])])])),
    ("reshaping", ["Reshape", "Permute", "UpSampling2D", "ZeroPadding2D", "Cropping2D"], [(12,)], "float32",
     _single(lambda L, x: L.Cropping2D(1)(L.ZeroPadding2D(1)(L.UpSampling2D(2)(
         L.Permute((2, 1, 3))(L.Reshape((3, 4, 1))(x))))))),
    ("activation_layers", ["PReLU", "LeakyReLU", "ELU", "ReLU", "Softmax"], [(6,)], "float32",
     _single(lambda L, x: L.Softmax()(L.ReLU(max_value=2.0)(L.ELU()(L.LeakyReLU(0.1)(L.PReLU()(x))))))),
    ("preprocessing", ["Normalization", "Rescaling"], [(3,)], "float32",
     _single(lambda L, x: L.Rescaling(0.5, offset=1.0)(
         L.Normalization(mean=[1.0, 2.0, 3.0], variance=[1.0, 4.0, 9.0])(x)))),
    ("nested_sequential", ["Dense"], [(4,)], "float32",
     lambda lib, xs: lib.Sequential([lib.Input((4,)), lib.layers.Dense(3), lib.layers.Dense(2)], name="stack")(xs[0])),
    ("ops_on_tensors", ["Dense"], [(4,)], "float32",
     lambda lib, xs: lib.ops.mean(lib.ops.add(lib.layers.Dense(4)(xs[0]), 1.0) * xs[0], axis=-1, keepdims=True)),
]


def build(lib, case, seed=0):
    _, _, shapes, dtype, fn = case
    inputs = [lib.Input(shape, dtype=dtype, name=f"in{i}") for i, shape in enumerate(shapes)]
    model = lib.Model(inputs[0] if len(inputs) == 1 else inputs, fn(lib, inputs))
    rng = np.random.default_rng(seed)
    model.set_weights([rng.uniform(0.1, 1.0, np.shape(w)).astype(np.asarray(w).dtype) for w in model.get_weights()])
    return model


def data(case, seed=1):
    _, _, shapes, dtype, _ = case
    rng = np.random.default_rng(seed)
    arrays = [rng.integers(0, 10, (3,) + s).astype(dtype) if dtype.startswith("int") else
              rng.standard_normal((3,) + s).astype(dtype) for s in shapes]
    return arrays[0] if len(arrays) == 1 else arrays


def predictions(model, x):
    out = model.predict(x, verbose=0)
    return [np.asarray(o) for o in (out if isinstance(out, (list, tuple)) else [out])]


def need(case):
    missing = [name for name in case[1] if not hasattr(kgraph.layers, name)]
    if missing:
        pytest.skip(f"kgraph.layers lacks {missing}")


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_keras_file_loads_in_kgraph(case, tmp_path):
    need(case)
    theirs = build(keras, case)
    theirs.save(tmp_path / "keras.keras")
    ours = saving.load_model(tmp_path / "keras.keras")
    x = data(case)
    for a, b in zip(predictions(ours, x), predictions(theirs, x)):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_kgraph_file_loads_in_keras(case, tmp_path):
    need(case)
    ours = build(kgraph, case)
    saving.save_model(ours, tmp_path / "kgraph.keras")
    theirs = keras.saving.load_model(tmp_path / "kgraph.keras")
    x = data(case)
    for a, b in zip(predictions(theirs, x), predictions(ours, x)):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def branching(lib):
    a, b = lib.Input((3,), name="a"), lib.Input((2,), name="b")
    left = lib.layers.Dense(4, name="left_2")(lib.layers.Dense(5, name="left_1")(a))
    right = lib.layers.Dense(4, name="right")(b)
    # the shallow branch first: kgraph's own layer order (depth-first) then differs from Keras' (by depth)
    model = lib.Model([a, b], lib.layers.Dense(1, name="head")(lib.layers.Concatenate()([right, left])))
    model.compile(optimizer=lib.optimizers.Adam(0.01), loss="mse")
    return model


def test_optimizer_state_crosses_in_keras_order(tmp_path):
    rng = np.random.default_rng(0)
    x, y = [rng.random((16, 3), np.float32), rng.random((16, 2), np.float32)], rng.random((16, 1), np.float32)
    theirs = branching(keras)
    theirs.fit(x, y, epochs=2, batch_size=8, verbose=0)
    theirs.save(tmp_path / "keras.keras")
    ours = saving.load_model(tmp_path / "keras.keras")
    assert ours.optimizer.iterations == 4
    assert [w.path for w in ours.trainable_weights] == [w.path for w in theirs.trainable_weights]
    store = {}
    ours.optimizer.save_own_variables(store)  # what the saving walk writes under `optimizer`
    assert len(store) == len(theirs.optimizer.variables)
    for i, b in enumerate(theirs.optimizer.variables):
        np.testing.assert_array_equal(np.asarray(store[str(i)]), np.asarray(b))
    saving.save_model(ours, tmp_path / "back.keras")
    again = keras.saving.load_model(tmp_path / "back.keras")
    for a, b in zip(again.optimizer.variables, theirs.optimizer.variables):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    for a, b in zip(predictions(again, x), predictions(theirs, x)):
        np.testing.assert_array_equal(a, b)


def test_legacy_h5_models_cross_both_ways(tmp_path):
    rng = np.random.default_rng(0)
    x, y = rng.random((8, 3), np.float32), rng.random((8, 2), np.float32)
    for lib, loss in ((keras, keras.losses.MeanSquaredError()), (kgraph, kgraph.losses.MeanSquaredError())):
        inputs = lib.Input((3,))
        model = lib.Model(inputs, lib.layers.Dense(2)(lib.layers.Dense(5, activation="relu")(inputs)))
        model.compile(optimizer="adam", loss=loss)
        model.fit(x, y, epochs=1, verbose=0)
        path = tmp_path / f"{lib.__name__}.h5"
        if lib is keras:
            model.save(path)
            other = saving.load_model(path)
        else:
            saving.save_model(model, path)
            other = keras.saving.load_model(path)
        assert int(np.asarray(other.optimizer.iterations)) == 1
        for a, b in zip(predictions(other, x), predictions(model, x)):
            np.testing.assert_array_equal(a, b)


def test_subclassed_model_weights_layout_matches_keras(tmp_path):
    import h5py

    def two_layers(lib):
        class TwoLayers(lib.Model):
            def __init__(self, **kwargs):
                super().__init__(**kwargs)
                self.first = lib.layers.Dense(4)
                self.second = lib.layers.Dense(1)
                self.blocks = [lib.layers.Dense(2), lib.layers.Dense(3)]

            def call(self, inputs, training=None):
                return self.second(self.first(inputs)) + self.blocks[1](self.blocks[0](inputs))[:, :1]

        model = TwoLayers()
        model.compile(optimizer="sgd", loss="mse")
        model.fit(np.ones((4, 3), np.float32), np.ones((4, 1), np.float32), verbose=0)
        return model

    paths = []
    for lib in (keras, kgraph):
        path = tmp_path / f"{lib.__name__}.weights.h5"
        model = two_layers(lib)
        model.save_weights(path) if lib is keras else saving.save_weights(model, path)
        with h5py.File(path) as f:
            found = []
            f.visititems(lambda name, obj: found.append((name, getattr(obj, "shape", None)))
                         if "kgraph" not in name else None)
        paths.append(sorted(found))
    assert paths[0] == paths[1]
