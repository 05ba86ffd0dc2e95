"""Learning rate schedules against Keras 3's: values step by step, configs both ways, and inside fit."""

import jax
import jax.numpy as jnp
import keras
import numpy as np
import pytest

import kgraph
from kgraph.optimizers import schedules

CASES = [
    ("ExponentialDecay", dict(initial_learning_rate=0.1, decay_steps=7, decay_rate=0.96)),
    ("ExponentialDecay", dict(initial_learning_rate=0.1, decay_steps=100000, decay_rate=0.96, staircase=True)),
    ("ExponentialDecay", dict(initial_learning_rate=0.1, decay_steps=7, decay_rate=0.5, staircase=True)),
    ("PiecewiseConstantDecay", dict(boundaries=[5, 20, 40], values=[1.0, 0.5, 0.1, 0.01])),
    ("PiecewiseConstantDecay", dict(boundaries=[10], values=[0.3, 0.2])),
    ("PolynomialDecay", dict(initial_learning_rate=0.1, decay_steps=30, end_learning_rate=0.01, power=0.5)),
    ("PolynomialDecay", dict(initial_learning_rate=0.1, decay_steps=13, power=2.0, cycle=True)),
    ("InverseTimeDecay", dict(initial_learning_rate=0.1, decay_steps=3, decay_rate=0.5)),
    ("InverseTimeDecay", dict(initial_learning_rate=0.1, decay_steps=3, decay_rate=0.5, staircase=True)),
    ("CosineDecay", dict(initial_learning_rate=0.1, decay_steps=40, alpha=0.1)),
    ("CosineDecay", dict(initial_learning_rate=0.0, decay_steps=40, warmup_target=0.2, warmup_steps=10)),
    ("CosineDecayRestarts", dict(initial_learning_rate=0.1, first_decay_steps=7)),
    ("CosineDecayRestarts", dict(initial_learning_rate=0.1, first_decay_steps=5, t_mul=1.0, m_mul=0.7, alpha=0.05)),
    ("CosineDecayRestarts", dict(initial_learning_rate=0.1, first_decay_steps=5, t_mul=1.5, m_mul=0.9, alpha=0.05)),
]
STEPS = np.arange(0, 150, dtype=np.int32)
IDS = [f"{name}-{i}" for i, (name, _) in enumerate(CASES)]


def _pair(name, kwargs):
    return getattr(schedules, name)(**kwargs), getattr(keras.optimizers.schedules, name)(**kwargs)


@pytest.mark.parametrize("name,kwargs", CASES, ids=IDS)
def test_values_match_keras_compiled_and_eager(name, kwargs):
    ours, theirs = _pair(name, kwargs)
    # Inside fit both run compiled; XLA may round a division differently from op-by-op, so compare like with like.
    ours_jit = np.array(jax.vmap(jax.jit(ours))(jnp.asarray(STEPS)))
    theirs_compiled = jax.jit(theirs)
    theirs_jit = np.array([theirs_compiled(jnp.int32(s)) for s in STEPS])
    with jax.disable_jit():  # op by op (Keras' `ops.cond` would otherwise compile its branches at every call)
        ours_eager = np.array([ours(jnp.int32(s)) for s in STEPS[::2]])
        theirs_eager = np.array([theirs(jnp.int32(s)) for s in STEPS[::2]])
    assert ours_eager.dtype == theirs_eager.dtype == np.float32
    np.testing.assert_allclose(ours_eager, theirs_eager, rtol=1e-6, atol=0)
    finite = np.isfinite(theirs_jit)  # Keras' PolynomialDecay turns NaN under jit at step == decay_steps
    np.testing.assert_allclose(ours_jit[finite], theirs_jit[finite], rtol=1e-6, atol=0)
    assert np.isfinite(ours_jit).all()


def test_polynomial_decay_stays_finite_where_keras_jit_gives_nan():
    ours, theirs = _pair("PolynomialDecay", CASES[5][1])
    assert np.isnan(jax.jit(theirs)(jnp.int32(30)))  # documents the Keras behaviour we deliberately avoid
    assert float(jax.jit(ours)(jnp.int32(30))) == pytest.approx(0.01, rel=1e-6)


@pytest.mark.parametrize("name,kwargs", CASES, ids=IDS)
def test_config_round_trips_with_keras(name, kwargs):
    ours, theirs = _pair(name, kwargs)
    assert ours.get_config() == theirs.get_config()
    from_ours = getattr(keras.optimizers.schedules, name).from_config(ours.get_config())
    from_theirs = getattr(schedules, name).from_config(theirs.get_config())
    assert from_ours.get_config() == from_theirs.get_config() == ours.get_config()
    assert keras.optimizers.schedules.serialize(theirs) == schedules.serialize(ours)
    assert schedules.deserialize(keras.optimizers.schedules.serialize(theirs)).get_config() == ours.get_config()
    assert keras.optimizers.schedules.deserialize(schedules.serialize(ours)).get_config() == ours.get_config()


