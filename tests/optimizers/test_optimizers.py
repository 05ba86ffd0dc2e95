"""Differential tests: kgraph optimizers against Keras 3's on the JAX backend, step by step."""

import jax
import jax.numpy as jnp
import keras
import numpy as np
import optax
import pytest

import kgraph.optimizers as ko

SHAPES = [(3, 4), (4,), (2, 3, 2)]
STEPS = 20
RTOL = 1e-6

CASES = [
    ("SGD", {}),
    ("SGD", {"learning_rate": 0.1, "momentum": 0.9}),
    ("SGD", {"learning_rate": 0.1, "momentum": 0.9, "nesterov": True}),
    ("SGD", {"learning_rate": 0.05, "momentum": 0.5, "weight_decay": 0.1}),
    ("SGD", {"learning_rate": 0.1, "clipvalue": 0.3}),
    ("RMSprop", {}),
    ("RMSprop", {"learning_rate": 0.01, "momentum": 0.9}),
    ("RMSprop", {"learning_rate": 0.01, "centered": True}),
    ("RMSprop", {"learning_rate": 0.01, "rho": 0.8, "momentum": 0.5, "centered": True, "global_clipnorm": 1.0}),
    ("Adam", {}),
    ("Adam", {"learning_rate": 0.01, "amsgrad": True}),
    ("Adam", {"learning_rate": 0.01, "weight_decay": 0.05}),
    ("Adam", {"learning_rate": 0.01, "clipnorm": 0.5}),
    ("AdamW", {}),
    ("AdamW", {"learning_rate": 0.01, "weight_decay": 0.1, "amsgrad": True, "beta_1": 0.8}),
    ("Adagrad", {}),
    ("Adagrad", {"learning_rate": 0.1, "initial_accumulator_value": 0.5, "clipnorm": 0.5}),
    ("Adadelta", {}),
    ("Adadelta", {"learning_rate": 1.0, "rho": 0.8}),
    ("Adamax", {}),
    ("Adamax", {"learning_rate": 0.01, "beta_1": 0.8, "weight_decay": 0.05}),
    ("Lion", {}),
    ("Lion", {"learning_rate": 0.01, "beta_1": 0.5, "beta_2": 0.9}),
    ("Lamb", {}),
    ("Lamb", {"learning_rate": 0.01, "global_clipnorm": 1.0}),
    ("SGD", {"learning_rate": 0.1, "momentum": 0.9, "use_ema": True}),
    ("Adam", {"learning_rate": 0.01, "use_ema": True, "ema_momentum": 0.8, "ema_overwrite_frequency": 3}),
]
# Ftrl and ScheduleFreeAdamW assign each variable a new value; as an additive update `w + (new - w)` it is exact only up to an ulp of
# the old `w`, so its weights are compared with that much absolute slack.
ASSIGNING = [
    ("Ftrl", {}),
    ("Ftrl", {"learning_rate": 0.1, "l1_regularization_strength": 0.01, "l2_regularization_strength": 0.1,
              "l2_shrinkage_regularization_strength": 0.05, "beta": 0.5}),
    ("ScheduleFreeAdamW", {}),
    ("ScheduleFreeAdamW", {"learning_rate": 0.01, "beta_1": 0.8, "warmup_steps": 5, "weight_decay": 0.05}),
]
# Optimizers whose state kgraph lays out differently from Keras' variable list (Nadam's running momentum
# product, Adafactor's factored moments of vectors): their weights are compared at every step, the state not.
STATE_LAYOUT_DIFFERS = [
    ("Nadam", {}),
    ("Nadam", {"learning_rate": 0.01, "beta_2": 0.99}),
    ("Adafactor", {}),
    ("Adafactor", {"learning_rate": 0.01, "relative_step": False, "clip_threshold": 0.5}),
]


def _data(seed):
    """Initial values and gradient lists whose scales span 1e-4..2, so that epsilon matters
    on some steps and the clip thresholds are crossed in both directions."""
    rng = np.random.default_rng(seed)
    init = [rng.normal(size=s).astype("float32") for s in SHAPES]
    grads = [
        [(rng.normal(size=s) * 10 ** rng.uniform(-4, 0.3)).astype("float32") for s in SHAPES]
        for _ in range(STEPS)
    ]
    return init, grads


def _values(arrays):
    return [np.asarray(a) for a in arrays]


class KerasRun:
    """Keras' optimizer applied eagerly, through `apply`, to `keras.Variable`s."""

    def __init__(self, name, kwargs, init):
        self.opt = getattr(keras.optimizers, name)(**kwargs)
        self.vars = [keras.Variable(v) for v in init]

    def step(self, grads):
        self.opt.apply([jnp.asarray(g) for g in grads], self.vars)
        return _values(v.value for v in self.vars)

    def set_learning_rate(self, value):
        self.opt.learning_rate.assign(value)


