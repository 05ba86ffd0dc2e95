"""Multi-input / multi-output models: losses, weights and metrics per output, as Keras 3 computes and names them."""

import keras
import numpy as np
import pytest

import kgraph

rng = np.random.default_rng(0)
XA, XB = rng.random((64, 8), dtype=np.float32), rng.random((64, 4), dtype=np.float32)
YS, YC = rng.random((64, 1), dtype=np.float32), rng.integers(0, 5, 64)


def build(lib):
    a = lib.Input(shape=(8,), name="a")
    b = lib.Input(shape=(4,), name="b")
    joined = lib.ops.concatenate([a, b], axis=-1)
    h = lib.layers.Dense(16, activation="relu", name="shared")(joined)
    score = lib.layers.Dense(1, name="score_output")(h)
    cls = lib.layers.Dense(5, activation="softmax", name="class_output")(h)
    return lib.Model([a, b], [score, cls])


def pair():
    theirs, ours = build(keras), build(kgraph)
    ours.set_weights(theirs.get_weights())
    return ours, theirs


COMPILES = {
    "dicts": dict(loss={"score_output": "mse", "class_output": "sparse_categorical_crossentropy"},
                  loss_weights={"score_output": 2.0, "class_output": 1.0},
                  metrics={"score_output": ["mae"], "class_output": ["accuracy"]}),
    "lists": dict(loss=["mse", kgraph.losses.SparseCategoricalCrossentropy()], loss_weights=[0.5, 3.0],
                  metrics=[["mse"], ["sparse_categorical_accuracy", "accuracy"]]),
}


@pytest.mark.parametrize("style", sorted(COMPILES))
def test_multi_output_training_matches_keras(style):
    ours, theirs = pair()
    for lib, model in ((keras, theirs), (kgraph, ours)):
        config = dict(COMPILES[style])
        if lib is keras and style == "lists":
            config["loss"] = ["mse", keras.losses.SparseCategoricalCrossentropy()]
        model.compile(optimizer=lib.optimizers.SGD(0.1), **config)
    data = ({"a": XA, "b": XB}, {"score_output": YS, "class_output": YC})
    h_theirs = theirs.fit(*data, batch_size=16, epochs=2, shuffle=False, verbose=0).history
    h_ours = ours.fit(*data, batch_size=16, epochs=2, shuffle=False, verbose=0).history
    assert list(h_ours) == list(h_theirs)
    for key in h_theirs:
        np.testing.assert_allclose(h_ours[key], h_theirs[key], rtol=1e-5, err_msg=key)
    np.testing.assert_allclose(ours.evaluate([XA, XB], [YS, YC], verbose=0),
                               theirs.evaluate([XA, XB], [YS, YC], verbose=0), rtol=1e-5)


def test_dict_loss_naming_only_some_outputs_trains_on_those():
    """Keras 3 rejects this dict from the guide; kgraph trains the named output and ignores the other's targets."""
    model = build(kgraph)
    model.compile(optimizer="rmsprop", loss={"class_output": "sparse_categorical_crossentropy"})
    history = model.fit({"a": XA, "b": XB}, {"score_output": YS, "class_output": YC}, epochs=1, verbose=0).history
    assert sorted(history) == ["class_output_loss", "loss"]
    assert history["loss"] == pytest.approx(history["class_output_loss"], rel=1e-6)


def test_none_in_a_loss_list_skips_that_output():
    model = build(kgraph)
    model.compile(optimizer="rmsprop", loss=[None, "sparse_categorical_crossentropy"])
    history = model.fit([XA, XB], [YS, YC], epochs=1, verbose=0).history
    assert history["loss"] == pytest.approx(history["class_output_loss"], rel=1e-6)


def test_bad_multi_io_input_is_named():
    model = build(kgraph)
    model.compile(optimizer="rmsprop", loss="mse")
    with pytest.raises(KeyError, match=r"missing key\(s\) \['b'\]"):
        model.fit({"a": XA}, [YS, YC], verbose=0)
    with pytest.raises(ValueError, match=r"unknown key\(s\) \['c'\]"):
        model.fit({"a": XA, "b": XB, "c": XB}, [YS, YC], verbose=0)
    with pytest.raises(ValueError, match=r"names unknown output\(s\) \['scores'\]"):
        model.compile(optimizer="sgd", loss={"scores": "mse"})
        model.fit([XA, XB], [YS, YC], verbose=0)
