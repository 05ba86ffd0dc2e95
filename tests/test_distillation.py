"""`kgraph.distillation` against Keras 3's `keras.distillation` on identical teacher and student weights."""

import keras
import numpy as np
import pytest

import kgraph

RNG = np.random.default_rng(0)
X = RNG.normal(size=(16, 6)).astype("float32")
Y = RNG.integers(0, 3, size=(16,))


def _models(k):
    def mlp(prefix, name):
        inputs = k.Input((6,))
        hidden = k.layers.Dense(8, activation="relu", name=f"{prefix}_hidden")(inputs)
        return k.Model(inputs, k.layers.Dense(3, name=f"{prefix}_out")(hidden), name=name)

    return mlp("t", "teacher"), mlp("s", "student")


def _distillers(losses=lambda k: [k.distillation.LogitsDistillation(temperature=2.0)], **kwargs):
    """A kgraph and a Keras Distiller over teachers and students with the same weights, compiled alike."""
    made = []
    weights = None
    for k in (keras, kgraph):
        teacher, student = _models(k)
        if weights is None:
            weights = (teacher.get_weights(), student.get_weights())
        teacher.set_weights(weights[0])
        student.set_weights(weights[1])
        distiller = k.distillation.Distiller(teacher, student, losses(k), **kwargs)
        distiller.compile(optimizer=k.optimizers.SGD(0.1),
                          loss=k.losses.SparseCategoricalCrossentropy(from_logits=True))
        made.append(distiller)
    return made[1], made[0]


def _both(k):
    return [k.distillation.LogitsDistillation(temperature=2.0),
            k.distillation.FeatureDistillation(loss="mse", teacher_layer_name="t_hidden",
                                               student_layer_name="s_hidden")]


@pytest.mark.parametrize("losses, kwargs", [
    (_both, {"distillation_loss_weights": [1.0, 0.5], "student_loss_weight": 0.3}),
    (lambda k: k.distillation.LogitsDistillation(3.0, loss=k.losses.KLDivergence()), {}),
    (lambda k: k.distillation.FeatureDistillation(loss=k.losses.CosineSimilarity()), {"student_loss_weight": 0.0}),
], ids=["logits_and_features", "kl_divergence_instance", "final_output_features"])
def test_a_train_step_matches_keras(losses, kwargs):
    ours, theirs = _distillers(losses, **kwargs)
    our_logs = ours.train_on_batch(X, Y, return_dict=True)
    their_logs = theirs.train_on_batch(X, Y, return_dict=True)
    assert sorted(our_logs) == sorted(their_logs) == ["distillation_loss", "loss", "student_loss", "total_loss"]
    for key in their_logs:
        np.testing.assert_allclose(our_logs[key], their_logs[key], rtol=1e-5, atol=1e-6)
    for a, b in zip(ours.student.get_weights(), theirs.student.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-6)
    for a, b in zip(ours.teacher.get_weights(), theirs.teacher.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_fit_history_and_predictions_match_keras():
    ours, theirs = _distillers(_both)
    our_history = ours.fit(X, Y, epochs=2, batch_size=8, shuffle=False, verbose=0).history
    their_history = theirs.fit(X, Y, epochs=2, batch_size=8, shuffle=False, verbose=0).history
    for key in their_history:
        np.testing.assert_allclose(our_history[key], their_history[key], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ours.predict(X, verbose=0), theirs.predict(X, verbose=0), rtol=1e-5, atol=1e-6)
    assert not ours.teacher.trainable


def test_distillation_loss_configs_match_keras_and_round_trip():
    for make in (lambda k: k.distillation.LogitsDistillation(2.0),
                 lambda k: k.distillation.LogitsDistillation(2.0, loss=k.losses.KLDivergence()),
                 lambda k: k.distillation.FeatureDistillation("mse", "a", "b")):
        ours, theirs = make(kgraph), make(keras)
        assert ours.get_config() == theirs.get_config()
        again = type(ours).from_config(ours.get_config())
        assert again.get_config() == ours.get_config()


def test_distiller_refuses_bad_arguments():
    teacher, student = _models(kgraph)
    logits = kgraph.distillation.LogitsDistillation()
    with pytest.raises(ValueError, match="student_loss_weight must be between 0.0 and 1.0"):
        kgraph.distillation.Distiller(teacher, student, logits, student_loss_weight=1.5)
    with pytest.raises(ValueError, match="cannot be `None`"):
        kgraph.distillation.Distiller(teacher, student, None)
    with pytest.raises(ValueError, match="In teacher model"):
        kgraph.distillation.Distiller(teacher, student, kgraph.distillation.FeatureDistillation(
            teacher_layer_name="missing"))
    with pytest.raises(ValueError, match="temperature must be positive"):
        kgraph.distillation.LogitsDistillation(temperature=0.0)
    inputs = kgraph.Input((5,))
    with pytest.raises(ValueError, match="input shapes are incompatible"):
        kgraph.distillation.Distiller(teacher, kgraph.Model(inputs, kgraph.layers.Dense(3)(inputs)), logits)
    distiller = kgraph.distillation.Distiller(teacher, student, logits)
    with pytest.raises(ValueError, match="'loss' cannot be `None`"):
        distiller.compile(optimizer="sgd")