class KerasJitRun:
    """Keras' own `stateless_apply` under `jax.jit`, as Keras' `fit` runs it on JAX."""

    def __init__(self, name, kwargs, init):
        self.opt = getattr(keras.optimizers, name)(**kwargs)
        variables = [keras.Variable(v) for v in init]
        self.opt.build(variables)
        self.params = [v.value for v in variables]
        self.opt_values = [v.value for v in self.opt.variables]
        self._step = jax.jit(self.opt.stateless_apply)

    def step(self, grads):
        self.params, self.opt_values = self._step(self.opt_values, [jnp.asarray(g) for g in grads], self.params)
        return _values(self.params)

    def set_learning_rate(self, value):
        index = next(i for i, v in enumerate(self.opt.variables) if v is self.opt.learning_rate)
        self.opt_values[index] = jnp.asarray(value, jnp.float32)


class KgraphRun:
    """kgraph's optimizer through `build` / `stateless_apply` under `jax.jit`; counts traces."""

    def __init__(self, name, kwargs, init):
        self.opt = getattr(ko, name)(**kwargs)
        self.params = [jnp.asarray(v) for v in init]
        self.opt.build(self.params)
        self.traces = 0

        def apply(state, grads, params):
            self.traces += 1
            return self.opt.stateless_apply(state, grads, params)

        self._step = jax.jit(apply)

    def step(self, grads):
        self.params, self.opt.state = self._step(self.opt.state, [jnp.asarray(g) for g in grads], self.params)
        return _values(self.params)

    def set_learning_rate(self, value):
        self.opt.learning_rate = value


def _assert_close(actual, expected, what, scaled_atol=False):
    """Elementwise rtol=1e-6. With `scaled_atol`, also allow 1e-6 of the array's largest
    magnitude: XLA contracts `a * b + c` into fused multiply-adds under `jit` but not in
    eager mode, which moves results by an ulp of the operands, not of a cancelled result."""
    assert len(actual) == len(expected), what
    for a, e in zip(actual, expected):
        assert a.shape == e.shape and a.dtype == e.dtype, what
        atol = RTOL * float(np.max(np.abs(e), initial=0.0)) if scaled_atol else 0.0
        np.testing.assert_allclose(a, e, rtol=RTOL, atol=atol, err_msg=what)


def _run_against_keras(name, kwargs, seed, new_learning_rate=None):
    """Run kgraph, jitted Keras and eager Keras on the same data; compare after every step."""
    init, grads = _data(seed)
    ours, ref_jit, ref = (cls(name, kwargs, init) for cls in (KgraphRun, KerasJitRun, KerasRun))
    for i, g in enumerate(grads):
        if new_learning_rate is not None and i == STEPS // 2:
            for run in (ours, ref_jit, ref):
                run.set_learning_rate(new_learning_rate)
        what = f"{name}{kwargs} variables after step {i + 1}"
        params = ours.step(g)
        _assert_close(params, ref_jit.step(g), what)
        _assert_close(params, ref.step(g), what + " (eager Keras)", scaled_atol=True)
    assert ours.traces == 1, "the step must compile once, learning-rate changes included"
    return ours, ref_jit, ref


@pytest.mark.parametrize(("name", "kwargs"), CASES, ids=[f"{n}-{k}" for n, k in CASES])
def test_matches_keras_every_step(name, kwargs):
    ours, ref_jit, ref = _run_against_keras(name, kwargs, seed=len(CASES) + len(str(kwargs)))
    # Slots, iterations and learning rate agree too, in Keras' variable order.
    _assert_close(_values(ours.opt.variables), _values(ref_jit.opt_values), "optimizer variables")
    assert ours.opt.iterations == int(ref.opt.iterations.value) == STEPS


@pytest.mark.parametrize(("name", "kwargs"), STATE_LAYOUT_DIFFERS, ids=[f"{n}-{k}" for n, k in STATE_LAYOUT_DIFFERS])
def test_weights_match_keras_every_step(name, kwargs):
    ours, _, ref = _run_against_keras(name, kwargs, seed=len(str(kwargs)))
    assert ours.opt.iterations == int(ref.opt.iterations.value) == STEPS


