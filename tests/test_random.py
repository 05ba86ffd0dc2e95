"""kgraph.random against keras.random (JAX backend): the same seed gives the same numbers, eagerly and under jit."""

import jax
import jax.numpy as jnp
import keras
import numpy as np
import pytest

import kgraph
import kgraph.random as kr
from kgraph.variables import StateScope

X = jnp.arange(24, dtype="float32").reshape(4, 6)  # a device array, so both divide on the device
# (function name, positional args, keyword args): one line per case.
CASES = [
    ("normal", ((3, 4),), {}),
    ("normal", ((5,),), {"mean": 2.0, "stddev": 0.5, "dtype": "float16"}),
    ("uniform", ((3, 4),), {"minval": -1.0, "maxval": 3.0}),
    ("randint", ((6,),), {"minval": 2, "maxval": 9}),
    ("truncated_normal", ((2, 8),), {"stddev": 3.0}),
    ("categorical", (np.log(np.array([[0.1, 0.6, 0.3], [0.8, 0.1, 0.1]], "float32")), 7), {}),
    ("dropout", (X, 0.4), {}),
    ("dropout", (X, 0.5), {"noise_shape": (None, 1)}),
    ("shuffle", (X,), {"axis": 1}),
    ("gamma", ((4, 3), 2.5), {}),
    ("binomial", ((5,), 10.0, 0.3), {}),
    ("beta", ((5,), 2.0, 3.0), {}),
]
IDS = [f"{name}-{kwargs}" for name, _, kwargs in CASES]


@pytest.mark.parametrize("name,args,kwargs", CASES, ids=IDS)
def test_int_seed_matches_keras_eager_and_jitted(name, args, kwargs):
    ours = np.asarray(getattr(kr, name)(*args, **kwargs, seed=42))
    theirs = np.asarray(getattr(keras.random, name)(*args, **kwargs, seed=42))
    np.testing.assert_array_equal(ours, theirs)
    jitted = jax.jit(lambda: getattr(kr, name)(*args, **kwargs, seed=42))()
    np.testing.assert_allclose(np.asarray(jitted), theirs, rtol=1e-6)


@pytest.mark.parametrize("name,args,kwargs", CASES[:4], ids=IDS[:4])
def test_seed_generator_stream_matches_keras(name, args, kwargs):
    ours, theirs = kr.SeedGenerator(7), keras.random.SeedGenerator(7)
    draws = [np.asarray(getattr(kr, name)(*args, **kwargs, seed=ours)) for _ in range(3)]
    expected = [np.asarray(getattr(keras.random, name)(*args, **kwargs, seed=theirs)) for _ in range(3)]
    for a, e in zip(draws, expected):
        np.testing.assert_array_equal(a, e)
    assert not np.array_equal(draws[0], draws[1])


def test_seed_generator_state_is_threaded_through_a_compiled_step():
    gen = kr.SeedGenerator(3)

    @jax.jit
    def step(state):
        with StateScope({gen.state: state}) as scope:
            value = kr.normal((2,), seed=gen)
        return value, scope.values[gen.state]

    first, state = step(gen.state.value)
    second, state = step(state)
    reference = keras.random.SeedGenerator(3)
    np.testing.assert_array_equal(first, keras.random.normal((2,), seed=reference))
    np.testing.assert_array_equal(second, keras.random.normal((2,), seed=reference))
    np.testing.assert_array_equal(gen.state.numpy(), [3, 0])  # the Variable itself was not touched


def test_unseeded_draw_inside_jit_is_refused_and_set_seed_repeats():
    with pytest.raises(ValueError, match="SeedGenerator"):
        jax.jit(lambda: kr.normal((2,)))()
    kr.set_seed(5)
    a = np.asarray(kr.uniform((3,)))
    kr.set_seed(5)
    np.testing.assert_array_equal(a, kr.uniform((3,)))


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="floating point `dtype`"):
        kr.normal((2,), dtype="int32", seed=1)
    with pytest.raises(ValueError, match="integer `dtype`"):
        kr.randint((2,), 0, 3, dtype="float32", seed=1)
    with pytest.raises(ValueError, match="`seed` must be"):
        kr.normal((2,), seed="abc")
    with pytest.raises(ValueError, match="2-D"):
        kr.categorical(jnp.zeros((3,)), 2, seed=1)
    assert kr.SeedGenerator(1).get_config()["seed"] == 1


def _sampling_model(lib):
    class Sampling(lib.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.seed_generator = lib.random.SeedGenerator(1337)

        def call(self, inputs):
            batch, dim = lib.ops.shape(inputs)[0], lib.ops.shape(inputs)[1]
            normal = lib.random.normal(shape=(batch, dim), mean=1.0, stddev=2.0, seed=self.seed_generator)
            uniform = lib.random.uniform(shape=(batch, 1), seed=self.seed_generator)
            index = lib.random.randint(shape=(batch, 2), minval=0, maxval=9, seed=self.seed_generator)
            tail = lib.random.truncated_normal(shape=(batch * 2, dim), seed=self.seed_generator)
            return inputs + normal, uniform, index, tail

    inputs = lib.Input((3,))
    return lib.Model(inputs, Sampling()(inputs))


def test_seed_generator_draws_of_a_traced_batch_match_keras_and_advance():
    """random_sample sized by the traced batch: a compiled predict draws Keras' numbers for the generator's key,
    and the next predict draws new ones, as the generator's state advances in both."""
    x = np.arange(12, dtype="float32").reshape(4, 3)
    ours, theirs = _sampling_model(kgraph), _sampling_model(keras)
    for _ in range(2):
        got = ours.predict(x, verbose=0)
        want = theirs.predict(x, verbose=0)
        for g, w in zip(got, want):
            assert g.shape == w.shape and g.dtype == w.dtype
            np.testing.assert_allclose(g, w, rtol=1e-6, atol=1e-6)
    assert not np.allclose(ours.predict(x, verbose=0)[0], got[0])


def test_random_functions_without_a_graph_op_refuse_a_traced_batch():
    class Gamma(kgraph.layers.Layer):
        def call(self, inputs):
            return inputs + kgraph.random.gamma((kgraph.ops.shape(inputs)[0], 3), 2.0, seed=1)

    with pytest.raises(ValueError, match="kgraph.random.gamma"):
        Gamma()(kgraph.Input((3,)))


@pytest.mark.parametrize("seed", [0, 1, 1337, 2**31 - 1, 2**31, 2**32 + 5])
def test_host_made_keys_equal_jax_keys(seed):
    """`seeds.key` builds small seeds' keys on the host; they must be the very keys JAX derives."""
    from kgraph import seeds

    expected = np.asarray(jax.random.key_data(jax.random.key(seed)))
    got = np.asarray(seeds.key(seed))
    assert got.dtype == expected.dtype and np.array_equal(got, expected)