def test_invalid_arguments_are_named():
    with pytest.raises(ValueError, match="decay_steps"):
        schedules.ExponentialDecay(0.1, decay_steps=0, decay_rate=0.5)
    with pytest.raises(ValueError, match="first_decay_steps"):
        schedules.CosineDecayRestarts(0.1, first_decay_steps=-1)
    with pytest.raises(ValueError, match="boundaries should be 1 less"):
        schedules.PiecewiseConstantDecay([1, 2], [0.1, 0.2])
    with pytest.raises(ValueError, match="Unknown learning rate schedule"):
        schedules.deserialize({"class_name": "NoSuchDecay", "config": {}})


class HalvingSchedule(schedules.LearningRateSchedule):
    def __init__(self, rate):
        self.rate = rate

    def __call__(self, step):
        return self.rate * jnp.power(0.5, jnp.asarray(step, jnp.float32))

    def get_config(self):
        return {"rate": self.rate}


def test_custom_schedule_serializes_with_custom_objects():
    config = schedules.serialize(HalvingSchedule(0.4))
    restored = schedules.deserialize(config, custom_objects={"HalvingSchedule": HalvingSchedule})
    assert isinstance(restored, HalvingSchedule) and restored.rate == 0.4


def test_optimizer_with_schedule_config_learning_rate_and_setter():
    schedule = schedules.ExponentialDecay(0.1, decay_steps=2, decay_rate=0.5, staircase=True)
    optimizer = kgraph.optimizers.RMSprop(learning_rate=schedule)
    assert optimizer.learning_rate == pytest.approx(0.1)
    config = optimizer.get_config()
    assert config["learning_rate"] == keras.optimizers.RMSprop(learning_rate=keras.optimizers.schedules.ExponentialDecay(
        0.1, decay_steps=2, decay_rate=0.5, staircase=True)).get_config()["learning_rate"]
    restored_keras = keras.optimizers.RMSprop.from_config(dict(config))  # Keras edits the dict it gets
    assert restored_keras._learning_rate.get_config() == schedule.get_config()
    restored = kgraph.optimizers.RMSprop.from_config(restored_keras.get_config())
    assert isinstance(restored._schedule, schedules.ExponentialDecay)
    assert restored._schedule.get_config() == schedule.get_config()
    assert kgraph.optimizers.deserialize(kgraph.optimizers.serialize(optimizer)).get_config() == config
    with pytest.raises(TypeError, match="not settable"):
        optimizer.learning_rate = 0.5
    with pytest.raises(TypeError, match="LearningRateSchedule"):
        kgraph.optimizers.SGD(learning_rate="fast")

    # stepping the optimizer moves `learning_rate` along the schedule, as Keras' getter does
    params = [jnp.ones((3,))]
    optimizer.build(params)
    step = jax.jit(optimizer.stateless_apply)
    state = optimizer.state
    for expected in (0.1, 0.1, 0.05, 0.05, 0.025):
        optimizer.state = state
        assert optimizer.learning_rate == pytest.approx(expected)
        assert float(state["learning_rate"]) == pytest.approx(expected)
        params, state = step(state, [jnp.ones((3,))], params)
    assert len(optimizer.variables) == 1 + 1  # iterations and RMSprop's velocity; no learning-rate variable


def _models(seed):
    kgraph.utils.set_random_seed(seed)
    ours = kgraph.Sequential([kgraph.Input((6,)), kgraph.layers.Dense(8, activation="tanh"), kgraph.layers.Dense(1)])
    theirs = keras.Sequential([keras.Input((6,)), keras.layers.Dense(8, activation="tanh"), keras.layers.Dense(1)])
    theirs.set_weights(ours.get_weights())
    return ours, theirs


def _batch_losses(module):
    class Record(module.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.losses = []

        def on_train_batch_end(self, batch, logs=None):
            self.losses.append(float(np.asarray(logs["loss"])))

    return Record()


@pytest.mark.parametrize("optimizer", ["SGD", "RMSprop"])
def test_fit_with_schedule_matches_keras_step_by_step(optimizer):
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(48, 6)).astype("float32"), rng.normal(size=(48, 1)).astype("float32")
    ours, theirs = _models(7)
    kwargs = dict(momentum=0.5) if optimizer == "SGD" else {}
    ours.compile(getattr(kgraph.optimizers, optimizer)(
        learning_rate=schedules.PiecewiseConstantDecay([4, 9], [0.1, 0.02, 0.005]), **kwargs), loss="mse")
    theirs.compile(getattr(keras.optimizers, optimizer)(
        learning_rate=keras.optimizers.schedules.PiecewiseConstantDecay([4, 9], [0.1, 0.02, 0.005]), **kwargs),
        loss="mse")
    record_ours, record_theirs = _batch_losses(kgraph), _batch_losses(keras)
    ours.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0, callbacks=[record_ours])
    theirs.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0, callbacks=[record_theirs])
    assert len(record_ours.losses) == 18
    np.testing.assert_allclose(record_ours.losses, record_theirs.losses, rtol=2e-5)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=2e-5, atol=1e-6)
    assert ours.optimizer.iterations == 18
    assert ours.optimizer.learning_rate == pytest.approx(float(theirs.optimizer.learning_rate))