@pytest.mark.parametrize(("name", "kwargs"), ASSIGNING, ids=[f"{n}-{k}" for n, k in ASSIGNING])
def test_assigning_optimizer_matches_keras(name, kwargs):
    init, grads = _data(seed=7)
    ours, ref = KgraphRun(name, kwargs, init), KerasJitRun(name, kwargs, init)
    slack = 4 * float(np.finfo(np.float32).eps) * max(float(np.max(np.abs(v))) for v in init)
    for i, g in enumerate(grads):
        for a, e in zip(ours.step(g), ref.step(g)):
            np.testing.assert_allclose(a, e, rtol=1e-5, atol=slack, err_msg=f"{name}{kwargs} step {i + 1}")


@pytest.mark.parametrize(
    ("name", "kwargs", "naive"),
    [
        ("Adam", {}, optax.adam(1e-3, b1=0.9, b2=0.999, eps=1e-7)),
        ("RMSprop", {}, optax.rmsprop(1e-3, decay=0.9, eps=1e-7, eps_in_sqrt=False)),
    ],
)
def test_comparison_catches_optax_formulas(name, kwargs, naive):
    """Adam and RMSprop with epsilon outside the (bias-corrected) square root, as in
    optax's Adam: the comparison used above must tell them from Keras', or it could not
    catch such a bug in ours."""
    init, grads = _data(seed=3)
    ref = KerasJitRun(name, kwargs, init)
    params = [jnp.asarray(v) for v in init]
    slots = naive.init(params)
    with pytest.raises(AssertionError):
        for g in grads:
            updates, slots = naive.update([jnp.asarray(x) for x in g], slots, params)
            params = optax.apply_updates(params, updates)
            _assert_close(_values(params), ref.step(g), name)


def test_clipping_changes_the_step():
    """The clip cases must actually clip, or the comparisons above prove nothing about clipping."""
    init, _ = _data(seed=0)
    large = [np.full(s, 2.0, "float32") for s in SHAPES]
    for clip in ({"clipnorm": 0.5}, {"clipvalue": 0.3}, {"global_clipnorm": 1.0}):
        clipped, plain = KgraphRun("SGD", clip, init), KgraphRun("SGD", {}, init)
        assert not np.allclose(clipped.step(large)[0], plain.step(large)[0]), clip


@pytest.mark.parametrize(
    ("name", "kwargs"), [("SGD", {"learning_rate": 0.01, "momentum": 0.9}), ("Adam", {"learning_rate": 0.01})]
)
def test_learning_rate_change_between_steps_matches_keras(name, kwargs):
    ours, _, _ = _run_against_keras(name, kwargs, seed=7, new_learning_rate=0.05)
    assert ours.opt.learning_rate == float(np.float32(0.05))


def test_learning_rate_and_iterations_before_and_after_build():
    opt = ko.Adam(learning_rate=0.002)
    assert opt.learning_rate == 0.002 and opt.iterations == 0 and opt.state is None and opt.variables == []
    opt.learning_rate = 0.003
    opt.build([jnp.zeros((2,))])
    assert opt.learning_rate == float(np.float32(0.003))
    assert opt.state["learning_rate"].dtype == jnp.float32 and opt.state["iterations"].dtype == jnp.int32
    state = opt.state
    for _ in range(3):
        _, state = opt.stateless_apply(state, [jnp.ones((2,))], [jnp.zeros((2,))])
    assert opt.iterations == 0, "stateless_apply must not touch opt.state"
    opt.state = state
    assert opt.iterations == 3


@pytest.mark.parametrize("name", ["SGD", "RMSprop", "Adam", "AdamW", "Adagrad", "Adadelta", "Adamax", "Nadam", "Lion",
                                  "Lamb", "Ftrl", "Adafactor"])
def test_defaults_match_keras(name):
    ours = getattr(ko, name)().get_config()
    theirs = getattr(keras.optimizers, name)().get_config()
    assert ours["learning_rate"] == pytest.approx(theirs["learning_rate"], rel=1e-7)
    for key, value in ours.items():
        if key not in ("name", "learning_rate"):
            assert theirs[key] == value, key


def test_get():
    assert isinstance(ko.get("adam"), ko.Adam)
    assert isinstance(ko.get("RMSprop"), ko.RMSprop)
    assert isinstance(ko.get("ADAMW"), ko.AdamW)
    assert type(ko.get("sgd")) is ko.SGD
    opt = ko.SGD()
    assert ko.get(opt) is opt
    assert ko.get(None) is None
    from_dict = ko.get({"class_name": "SGD", "config": {"learning_rate": 0.1, "momentum": 0.9}})
    assert isinstance(from_dict, ko.SGD) and from_dict.momentum == 0.9 and from_dict.learning_rate == 0.1


def test_get_rejects_bad_identifiers():
    with pytest.raises(ValueError) as err:
        ko.get("adamm")
    assert str(err.value) == (
        "Could not interpret optimizer identifier: 'adamm'. Expected one of: adadelta, adafactor, adagrad, adam, "
        "adamax, adamw, ftrl, lamb, lion, multioptimizer, muon, nadam, rmsprop, schedulefreeadamw, sgd."
    )
    with pytest.raises(ValueError, match="'Muonn'"):
        ko.deserialize({"class_name": "Muonn", "config": {}})
    with pytest.raises(TypeError, match="int"):
        ko.get(3)
    with pytest.raises(TypeError, match="Optimizer"):
        ko.get(keras.optimizers.Adam())


@pytest.mark.parametrize(
    "opt",
    [
        ko.SGD(learning_rate=0.1, momentum=0.9, nesterov=True, clipvalue=1.0, name="s"),
        ko.RMSprop(rho=0.8, momentum=0.1, epsilon=1e-6, centered=True, global_clipnorm=2.0),
        ko.Adam(beta_1=0.8, beta_2=0.99, amsgrad=True, weight_decay=0.01, clipnorm=1.5),
        ko.AdamW(learning_rate=0.003, weight_decay=0.2),
        ko.Adagrad(initial_accumulator_value=0.2),
        ko.Adadelta(rho=0.9),
        ko.Adamax(beta_1=0.8),
        ko.Nadam(epsilon=1e-6),
        ko.Lion(beta_2=0.95),
        ko.Ftrl(l1_regularization_strength=0.1, beta=0.5),
        ko.Adafactor(relative_step=False),
    ],
    ids=lambda o: type(o).__name__,
)
def test_serialize_round_trip_and_keras_interop(opt):
    config = ko.serialize(opt)
    assert config == {"class_name": type(opt).__name__, "config": opt.get_config()}
    again = ko.deserialize(config)
    assert type(again) is type(opt) and again.get_config() == opt.get_config()
    # Keras reads our config, and we read Keras' (with its inert extra keys).
    keras_opt = keras.optimizers.deserialize(config)
    assert type(keras_opt).__name__ == type(opt).__name__
    back = ko.deserialize(keras.optimizers.serialize(keras_opt))
    expected = {**opt.get_config(), "learning_rate": float(np.float32(opt.learning_rate))}
    assert back.get_config() == pytest.approx(expected)


@pytest.mark.parametrize(
    ("make", "error", "fragments"),
    [
        (lambda: ko.SGD(learning_rate=-0.1), ValueError, ["learning_rate", "-0.1"]),
        (lambda: ko.SGD(momentum=1.5), ValueError, ["momentum", "1.5"]),
        (lambda: ko.SGD(momentum=-0.2), ValueError, ["momentum", "-0.2"]),
        (lambda: ko.RMSprop(rho=2.0), ValueError, ["rho", "2.0"]),
        (lambda: ko.Adam(beta_1=1.1), ValueError, ["beta_1", "1.1"]),
        (lambda: ko.Adam(epsilon=-1e-7), ValueError, ["epsilon", "-1e-07"]),
        (lambda: ko.Adam(weight_decay=-0.5), ValueError, ["weight_decay", "-0.5"]),
        (lambda: ko.AdamW(weight_decay=None), ValueError, ["weight_decay", "None"]),
        (lambda: ko.Adam(clipnorm=1.0, clipvalue=1.0), ValueError, ["clipnorm=1.0", "clipvalue=1.0"]),
        (lambda: ko.Adam(learning_rate="fast"), TypeError, ["learning_rate", "'fast'"]),
        (lambda: ko.Adam(foo=1, bar=2), TypeError, ["Adam", "foo=1", "bar=2"]),
        (lambda: ko.Adam(use_ema=True, ema_momentum=1.5), ValueError, ["ema_momentum", "1.5"]),
        (lambda: ko.Adam(use_ema=True, ema_overwrite_frequency=0), ValueError, ["ema_overwrite_frequency", "0"]),
    ],
)
def test_bad_arguments(make, error, fragments):
    with pytest.raises(error) as err:
        make()
    for fragment in fragments:
        assert fragment in str(err.value)


def test_setting_a_bad_learning_rate_raises():
    opt = ko.SGD()
    opt.build([jnp.zeros(3)])
    with pytest.raises(ValueError, match="learning_rate=-1.0"):
        opt.learning_rate = -1.0
    assert opt.learning_rate == float(np.float32(0.01))


def test_keras_inert_defaults_are_accepted_and_names_are_keras_like():
    opt = ko.Adam(use_ema=False, ema_momentum=0.99, loss_scale_factor=None, gradient_accumulation_steps=None)
    assert opt.name.startswith("adam")
    assert ko.RMSprop().name.startswith("rm_sprop") and ko.AdamW().name.startswith("adam_w")
    assert ko.SGD(name="mine").name == "mine"
